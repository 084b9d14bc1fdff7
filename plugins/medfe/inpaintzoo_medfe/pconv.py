"""A real partial convolution (Liu et al. 2018), with the mask propagated layer by layer.

out = W·(X ⊙ M) · (k² / Σ_window M) + b where the window holds any valid pixel, else 0; the new mask is 1
where the window held any valid pixel, so holes shrink by (k−1)/2 per layer. M is 1 = valid here (the
partial-conv convention); callers pass 1 − hole. The mask-summing kernel is a fixed buffer, not a weight,
so no initialiser can overwrite it (the released MEDFE's was, and its mask was always empty).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class PartialConv2d(nn.Conv2d):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        k = self.kernel_size
        self.register_buffer("ones", torch.ones(1, 1, *k), persistent=False)
        self.window = float(k[0] * k[1])

    def forward(self, x: Tensor, valid: Tensor) -> tuple[Tensor, Tensor]:  # type: ignore[override]
        with torch.no_grad():
            count = F.conv2d(valid, self.ones, stride=self.stride, padding=self.padding, dilation=self.dilation)
            new_valid = (count > 0).to(x.dtype)
            ratio = self.window / count.clamp_min(1.0) * new_valid
        out = F.conv2d(x * valid, self.weight, None, self.stride, self.padding, self.dilation, self.groups)
        out = out * ratio
        if self.bias is not None:
            out = (out + self.bias.view(1, -1, 1, 1)) * new_valid
        return out, new_valid
