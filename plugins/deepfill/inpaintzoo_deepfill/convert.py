"""mmagic's DeepFill checkpoints → inpaintzoo model folders: v2 (`deepfillv2_256x256_8x2_{places,celeba}_*.pth`) and
v1 (`deepfillv1_256x256_{8x2_places,4x4_celeba}_*.pth`).

The checkpoint's `state_dict` holds the two-stage generator under `generator.stage1.*` / `generator.stage2.*` (v2's
gated convolutions as `….conv.conv.{weight,bias}`, mmcv's ConvModule inside mmagic's SimpleGatedConvModule; v1's
plain ones as `….conv.{weight,bias}`) beside the discriminator (`disc.*`: v2's SN-PatchGAN converts with it; v1's
global and local WGAN critics are not ported and are listed as dropped). Which version a file is, is told from its
keys. The contextual attention's stored identity kernel is a constant, rebuilt here.
"""
from __future__ import annotations

import re

from pydantic import Field
from torch import Tensor

from inpaintzoo.convert import CheckpointConverter, Mapping
from inpaintzoo.interfaces import ComponentConfig

RULES = [  # `(?:conv\.)?`: v2's gated layers nest one conv deeper than v1's plain ones
    (r"generator\.stage1\.encoder\.enc(\d)\.conv\.(?:conv\.)?(\w+)$", lambda m: f"encoder.encoder.{int(m[1]) - 1}.conv.{m[2]}"),
    (r"generator\.stage1\.dilation_neck\.dilation_convs\.(\d)\.conv\.(?:conv\.)?(\w+)$", lambda m: f"encoder.dilation.{m[1]}.conv.{m[2]}"),
    (r"generator\.stage1\.decoder\.dec(\d)\.conv\.(?:conv\.)?(\w+)$", lambda m: f"encoder.decoder.layers.{int(m[1]) - 1}.conv.{m[2]}"),
    (r"generator\.stage2\.encoder_conv\.enc(\d)\.conv\.(?:conv\.)?(\w+)$", lambda m: f"decoder.encoder_conv.{int(m[1]) - 1}.conv.{m[2]}"),
    (r"generator\.stage2\.dilation_neck\.dilation_convs\.(\d)\.conv\.(?:conv\.)?(\w+)$", lambda m: f"decoder.dilation.{m[1]}.conv.{m[2]}"),
    (r"generator\.stage2\.encoder_attention\.enc(\d)\.conv\.(?:conv\.)?(\w+)$", lambda m: f"decoder.encoder_attention.{int(m[1]) - 1}.conv.{m[2]}"),
    (r"generator\.stage2\.contextual_attention_neck\.conv(\d)\.conv\.(?:conv\.)?(\w+)$", lambda m: f"decoder.attention_convs.{int(m[1]) - 1}.conv.{m[2]}"),
    (r"generator\.stage2\.decoder\.dec(\d)\.conv\.(?:conv\.)?(\w+)$", lambda m: f"decoder.decoder.layers.{int(m[1]) - 1}.conv.{m[2]}"),
]
DROPPED = {"disc.": "the training discriminator (kept as discriminator.safetensors)",
           "generator.stage2.contextual_attention_neck.contextual_attention.fuse_kernel": "a constant 3×3 identity kernel"}
DROPPED_V1 = {**DROPPED, "disc.": "DeepFill v1's global and local WGAN critics (v1's training is not ported)"}


class DeepFillReleaseConfig(ComponentConfig):
    zoo: str = Field("deepfillv2-places", description="the zoo entry whose spec the converted model takes")


class DeepFillConverter(CheckpointConverter):
    """mmagic's DeepFill v2 or v1 checkpoint → deepfill.coarse/refine weights."""

    Config = DeepFillReleaseConfig
    source_help = "deepfillv2_256x256_8x2_places_20200619-10d15793.pth (or the CelebA one, or a DeepFill v1 file)"
    rules = RULES

    @property
    def v1(self) -> bool:
        return self.cfg.zoo.startswith("deepfillv1")

    @property
    def keys_file(self) -> str:  # type: ignore[override]
        return "release_keys_v1.json" if self.v1 else "release_keys.json"

    @property
    def dropped(self) -> dict[str, str]:  # type: ignore[override]
        return DROPPED_V1 if self.v1 else DROPPED

    def variant(self, release: dict[str, Tensor]) -> str | None:
        """v1 when the first encoder layer is a plain convolution (`enc1.conv.weight`), v2 when it is gated."""
        if "generator.stage1.encoder.enc1.conv.weight" in release:
            return "deepfillv1-places" if not self.v1 else None
        if "generator.stage1.encoder.enc1.conv.conv.weight" in release:
            return "deepfillv2-places" if self.v1 else None
        return None

    def discriminator_mapping(self, release_keys: list[str]) -> Mapping | None:
        """`disc.convN.conv.{weight_orig, weight_u, weight_v, bias}` (mmcv's ConvModule with spectral norm) →
        `deepfill.sn_patchgan`'s `convs.{N−1}`."""
        if self.v1:
            return None
        m = Mapping()
        for key in release_keys:
            hit = re.match(r"disc\.conv(\d+)\.conv\.(\w+)$", key)
            if hit:
                m.renamed[f"convs.{int(hit[1]) - 1}.{hit[2]}"] = key
        return m if m.renamed else None
