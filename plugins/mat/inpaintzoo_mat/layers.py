"""MAT's StyleGAN2-style layers: equalised-learning-rate linear and convolution layers, modulated convolutions,
the mapping network and the partial convolution of its first stage.

Weights are stored unscaled and multiplied by 1/√fan_in at run time (equalised learning rate), as in the release,
so converted weights load unchanged. Module, parameter and buffer names are the release's.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .ops import SQRT2, bias_act, binomial_filter, conv2d_resample, upsample2d


class FullyConnected(nn.Module):
    """Linear layer (weight out×in); `lr_multiplier` scales weight and bias at run time (the mapping's 0.01)."""

    def __init__(self, cin: int, cout: int, lrelu: bool = False, lr_multiplier: float = 1.0, bias_init: float = 0.0):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(cout, cin) / lr_multiplier)
        self.bias = nn.Parameter(torch.full([cout], float(bias_init)))
        self.lrelu = lrelu
        self.weight_gain = lr_multiplier / math.sqrt(cin)
        self.bias_gain = lr_multiplier

    def forward(self, x: Tensor) -> Tensor:
        b = self.bias * self.bias_gain if self.bias_gain != 1 else self.bias
        x = x.matmul((self.weight * self.weight_gain).t())
        return bias_act(x, b, self.lrelu, SQRT2 if self.lrelu else 1.0, dim=x.ndim - 1)


class Conv2dLayer(nn.Module):
    """k×k convolution with optional 2× up/downsampling, bias, leaky ReLU × √2 (× `gain`)."""

    def __init__(self, cin: int, cout: int, kernel: int, lrelu: bool = True, up: int = 1, down: int = 1,
                 bias: bool = True):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(cout, cin, kernel, kernel))
        self.bias = nn.Parameter(torch.zeros(cout)) if bias else None
        self.register_buffer("resample_filter", binomial_filter(), persistent=False)
        self.up, self.down, self.lrelu = up, down, lrelu
        self.weight_gain = 1 / math.sqrt(cin * kernel ** 2)

    def forward(self, x: Tensor, gain: float = 1.0) -> Tensor:
        x = conv2d_resample(x, self.weight * self.weight_gain, self.resample_filter, self.up, self.down)
        return bias_act(x, self.bias, self.lrelu, (SQRT2 if self.lrelu else 1.0) * gain)


