"""DeepFill's two-stage generator, as mmagic configures its released checkpoints: v2 with gated convolutions (ELU
features with sigmoid gates, widths ×0.75, a tanh output), v1 with plain ones (`conv = "plain"`: ELU activations,
full widths, the output clipped to [−1, 1]); reflect padding in both.

`deepfill.coarse` is stage 1: the masked image ‖ ones ‖ mask through a strided encoder, four dilated convolutions
(rates 2, 4, 8, 16) and an upsampling decoder to a tanh image. `deepfill.refine` is stage 2: the coarse result
pasted into the hole, then two encoders side by side (one through dilated convolutions, one through contextual
attention on the hole mask), concatenated and decoded to the refined tanh image. Between them, `core.identity`
hands stage 2 the network input and the coarse image. Images in [−1, 1], holes filled with 0 (mid grey).
"""
from __future__ import annotations

from typing import Any, ClassVar, Literal

import torch
import torch.nn.functional as F
from pydantic import Field
from torch import Tensor, nn

from inpaintzoo.interfaces import ComponentConfig, Decoder, Encoder

from .attention import ContextualAttention

ENCODERS = {"stage1": [32, 64, 64, 128, 128, 128], "stage2_conv": [32, 32, 64, 64, 128, 128],
            "stage2_attention": [32, 32, 64, 128, 128, 128]}
DECODER = [128, 128, 64, 64, 32, 16]


