"""A partial convolution (Liu et al., ECCV 2018) as mmagic's `PartialConv2d(multi_channel=True)` computes it.

The convolution sees only valid pixels (input × mask) and is rescaled by the share of the window that was valid,
sum(1)/sum(M): out = (W·(X⊙M))·ratio + b where any of the window is valid, 0 elsewhere; the window's mask becomes
valid. mmagic convolves a per-channel mask with an all-ones kernel; in PConv's U-Net every layer's mask is the same
in all its channels, so each input part here carries one mask channel and its channel count, and the window sums
are count × (ones ⋆ mask): integer sums, exact in float32, so the result equals mmagic's to the bit while the
mask path costs one single-channel convolution per part instead of one with the layer's full width.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

#: mmagic's default: the 1e-8 added to the window's valid count before dividing (a no-op on whole counts ≥ 1)
EPS = 1e-8


class PartialConv2d(nn.Conv2d):
    """A convolution (its weights named as mmagic's) applied partially; its mask kernel is not stored."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int = 1, padding: int = 0, bias: bool = True):
        super().__init__(cin, cout, kernel, stride, padding, bias=bias)
        self.window = float(cin * kernel * kernel)

    def forward(self, parts: list[tuple[Tensor, Tensor]]) -> tuple[Tensor, Tensor]:
        """`parts`: (features, N×1×H×W mask, 1 = valid) concatenated along channels in this order; returns the
        output and its N×1 mask."""
        k, s, p = self.kernel_size, self.stride, self.padding
        ones = torch.ones(1, 1, *k, dtype=parts[0][1].dtype, device=parts[0][1].device)
        with torch.no_grad():
            count = sum(x.shape[1] * F.conv2d(m, ones, stride=s, padding=p) for x, m in parts)
            valid = count.clamp(0, 1)
            # mmagic's window / (count + 1e-8): the counts are whole numbers, and for count ≥ 1 adding 1e-8 (below
            # half a float32 step) changes nothing, so this is the same number; where count is 0 the ratio is 0
            # here rather than 9e11 × 0, which ONNX Runtime's fused kernels turned into NaN in an exported graph
            ratio = self.window / count.clamp(min=1) * valid
        x = torch.cat([x * m for x, m in parts], dim=1) if len(parts) > 1 else parts[0][0] * parts[0][1]
        # mmagic multiplies by a full-width contiguous mask, which makes the product contiguous whatever the input's
        # layout; the convolution's algorithm (and its rounding) follows the layout, so the weights' is taken here
        last = self.weight.is_contiguous(memory_format=torch.channels_last) and not self.weight.is_contiguous()
        raw = super().forward(x.contiguous(memory_format=torch.channels_last if last else torch.contiguous_format))
        if self.bias is None:
            return raw * ratio, valid
        b = self.bias.view(1, -1, 1, 1)
        return ((raw - b) * ratio + b) * valid, valid
