"""LaMa's FFC-ResNet generator as an encoder (stem and downsampling) and a decoder (FFC residual blocks,
upsampling, output), with `core.identity` between them.

The network sees the hole-zeroed image and the mask (1 = hole) as its last channel, images in [0, 1]
(contract: mean 0, std 1, hole_fill 0), and returns a sigmoid image. big-lama: ngf 64, 3 downsamplings
(64 → 128 → 256 → 512 channels), 18 residual blocks with 75 % of the channels global, no local Fourier unit.
The bottleneck's local and global parts travel between encoder and decoder concatenated in that order
(LaMa's ConcatTupleLayer), so the split is lossless.
"""
from __future__ import annotations

from typing import Any, ClassVar, Literal

import torch
from pydantic import Field
from torch import Tensor, nn

from inpaintzoo.interfaces import ComponentConfig, Decoder, Encoder

from .ffc import FFCBlock, FFCResnetBlock, split


def _widths(ngf: int, n: int, cap: int) -> list[int]:
    return [min(cap, ngf * 2**i) for i in range(n + 1)]


class EncoderConfig(ComponentConfig):
    derive: ClassVar[dict[str, Any]] = {"in_channels": "model.channels"}
    in_channels: int = Field(3, ge=1, description="image channels (the mask is appended as one more)")
    ngf: int = Field(64, ge=2, description="channels after the stem (big-lama: 64)")
    n_downsampling: int = Field(3, ge=1)
    max_features: int = Field(1024, ge=2)
    ratio: float = Field(0.75, ge=0, lt=1, description="global share of the bottleneck's channels (big-lama: 0.75)")


class FFCEncoder(Encoder):
    """Reflect-pad 3 → 7×7 FFC (local only) → stride-2 FFCs; the last one splits channels into local ‖ global."""

    Config = EncoderConfig

    def __init__(self, cfg: EncoderConfig):
        super().__init__(cfg)
        w = _widths(cfg.ngf, cfg.n_downsampling, cfg.max_features)
        self.pad = nn.ReflectionPad2d(3)
        self.stem = FFCBlock(cfg.in_channels + 1, cfg.ngf, 7, 0.0, 0.0)
        self.downs = nn.ModuleList(
            FFCBlock(w[i], w[i + 1], 3, 0.0, cfg.ratio if i == cfg.n_downsampling - 1 else 0.0, stride=2, padding=1)
            for i in range(cfg.n_downsampling))

    def forward(self, x: Tensor, mask: Tensor) -> list[Tensor]:
        h: tuple = self.stem((self.pad(torch.cat([x, mask], dim=1)), None))
        for down in self.downs:
            h = down(h)
        return [torch.cat([t for t in h if t is not None], dim=1)]

    def example_inputs(self, batch_size: int = 2) -> tuple:
        return torch.rand(batch_size, self.cfg.in_channels, 32, 32), torch.zeros(batch_size, 1, 32, 32)

    @classmethod
    def example_config(cls, workdir) -> EncoderConfig:
        return EncoderConfig(ngf=8, n_downsampling=2)


class DecoderConfig(ComponentConfig):
    derive: ClassVar[dict[str, Any]] = {"ngf": "encoder.ngf", "n_downsampling": "encoder.n_downsampling",
                                         "max_features": "encoder.max_features", "ratio": "encoder.ratio",
                                         "out_channels": "model.channels"}
    ngf: int = Field(64, ge=2)
    n_downsampling: int = Field(3, ge=1)
    max_features: int = Field(1024, ge=2)
    ratio: float = Field(0.75, ge=0, lt=1)
    n_blocks: int = Field(18, ge=0, description="FFC residual blocks (big-lama: 18; LaMa-Fourier: 9)")
    out_channels: int = Field(3, ge=1)
    out_act: Literal["sigmoid", "tanh", "none"] = Field("sigmoid", description="big-lama: sigmoid, so images are in [0, 1]")


class FFCDecoder(Decoder):
    """FFC residual blocks on local ‖ global, then [ConvTranspose 3×3 s2 → BN → ReLU] per level, reflect-pad 3,
    7×7 conv to the image, sigmoid."""

    Config = DecoderConfig

    def __init__(self, cfg: DecoderConfig):
        super().__init__(cfg)
        w = _widths(cfg.ngf, cfg.n_downsampling, cfg.max_features)
        self.bottleneck = w[-1]
        self.blocks = nn.ModuleList(FFCResnetBlock(w[-1], cfg.ratio) for _ in range(cfg.n_blocks))
        self.ups = nn.ModuleList(
            nn.Sequential(nn.ConvTranspose2d(w[i + 1], w[i], 3, 2, 1, output_padding=1), nn.BatchNorm2d(w[i]), nn.ReLU(inplace=True))
            for i in reversed(range(cfg.n_downsampling)))
        self.pad = nn.ReflectionPad2d(3)
        self.out = nn.Conv2d(cfg.ngf, cfg.out_channels, 7)

    def forward(self, h: Tensor, skips: list[Tensor] | None = None) -> Tensor:
        n_l, _ = split(self.bottleneck, self.cfg.ratio)
        pair = (h[:, :n_l], h[:, n_l:] if h.shape[1] > n_l else None)
        for block in self.blocks:
            pair = block(pair)
        x = torch.cat([t for t in pair if t is not None], dim=1)
        for up in self.ups:
            x = up(x)
        x = self.out(self.pad(x))
        return torch.sigmoid(x) if self.cfg.out_act == "sigmoid" else torch.tanh(x) if self.cfg.out_act == "tanh" else x

    def example_inputs(self, batch_size: int = 2) -> tuple:
        return (torch.randn(batch_size, self.bottleneck, 8, 8),)

    @classmethod
    def example_config(cls, workdir) -> DecoderConfig:
        return DecoderConfig(ngf=8, n_downsampling=2, n_blocks=1)
