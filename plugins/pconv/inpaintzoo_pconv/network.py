"""PConv's U-Net, as mmagic configures its released checkpoints (configs/_base_/models/base_pconv.py).

`pconv.encoder`: seven partial convolutions of stride 2 (7×7 → 64, 5×5 → 128, 5×5 → 256, then 3×3 → 512 ×4), batch
norm after all but the first, ReLU. `pconv.decoder`: seven stages of nearest ×2 upsampling of the features and their
mask, concatenation with the encoder's features and mask at that scale, a 3×3 partial convolution, batch norm and
LeakyReLU(0.2); the last stage (back to the image's channels) has neither. The images are in [−1, 1] with holes at
0; the masks inside are 1 = valid, as the paper's. Each level's features travel to the decoder with their mask as
one extra channel (the identity prior hands every level over as skips).
"""
from __future__ import annotations

from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from pydantic import Field
from torch import Tensor, nn

from inpaintzoo.interfaces import ComponentConfig, Decoder, Encoder

from .partial_conv import PartialConv2d

#: (out channels, kernel) of mmagic's enc1…enc4; deeper layers repeat the last (512, 3)
ENCODER = [(64, 7), (128, 5), (256, 5), (512, 3)]


def levels(layers: int, width: float) -> list[tuple[int, int]]:
    """(channels, kernel) of the encoder's levels 1…layers."""
    return [(max(1, int(c * width)), k) for c, k in (ENCODER + [ENCODER[-1]] * layers)[:layers]]


class MaskConv(nn.Module):
    """mmcv's MaskConvModule: partial conv → batch norm (if any) → activation (if any); the conv has a bias only
    without a norm (mmcv's `bias='auto'`)."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int, norm: bool, act: str | None):
        super().__init__()
        self.conv = PartialConv2d(cin, cout, kernel, stride, kernel // 2, bias=not norm)
        if norm:
            self.bn = nn.BatchNorm2d(cout)
        self.act = act

    def forward(self, parts: list[tuple[Tensor, Tensor]]) -> tuple[Tensor, Tensor]:
        x, m = self.conv(parts)
        if hasattr(self, "bn"):
            x = self.bn(x)
        if self.act == "relu":
            x = F.relu(x)
        elif self.act == "lrelu":
            x = F.leaky_relu(x, 0.2)
        return x, m


def pack(x: Tensor, m: Tensor) -> Tensor:
    return torch.cat([x, m], dim=1)


def unpack(t: Tensor) -> tuple[Tensor, Tensor]:
    return t[:, :-1], t[:, -1:]


class EncoderConfig(ComponentConfig):
    derive: ClassVar[dict[str, Any]] = {"in_channels": "model.channels"}
    in_channels: int = Field(3, ge=1)
    layers: int = Field(7, ge=4, le=10, description="stride-2 levels (the release: 7; images pad to 2^layers)")
    width: float = Field(1.0, gt=0, description="channel multiplier (the release: 1)")
    norm_eval: bool = Field(True, description="keep the encoder's batch norms in eval mode while training (the "
                                              "release's second stage, which fine-tunes with them frozen)")


class PConvEncoder(Encoder):
    """Image (holes at 0) and mask → every level's features with their valid mask as one extra channel."""

    Config = EncoderConfig

    def __init__(self, cfg: EncoderConfig):
        super().__init__(cfg)
        cin = cfg.in_channels
        for i, (cout, k) in enumerate(levels(cfg.layers, cfg.width)):
            self.add_module(f"enc{i + 1}", MaskConv(cin, cout, k, 2, norm=i > 0, act="relu"))
            cin = cout
        self.n = cfg.layers

    def train(self, mode: bool = True) -> "PConvEncoder":
        super().train(mode)
        if mode and self.cfg.norm_eval:
            for m in self.modules():
                if isinstance(m, nn.BatchNorm2d):
                    m.eval()
        return self

    def forward(self, x: Tensor, mask: Tensor) -> list[Tensor]:
        m = 1.0 - mask
        out = [pack(x, m)]
        for i in range(1, self.n + 1):
            x, m = getattr(self, f"enc{i}")([(x, m)])
            out.append(pack(x, m))
        return out

    def example_inputs(self, batch_size: int = 2) -> tuple:
        side = 2 ** self.cfg.layers
        m = torch.zeros(batch_size, 1, side, side)
        m[..., side // 4: side // 2, side // 3: 2 * side // 3] = 1
        return torch.rand(batch_size, self.cfg.in_channels, side, side) * 2 - 1, m

    @classmethod
    def example_config(cls, workdir) -> EncoderConfig:
        return EncoderConfig(width=0.0625, layers=4)


class DecoderConfig(ComponentConfig):
    derive: ClassVar[dict[str, Any]] = {"layers": "encoder.layers", "width": "encoder.width",
                                        "out_channels": "model.channels"}
    layers: int = Field(7, ge=4, le=10)
    width: float = Field(1.0, gt=0)
    out_channels: int = Field(3, ge=1)


class PConvDecoder(Decoder):
    """The encoder's levels → the image, upsampling the features and their mask together."""

    Config = DecoderConfig

    def __init__(self, cfg: DecoderConfig):
        super().__init__(cfg)
        chans = [cfg.out_channels] + [c for c, _ in levels(cfg.layers, cfg.width)]
        for i in range(cfg.layers, 0, -1):
            last = i == 1
            self.add_module(f"dec{i}", MaskConv(chans[i] + chans[i - 1], cfg.out_channels if last else chans[i - 1],
                                                3, 1, norm=not last, act=None if last else "lrelu"))
        self.n = cfg.layers

    def forward(self, h: Tensor, skips: list[Tensor] | None = None) -> Tensor:
        if skips is None or len(skips) != self.n + 1:
            raise ValueError(f"pconv.decoder takes pconv.encoder's {self.n + 1} levels as skips (through core.identity), "
                             f"got {0 if skips is None else len(skips)}")
        x, m = unpack(h)
        for i in range(self.n, 0, -1):
            x = F.interpolate(x, scale_factor=2, mode="nearest")
            m = F.interpolate(m, scale_factor=2, mode="nearest")
            x, m = getattr(self, f"dec{i}")([(x, m), unpack(skips[i - 1])])
        return x

    def example_inputs(self, batch_size: int = 2) -> tuple:
        enc = PConvEncoder(EncoderConfig(width=self.cfg.width, layers=self.cfg.layers,
                                         in_channels=self.cfg.out_channels))
        feats = enc(*enc.example_inputs(batch_size))
        return feats[-1], feats

    @classmethod
    def example_config(cls, workdir) -> DecoderConfig:
        return DecoderConfig(width=0.0625, layers=4)
