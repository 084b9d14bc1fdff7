"""MI-GAN's generator as an encoder and a synthesis network (a decoder), with `core.identity` between them.

The encoder sees (1 − hole) − 0.5 and the image in [−1, 1] with holes zeroed (the release's input: contract mean
and std 0.5, hole_fill 0.5); its blocks halve the resolution down to 4×4 and hand every block's first feature to
the synthesis network, which doubles it back, adding the encoder feature of each resolution and accumulating an
RGB image through upsampled skips (StyleGAN2's output branch). Channels: min(32768 / resolution, 512).
The output is an image in [−1, 1], not squashed (the release clamps it when converting to 8 bits).
"""
from __future__ import annotations

import math
from typing import Any, ClassVar

import torch
from pydantic import Field, field_validator
from torch import Tensor, nn

from inpaintzoo.interfaces import ComponentConfig, Decoder, Encoder

from .layers import SeparableConv2d, Upsample2d, lrelu_agc


def _resolution(v: int) -> int:
    if v < 8 or 2 ** int(math.log2(v)) != v:
        raise ValueError(f"must be a power of two ≥ 8, got {v}")
    return v


def _channels(res: int, base: int, cap: int) -> int:
    return min(base // res, cap)


class MIGANConfig(ComponentConfig):
    derive: ClassVar[dict[str, Any]] = {"resolution": lambda r, d: r["model"].image_size[0]}
    resolution: int = Field(512, description="the exported resolution (256 or 512); a power of two")
    channel_base: int = Field(32768, ge=1, description="channels at resolution r: min(channel_base / r, channel_max)")
    channel_max: int = Field(512, ge=1)
    image_channels: int = Field(3, ge=1)

    @field_validator("resolution")
    @classmethod
    def _power_of_two(cls, v: int) -> int:
        return _resolution(v)


class EncoderBlock(nn.Module):
    def __init__(self, cin: int, cout: int, rgb: int | None = None, down: bool = True):
        super().__init__()
        self.fromrgb = nn.Conv2d(rgb, cin, 1) if rgb else None
        self.conv1 = SeparableConv2d(cin, cin)
        self.conv2 = SeparableConv2d(cin, cout, down=down)

    def forward(self, x: Tensor | None, img: Tensor) -> tuple[Tensor, Tensor]:
        if self.fromrgb is not None:
            y = lrelu_agc(self.fromrgb(img))  # a fresh tensor: activated in place
            x = x + y if x is not None else y
        feat = self.conv1(x)
        return self.conv2(feat), feat


class MIGANEncoder(Encoder):
    """Blocks b{r} from the input resolution down to b4; features fine → coarse, then the 4×4 code."""

    Config = MIGANConfig

    def __init__(self, cfg: MIGANConfig):
        super().__init__(cfg)
        self.resolutions = [2 ** i for i in range(int(math.log2(cfg.resolution)), 1, -1)]
        ch = lambda r: _channels(r, cfg.channel_base, cfg.channel_max)  # noqa: E731
        for i, (ri, rj) in enumerate(zip(self.resolutions[:-1], self.resolutions[1:])):
            setattr(self, f"b{ri}", EncoderBlock(ch(ri), ch(rj), rgb=cfg.image_channels + 1 if i == 0 else None))
        self.b4 = EncoderBlock(ch(4), ch(4), down=False)

    def forward(self, x: Tensor, mask: Tensor) -> list[Tensor]:
        img = torch.cat([(1 - mask) - 0.5, x], dim=1)
        h, feats = None, []
        for r in self.resolutions:
            h, feat = getattr(self, f"b{r}")(h, img)
            feats.append(feat)
        return feats + [h]

    def example_inputs(self, batch_size: int = 2) -> tuple:
        r = self.cfg.resolution
        return torch.rand(batch_size, self.cfg.image_channels, r, r) * 2 - 1, torch.zeros(batch_size, 1, r, r)

    @classmethod
    def example_config(cls, workdir) -> MIGANConfig:
        return MIGANConfig(resolution=16, channel_base=256, channel_max=32)


class SynthesisBlockFirst(nn.Module):
    def __init__(self, ch: int, rgb: int):
        super().__init__()
        self.conv1 = SeparableConv2d(ch, ch)
        self.conv2 = SeparableConv2d(ch, ch, resolution=4)
        self.torgb = nn.Conv2d(ch, rgb, 1)

    def forward(self, x: Tensor, enc: Tensor) -> tuple[Tensor, Tensor]:
        x = self.conv2(self.conv1(x) + enc)
        return x, self.torgb(x)


class SynthesisBlock(nn.Module):
    def __init__(self, cin: int, cout: int, resolution: int, rgb: int):
        super().__init__()
        self.conv1 = SeparableConv2d(cin, cout, resolution=resolution, noise=True, up=True)
        self.conv2 = SeparableConv2d(cout, cout, resolution=resolution, noise=True)
        self.torgb = nn.Conv2d(cout, rgb, 1)
        self.upsample = Upsample2d(rgb, resolution)

    def forward(self, x: Tensor, enc: Tensor, img: Tensor) -> tuple[Tensor, Tensor]:
        x = self.conv2(self.conv1(x) + enc)
        return x, self.upsample(img) + self.torgb(x)


class MIGANSynthesis(Decoder):
    """b4 … b{resolution}: each adds the encoder's feature of its resolution; the RGB branch accumulates."""

    Config = MIGANConfig

    def __init__(self, cfg: MIGANConfig):
        super().__init__(cfg)
        self.resolutions = [2 ** i for i in range(2, int(math.log2(cfg.resolution)) + 1)]
        ch = lambda r: _channels(r, cfg.channel_base, cfg.channel_max)  # noqa: E731
        self.b4 = SynthesisBlockFirst(ch(4), cfg.image_channels)
        for ri, rj in zip(self.resolutions[:-1], self.resolutions[1:]):
            setattr(self, f"b{rj}", SynthesisBlock(ch(ri), ch(rj), rj, cfg.image_channels))

    def forward(self, h: Tensor, skips: list[Tensor] | None = None) -> Tensor:
        if skips is None or len(skips) != len(self.resolutions) + 1:
            raise ValueError(f"the MI-GAN synthesis needs the encoder's {len(self.resolutions)} features and its code")
        enc = dict(zip(reversed(self.resolutions), skips[:-1]))  # the encoder lists fine → coarse
        x, img = self.b4(h, enc[4])
        for r in self.resolutions[1:]:
            x, img = getattr(self, f"b{r}")(x, enc[r], img)
        return img

    def example_inputs(self, batch_size: int = 2) -> tuple:
        ch = lambda r: _channels(r, self.cfg.channel_base, self.cfg.channel_max)  # noqa: E731
        feats = [torch.randn(batch_size, ch(r), r, r) for r in reversed(self.resolutions)]
        return feats[-1].clone(), feats + [torch.randn(batch_size, ch(4), 4, 4)]

    @classmethod
    def example_config(cls, workdir) -> MIGANConfig:
        return MIGANConfig(resolution=16, channel_base=256, channel_max=32)
