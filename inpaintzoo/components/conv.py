"""A plain strided-conv encoder and a mirrored decoder: a baseline and the core's test fixture."""
from __future__ import annotations

from typing import Any, ClassVar

import torch
from pydantic import Field
from torch import Tensor, nn

from ..interfaces import ComponentConfig, Decoder, Encoder


class ConvEncoderConfig(ComponentConfig):
    derive: ClassVar[dict[str, Any]] = {"in_channels": "model.channels"}
    in_channels: int = Field(3, ge=1, description="image channels (the mask is appended as one more)")
    channels: list[int] = Field([8, 16], description="output channels of each stride-2 stage")


class ConvEncoder(Encoder):
    """Stride-2 conv → GroupNorm → SiLU stages on image ‖ mask; returns every stage's output."""

    Config = ConvEncoderConfig

    def __init__(self, cfg: ConvEncoderConfig):
        super().__init__(cfg)
        stages, c = [], cfg.in_channels + 1
        for out in cfg.channels:
            stages.append(nn.Sequential(nn.Conv2d(c, out, 4, 2, 1), nn.GroupNorm(1, out), nn.SiLU()))
            c = out
        self.stages = nn.ModuleList(stages)

    def forward(self, x: Tensor, mask: Tensor) -> list[Tensor]:
        h = torch.cat([x, mask], dim=1)
        feats = []
        for stage in self.stages:
            h = stage(h)
            feats.append(h)
        return feats

    def example_inputs(self, batch_size: int = 2) -> tuple:
        return torch.randn(batch_size, self.cfg.in_channels, 16, 16), torch.zeros(batch_size, 1, 16, 16)


class ConvDecoderConfig(ComponentConfig):
    derive: ClassVar[dict[str, Any]] = {"channels": lambda r, d: list(reversed(r["encoder"].channels)),
                                         "out_channels": "model.channels"}
    channels: list[int] = Field([16, 8], description="input channels of each ×2 upsampling stage, coarse → fine")
    out_channels: int = Field(3, ge=1)
    skips: bool = Field(True, description="add the matching encoder features (U-Net style)")


class ConvDecoder(Decoder):
    """Transposed-conv stages mirroring ConvEncoder, optional additive skips, linear output."""

    Config = ConvDecoderConfig

    def __init__(self, cfg: ConvDecoderConfig):
        super().__init__(cfg)
        chans = list(cfg.channels)
        outs = chans[1:] + [chans[-1]]
        self.stages = nn.ModuleList(
            nn.Sequential(nn.ConvTranspose2d(i, o, 4, 2, 1), nn.GroupNorm(1, o), nn.SiLU()) for i, o in zip(chans, outs)
        )
        self.head = nn.Conv2d(outs[-1], cfg.out_channels, 3, padding=1)

    def forward(self, h: Tensor, skips: list[Tensor] | None = None) -> Tensor:
        skip_list = list(reversed(skips[:-1])) if (self.cfg.skips and skips) else []
        for i, stage in enumerate(self.stages):
            h = stage(h)
            if i < len(skip_list) and skip_list[i].shape == h.shape:
                h = h + skip_list[i]
        return self.head(h)

    def example_inputs(self, batch_size: int = 2) -> tuple:
        return (torch.randn(batch_size, self.cfg.channels[0], 4, 4),)

    @classmethod
    def size_hint(cls, cfg: ConvDecoderConfig, image_size: tuple[int, int]) -> str | None:
        """Each entry of channels is one ×2 stage: as many as the encoder's ÷2 stages (leave it out to mirror them)."""
        return (f"decoder.channels has {len(cfg.channels)} entries, {len(cfg.channels)} ×2 stages; give it as many as "
                f"the encoder halves the image, or leave decoder.channels out to mirror the encoder")
