"""Contextual attention (Yu et al., CVPR 2018) as DeepFill v2 uses it: fill each hole position with a mix of known
patches, weighted by how much the surrounding features resemble them.

At half the feature resolution, every 3×3 background patch (L2-normalised) is correlated with every position
(a convolution with the patches as filters); the scores are smoothed along both diagonals of the patch grid by a
3×3 identity kernel (patches next to each other attend together), patches touching the hole are excluded (−∞),
and a softmax with scale 10 picks among the rest. The output pastes the matching 4×4 patches of the full-
resolution features back (a transposed convolution, stride 2) and averages their overlaps. Where every patch
touches the hole (a hole covering the whole map) the release divides by zero and returns NaN; here that
position's attention is zero, so the output is zero there.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def _cols(x: Tensor, k: int, stride: int, padding: int, normalize: bool = False) -> Tensor:
    """N × L × C × k × k patches of `x` (L patch positions)."""
    n, c = x.shape[:2]
    u = F.unfold(x, k, stride=stride, padding=padding)
    if normalize:
        u = u / torch.clamp(u.pow(2).sum(1, keepdim=True).sqrt(), min=1e-4)
    return u.permute(0, 2, 1).reshape(n, -1, c, k, k)


class ContextualAttention(nn.Module):
    def __init__(self, softmax_scale: float = 10.0, fuse: int = 3):
        super().__init__()
        self.softmax_scale = softmax_scale
        self.register_buffer("fuse_kernel", torch.eye(fuse).view(1, 1, fuse, fuse), persistent=False)

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        """x: N × C × H × W features (H, W even); mask: N × 1 × H × W, 1 = hole."""
        n, c, h, w = x.shape
        raw = _cols(x, 4, 2, 1)  # N × L × C × 4 × 4, taken at full resolution
        small = F.interpolate(x, scale_factor=0.5)
        hs, ws = small.shape[-2:]
        patches = _cols(small, 3, 1, 1, normalize=True)  # N × L × C × 3 × 3, L = hs·ws
        corr = F.conv2d(small.reshape(1, n * c, hs, ws), patches.reshape(-1, c, 3, 3), padding=1, groups=n)
        corr = self._fuse(corr.view(n, hs * ws, hs, ws), hs, ws)
        hole = F.unfold(F.interpolate(mask, scale_factor=0.5), 3, padding=1).sum(1) > 0  # N × L: patch touches the hole
        corr = corr.masked_fill(hole[:, :, None, None], float("-inf"))
        attn = torch.softmax(corr * self.softmax_scale, dim=1).nan_to_num(0.0)
        out = F.conv_transpose2d(attn.reshape(1, -1, hs, ws), raw.reshape(-1, c, 4, 4), stride=2, padding=1, groups=n)
        ones = F.conv_transpose2d(torch.ones(1, 1, hs, ws, dtype=x.dtype, device=x.device),
                                  torch.ones(1, 1, 4, 4, dtype=x.dtype, device=x.device), stride=2, padding=1)
        return out.view(n, c, h, w) / ones.masked_fill(ones == 0, 1.0)

    def _fuse(self, corr: Tensor, hs: int, ws: int) -> Tensor:
        """Smooth scores with the identity kernel over (position, patch), in raster and then transposed order."""
        n = corr.shape[0]
        m = corr.permute(0, 2, 3, 1).reshape(n, 1, hs * ws, hs * ws)
        m = F.conv2d(m, self.fuse_kernel, padding=1)
        m = m.view(n, hs, ws, hs, ws).permute(0, 2, 1, 4, 3).reshape(n, 1, hs * ws, hs * ws)
        m = F.conv2d(m, self.fuse_kernel, padding=1)
        return m.view(n, ws, hs, ws, hs).permute(0, 4, 3, 2, 1).reshape(n, hs * ws, hs, ws)
