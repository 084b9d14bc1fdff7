"""LaMa's discriminator: pix2pixHD's N-layer PatchGAN as LaMa configures it (configs/training/discriminator/
pix2pixhd_nlayer.yaml: ndf 64, 4 layers, batch norm), returning its intermediate activations for feature matching.

Blocks `model0` … `model{n+1}` as the release names them, so its `discriminator.*` keys load unchanged: 4×4 convs
with padding 2 (stride 2 for the first n, then stride 1), batch norm after every conv but the first and the last,
LeakyReLU 0.2 after every conv but the last (channels 64 → 128 → 256 → 512 → 512, capped at 512).
"""
from __future__ import annotations

from typing import Any, ClassVar

import torch
from pydantic import Field
from torch import Tensor, nn

from inpaintzoo.interfaces import ComponentConfig, Discriminator


class NLayerConfig(ComponentConfig):
    derive: ClassVar[dict[str, Any]] = {"in_channels": "model.channels"}
    in_channels: int = Field(3, ge=1, description="image channels (LaMa's discriminator sees the image alone)")
    ndf: int = Field(64, ge=1, description="channels of the first conv (LaMa: 64)")
    n_layers: int = Field(4, ge=1, description="stride-2 convs (LaMa: 4)")


class NLayerDiscriminator(Discriminator):
    """Scores every patch of an image; `forward_features` also returns each block's activation."""

    Config = NLayerConfig

    def __init__(self, cfg: NLayerConfig):
        super().__init__(cfg)
        nf = cfg.ndf
        blocks = [[nn.Conv2d(cfg.in_channels, nf, 4, stride=2, padding=2), nn.LeakyReLU(0.2)]]
        for _ in range(1, cfg.n_layers):
            prev, nf = nf, min(nf * 2, 512)
            blocks.append([nn.Conv2d(prev, nf, 4, stride=2, padding=2), nn.BatchNorm2d(nf), nn.LeakyReLU(0.2)])
        prev, nf = nf, min(nf * 2, 512)
        blocks.append([nn.Conv2d(prev, nf, 4, stride=1, padding=2), nn.BatchNorm2d(nf), nn.LeakyReLU(0.2)])
        blocks.append([nn.Conv2d(nf, 1, 4, stride=1, padding=2)])
        self.depth = len(blocks)
        for i, layers in enumerate(blocks):
            self.add_module(f"model{i}", nn.Sequential(*layers))

    def forward_features(self, image: Tensor, mask: Tensor | None = None) -> tuple[Tensor, list[Tensor]]:
        acts = []
        x = image
        for i in range(self.depth):
            x = getattr(self, f"model{i}")(x)
            acts.append(x)
        return acts[-1], acts[:-1]

    def forward(self, image: Tensor, mask: Tensor | None = None) -> Tensor:
        return self.forward_features(image, mask)[0]

    def example_inputs(self, batch_size: int = 2) -> tuple:
        return (torch.rand(batch_size, self.cfg.in_channels, 32, 32),)

    @classmethod
    def example_config(cls, workdir) -> NLayerConfig:
        return NLayerConfig(ndf=8, n_layers=2)
