"""MEDFE's encoder (E1–E6 + dilated residual middle) and decoder (D1–D6 with equalized skips).

The release's encoder starts E2–E6 with `nn.LeakyReLU(0.2, True)`: running each block overwrites the previous
block's output in place, so the features it returns for E1–E5 are activated, and its PCconv activates them a
second time (slope 0.04 on negatives) and adds its residuals to the activated maps. That is a side effect, not
the described method: by default the encoder returns pre-activation features; `activated_features = true`
reproduces the release (its weights were trained with it).

Weights start at N(0, 0.02) as the release's `init_net` (`init = "pytorch"` keeps PyTorch's defaults).
"""
from __future__ import annotations

from typing import Any, ClassVar, Literal

import torch
import torch.nn.functional as F
from pydantic import Field
from torch import Tensor, nn

from inpaintzoo.components.init import release_init
from inpaintzoo.interfaces import ComponentConfig, Decoder, Encoder


def down(cin: int, cout: int, act: bool = True, norm: bool = True) -> nn.Sequential:
    layers: list[nn.Module] = [nn.LeakyReLU(0.2)] if act else []
    layers.append(nn.Conv2d(cin, cout, 4, 2, 1))
    if norm:
        layers.append(nn.InstanceNorm2d(cout, affine=True))
    return nn.Sequential(*layers)


class ResnetBlock(nn.Module):
    """Pad(d) → 3×3 conv dilation d (no bias) → IN → ReLU → Pad(1) → 3×3 conv → IN, plus identity."""

    def __init__(self, c: int, dilation: int, padding: str):
        super().__init__()
        pad = nn.ReflectionPad2d if padding == "reflect" else nn.ZeroPad2d
        self.block = nn.Sequential(
            pad(dilation), nn.Conv2d(c, c, 3, dilation=dilation, bias=False), nn.InstanceNorm2d(c), nn.ReLU(True),
            pad(1), nn.Conv2d(c, c, 3, bias=False), nn.InstanceNorm2d(c),
        )

    def forward(self, x: Tensor) -> Tensor:
        return x + self.block(x)


class EncoderConfig(ComponentConfig):
    derive: ClassVar[dict[str, Any]] = {"in_channels": "model.channels"}
    in_channels: int = Field(3, ge=1)
    ngf: int = Field(8, ge=1, description="base width (paper: 64 → 64, 128, 256, 512, 512, 512)")
    res_blocks: int = Field(4, ge=0)
    dilation: int = Field(2, ge=1, description="2 as in the runnable release (5 crashes at 256²)")
    res_padding: Literal["reflect", "zero"] = Field("reflect", description="'zero' for inputs too small to reflect at 1/64 scale")
    init: Literal["release", "pytorch"] = Field("release", description="'release': N(0, 0.02) conv weights as init_net; 'pytorch': defaults")
    activated_features: bool = Field(
        False, description="the release's computation: E2–E6 open with an in-place LeakyReLU, so E1–E5's outputs "
                           "are handed on already activated (the equalizer then activates them again and adds its "
                           "residuals to them); the released weights were trained so. Default: pre-activation")


def encoder_channels(ngf: int) -> list[int]:
    return [ngf, 2 * ngf, 4 * ngf, 8 * ngf, 8 * ngf, 8 * ngf]


class MEDFEEncoder(Encoder):
    """E1–E6 (4×4 stride-2, IN, LeakyReLU 0.2) on image ‖ valid mask ×C, dilated residual blocks at 1/64."""

    Config = EncoderConfig

    def __init__(self, cfg: EncoderConfig):
        super().__init__(cfg)
        ch = encoder_channels(cfg.ngf)
        cin = 2 * cfg.in_channels  # image ‖ (1 − mask) repeated per channel, as the reference's 6-channel input
        self.e1 = down(cin, ch[0], act=False, norm=False)
        self.e2, self.e3, self.e4, self.e5 = (down(ch[i - 1], ch[i]) for i in range(1, 5))
        self.e6 = down(ch[4], ch[5], norm=False)
        self.middle = nn.Sequential(*[ResnetBlock(ch[5], cfg.dilation, cfg.res_padding) for _ in range(cfg.res_blocks)])
        if cfg.init == "release":
            release_init(self)

    def forward(self, x: Tensor, mask: Tensor) -> list[Tensor]:
        h = torch.cat([x, (1 - mask).expand_as(x)], dim=1)
        feats = []
        for layer in (self.e1, self.e2, self.e3, self.e4, self.e5, self.e6):
            h = layer(h)
            feats.append(h)
        if self.cfg.activated_features:  # what the release's in-place activations leave behind
            feats[:5] = [F.leaky_relu(f, 0.2) for f in feats[:5]]
        feats[-1] = self.middle(feats[-1])
        return feats

    def example_inputs(self, batch_size: int = 2) -> tuple:
        return torch.randn(batch_size, self.cfg.in_channels, 256, 256), torch.zeros(batch_size, 1, 256, 256)


class DecoderConfig(ComponentConfig):
    derive: ClassVar[dict[str, Any]] = {"ngf": "encoder.ngf", "out_channels": "model.channels"}
    ngf: int = Field(8, ge=1)
    out_channels: int = Field(3, ge=1)
    init: Literal["release", "pytorch"] = Field("release", description="'release': N(0, 0.02) conv weights as init_net; 'pytorch': defaults")


def up(cin: int, cout: int, last: bool = False) -> nn.Sequential:
    tail: nn.Module = nn.Tanh() if last else nn.InstanceNorm2d(cout, affine=True)
    # not in place: the first block's input is the equalizer's skip, which callers still hold (latent.h)
    return nn.Sequential(nn.ReLU(), nn.ConvTranspose2d(cin, cout, 4, 2, 1), tail)


class MEDFEDecoder(Decoder):
    """D1–D6: ReLU → ConvT 4×4 s2 → IN, each after concatenating the next equalized skip; Tanh output."""

    Config = DecoderConfig

    def __init__(self, cfg: DecoderConfig):
        super().__init__(cfg)
        e = encoder_channels(cfg.ngf)
        self.d1 = up(e[5], e[4])
        self.d2 = up(e[4] + e[4], e[3])
        self.d3 = up(e[3] + e[3], e[2])
        self.d4 = up(e[2] + e[2], e[1])
        self.d5 = up(e[1] + e[1], e[0])
        self.d6 = up(e[0] + e[0], cfg.out_channels, last=True)
        if cfg.init == "release":
            release_init(self)

    def forward(self, h: Tensor, skips: list[Tensor] | None = None) -> Tensor:
        if skips is None or len(skips) != 6:
            raise ValueError("the MEDFE decoder needs the six skip features of the equalizer")
        s1, s2, s3, s4, s5, s6 = skips
        x = self.d1(s6)
        for layer, skip in ((self.d2, s5), (self.d3, s4), (self.d4, s3), (self.d5, s2), (self.d6, s1)):
            x = layer(torch.cat([x, skip], dim=1))
        return x

    def example_inputs(self, batch_size: int = 2) -> tuple:
        e = encoder_channels(self.cfg.ngf)
        sizes = [128, 64, 32, 16, 8, 4]
        skips = [torch.randn(batch_size, c, s, s) for c, s in zip(e, sizes)]
        return (skips[-1], skips)
