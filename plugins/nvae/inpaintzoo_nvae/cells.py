"""NVAE's cells: the encoder residual cell and the generative (inverted-residual) cell.

Cell wrapper: y = skip(x) + 0.1 · SE(ops(x)). Down cells skip through FactorizedReduce (channels ×2),
up cells through bilinear ×2 + 1×1 conv (channels ÷2). BatchNorm momentum 0.05 as in the reference.
SE, activation and depthwise-conv creation come from timm.layers.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from pydantic import Field, model_validator
from timm.layers import SEModule, create_act_layer, create_conv2d
from torch import Tensor, nn
from torch.nn.utils.parametrizations import weight_norm as _weight_norm

from inpaintzoo.interfaces import Block, ComponentConfig

BN_MOMENTUM = 0.05
RESIDUAL_SCALE = 0.1


def bn(c: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(c, eps=1e-5, momentum=BN_MOMENTUM)


def conv(cin: int, cout: int, k: int, stride: int = 1, bias: bool = True, wn: bool = False, groups: int = 1) -> nn.Module:
    """NVAE's Conv2D: 'same' padding, optionally weight-normalised."""
    c = nn.Conv2d(cin, cout, k, stride, padding=k // 2, bias=bias, groups=groups)
    return _weight_norm(c) if wn else c


def se(c: int) -> SEModule:
    """NVAE's SE: hidden width max(C/16, 4), ReLU, sigmoid gate (timm's 1×1-conv form of the Linear layers)."""
    return SEModule(c, rd_channels=max(c // 16, 4), act_layer=nn.ReLU)


class FactorizedReduce(nn.Module):
    """Swish, then four 1×1 stride-2 convs on the four pixel phases, concatenated (channels ×2)."""

    def __init__(self, cin: int, cout: int, wn: bool = True):
        super().__init__()
        self.act = create_act_layer("swish")
        sizes = [cout // 4] * 3 + [cout - 3 * (cout // 4)]
        self.convs = nn.ModuleList(conv(cin, s, 1, 2, wn=wn) for s in sizes)

    def forward(self, x: Tensor) -> Tensor:
        x = self.act(x)
        phases = [x, x[:, :, 1:, 1:], x[:, :, :, 1:], x[:, :, 1:, :]]
        return torch.cat([c(p) for c, p in zip(self.convs, phases)], dim=1)


class UpSample(nn.Module):
    """Bilinear ×2 (align_corners=True), then a 1×1 conv without bias (channels ÷2): the up cell's skip."""

    def __init__(self, cin: int, cout: int, wn: bool = True):
        super().__init__()
        self.conv = conv(cin, cout, 1, bias=False, wn=wn)  # the release's Conv2D default: no bias

    def forward(self, x: Tensor) -> Tensor:
        return self.conv(F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=True))


class CellConfig(ComponentConfig):
    in_channels: int = Field(16, ge=1)
    out_channels: int = Field(16, ge=1)
    stride: int = Field(1, description="1 keeps the size; 2 halves it (channels ×2); -1 doubles it (channels ÷2)")
    use_se: bool = True
    weight_norm: bool = Field(True, description="weight-normalised convs, as NVAE's Conv2D (no data-dependent init)")

    @model_validator(mode="after")
    def _channels(self) -> "CellConfig":
        want = {1: self.in_channels, 2: 2 * self.in_channels, -1: self.in_channels // 2}.get(self.stride)
        if want is None:
            raise ValueError(f"stride must be 1, 2 or -1, got {self.stride}")
        if self.out_channels != want:
            raise ValueError(f"stride {self.stride} with in_channels={self.in_channels} needs out_channels={want}")
        return self


class _Cell(Block):
    def __init__(self, cfg: CellConfig):
        super().__init__(cfg)
        cin, cout = cfg.in_channels, cfg.out_channels
        if cfg.stride == 1:
            self.skip: nn.Module = nn.Identity()
        elif cfg.stride == 2:
            self.skip = FactorizedReduce(cin, cout, cfg.weight_norm)
        else:
            self.skip = UpSample(cin, cout, cfg.weight_norm)
        self.se = se(cout) if cfg.use_se else nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        return self.skip(x) + RESIDUAL_SCALE * self.se(self.ops(x))


class ResidualCell(_Cell):
    """NVAE encoder cell (res_bnswish ×2): [BN → Swish → Conv3×3] × 2 → SE, residual ×0.1.

    An up cell upsamples (nearest ×2) after the first BN → Swish, as the release does: the same output as
    upsampling first, at a quarter of the normalisation work.
    """

    Config = CellConfig

    def __init__(self, cfg: CellConfig):
        super().__init__(cfg)
        cin, cout, wn = cfg.in_channels, cfg.out_channels, cfg.weight_norm
        stride = 2 if cfg.stride == 2 else 1
        layers: list[nn.Module] = [bn(cin), create_act_layer("swish")]
        if cfg.stride == -1:
            layers.append(nn.UpsamplingNearest2d(scale_factor=2))
        layers += [conv(cin, cout, 3, stride, wn=wn), bn(cout), create_act_layer("swish"), conv(cout, cout, 3, wn=wn)]
        self.ops = nn.Sequential(*layers)


class MBConvConfig(CellConfig):
    expansion: int = Field(6, ge=1, description="E: 6 in the decoder tower, 3 in post-processing")
    kernel_size: int = Field(5, ge=1)
    weight_norm: bool = Field(False, description="NVAE's inverted-residual convs are not weight-normalised")


class MBConvCell(_Cell):
    """NVAE generative cell: BN → 1×1 ×E → BN → Swish → depthwise k×k → BN → Swish → 1×1 → BN → SE."""

    Config = MBConvConfig

    def __init__(self, cfg: MBConvConfig):
        super().__init__(cfg)
        cin, cout = cfg.in_channels, cfg.out_channels
        hidden = cin * cfg.expansion
        layers: list[nn.Module] = []
        if cfg.stride == -1:
            layers.append(nn.UpsamplingNearest2d(scale_factor=2))
        stride = 2 if cfg.stride == 2 else 1
        layers += [
            bn(cin),
            nn.Conv2d(cin, hidden, 1, bias=False), bn(hidden), create_act_layer("swish"),
            create_conv2d(hidden, hidden, cfg.kernel_size, stride=stride, depthwise=True, bias=False), bn(hidden),
            create_act_layer("swish"),
            nn.Conv2d(hidden, cout, 1, bias=False), bn(cout),
        ]
        self.ops = nn.Sequential(*layers)


def make_cell(registry_name: str, cin: int, stride: int, **kw) -> Block:
    """Build a registered block by name, so encoders and decoders can use any plugin's cell."""
    from inpaintzoo import plugins

    entry = plugins.registry().get(registry_name, "block")
    cout = {1: cin, 2: 2 * cin, -1: cin // 2}[stride]
    fields = entry.config.model_fields
    cfg = entry.config(in_channels=cin, out_channels=cout, stride=stride, **{k: v for k, v in kw.items() if k in fields})
    return entry.factory(cfg)
