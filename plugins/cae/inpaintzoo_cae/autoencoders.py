"""The two convolutional auto-encoders of MEDFE-CAE (seed-systems §2.2), as an encoder/decoder pair.

Encoder: ReflectionPad(1) → Conv3×3 → BN → LeakyReLU(0.2), then stride-2 Conv3×3 layers with channels
doubling from ngf and capped (32 → 64 → 128 → 256 in the paper), each BN → LeakyReLU, except the layer
that produces the code, which ends with Tanh.
- `cae.texture`: 3 downs → a [256, 32, 32] code at 256² input.
- `cae.structure`: 5 downs to an 8×8 bottleneck, then 2 ConvT 3×3 s2 ups back to a [256, 32, 32] Tanh code.
`cae.decoder`: ConvT 3×3 s2 (output_padding 1) → BN → LeakyReLU per up, then ReflectionPad → Conv3×3 → Tanh.
As the release (pix2pix with BatchNorm, so `use_bias` is false), no conv has a bias except the decoder's
output conv, and weights start at N(0, 0.02), BN γ at N(1, 0.02) (`init = "pytorch"` keeps the defaults).
Pre-train a pair as an ordinary inpaintzoo model (prior `core.identity`, `core.l1` ×10, masks `core.none`).
"""
from __future__ import annotations

from typing import Any, ClassVar, Literal

import torch
from pydantic import Field
from torch import Tensor, nn

from inpaintzoo.components.init import release_init
from inpaintzoo.interfaces import ComponentConfig, Decoder, Encoder


def _chans(ngf: int, cap: int, n: int) -> list[int]:
    return [min(ngf * 2**i, cap) for i in range(n + 1)]


def _down(cin: int, cout: int, last: bool) -> nn.Sequential:
    conv = nn.Conv2d(cin, cout, 3, 2, 1, bias=False)
    return nn.Sequential(conv, nn.Tanh()) if last else nn.Sequential(conv, nn.BatchNorm2d(cout), nn.LeakyReLU(0.2, True))


def _up(cin: int, cout: int, last: bool) -> nn.Sequential:
    conv = nn.ConvTranspose2d(cin, cout, 3, 2, 1, output_padding=1, bias=False)
    return nn.Sequential(conv, nn.Tanh()) if last else nn.Sequential(conv, nn.BatchNorm2d(cout), nn.LeakyReLU(0.2, True))


class CAEConfig(ComponentConfig):
    derive: ClassVar[dict[str, Any]] = {"in_channels": "model.channels"}
    in_channels: int = Field(3, ge=1)
    ngf: int = Field(8, ge=1, description="paper: 32")
    max_channels: int = Field(32, ge=1, description="paper: 256 (the code's channels)")
    n_down: int = Field(3, ge=1)
    n_up: int = Field(0, ge=0, description="ConvT ups after the bottleneck, before the code")
    init: Literal["release", "pytorch"] = Field("release", description="'release': N(0, 0.02) weights, BN γ N(1, 0.02)")


class _CAEEncoder(Encoder):
    def __init__(self, cfg: CAEConfig):
        super().__init__(cfg)
        ch = _chans(cfg.ngf, cfg.max_channels, cfg.n_down)
        layers: list[nn.Module] = [nn.ReflectionPad2d(1), nn.Conv2d(cfg.in_channels, ch[0], 3, bias=False),
                                   nn.BatchNorm2d(ch[0]), nn.LeakyReLU(0.2, True)]
        for i in range(cfg.n_down):
            layers.append(_down(ch[i], ch[i + 1], last=(cfg.n_up == 0 and i == cfg.n_down - 1)))
        c = ch[-1]
        for i in range(cfg.n_up):
            layers.append(_up(c, c, last=(i == cfg.n_up - 1)))
        self.net = nn.Sequential(*layers)
        if cfg.init == "release":
            release_init(self)

    def forward(self, x: Tensor, mask: Tensor) -> list[Tensor]:
        return [self.net(x)]

    def example_inputs(self, batch_size: int = 2) -> tuple:
        return torch.randn(batch_size, self.cfg.in_channels, 64, 64), torch.zeros(batch_size, 1, 64, 64)


class TextureConfig(CAEConfig):
    n_down: int = Field(3, ge=1)
    n_up: int = Field(0, ge=0)


class TextureEncoder(_CAEEncoder):
    """CAE texture encoder: 3 stride-2 downs to a Tanh code at 1/8 size (paper: [256, 32, 32])."""

    Config = TextureConfig


class StructureConfig(CAEConfig):
    n_down: int = Field(5, ge=1)
    n_up: int = Field(2, ge=0)


class StructureEncoder(_CAEEncoder):
    """CAE structure encoder: 5 downs to a 1/32 bottleneck, 2 ups back to a Tanh code at 1/8 size."""

    Config = StructureConfig


class CAEDecoderConfig(ComponentConfig):
    derive: ClassVar[dict[str, Any]] = {"out_channels": "model.channels", "ngf": "encoder.ngf", "max_channels": "encoder.max_channels",
                                         "n_up": lambda r, d: r["encoder"].n_down - r["encoder"].n_up}
    out_channels: int = Field(3, ge=1)
    ngf: int = Field(8, ge=1)
    max_channels: int = Field(32, ge=1)
    n_up: int = Field(3, ge=1, description="ups from the code back to full size")
    init: Literal["release", "pytorch"] = Field("release", description="'release': N(0, 0.02) weights, BN γ N(1, 0.02)")


class CAEDecoder(Decoder):
    """Mirror of the CAE encoder: ConvT ups with BN + LeakyReLU, then ReflectionPad → Conv3×3 → Tanh."""

    Config = CAEDecoderConfig

    def __init__(self, cfg: CAEDecoderConfig):
        super().__init__(cfg)
        ch = _chans(cfg.ngf, cfg.max_channels, cfg.n_up)[::-1]
        layers: list[nn.Module] = [_up(ch[i], ch[i + 1], last=False) for i in range(cfg.n_up)]
        layers += [nn.ReflectionPad2d(1), nn.Conv2d(ch[-1], cfg.out_channels, 3), nn.Tanh()]  # the one conv with a bias
        self.net = nn.Sequential(*layers)
        if cfg.init == "release":
            release_init(self)

    def forward(self, h: Tensor, skips: list[Tensor] | None = None) -> Tensor:
        return self.net(h)

    def example_inputs(self, batch_size: int = 2) -> tuple:
        return (torch.randn(batch_size, min(self.cfg.ngf * 2**self.cfg.n_up, self.cfg.max_channels), 8, 8),)
