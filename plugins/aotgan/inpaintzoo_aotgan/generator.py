"""AOT-GAN's generator: a strided encoder, then AOT blocks and an upsampling decoder (`core.identity` between).

Encoder: reflect-pad 3, 7×7 conv on image ‖ mask, two 4×4 stride-2 convs (ReLU after each): 64 → 128 → 256
channels at 1/4 resolution. Decoder: eight AOT blocks, each splitting its input into four 3×3 dilated convs
(rates 1, 2, 4, 8; 64 channels each, reflect-padded, ReLU), fusing their concatenation with a 3×3 conv, and mixing
it with the input through a spatial gate: g = σ(5·(2·(z − μ)/σ − 1)) of a 3×3 conv z normalised over each
channel's spatial positions (σ the unbiased standard deviation + 1e-9); out = x·(1 − g) + fused·g. Then two
[bilinear ×2 (align_corners) → 3×3 conv → ReLU] and a 3×3 conv to RGB with tanh. Images in [−1, 1], holes
filled with 1 (white). Sizes must be multiples of 4 (the contract pads).
"""
from __future__ import annotations

from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from pydantic import Field
from torch import Tensor, nn

from inpaintzoo.interfaces import ComponentConfig, Decoder, Encoder


class EncoderConfig(ComponentConfig):
    derive: ClassVar[dict[str, Any]] = {"in_channels": "model.channels"}
    in_channels: int = Field(3, ge=1, description="image channels (the mask is appended as one more)")
    channels: int = Field(64, ge=1, description="after the 7×7 stem; doubled by each of the two stride-2 convs")


class AOTEncoder(Encoder):
    Config = EncoderConfig

    def __init__(self, cfg: EncoderConfig):
        super().__init__(cfg)
        c = cfg.channels
        self.layers = nn.Sequential(
            nn.ReflectionPad2d(3), nn.Conv2d(cfg.in_channels + 1, c, 7), nn.ReLU(),
            nn.Conv2d(c, 2 * c, 4, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(2 * c, 4 * c, 4, stride=2, padding=1), nn.ReLU())

    def forward(self, x: Tensor, mask: Tensor) -> list[Tensor]:
        return [self.layers(torch.cat([x, mask], dim=1))]

    def example_inputs(self, batch_size: int = 2) -> tuple:
        return torch.rand(batch_size, self.cfg.in_channels, 32, 32) * 2 - 1, torch.zeros(batch_size, 1, 32, 32)

    @classmethod
    def example_config(cls, workdir) -> EncoderConfig:
        return EncoderConfig(channels=8)


def gate_norm(z: Tensor) -> Tensor:
    """The release's `my_layer_norm`: per channel over positions, unbiased std, then ×2 − 1, ×5."""
    mean = z.mean((2, 3), keepdim=True)
    std = z.std((2, 3), keepdim=True) + 1e-9
    return 5 * (2 * (z - mean) / std - 1)


class AOTBlock(nn.Module):
    def __init__(self, dim: int, rates: list[int]):
        super().__init__()
        self.blocks = nn.ModuleList(
            nn.Sequential(nn.ReflectionPad2d(r), nn.Conv2d(dim, dim // len(rates), 3, dilation=r), nn.ReLU())
            for r in rates)
        self.fuse = nn.Sequential(nn.ReflectionPad2d(1), nn.Conv2d(dim // len(rates) * len(rates), dim, 3))
        self.gate = nn.Sequential(nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3))

    def forward(self, x: Tensor) -> Tensor:
        fused = self.fuse(torch.cat([b(x) for b in self.blocks], dim=1))
        g = torch.sigmoid(gate_norm(self.gate(x)))
        return x * (1 - g) + fused * g


class DecoderConfig(ComponentConfig):
    derive: ClassVar[dict[str, Any]] = {"channels": "encoder.channels", "out_channels": "model.channels"}
    channels: int = Field(64, ge=1, description="the encoder's stem width (the blocks work at 4×)")
    blocks: int = Field(8, ge=0, description="AOT blocks (the release: 8)")
    rates: list[int] = Field([1, 2, 4, 8], min_length=1, description="dilation rates of each block's branches")
    out_channels: int = Field(3, ge=1)


class AOTDecoder(Decoder):
    Config = DecoderConfig

    def __init__(self, cfg: DecoderConfig):
        super().__init__(cfg)
        c = cfg.channels
        self.middle = nn.ModuleList(AOTBlock(4 * c, cfg.rates) for _ in range(cfg.blocks))
        self.up1 = nn.Conv2d(4 * c, 2 * c, 3, padding=1)
        self.up2 = nn.Conv2d(2 * c, c, 3, padding=1)
        self.out = nn.Conv2d(c, cfg.out_channels, 3, padding=1)

    def forward(self, h: Tensor, skips: list[Tensor] | None = None) -> Tensor:
        for block in self.middle:
            h = block(h)
        for conv in (self.up1, self.up2):
            h = F.relu(conv(F.interpolate(h, scale_factor=2, mode="bilinear", align_corners=True)))
        return torch.tanh(self.out(h))

    def example_inputs(self, batch_size: int = 2) -> tuple:
        return (torch.randn(batch_size, 4 * self.cfg.channels, 16, 16),)

    @classmethod
    def example_config(cls, workdir) -> DecoderConfig:
        return DecoderConfig(channels=8, blocks=1)
