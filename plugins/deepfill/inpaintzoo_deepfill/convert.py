"""mmagic's DeepFill v2 checkpoints (`deepfillv2_256x256_8x2_{places,celeba}_*.pth`) → inpaintzoo model folders.

The checkpoint's `state_dict` holds the two-stage generator under `generator.stage1.*` / `generator.stage2.*`
(each gated convolution as `….conv.conv.{weight,bias}`: mmcv's ConvModule inside mmagic's SimpleGatedConvModule)
beside the discriminator (`disc.*`). The contextual attention's stored identity kernel is a constant, rebuilt here.
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from pydantic import Field
from torch import Tensor

from inpaintzoo.convert import Mapping, read_checkpoint, tensors
from inpaintzoo.interfaces import ComponentConfig, Converter

RULES = [
    (r"generator\.stage1\.encoder\.enc(\d)\.conv\.conv\.(\w+)$", lambda m: f"encoder.encoder.{int(m[1]) - 1}.conv.{m[2]}"),
    (r"generator\.stage1\.dilation_neck\.dilation_convs\.(\d)\.conv\.conv\.(\w+)$", lambda m: f"encoder.dilation.{m[1]}.conv.{m[2]}"),
    (r"generator\.stage1\.decoder\.dec(\d)\.conv\.conv\.(\w+)$", lambda m: f"encoder.decoder.layers.{int(m[1]) - 1}.conv.{m[2]}"),
    (r"generator\.stage2\.encoder_conv\.enc(\d)\.conv\.conv\.(\w+)$", lambda m: f"decoder.encoder_conv.{int(m[1]) - 1}.conv.{m[2]}"),
    (r"generator\.stage2\.dilation_neck\.dilation_convs\.(\d)\.conv\.conv\.(\w+)$", lambda m: f"decoder.dilation.{m[1]}.conv.{m[2]}"),
    (r"generator\.stage2\.encoder_attention\.enc(\d)\.conv\.conv\.(\w+)$", lambda m: f"decoder.encoder_attention.{int(m[1]) - 1}.conv.{m[2]}"),
    (r"generator\.stage2\.contextual_attention_neck\.conv(\d)\.conv\.conv\.(\w+)$", lambda m: f"decoder.attention_convs.{int(m[1]) - 1}.conv.{m[2]}"),
    (r"generator\.stage2\.decoder\.dec(\d)\.conv\.conv\.(\w+)$", lambda m: f"decoder.decoder.layers.{int(m[1]) - 1}.conv.{m[2]}"),
]
DROPPED = {"disc.": "the training discriminator (kept as discriminator.safetensors)",
           "generator.stage2.contextual_attention_neck.contextual_attention.fuse_kernel": "a constant 3×3 identity kernel"}


class DeepFillReleaseConfig(ComponentConfig):
    zoo: str = Field("deepfillv2-places", description="the zoo entry whose spec the converted model takes")


class DeepFillConverter(Converter):
    """mmagic's DeepFill v2 checkpoint → deepfill.coarse/refine weights."""

    Config = DeepFillReleaseConfig
    source_help = "deepfillv2_256x256_8x2_places_20200619-10d15793.pth (or the CelebA one)"
    file = "the checkpoint"

    def spec(self) -> dict[str, Any]:
        from inpaintzoo import zoo

        return zoo.get(self.cfg.zoo).spec()

    def where(self, key: str) -> str:
        return self.file

    def reference_keys(self) -> list[str]:
        return list(json.loads((Path(__file__).parent / "release_keys.json").read_text(encoding="utf-8")))

    def read(self, source: Path) -> dict[str, Tensor]:
        self.file = source.name
        ckpt = read_checkpoint(source)
        return tensors(ckpt.get("state_dict", ckpt) if isinstance(ckpt, dict) else {})

    def mapping(self, release_keys: list[str]) -> Mapping:
        m = Mapping()
        for key in release_keys:
            why = next((w for p, w in DROPPED.items() if key.startswith(p)), None)
            if why:
                m.dropped[key] = why
                continue
            for pat, fn in RULES:
                hit = re.match(pat, key)
                if hit:
                    m.renamed[fn(hit)] = key
                    break
        return m

    def discriminator_mapping(self, release_keys: list[str]) -> Mapping | None:
        """`disc.convN.conv.{weight_orig, weight_u, weight_v, bias}` (mmcv's ConvModule with spectral norm) →
        `deepfill.sn_patchgan`'s `convs.{N−1}`."""
        m = Mapping()
        for key in release_keys:
            hit = re.match(r"disc\.conv(\d+)\.conv\.(\w+)$", key)
            if hit:
                m.renamed[f"convs.{int(hit[1]) - 1}.{hit[2]}"] = key
        return m if m.renamed else None