class GatedConv(nn.Module):
    """Reflect pad → conv to 2·cout → ELU(features) · sigmoid(gate) (no ELU on an output layer)."""

    def __init__(self, cin: int, cout: int, k: int, stride: int = 1, dilation: int = 1, feature_act: bool = True):
        super().__init__()
        self.pad = nn.ReflectionPad2d(dilation * (k - 1) // 2)
        self.conv = nn.Conv2d(cin, 2 * cout, k, stride=stride, dilation=dilation)
        self.feature_act = feature_act

    def forward(self, x: Tensor) -> Tensor:
        feat, gate = self.conv(self.pad(x)).chunk(2, dim=1)
        return (F.elu(feat) if self.feature_act else feat) * torch.sigmoid(gate)


class PlainConv(nn.Module):
    """Reflect pad → conv → ELU (none on an output layer): DeepFill v1's layer (mmcv's ConvModule)."""

    def __init__(self, cin: int, cout: int, k: int, stride: int = 1, dilation: int = 1, feature_act: bool = True):
        super().__init__()
        self.pad = nn.ReflectionPad2d(dilation * (k - 1) // 2)
        self.conv = nn.Conv2d(cin, cout, k, stride=stride, dilation=dilation)
        self.feature_act = feature_act

    def forward(self, x: Tensor) -> Tensor:
        x = self.conv(self.pad(x))
        return F.elu(x) if self.feature_act else x


LAYERS = {"gated": GatedConv, "plain": PlainConv}


def encoder(cin: int, kind: str, factor: float, conv: str = "gated") -> nn.Sequential:
    ch = [int(c * factor) for c in ENCODERS[kind]]
    layers = []
    for i, (k, s) in enumerate(zip([5, 3, 3, 3, 3, 3], [1, 2, 1, 2, 1, 1])):
        layers.append(LAYERS[conv](cin if i == 0 else ch[i - 1], ch[i], k, s))
    return nn.Sequential(*layers)


def dilated(c: int, conv: str = "gated") -> nn.Sequential:
    return nn.Sequential(*[LAYERS[conv](c, c, 3, dilation=2 ** (i + 1)) for i in range(4)])


class Upsampling(nn.Module):
    """Seven 3×3 convs, nearest ×2 after the 2nd and the 4th; tanh (v2) or a clip to [−1, 1] (v1)."""

    def __init__(self, cin: int, factor: float, out: int = 3, conv: str = "gated", out_act: str = "tanh"):
        super().__init__()
        ch = [int(c * factor) for c in DECODER] + [out]
        self.layers = nn.ModuleList(LAYERS[conv](cin if i == 0 else ch[i - 1], ch[i], 3, feature_act=i < 6)
                                    for i in range(7))
        self.out_act = out_act

    def forward(self, x: Tensor) -> Tensor:
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i in (1, 3):
                x = F.interpolate(x, scale_factor=2)
        return torch.tanh(x) if self.out_act == "tanh" else x.clamp(-1, 1)


class CoarseConfig(ComponentConfig):
    derive: ClassVar[dict[str, Any]] = {"in_channels": "model.channels"}
    in_channels: int = Field(3, ge=1)
    channel_factor: float = Field(0.75, gt=0, description="mmagic's DeepFill v2: 0.75 of DeepFill v1's widths")
    conv: Literal["gated", "plain"] = Field("gated", description="'gated': DeepFill v2's gated convolutions; 'plain': "
                                                                 "DeepFill v1's convolutions with ELU")
    out_act: Literal["tanh", "clip"] = Field("tanh", description="the output: tanh (v2) or clipped to [−1, 1] (v1)")


class CoarseNet(Encoder):
    """Stage 1; returns [network input (image ‖ ones ‖ mask), coarse image]."""

    Config = CoarseConfig

    def __init__(self, cfg: CoarseConfig):
        super().__init__(cfg)
        c = int(128 * cfg.channel_factor)
        self.encoder = encoder(cfg.in_channels + 2, "stage1", cfg.channel_factor, cfg.conv)
        self.dilation = dilated(c, cfg.conv)
        self.decoder = Upsampling(c, cfg.channel_factor, cfg.in_channels, cfg.conv, cfg.out_act)

    def forward(self, x: Tensor, mask: Tensor) -> list[Tensor]:
        inp = torch.cat([x, torch.ones_like(mask), mask], dim=1)
        return [inp, self.decoder(self.dilation(self.encoder(inp)))]

    def example_inputs(self, batch_size: int = 2) -> tuple:
        m = torch.zeros(batch_size, 1, 80, 80)
        m[..., 20:50, 30:60] = 1
        return torch.rand(batch_size, self.cfg.in_channels, 80, 80) * 2 - 1, m

    @classmethod
    def example_config(cls, workdir) -> CoarseConfig:
        return CoarseConfig(channel_factor=0.125)


class RefineConfig(ComponentConfig):
    derive: ClassVar[dict[str, Any]] = {"channel_factor": "encoder.channel_factor", "out_channels": "model.channels",
                                        "conv": "encoder.conv", "out_act": "encoder.out_act"}
    channel_factor: float = Field(0.75, gt=0, description="the encoders' and bottleneck's width factor")
    conv: Literal["gated", "plain"] = Field("gated", description="as stage 1's")
    out_act: Literal["tanh", "clip"] = Field("tanh", description="as stage 1's")
    decoder_factor: float = Field(1.0, gt=0, description="the stage-2 decoder's width factor (mmagic: 1)")
    softmax_scale: float = Field(10.0, gt=0, description="contextual attention's softmax temperature")
    out_channels: int = Field(3, ge=1)


class RefineNet(Decoder):
    """Stage 2: the coarse image pasted into the hole, dilated-conv and contextual-attention branches, decoded."""

    Config = RefineConfig

    def __init__(self, cfg: RefineConfig):
        super().__init__(cfg)
        c = int(128 * cfg.channel_factor)
        cin = cfg.out_channels + 2
        self.encoder_conv = encoder(cin, "stage2_conv", cfg.channel_factor, cfg.conv)
        self.dilation = dilated(c, cfg.conv)
        self.encoder_attention = encoder(cin, "stage2_attention", cfg.channel_factor, cfg.conv)
        self.attention = ContextualAttention(cfg.softmax_scale)
        self.attention_convs = nn.Sequential(LAYERS[cfg.conv](c, c, 3), LAYERS[cfg.conv](c, c, 3))
        self.decoder = Upsampling(2 * c, cfg.decoder_factor, cfg.out_channels, cfg.conv, cfg.out_act)

    def forward(self, h: Tensor, skips: list[Tensor] | None = None) -> Tensor:
        if skips is None or len(skips) != 2:
            raise ValueError("the DeepFill refinement needs stage 1's input and coarse image")
        inp, coarse = skips
        c = self.cfg.out_channels
        mask = inp[:, -1:]
        x = torch.cat([coarse * mask + inp[:, :c] * (1 - mask), inp[:, c:]], dim=1)
        conv_x = self.dilation(self.encoder_conv(x))
        att = self.encoder_attention(x)
        att = self.attention_convs(self.attention(att, F.interpolate(mask, size=att.shape[-2:])))
        return self.decoder(torch.cat([conv_x, att], dim=1))

    def example_inputs(self, batch_size: int = 2) -> tuple:
        m = torch.zeros(batch_size, 1, 80, 80)
        m[..., 20:50, 30:60] = 1
        inp = torch.cat([torch.rand(batch_size, self.cfg.out_channels, 80, 80), torch.ones_like(m), m], 1)
        coarse = torch.rand(batch_size, self.cfg.out_channels, 80, 80)
        return coarse, [inp, coarse]

    @classmethod
    def example_config(cls, workdir) -> RefineConfig:
        return RefineConfig(channel_factor=0.125, decoder_factor=0.125)
