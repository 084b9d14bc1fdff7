"""AOT-GAN's discriminator (src/model/aotgan.py `Discriminator`; mmagic's `SoftMaskPatchDiscriminator` is the same
network): four spectral-normalised 4×4 convs without bias (stride 2, 2, 2, 1; 64 → 128 → 256 → 512 channels), LeakyReLU
0.2 after each, and a 4×4 conv to one score per patch. Weights N(0, 0.02), biases 0, as the release initialises them.
Spectral norm is `torch.nn.utils.spectral_norm`, the releases' own: its power iteration updates v then u (the
parametrized version updates u then v), so a released discriminator's stored vectors keep their meaning.
"""
from __future__ import annotations

from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from pydantic import Field
from torch import Tensor, nn
from torch.nn.utils import spectral_norm  # the releases' own: its power iteration updates v, then u

from inpaintzoo.interfaces import ComponentConfig, Discriminator


class SMPatchConfig(ComponentConfig):
    derive: ClassVar[dict[str, Any]] = {"in_channels": "model.channels"}
    in_channels: int = Field(3, ge=1, description="image channels (the release's discriminator sees the image alone)")
    channels: int = Field(64, ge=1, description="of the first conv, doubled by each of the next (the release: 64)")


class SMPatchDiscriminator(Discriminator):
    Config = SMPatchConfig

    def __init__(self, cfg: SMPatchConfig):
        super().__init__(cfg)
        c = cfg.channels
        widths = [cfg.in_channels, c, 2 * c, 4 * c, 8 * c]
        self.layers = nn.ModuleList(
            spectral_norm(nn.Conv2d(widths[i], widths[i + 1], 4, stride=2 if i < 3 else 1, padding=1, bias=False))
            for i in range(4))
        self.layers.append(nn.Conv2d(8 * c, 1, 4, stride=1, padding=1))
        with torch.no_grad():
            for conv in self.layers:
                (conv.weight_orig if hasattr(conv, "weight_orig") else conv.weight).normal_(0.0, 0.02)
            self.layers[-1].bias.zero_()

    def forward_features(self, image: Tensor, mask: Tensor | None = None) -> tuple[Tensor, list[Tensor]]:
        """The scores and each LeakyReLU's output (what LaMa's feature matching compares, in a composed spec)."""
        acts, x = [], image
        for conv in self.layers[:-1]:
            x = F.leaky_relu(conv(x), 0.2)
            acts.append(x)
        return self.layers[-1](x), acts

    def forward(self, image: Tensor, mask: Tensor | None = None) -> Tensor:
        return self.forward_features(image, mask)[0]

    def example_inputs(self, batch_size: int = 2) -> tuple:
        return (torch.rand(batch_size, self.cfg.in_channels, 32, 32) * 2 - 1,)

    @classmethod
    def example_config(cls, workdir) -> SMPatchConfig:
        return SMPatchConfig(channels=8)
