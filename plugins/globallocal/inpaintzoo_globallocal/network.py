"""Global&Local's completion network, as mmagic configures its released checkpoints (configs/_base_/models/base_gl.py).

`globallocal.encoder`: the masked image ‖ mask through six convolutions (5×5 then 3×3; strides 1, 2, 1, 2, 1, 1;
64 → 256 channels) and four dilated ones (rates 2, 4, 8, 16), each convolution → batch norm → ReLU with zero
padding. `globallocal.decoder`: seven layers back to full resolution (two 4×4 stride-2 transposed convolutions),
the last a plain convolution whose output is clipped to [−1, 1]. Images in [−1, 1], holes filled with 0.
"""
from __future__ import annotations

from typing import Any, ClassVar

import torch
from pydantic import Field
from torch import Tensor, nn

from inpaintzoo.interfaces import ComponentConfig, Decoder, Encoder

#: (out channels, kernel, stride, dilation) of the encoder and its dilated neck, as mmagic's GLEncoder/GLDilationNeck
ENCODER = [(64, 5, 1, 1), (128, 3, 2, 1), (128, 3, 1, 1), (256, 3, 2, 1), (256, 3, 1, 1), (256, 3, 1, 1)]
NECK = [(256, 3, 1, 2), (256, 3, 1, 4), (256, 3, 1, 8), (256, 3, 1, 16)]
#: (out channels, kernel, transposed) of the decoder's first six layers (the seventh: 3 channels, 3×3, no norm)
DECODER = [(256, 3, False), (256, 3, False), (128, 4, True), (128, 3, False), (64, 4, True), (32, 3, False)]


class ConvBNReLU(nn.Module):
    """mmcv's ConvModule with batch norm: a bias-free convolution (or 4×4 stride-2 transposed one), BN, ReLU."""

    def __init__(self, cin: int, cout: int, k: int, stride: int = 1, dilation: int = 1, transposed: bool = False,
                 width: float = 1.0):
        super().__init__()
        cout = max(1, int(cout * width))
        if transposed:
            self.conv = nn.ConvTranspose2d(cin, cout, k, stride=2, padding=1, bias=False)
        else:
            self.conv = nn.Conv2d(cin, cout, k, stride=stride, padding=dilation * (k - 1) // 2, dilation=dilation,
                                  bias=False)
        self.bn = nn.BatchNorm2d(cout)
        self.out_channels = cout

    def forward(self, x: Tensor) -> Tensor:
        return torch.relu(self.bn(self.conv(x)))


class EncoderConfig(ComponentConfig):
    derive: ClassVar[dict[str, Any]] = {"in_channels": "model.channels"}
    in_channels: int = Field(3, ge=1)
    width: float = Field(1.0, gt=0, description="channel multiplier (the release: 1)")


class GLEncoder(Encoder):
    """The masked image ‖ mask → 1/4-scale features through the strided and the dilated convolutions."""

    Config = EncoderConfig

    def __init__(self, cfg: EncoderConfig):
        super().__init__(cfg)
        layers, cin = [], cfg.in_channels + 1
        for cout, k, s, d in ENCODER + NECK:
            layers.append(ConvBNReLU(cin, cout, k, s, d, width=cfg.width))
            cin = layers[-1].out_channels
        self.encoder = nn.Sequential(*layers[: len(ENCODER)])
        self.dilation = nn.Sequential(*layers[len(ENCODER):])

    def forward(self, x: Tensor, mask: Tensor) -> list[Tensor]:
        return [self.dilation(self.encoder(torch.cat([x, mask], dim=1)))]

    def example_inputs(self, batch_size: int = 2) -> tuple:
        m = torch.zeros(batch_size, 1, 32, 32)
        m[..., 8:20, 10:24] = 1
        return torch.rand(batch_size, self.cfg.in_channels, 32, 32) * 2 - 1, m

    @classmethod
    def example_config(cls, workdir) -> EncoderConfig:
        return EncoderConfig(width=0.125)


class DecoderConfig(ComponentConfig):
    derive: ClassVar[dict[str, Any]] = {"width": "encoder.width", "out_channels": "model.channels"}
    width: float = Field(1.0, gt=0, description="as the encoder's")
    out_channels: int = Field(3, ge=1)


class GLDecoder(Decoder):
    """1/4-scale features → the completed image, clipped to [−1, 1] (mmagic's `out_act = 'clip'`)."""

    Config = DecoderConfig

    def __init__(self, cfg: DecoderConfig):
        super().__init__(cfg)
        layers, cin = [], max(1, int(256 * cfg.width))
        for cout, k, transposed in DECODER:
            layers.append(ConvBNReLU(cin, cout, k, transposed=transposed, width=cfg.width))
            cin = layers[-1].out_channels
        self.layers = nn.Sequential(*layers)
        self.out = nn.Conv2d(cin, cfg.out_channels, 3, padding=1)

    def forward(self, h: Tensor, skips: list[Tensor] | None = None) -> Tensor:
        return self.out(self.layers(h)).clamp(-1, 1)

    def example_inputs(self, batch_size: int = 2) -> tuple:
        return (torch.rand(batch_size, max(1, int(256 * self.cfg.width)), 8, 8),)

    @classmethod
    def example_config(cls, workdir) -> DecoderConfig:
        return DecoderConfig(width=0.125)
