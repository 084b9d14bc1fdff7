"""MI-GAN's inference layers: depthwise-separable convolutions with StyleGAN2-style resampling and noise.

The release's inference network (`lib/model_zoo/migan_inference.py`, after `export_inference_model.py` folded the
weight demodulation and re-parametrisation into plain convolutions) resamples with fixed 4×4 depthwise filters,
the [1, 3, 3, 1] binomial as an outer product: downsampling filters with stride 2 (sum 1); upsampling repeats
each pixel, keeps one of every 2×2 (a stored 0/1 pattern, `filter_const`), pads (2, 1, 2, 1) and filters with
gain 4 (upfirdn2d's zero insertion). Noise is a stored constant field per resolution (`noise_const`) scaled by
a learned strength, so inference is deterministic and the network works at the resolution it was exported for.
Activations are leaky ReLU 0.2 times √2, clamped to ±256. Module and buffer names are the release's.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

GAIN = math.sqrt(2.0)
CLAMP = 256.0


def lrelu_agc(x: Tensor) -> Tensor:
    """In place when no gradient is recorded (callers pass fresh tensors; the separable convs are memory-bound on
    CPUs, and the release too works in place); out of place when training."""
    if torch.is_grad_enabled():
        return (F.leaky_relu(x, 0.2) * GAIN).clamp(-CLAMP, CLAMP)
    return F.leaky_relu_(x, 0.2).mul_(GAIN).clamp_(-CLAMP, CLAMP)


def binomial(gain: float = 1.0) -> Tensor:
    f = torch.tensor([1.0, 3.0, 3.0, 1.0])
    f = torch.outer(f, f)
    return f / f.sum() * gain


class Downsample2d(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.filter = nn.Conv2d(channels, channels, 4, stride=2, padding=1, groups=channels, bias=False)
        with torch.no_grad():
            self.filter.weight.copy_(binomial().expand_as(self.filter.weight))

    def forward(self, x: Tensor) -> Tensor:
        return self.filter(x)


class Upsample2d(nn.Module):
    def __init__(self, channels: int, resolution: int):
        super().__init__()
        pattern = torch.tensor([[1.0, 0.0], [0.0, 0.0]]).repeat(resolution // 2, resolution // 2)
        self.register_buffer("filter_const", pattern[None, None].clone())
        self.filter = nn.Conv2d(channels, channels, 4, groups=channels, bias=False)
        with torch.no_grad():
            self.filter.weight.copy_(binomial(4.0).expand_as(self.filter.weight))

    def forward(self, x: Tensor) -> Tensor:
        x = F.interpolate(x, scale_factor=2, mode="nearest") * self.filter_const
        return self.filter(F.pad(x, (2, 1, 2, 1)))


class SeparableConv2d(nn.Module):
    """Depthwise k×k (bias) → act → [downsample] → 1×1 (no bias) → [upsample] → [+ noise] → act."""

    def __init__(self, cin: int, cout: int, kernel: int = 3, resolution: int | None = None, noise: bool = False,
                 down: bool = False, up: bool = False):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cin, kernel, padding=kernel // 2, groups=cin)
        self.conv2 = nn.Conv2d(cin, cout, 1, bias=False)
        self.downsample = Downsample2d(cin) if down else None
        self.upsample = Upsample2d(cout, resolution) if up else None
        self.use_noise = noise
        if noise:
            self.register_buffer("noise_const", torch.randn(resolution, resolution))
            self.noise_strength = nn.Parameter(torch.zeros([]))

    def forward(self, x: Tensor) -> Tensor:
        x = lrelu_agc(self.conv1(x))
        if self.downsample is not None:
            x = self.downsample(x)
        x = self.conv2(x)
        if self.upsample is not None:
            x = self.upsample(x)
        if self.use_noise:
            noise = self.noise_const * self.noise_strength
            x = x + noise if torch.is_grad_enabled() else x.add_(noise)
        return lrelu_agc(x)
