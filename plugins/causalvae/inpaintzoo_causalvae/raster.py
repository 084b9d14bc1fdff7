"""A small anti-aliased rasteriser (4× supersampling) for matplotlib-like scenes in data coordinates."""
from __future__ import annotations

from typing import Annotated

import torch
from pydantic import AfterValidator
from torch import Tensor

SS = 4  # supersampling factor


def _square(size: tuple[int, int]) -> tuple[int, int]:
    if size[0] != size[1]:
        raise ValueError("scenes are rendered square: height and width must be equal")
    return size


#: A render size for a spec: checked square when the spec is validated, so the error names the key.
SquareSize = Annotated[tuple[int, int], AfterValidator(_square)]


class Canvas:
    """An RGB canvas whose data box maps to a pixel box, like a matplotlib Axes inside a Figure."""

    def __init__(self, size: int, xlim: tuple[float, float], ylim: tuple[float, float], box: tuple[float, float, float, float]):
        # box = (left, right, bottom, top) as fractions of the figure, matplotlib's default subplot params
        self.size = size
        n = size * SS
        self.rgb = torch.ones(3, n, n)
        px = (torch.arange(n, dtype=torch.float64) + 0.5) / SS  # pixel centres, in output pixels
        l, r, b, t = box
        x0, x1 = l * size, r * size
        y0, y1 = (1 - t) * size, (1 - b) * size  # image rows grow downward
        self.x = (xlim[0] + (px - x0) / (x1 - x0) * (xlim[1] - xlim[0])).view(1, n)
        self.y = (ylim[1] - (px - y0) / (y1 - y0) * (ylim[1] - ylim[0])).view(n, 1)
        inside_x = (px >= x0) & (px <= x1)
        inside_y = (px >= y0) & (px <= y1)
        self.clip = inside_y.view(n, 1) & inside_x.view(1, n)
        self.px_per_unit = ((x1 - x0) / (xlim[1] - xlim[0]), (y1 - y0) / (ylim[1] - ylim[0]))

    def fill(self, region: Tensor, colour: tuple[float, float, float]) -> None:
        region = region & self.clip
        c = torch.tensor(colour, dtype=self.rgb.dtype).view(3, 1, 1)
        self.rgb = torch.where(region.unsqueeze(0), c, self.rgb)

    def circle(self, cx: float, cy: float, r: float, colour) -> None:
        self.fill((self.x - cx) ** 2 + (self.y - cy) ** 2 <= r * r, colour)

    def ellipse(self, cx: float, cy: float, rx: float, ry: float, colour) -> None:
        self.fill(((self.x - cx) / rx) ** 2 + ((self.y - cy) / ry) ** 2 <= 1.0, colour)

    def polyline(self, points: list[tuple[float, float]], width_px: float, colour) -> None:
        for (xa, ya), (xb, yb) in zip(points[:-1], points[1:]):
            self.line(xa, ya, xb, yb, width_px, colour)

    def rect(self, x0: float, x1: float, y0: float, y1: float, colour) -> None:
        self.fill((self.x >= x0) & (self.x <= x1) & (self.y >= y0) & (self.y <= y1), colour)

    def line(self, xa: float, ya: float, xb: float, yb: float, width_px: float, colour) -> None:
        """A segment of constant pixel width (matplotlib linewidths are in points, not data units)."""
        sx, sy = self.px_per_unit
        X, Y = self.x * sx, self.y * sy
        ax, ay, bx, by = xa * sx, ya * sy, xb * sx, yb * sy
        dx, dy = bx - ax, by - ay
        ll = dx * dx + dy * dy
        t = (((X - ax) * dx + (Y - ay) * dy) / ll).clamp(0, 1) if ll > 0 else torch.zeros_like(X * Y)
        d2 = (X - (ax + t * dx)) ** 2 + (Y - (ay + t * dy)) ** 2
        self.fill(d2 <= (width_px / 2) ** 2, colour)

    def image(self) -> Tensor:
        """3×size×size float image in [0, 1], box-filtered down from the supersampled canvas."""
        rgb = self.rgb.float().view(3, self.size, SS, self.size, SS).mean(dim=(2, 4))
        return rgb.clamp(0, 1)
