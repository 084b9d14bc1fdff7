"""Partial convolution (Liu et al. 2018): real, with the mask propagated, or as the MEDFE release computes it.

Real (default): out = W·(X ⊙ M) · (k² / Σ_window M) + b where the window holds any valid pixel, else 0; the
new mask is 1 where the window held any valid pixel, so holes shrink by (k−1)/2 per layer. M is 1 = valid
(the partial-conv convention); callers pass 1 − hole. The mask-summing kernel is a fixed buffer.

Release (`release=True`, for converted weights): the released MEDFE reduced the hole mask to the 32² map with
three 4×4 averaging convs thresholded at > 1, which is never true, so every layer saw an all-valid mask; and
its initialiser overwrote the all-ones mask kernel with N(0, 0.02) values, which the checkpoints keep. Its
output is therefore W·X divided by the map D = conv(1, K_mask) of that random kernel over an all-ones
input (seed-systems §1.3). The kernel is kept as the persistent buffer `mask_weight`.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class PartialConv2d(nn.Conv2d):
    def __init__(self, *args, release: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        k = self.kernel_size
        self.release = release
        self.register_buffer("ones", torch.ones(1, 1, *k), persistent=False)
        self.window = float(k[0] * k[1])
        if release:
            self.register_buffer("mask_weight", torch.empty_like(self.weight).normal_(0.0, 0.02))
            self._divisor: tuple | None = None

    def forward(self, x: Tensor, valid: Tensor) -> tuple[Tensor, Tensor]:  # type: ignore[override]
        if self.release:
            return self._release(x), torch.ones_like(valid)
        with torch.no_grad():
            count = F.conv2d(valid, self.ones, stride=self.stride, padding=self.padding, dilation=self.dilation)
            new_valid = (count > 0).to(x.dtype)
            ratio = self.window / count.clamp_min(1.0) * new_valid
        out = F.conv2d(x * valid, self.weight, None, self.stride, self.padding, self.dilation, self.groups)
        out = out * ratio
        if self.bias is not None:
            out = (out + self.bias.view(1, -1, 1, 1)) * new_valid
        return out, new_valid

    def _release(self, x: Tensor) -> Tensor:
        with torch.no_grad():
            key = (x.shape[-2:], x.device, x.dtype, self.mask_weight._version, self.mask_weight.data_ptr())
            if self._divisor is None or self._divisor[0] != key:
                ones = torch.ones(1, x.shape[1], *x.shape[-2:], device=x.device, dtype=x.dtype)
                d = F.conv2d(ones, self.mask_weight.to(x.dtype), None, self.stride, self.padding, self.dilation, self.groups)
                self._divisor = (key, d.masked_fill(d == 0, 1.0), d == 0)
            _, divisor, dead = self._divisor
        out = F.conv2d(x, self.weight, None, self.stride, self.padding, self.dilation, self.groups) / divisor
        if self.bias is not None:  # (W·X + b − b) / D + b: the bias stays outside the ratio
            out = out + self.bias.view(1, -1, 1, 1)
        return out.masked_fill(dead, 0.0)
