"""A small anti-aliased rasteriser for matplotlib-like scenes in data coordinates.

Each shape is composited with its own coverage (out = out·(1 − α) + colour·α), as matplotlib's Agg backend
does, where α is the fraction of the pixel the shape covers, estimated from SS × SS samples and computed only
inside the shape's bounding box. The matplotlib behaviours that decide pixels in the pendulum scenes are
reproduced: the axes clip box rounded to whole pixels, a stroked edge of a given pixel width around filled
shapes (matplotlib's default 1-pt patch edge), butt line ends, and axis-aligned lines snapped to the pixel grid.
"""
from __future__ import annotations

import math
from typing import Annotated

import numpy as np
import torch
from pydantic import AfterValidator
from torch import Tensor

SS = 8  # samples per pixel side


def _square(size: tuple[int, int]) -> tuple[int, int]:
    if size[0] != size[1]:
        raise ValueError("scenes are rendered square: height and width must be equal")
    if not 8 <= size[0] <= 1024:
        raise ValueError(f"render size must lie in 8…1024 pixels, got {size[0]}")
    return size


#: A render size for a spec: checked square when the spec is validated, so the error names the key.
SquareSize = Annotated[tuple[int, int], AfterValidator(_square)]

Colour = tuple[float, float, float]


class Canvas:
    """An RGB canvas whose data box maps to a pixel box, like a matplotlib Axes inside a Figure.

    Pixel coordinates run right and down with pixel k spanning [k, k + 1). `box` = (left, right, bottom, top)
    as fractions of the figure (matplotlib's subplot parameters).
    """

    def __init__(self, size: int, xlim: tuple[float, float], ylim: tuple[float, float],
                 box: tuple[float, float, float, float] = (0.0, 1.0, 0.0, 1.0), background: Colour = (1.0, 1.0, 1.0)):
        self.size = size
        left, right, bottom, top = box
        self.sx = (right - left) * size / (xlim[1] - xlim[0])
        self.sy = (top - bottom) * size / (ylim[1] - ylim[0])
        self.x0, self.xlim0 = left * size, xlim[0]
        self.y0, self.ylim1 = (1 - top) * size, ylim[1]
        # Agg rounds the clip rectangle to whole pixels: floor(edge + 0.5)
        self.clip = (math.floor(left * size + 0.5), math.floor(right * size + 0.5),
                     math.floor((1 - top) * size + 0.5), math.floor((1 - bottom) * size + 0.5))
        self.rgb = np.empty((size, size, 3))
        self.rgb[:] = background
        offs = (np.arange(SS) + 0.5) / SS
        self._offs = offs

    # -- coordinates ------------------------------------------------------------------------------
    def px(self, x: float, y: float) -> tuple[float, float]:
        """Data → pixel coordinates."""
        return self.x0 + (x - self.xlim0) * self.sx, self.y0 + (self.ylim1 - y) * self.sy

    def _window(self, x0: float, x1: float, y0: float, y1: float) -> tuple[int, int, int, int] | None:
        c0, c1, r0, r1 = self.clip
        c0, c1 = max(c0, math.floor(min(x0, x1))), min(c1, math.ceil(max(x0, x1)))
        r0, r1 = max(r0, math.floor(min(y0, y1))), min(r1, math.ceil(max(y0, y1)))
        return (c0, c1, r0, r1) if c0 < c1 and r0 < r1 else None

    def _samples(self, win: tuple[int, int, int, int]) -> tuple[np.ndarray, np.ndarray]:
        c0, c1, r0, r1 = win
        xs = (np.arange(c0, c1)[:, None] + self._offs[None]).reshape(-1)
        ys = (np.arange(r0, r1)[:, None] + self._offs[None]).reshape(-1)
        return xs[None, :], ys[:, None]  # sample grid (rows × cols)

    def _paint(self, win: tuple[int, int, int, int], inside: np.ndarray, colour: Colour) -> None:
        c0, c1, r0, r1 = win
        alpha = inside.reshape(r1 - r0, SS, c1 - c0, SS).mean(axis=(1, 3))[..., None]
        patch = self.rgb[r0:r1, c0:c1]
        patch *= 1 - alpha
        patch += alpha * np.asarray(colour)

    # -- shapes -----------------------------------------------------------------------------------
    def ellipse(self, cx: float, cy: float, rx: float, ry: float, colour: Colour, edge_px: float = 0.0) -> None:
        """A filled ellipse of data-unit radii, with a stroked edge `edge_px` wide centred on its outline."""
        pcx, pcy = self.px(cx, cy)
        a, b = abs(rx * self.sx), abs(ry * self.sy)
        grow = edge_px / 2
        win = self._window(pcx - a - grow - 1, pcx + a + grow + 1, pcy - b - grow - 1, pcy + b + grow + 1)
        if win is None:
            return
        X, Y = self._samples(win)
        u, v = (X - pcx) / a, (Y - pcy) / b
        f = u * u + v * v - 1
        if grow > 0:  # signed distance to the outline, to first order: f / |∇f|
            grad = 2 * np.sqrt((u / a) ** 2 + (v / b) ** 2) + 1e-12
            inside = f / grad <= grow
        else:
            inside = f <= 0
        self._paint(win, inside, colour)

    def circle(self, cx: float, cy: float, r: float, colour: Colour, edge_px: float = 0.0) -> None:
        self.ellipse(cx, cy, r, r, colour, edge_px)

    def rect(self, x0: float, x1: float, y0: float, y1: float, colour: Colour) -> None:
        (pa, qa), (pb, qb) = self.px(x0, y0), self.px(x1, y1)
        win = self._window(pa, pb, qa, qb)
        if win is None:
            return
        X, Y = self._samples(win)
        inside = (X >= min(pa, pb)) & (X <= max(pa, pb)) & (Y >= min(qa, qb)) & (Y <= max(qa, qb))
        self._paint(win, inside, colour)

    def line(self, xa: float, ya: float, xb: float, yb: float, width_px: float, colour: Colour,
             caps: str = "round", snap: bool = False) -> None:
        """A segment of constant pixel width (matplotlib linewidths are in points, not data units).

        caps: 'round' or 'butt'. snap: round the ends of an axis-aligned line to the pixel grid as Agg does
        (vertices to floor(v + 0.5), plus ½ for an odd width), which makes a horizontal bar a whole-pixel box.
        """
        ax, ay = self.px(xa, ya)
        bx, by = self.px(xb, yb)
        hw = width_px / 2
        if snap and (ax == bx or ay == by):
            off = 0.5 if round(width_px) % 2 else 0.0
            ax, ay, bx, by = (math.floor(v + 0.5) + off for v in (ax, ay, bx, by))
            x0, x1 = (min(ax, bx) - hw, max(ax, bx) + hw) if ax == bx else (min(ax, bx), max(ax, bx))
            y0, y1 = (min(ay, by) - hw, max(ay, by) + hw) if ay == by else (min(ay, by), max(ay, by))
            win = self._window(x0, x1, y0, y1)
            if win is not None:
                X, Y = self._samples(win)
                self._paint(win, (X >= x0) & (X <= x1) & (Y >= y0) & (Y <= y1), colour)
            return
        win = self._window(min(ax, bx) - hw - 1, max(ax, bx) + hw + 1, min(ay, by) - hw - 1, max(ay, by) + hw + 1)
        if win is None:
            return
        X, Y = self._samples(win)
        dx, dy = bx - ax, by - ay
        length = math.hypot(dx, dy)
        if length == 0:
            if caps == "butt":
                return  # a zero-length butt line draws nothing
            inside = (X - ax) ** 2 + (Y - ay) ** 2 <= hw * hw
        else:
            t = ((X - ax) * dx + (Y - ay) * dy) / length  # along the segment, pixels
            n = ((X - ax) * dy - (Y - ay) * dx) / length  # across it
            if caps == "butt":
                inside = (t >= 0) & (t <= length) & (np.abs(n) <= hw)
            else:
                tc = np.clip(t, 0, length)
                inside = (t - tc) ** 2 + n * n <= hw * hw
        self._paint(win, inside, colour)

    def polyline(self, points: list[tuple[float, float]], width_px: float, colour: Colour) -> None:
        for (xa, ya), (xb, yb) in zip(points[:-1], points[1:]):
            self.line(xa, ya, xb, yb, width_px, colour)

    # -- output -----------------------------------------------------------------------------------
    def uint8(self) -> np.ndarray:
        """H×W×3 uint8, rounded as a PNG writer would."""
        return np.clip(np.round(self.rgb * 255), 0, 255).astype(np.uint8)

    def image(self) -> Tensor:
        """3×size×size float image in [0, 1]."""
        return torch.from_numpy(self.uint8()).permute(2, 0, 1).float() / 255
