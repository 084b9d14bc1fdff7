"""Large photos: where the network runs when the image is bigger than what it was trained on (IOPaint's HD
strategies, the behaviour its users expect).

- `original`: the whole image, padded or resized to the network as its contract says.
- `resize`: the image scaled down so its longer side is `resize_limit`, inpainted, the result scaled back up;
  only the hole takes the upscaled result.
- `crop`: each connected hole region with `crop_margin` pixels of context around it (regions whose windows
  overlap are merged), each window inpainted on its own (windows of one size run as one batch), and pasted back
  into the hole. A 4000×3000 photo with a 200×200 hole runs the network on a few hundred thousand pixels, not 12 M.
- `auto` (the default): `crop` when the image's longer side exceeds `crop_trigger`, else `original`.

Whatever the strategy, pixels outside the hole are the caller's own (the final composite takes the input there).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from .errors import InputError

STRATEGIES = ("auto", "original", "resize", "crop")


@dataclass(frozen=True)
class HDOptions:
    strategy: str = "auto"
    crop_margin: int = 128
    crop_trigger: int = 800
    resize_limit: int = 1280

    def __post_init__(self) -> None:
        if self.strategy not in STRATEGIES:
            raise InputError(f"hd_strategy={self.strategy!r}: expected one of {', '.join(STRATEGIES)}")
        for name in ("crop_margin", "crop_trigger", "resize_limit"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < (0 if name == "crop_margin" else 1):
                raise InputError(f"hd {name}={value!r}: expected a whole number ≥ {0 if name == 'crop_margin' else 1}")

    def resolve(self, h: int, w: int) -> str:
        if self.strategy != "auto":
            return self.strategy
        return "crop" if max(h, w) > self.crop_trigger else "original"


Net = Callable[[Tensor, Tensor], Tensor]  # (image N×C×H×W in [0, 1], mask N×1×H×W) → prediction in [0, 1]


def run(net: Net, x01: Tensor, mask: Tensor, opts: HDOptions, square: bool = False) -> Tensor:
    """The prediction for the whole image under `opts` (outside the hole: whatever; the caller composites).
    `square`: crop windows are grown to squares where the image allows (fixed-size networks resize each window
    to their square input, which would otherwise stretch it)."""
    h, w = x01.shape[-2:]
    strategy = opts.resolve(h, w)
    if strategy == "original" or (strategy == "resize" and max(h, w) <= opts.resize_limit):
        return net(x01, mask)
    if strategy == "resize":
        return _resized(net, x01, mask, opts.resize_limit)
    out = x01.clone()
    for i in range(x01.shape[0]):  # each image has its own holes
        windows = crop_windows(mask[i, 0], opts.crop_margin, square)
        by_size: dict[tuple[int, int], list[tuple[int, int, int, int]]] = {}
        for win in windows:
            by_size.setdefault((win[2] - win[0], win[3] - win[1]), []).append(win)
        for group in by_size.values():
            xs = torch.stack([x01[i, :, t:b, l:r] for t, l, b, r in group])
            ms = torch.stack([mask[i, :, t:b, l:r] for t, l, b, r in group])
            preds = net(xs, ms)
            for (t, l, b, r), p, m in zip(group, preds, ms):
                out[i, :, t:b, l:r] = torch.where(m.bool(), p.to(out.dtype), out[i, :, t:b, l:r])
    return out


def _resized(net: Net, x01: Tensor, mask: Tensor, limit: int) -> Tensor:
    h, w = x01.shape[-2:]
    s = limit / max(h, w)
    size = (max(1, round(h * s)), max(1, round(w * s)))
    small = F.interpolate(x01, size=size, mode="bicubic", align_corners=False, antialias=True).clamp(0, 1)
    small_mask = (F.interpolate(mask, size=size, mode="area") > 0).to(mask.dtype)  # any hole pixel keeps a cell a hole
    pred = net(small, small_mask)
    return F.interpolate(pred, size=(h, w), mode="bicubic", align_corners=False).clamp(0, 1)


def crop_windows(mask: Tensor, margin: int, square: bool = False) -> list[tuple[int, int, int, int]]:
    """(top, left, bottom, right) windows, one per group of hole regions: each connected region's box grown by
    `margin` (and to a square, with `square`) and clipped to the image; windows that overlap are merged until none
    do."""
    h, w = mask.shape
    boxes = [_grow(t - margin, l - margin, b + margin, r + margin, h, w, square)
             for t, l, b, r in component_boxes(mask.cpu().numpy() > 0)]
    merged = True
    while merged:
        merged = False
        out: list[tuple[int, int, int, int]] = []
        for box in boxes:
            for j, other in enumerate(out):
                if box[0] < other[2] and other[0] < box[2] and box[1] < other[3] and other[1] < box[3]:
                    out[j] = (min(box[0], other[0]), min(box[1], other[1]), max(box[2], other[2]), max(box[3], other[3]))
                    merged = True
                    break
            else:
                out.append(box)
        boxes = [_grow(*b, h, w, square) for b in out]
    return sorted(boxes)


def _grow(t: int, l: int, b: int, r: int, h: int, w: int, square: bool) -> tuple[int, int, int, int]:
    """Clip to the image; with `square`, extend the shorter side (shifting inward at the borders) to the longer,
    as far as the image allows."""
    t, l, b, r = max(0, t), max(0, l), min(h, b), min(w, r)
    if square:
        side = max(b - t, r - l)
        t, b = _extend(t, b, min(side, h), h)
        l, r = _extend(l, r, min(side, w), w)
    return t, l, b, r


def _extend(lo: int, hi: int, size: int, limit: int) -> tuple[int, int]:
    grow = size - (hi - lo)
    lo = max(0, lo - grow // 2)
    hi = min(limit, lo + size)
    return hi - size, hi


def component_boxes(hole: np.ndarray) -> list[tuple[int, int, int, int]]:
    """Bounding boxes (top, left, bottom, right; exclusive ends) of the 8-connected regions of a boolean array.

    Labelled by runs: each row's runs of hole pixels are joined (union-find) with the runs of the previous row
    they touch, so the cost follows the number of runs, not of pixels (12-megapixel masks in milliseconds).
    """
    parent: list[int] = []

    def find(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    runs: list[tuple[int, int, int]] = []  # (row, start, end)
    prev: list[int] = []
    padded = np.zeros((hole.shape[0], hole.shape[1] + 2), dtype=np.int8)
    padded[:, 1:-1] = hole
    edges = np.diff(padded, axis=1)
    for y in range(hole.shape[0]):
        starts = np.flatnonzero(edges[y] == 1)
        if starts.size == 0:
            prev = []
            continue
        ends = np.flatnonzero(edges[y] == -1)
        current = []
        j = 0
        for s, e in zip(starts.tolist(), ends.tolist()):
            idx = len(runs)
            runs.append((y, s, e))
            parent.append(idx)
            while j < len(prev) and runs[prev[j]][2] < s:  # previous runs ending before this one's reach
                j += 1
            k = j
            while k < len(prev) and runs[prev[k]][1] <= e:  # 8-connected: touching diagonally counts
                ra, rb = find(idx), find(prev[k])
                if ra != rb:
                    parent[rb] = ra
                k += 1
            current.append(idx)
        prev = current
    boxes: dict[int, list[int]] = {}
    for idx, (y, s, e) in enumerate(runs):
        b = boxes.setdefault(find(idx), [y, s, y + 1, e])
        b[0], b[1], b[2], b[3] = min(b[0], y), min(b[1], s), max(b[2], y + 1), max(b[3], e)
    return [tuple(b) for b in boxes.values()]
