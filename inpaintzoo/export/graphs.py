"""The two graphs `inpaintzoo export` writes, as torch modules the exporter traces.

`NetworkGraph`: the network alone, in image units. Float N×C×H×W images in [0, 1] and N×1×H×W masks (1 = hole) at a
size the network takes, in; the prediction in [0, 1] out (hole fill, normalisation, the network and its inverse
normalisation, as `inpaint()` runs them; no resizing, padding or compositing).

`PipelineGraph`: the whole usage contract. A uint8 H×W×C image and a uint8 H×W mask (non-zero = hole) of any size,
in; the uint8 H×W×C result out: padded to the size multiple as the release pads (or resized, for fixed-size
networks), run, cropped back, rounded, and composited so pixels outside the hole are the input's own bytes.

Both are written shape-polymorphic (no Python branch on a size), so one file serves every size: the padding indices
are computed from the symbolic size rather than chosen by `if`, which is why this file does not call
`contract.to_network_size` (that branches on whether padding is needed); the tests check the two agree.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .. import contract as C
from ..spec import Contract


class NetworkGraph(nn.Module):
    """image [0, 1], mask (1 = hole) → prediction [0, 1], at a size the network takes."""

    def __init__(self, model: nn.Module, compute_dtype: torch.dtype = torch.float32):
        super().__init__()
        self.model = model
        self.contract: Contract = model.contract
        self.compute_dtype = compute_dtype

    def forward(self, image: Tensor, mask: Tensor) -> Tensor:
        x, m = image.to(self.compute_dtype), mask.to(self.compute_dtype)
        _, pred, _, _ = self.model.run(x, m)
        return C.denormalize(pred.float(), self.contract).clamp(0, 1)


def _pad_index(n: int, extra: int, mode: str) -> Tensor:
    """`contract.pad_indices` without a branch on the size (n and extra may be symbolic): numpy.pad's index for every
    padded position."""
    i = torch.arange(n + extra)
    if mode == "replicate":
        return i.clamp(max=n - 1)
    period = torch.sym_max(2 * n if mode == "symmetric" else 2 * n - 2, 1)  # 1-pixel reflect: every index is 0
    j = i % torch.full((), period, dtype=i.dtype)  # a tensor divisor: the exporter has no remainder by a symbol
    mirrored = (2 * n - 1 - j) if mode == "symmetric" else (2 * n - 2 - j)
    return torch.where(j < n, j, mirrored).clamp(min=0, max=n - 1)


def _bins(out: int, n: int) -> Tensor:
    """The out×n 0/1 matrix of adaptive pooling's cells (cell i spans ⌊i·n/out⌋ … ⌈(i+1)·n/out⌉ − 1), so
    `bins_h @ mask @ bins_wᵀ > 0` says whether a cell holds a hole pixel: what `contract.to_network_size` computes
    as `interpolate(mode="area") > 0`. The exporter fixes area resizing's cells at the traced size; these are
    computed from the size given (sums of 0/1 values are exact in float32)."""
    i = torch.arange(out)[:, None]
    j = torch.arange(n)[None, :]
    size = torch.full((), n, dtype=i.dtype)
    start = i * size // out
    end = ((i + 1) * size + out - 1) // out
    return ((j >= start) & (j < end)).float()


class PipelineGraph(nn.Module):
    """uint8 H×W×C image, uint8 H×W mask (non-zero = hole) → uint8 H×W×C, the contract applied inside."""

    def __init__(self, model: nn.Module, compute_dtype: torch.dtype = torch.float32):
        super().__init__()
        self.net = NetworkGraph(model, compute_dtype)
        self.contract: Contract = model.contract

    def forward(self, image: Tensor, mask: Tensor) -> Tensor:
        c = self.contract
        h, w = image.shape[0], image.shape[1]
        x = image.permute(2, 0, 1)[None].float() / 255.0
        m = (mask > 0).float()[None, None]
        if c.resize == "fixed":
            th, tw = c.image_size
            xn = F.interpolate(x, size=(th, tw), mode="bilinear", align_corners=False, antialias=True).clamp(0, 1)
            mn = (_bins(th, h) @ m @ _bins(tw, w).t() > 0).float()  # = (area resize > 0), at any input size
            y = F.interpolate(self.net(xn, mn), size=(h, w), mode="bilinear", align_corners=False).clamp(0, 1)
        else:
            k, low = c.size_multiple, c.min_size
            th = (torch.sym_max(h, low) + k - 1) // k * k
            tw = (torch.sym_max(w, low) + k - 1) // k * k
            xn, mn = self._pad(x, h, th - h), self._pad(m, h, th - h)
            xn, mn = self._pad(xn, w, tw - w, dim=-1), self._pad(mn, w, tw - w, dim=-1)
            y = self.net(xn, mn)[..., :h, :w]
        pred = (y * 255.0).round().clamp(0, 255).to(torch.uint8)[0].permute(1, 2, 0)
        return torch.where(mask[..., None] > 0, pred, image)

    def _pad(self, x: Tensor, n: int, extra: int, dim: int = -2) -> Tensor:
        mode = self.contract.pad_mode
        if mode == "constant":
            size = list(x.shape)
            size[dim] = extra
            return torch.cat([x, x.new_zeros(size)], dim=dim)
        return x.index_select(dim, _pad_index(n, extra, mode))
