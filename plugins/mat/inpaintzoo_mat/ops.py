"""StyleGAN2-ADA's resampling and bias/activation arithmetic, as MAT's release computes it on a CPU.

MAT's layers call NVIDIA's `upfirdn2d`, `conv2d_resample` and `bias_act`; off CUDA those run their reference
paths, which are plain PyTorch operations in a fixed order. Only the cases MAT uses are written here (3×3 and 1×1
kernels; 2× up or down with the [1, 3, 3, 1] binomial; linear or leaky ReLU), each as the same sequence of
operations, so that converted weights give the release's numbers to the bit:
- a 2× downsampling convolution blurs first (the 4×4 filter, padded 2 on every side) then convolves with stride 2;
- a 2× upsampling convolution is a transposed convolution with stride 2 (flipped kernel), then the filter ×4 with
  padding 1;
- an image skip upsampled 2× inserts zeros, pads (2, 1) and filters ×4.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

SQRT2 = math.sqrt(2.0)


def binomial_filter() -> Tensor:
    """The [1, 3, 3, 1] outer product normalised to sum 1 (StyleGAN2's `setup_filter([1, 3, 3, 1])`)."""
    f = torch.tensor([1.0, 3.0, 3.0, 1.0])
    f = f.ger(f)
    return f / f.sum()


def fir(x: Tensor, f: Tensor, pad: tuple[int, int, int, int], gain: float = 1.0) -> Tensor:
    """Zero-pad (left, right, top, bottom), then a depthwise convolution with `f`·gain (flipped, as upfirdn2d's
    convolution; the binomial is symmetric)."""
    x = F.pad(x, list(pad))
    f = (f * (gain ** (f.ndim / 2))).to(x.dtype).flip([0, 1])
    return F.conv2d(x, f[None, None].repeat(x.shape[1], 1, 1, 1), groups=x.shape[1])


def upsample2d(x: Tensor, f: Tensor) -> Tensor:
    """2× zero insertion, padding (2, 1) on each axis, the filter with gain 4 (upfirdn2d.upsample2d)."""
    n, c, h, w = x.shape
    x = F.pad(x.reshape(n, c, h, 1, w, 1), [0, 1, 0, 0, 0, 1]).reshape(n, c, h * 2, w * 2)
    return fir(x, f, (2, 1, 2, 1), gain=4.0)


def conv2d_resample(x: Tensor, w: Tensor, f: Tensor, up: int = 1, down: int = 1, groups: int = 1) -> Tensor:
    """A k×k convolution (k = 1 or 3, 'same' padding) with optional 2× up- or downsampling."""
    k = w.shape[-1]
    if down == 2:  # blur, then a strided convolution (the 1×1 case is never used with resampling in MAT)
        return F.conv2d(fir(x, f, (2, 2, 2, 2)), w, stride=2, groups=groups)
    if up == 2:
        cout, cin_g = w.shape[:2]
        if groups == 1:
            w = w.transpose(0, 1)
        else:
            w = w.reshape(groups, cout // groups, cin_g, k, k).transpose(1, 2).reshape(groups * cin_g, cout // groups, k, k)
        x = F.conv_transpose2d(x, w.flip([2, 3]), stride=2, groups=groups)
        return fir(x, f, (1, 1, 1, 1), gain=4.0)
    return F.conv2d(x, w, padding=k // 2, groups=groups)


def bias_act(x: Tensor, b: Tensor | None, lrelu: bool, gain: float = 1.0, dim: int = 1) -> Tensor:
    """x + b along `dim`, then leaky ReLU 0.2 (or nothing), then × gain (skipped when 1). At inference in place (the
    same numbers; callers pass the fresh output of a matmul or convolution): on CPUs these passes are memory-bound."""
    if not torch.is_grad_enabled():
        if b is not None:
            x = x.add_(b.reshape([-1 if i == dim else 1 for i in range(x.ndim)]))
        if lrelu:
            x = F.leaky_relu_(x, 0.2)
        return x.mul_(gain) if gain != 1 else x
    if b is not None:
        x = x + b.reshape([-1 if i == dim else 1 for i in range(x.ndim)])
    if lrelu:
        x = F.leaky_relu(x, 0.2)
    return x * gain if gain != 1 else x
