"""DeepFill v2's SN-PatchGAN discriminator as mmagic configures it (configs/_base_/models/base_deepfillv2.py:
`MultiLayerDiscriminator`, in_channels 4, max_channels 256, six convs, spectral norm): 5×5 stride-2 convs with bias
(64 → 128 → 256 → 256 → 256 → 256 channels), LeakyReLU 0.2 after each, the last included; it scores the image with
the mask as a fourth channel. Fresh weights as mmcv's ConvModule initialises them (Kaiming normal for a LeakyReLU 0.2,
fan-out; biases 0).
"""
from __future__ import annotations

from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from pydantic import Field
from torch import Tensor, nn
from torch.nn.utils import spectral_norm  # mmcv's: the power iteration updates v, then u

from inpaintzoo.interfaces import ComponentConfig, Discriminator


class SNPatchConfig(ComponentConfig):
    derive: ClassVar[dict[str, Any]] = {"in_channels": "model.channels"}
    in_channels: int = Field(3, ge=1, description="image channels; the mask is appended as one more")
    convs: int = Field(6, ge=1, description="stride-2 convs (mmagic: 6)")
    max_channels: int = Field(256, ge=1, description="channel cap (mmagic: 256)")


class SNPatchDiscriminator(Discriminator):
    Config = SNPatchConfig

    def __init__(self, cfg: SNPatchConfig):
        super().__init__(cfg)
        widths = [cfg.in_channels + 1] + [min(64 * 2**i, cfg.max_channels) for i in range(cfg.convs)]
        convs = []
        for i in range(cfg.convs):
            conv = nn.Conv2d(widths[i], widths[i + 1], 5, stride=2, padding=2)
            nn.init.kaiming_normal_(conv.weight, a=0.2, mode="fan_out", nonlinearity="leaky_relu")
            nn.init.zeros_(conv.bias)
            convs.append(spectral_norm(conv))
        self.convs = nn.ModuleList(convs)

    def forward(self, image: Tensor, mask: Tensor | None = None) -> Tensor:
        if mask is None:
            raise ValueError("deepfill.sn_patchgan scores an image with its mask; give the mask")
        x = torch.cat([image, mask.to(image.dtype)], dim=1)
        for conv in self.convs:
            x = F.leaky_relu(conv(x), 0.2)
        return x

    def example_inputs(self, batch_size: int = 2) -> tuple:
        m = torch.zeros(batch_size, 1, 32, 32)
        m[..., 8:20, 8:24] = 1
        return torch.rand(batch_size, self.cfg.in_channels, 32, 32) * 2 - 1, m

    @classmethod
    def example_config(cls, workdir) -> SNPatchConfig:
        return SNPatchConfig(convs=3, max_channels=16)