class PartialConv(nn.Module):
    """MAT's `Conv2dLayerPartial`: the convolution's output × window / (valid pixels in the window), zero where the
    window holds none; the updated mask is 1 wherever it held any. Masks here are 1 = valid (the release's)."""

    def __init__(self, cin: int, cout: int, kernel: int, up: int = 1, down: int = 1):
        super().__init__()
        self.conv = Conv2dLayer(cin, cout, kernel, lrelu=True, up=up, down=down)
        self.kernel, self.stride = kernel, down

    def forward(self, x: Tensor, mask: Tensor | None = None) -> tuple[Tensor, Tensor | None]:
        if mask is None:
            return self.conv(x), None
        with torch.no_grad():
            ones = torch.ones(1, 1, self.kernel, self.kernel, dtype=mask.dtype, device=mask.device)
            count = F.conv2d(mask, ones, stride=self.stride, padding=self.kernel // 2)
            valid = count.clamp(0, 1)
            # window / max(count, 1) × valid: the release's window / (count + 1e-8) × valid on whole counts (1e-8 is
            # below float32's resolution at 1), without a 9e8 × 0 for exporters
            ratio = self.kernel ** 2 / count.clamp(min=1) * valid
        return self.conv(x) * ratio, valid


class MappingNet(nn.Module):
    """z (normalised to unit second moment) → 8 leaky-ReLU layers at lr ×0.01 → w, repeated for each style input;
    `w_avg` tracks w's mean in training (β 0.995) for truncation."""

    def __init__(self, z_dim: int, w_dim: int, num_ws: int, layers: int = 8, w_avg_beta: float = 0.995):
        super().__init__()
        self.num_ws, self.layers, self.w_avg_beta = num_ws, layers, w_avg_beta
        dims = [z_dim] + [w_dim] * layers
        for i in range(layers):
            setattr(self, f"fc{i}", FullyConnected(dims[i], dims[i + 1], lrelu=True, lr_multiplier=0.01))
        self.register_buffer("w_avg", torch.zeros(w_dim))

    def forward(self, z: Tensor, truncation_psi: float = 1.0) -> Tensor:
        x = z.to(torch.float32)
        x = x * (x.square().mean(dim=1, keepdim=True) + 1e-8).rsqrt()
        for i in range(self.layers):
            x = getattr(self, f"fc{i}")(x)
        if self.training:
            self.w_avg.copy_(x.detach().mean(dim=0).lerp(self.w_avg, self.w_avg_beta))
        x = x.unsqueeze(1).repeat([1, self.num_ws, 1])
        return self.w_avg.lerp(x, truncation_psi) if truncation_psi != 1 else x


class ModulatedConv2d(nn.Module):
    """StyleGAN2's modulated convolution: the weight scaled per input channel by an affine map of the style,
    optionally demodulated, run as one grouped convolution over the batch."""

    def __init__(self, cin: int, cout: int, kernel: int, style_dim: int, demodulate: bool = True, up: int = 1):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(1, cout, cin, kernel, kernel))
        self.affine = FullyConnected(style_dim, cin, bias_init=1.0)
        self.register_buffer("resample_filter", binomial_filter(), persistent=False)
        self.demodulate, self.up = demodulate, up
        self.weight_gain = 1 / math.sqrt(cin * kernel ** 2)

    def forward(self, x: Tensor, style: Tensor) -> Tensor:
        n, cin, h, w = x.shape
        cout, k = self.weight.shape[1], self.weight.shape[-1]
        weight = self.weight * self.weight_gain * self.affine(style).view(n, 1, cin, 1, 1)
        if self.demodulate:
            weight = weight * (weight.pow(2).sum(dim=[2, 3, 4]) + 1e-8).rsqrt().view(n, cout, 1, 1, 1)
        # reshape, not the release's view: the same tensor where a view exists (NCHW), a copy for a channels-last batch
        x = conv2d_resample(x.reshape(1, n * cin, h, w), weight.view(n * cout, cin, k, k), self.resample_filter,
                            up=self.up, groups=n)
        return x.reshape(n, cout, *x.shape[2:])


class StyleConv(nn.Module):
    """Modulated 3×3 convolution (optionally 2× up), per-pixel noise × a learned strength, bias, leaky ReLU × √2.

    `noise_mode`: 'const' adds the stored field `noise_const` (the release's generate_image.py default), 'random' a
    fresh N(0, 1) field per image, 'none' nothing (IOPaint's)."""

    def __init__(self, cin: int, cout: int, style_dim: int, resolution: int, up: int = 1, use_noise: bool = True,
                 demodulate: bool = True):
        super().__init__()
        self.conv = ModulatedConv2d(cin, cout, 3, style_dim, demodulate, up)
        self.use_noise = use_noise
        if use_noise:
            self.register_buffer("noise_const", torch.randn(resolution, resolution))
            self.noise_strength = nn.Parameter(torch.zeros([]))
        self.bias = nn.Parameter(torch.zeros(cout))

    def forward(self, x: Tensor, style: Tensor, noise_mode: str = "const") -> Tensor:
        x = self.conv(x, style)
        if self.use_noise and noise_mode == "random":
            x = x + torch.randn([x.shape[0], 1, *x.shape[2:]], device=x.device) * self.noise_strength
        elif self.use_noise and noise_mode == "const":
            x = x + self.noise_const * self.noise_strength
        return bias_act(x, self.bias, True, SQRT2)


class ToRGB(nn.Module):
    """1×1 modulated convolution (not demodulated) to RGB, plus the previous image upsampled 2×."""

    def __init__(self, cin: int, cout: int, style_dim: int):
        super().__init__()
        self.conv = ModulatedConv2d(cin, cout, 1, style_dim, demodulate=False)
        self.bias = nn.Parameter(torch.zeros(cout))
        self.register_buffer("resample_filter", binomial_filter(), persistent=False)

    def forward(self, x: Tensor, style: Tensor, skip: Tensor | None = None) -> Tensor:
        out = bias_act(self.conv(x, style), self.bias, False)
        if skip is not None:
            out = out + (upsample2d(skip, self.resample_filter) if skip.shape != out.shape else skip)
        return out
