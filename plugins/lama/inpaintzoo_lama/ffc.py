"""Fast Fourier convolution (Chi et al., NeurIPS 2020) as LaMa uses it.

A feature map is split into a local part (ordinary 3×3 convolutions) and a global part whose channels are
mixed in the frequency domain: the spectral transform reduces channels (1×1 conv, BN, ReLU), applies a Fourier
unit — real 2-D FFT (orthonormal), real and imaginary parts interleaved per channel, 1×1 conv, BN, ReLU, inverse
FFT — adds the input back and expands channels with a 1×1 conv. Four paths connect the parts: local→local,
local→global, global→local (reflect-padded convs) and global→global (the spectral transform). Module and
parameter names follow LaMa's release so its checkpoint maps by prefix. LaMa's big-lama uses no local Fourier
unit and no gates, so neither is implemented.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

from inpaintzoo.fourier import irfft2, rfft2

Pair = tuple[Tensor, Tensor | None]  # (local, global); global is None when a block has no global channels


class FourierUnit(nn.Module):
    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.conv_layer = nn.Conv2d(2 * cin, 2 * cout, 1, bias=False)
        self.bn = nn.BatchNorm2d(2 * cout)
        self.relu = nn.ReLU(inplace=True)  # in place, as the release: its input is a fresh BN output

    def forward(self, x: Tensor) -> Tensor:
        n, c, h, w = x.shape
        dtype = x.dtype
        re, im = rfft2(x.float())  # n, c, h, w//2+1 each
        f = torch.stack((re, im), dim=2).reshape(n, 2 * c, h, -1)  # channels: c0 re, c0 im, c1 re, …
        f = self.relu(self.bn(self.conv_layer(f.to(dtype))))
        f = f.float().reshape(n, -1, 2, h, f.shape[-1])
        out = irfft2(f[:, :, 0], f[:, :, 1], (h, w))
        return out.to(dtype)


class SpectralTransform(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int = 1):
        super().__init__()
        self.downsample = nn.AvgPool2d(2, 2) if stride == 2 else nn.Identity()
        self.conv1 = nn.Sequential(nn.Conv2d(cin, cout // 2, 1, bias=False), nn.BatchNorm2d(cout // 2), nn.ReLU(inplace=True))
        self.fu = FourierUnit(cout // 2, cout // 2)
        self.conv2 = nn.Conv2d(cout // 2, cout, 1, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        x = self.conv1(self.downsample(x))
        return self.conv2(x + self.fu(x))


def split(channels: int, ratio: float) -> tuple[int, int]:
    """(local, global) channel counts: the global part is int(channels · ratio), as LaMa."""
    g = int(channels * ratio)
    return channels - g, g


class FFC(nn.Module):
    def __init__(self, cin: int, cout: int, kernel: int, ratio_in: float, ratio_out: float, stride: int = 1,
                 padding: int = 0, dilation: int = 1):
        super().__init__()
        in_l, in_g = split(cin, ratio_in)
        out_l, out_g = split(cout, ratio_out)
        conv = lambda a, b: nn.Conv2d(a, b, kernel, stride, padding, dilation, bias=False, padding_mode="reflect")  # noqa: E731
        self.convl2l = conv(in_l, out_l) if in_l and out_l else None
        self.convl2g = conv(in_l, out_g) if in_l and out_g else None
        self.convg2l = conv(in_g, out_l) if in_g and out_l else None
        self.convg2g = SpectralTransform(in_g, out_g, stride) if in_g and out_g else None
        self.out_l, self.out_g = out_l, out_g

    def forward(self, x: Pair) -> Pair:
        x_l, x_g = x
        out_l = out_g = None
        if self.out_l:
            out_l = sum(m(t) for m, t in ((self.convl2l, x_l), (self.convg2l, x_g)) if m is not None and t is not None)
        if self.out_g:
            out_g = sum(m(t) for m, t in ((self.convl2g, x_l), (self.convg2g, x_g)) if m is not None and t is not None)
        return out_l, out_g


class FFCBlock(nn.Module):
    """FFC → BatchNorm → ReLU on each part (LaMa's FFC_BN_ACT)."""

    def __init__(self, cin: int, cout: int, kernel: int, ratio_in: float, ratio_out: float, stride: int = 1,
                 padding: int = 0, dilation: int = 1):
        super().__init__()
        self.ffc = FFC(cin, cout, kernel, ratio_in, ratio_out, stride, padding, dilation)
        out_l, out_g = split(cout, ratio_out)
        self.bn_l = nn.BatchNorm2d(out_l) if out_l else None
        self.bn_g = nn.BatchNorm2d(out_g) if out_g else None
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: Pair) -> Pair:
        out_l, out_g = self.ffc(x)
        return (self.act(self.bn_l(out_l)) if out_l is not None else None,
                self.act(self.bn_g(out_g)) if out_g is not None else None)


class FFCResnetBlock(nn.Module):
    def __init__(self, dim: int, ratio: float, dilation: int = 1):
        super().__init__()
        self.conv1 = FFCBlock(dim, dim, 3, ratio, ratio, padding=dilation, dilation=dilation)
        self.conv2 = FFCBlock(dim, dim, 3, ratio, ratio, padding=dilation, dilation=dilation)

    def forward(self, x: Pair) -> Pair:
        y_l, y_g = self.conv2(self.conv1(x))
        return x[0] + y_l, (x[1] + y_g) if x[1] is not None else None
