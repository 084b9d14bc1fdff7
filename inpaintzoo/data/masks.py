"""Mask generators (1 = hole): centre square, random boxes, LaMa-style irregular strokes, free-form strokes.

Sizes are given for 256-pixel images, as LaMa states them, and scaled with the image.
"""
from __future__ import annotations

import math
from typing import Literal

import torch
from pydantic import Field
from torch import Tensor

from ..interfaces import ComponentConfig, MaskGenerator


def _randint(lo: int, hi: int, g: torch.Generator) -> int:
    """Uniform integer in [lo, hi] inclusive."""
    return int(torch.randint(lo, hi + 1, (1,), generator=g))


def _rand(g: torch.Generator) -> float:
    return float(torch.rand((), generator=g))


def draw_segment(canvas: Tensor, x0: float, y0: float, x1: float, y1: float, width: float) -> None:
    """Set to 1 every pixel within width/2 of the segment (a thick line with round caps)."""
    h, w = canvas.shape
    ys = torch.arange(h, dtype=torch.float32).view(-1, 1)
    xs = torch.arange(w, dtype=torch.float32).view(1, -1)
    dx, dy = x1 - x0, y1 - y0
    ll = dx * dx + dy * dy
    t = ((xs - x0) * dx + (ys - y0) * dy) / ll if ll > 0 else torch.zeros(h, w)
    t = t.clamp(0, 1)
    d2 = (xs - (x0 + t * dx)) ** 2 + (ys - (y0 + t * dy)) ** 2
    canvas[d2 <= (width / 2) ** 2] = 1.0


def draw_box(canvas: Tensor, g: torch.Generator, lo: int, hi: int) -> None:
    h, w = canvas.shape
    bw, bh = min(_randint(lo, hi, g), w), min(_randint(lo, hi, g), h)
    x, y = _randint(0, w - bw, g), _randint(0, h - bh, g)
    canvas[y : y + bh, x : x + bw] = 1.0


class NoneConfig(ComponentConfig):
    pass


class NoMask(MaskGenerator):
    """No hole at all: for auto-encoder pre-training through the ordinary training loop."""

    Config = NoneConfig
    draws_holes = False

    def __call__(self, n: int, height: int, width: int, generator: torch.Generator) -> Tensor:
        return torch.zeros(n, 1, height, width)


class CenterConfig(ComponentConfig):
    size: float = Field(0.5, gt=0, description="side of the square hole: a fraction of the image (≤ 1) or pixels (> 1)")


class CenterMask(MaskGenerator):
    """A centred square hole (MEDFE-CAE: 128 px in a 256 px image, rows and columns 64–191)."""

    Config = CenterConfig

    def __call__(self, n: int, height: int, width: int, generator: torch.Generator) -> Tensor:
        s = self.cfg.size
        sh = round(s * height) if s <= 1 else min(int(s), height)
        sw = round(s * width) if s <= 1 else min(int(s), width)
        m = torch.zeros(n, 1, height, width)
        top, left = (height - sh) // 2, (width - sw) // 2
        m[..., top : top + sh, left : left + sw] = 1.0
        return m


class BoxesConfig(ComponentConfig):
    min_boxes: int = Field(1, ge=1)
    max_boxes: int = Field(3, ge=1)
    min_size: int = Field(30, ge=1, description="box side, pixels at 256")
    max_size: int = Field(100, ge=1, description="box side, pixels at 256")


class BoxesMask(MaskGenerator):
    """Random axis-aligned boxes."""

    Config = BoxesConfig

    def __call__(self, n: int, height: int, width: int, generator: torch.Generator) -> Tensor:
        scale = min(height, width) / 256
        lo = max(1, round(self.cfg.min_size * scale))
        hi = max(lo, round(self.cfg.max_size * scale))
        out = torch.zeros(n, 1, height, width)
        for i in range(n):
            for _ in range(_randint(self.cfg.min_boxes, max(self.cfg.min_boxes, self.cfg.max_boxes), generator)):
                draw_box(out[i, 0], generator, lo, hi)
        return out


#: LaMa's irregular-mask presets at 256 px: strokes, max width, max length, box chance, boxes, box size.
LAMA_PRESETS = {
    "thin": dict(min_times=4, max_times=70, max_width=20, max_len=100, box_p=0.0, boxes=(0, 0), box_size=(0, 0)),
    "medium": dict(min_times=4, max_times=10, max_width=100, max_len=200, box_p=0.3, boxes=(1, 5), box_size=(30, 150)),
    "thick": dict(min_times=1, max_times=5, max_width=250, max_len=450, box_p=0.3, boxes=(1, 4), box_size=(30, 300)),
}


class LamaConfig(ComponentConfig):
    preset: Literal["thin", "medium", "thick"] = "medium"
    max_angle: int = Field(4, ge=1)


class LamaMask(MaskGenerator):
    """LaMa's irregular strokes (polylines of 1–5 segments) with its thin/medium/thick presets, plus boxes."""

    Config = LamaConfig

    def __call__(self, n: int, height: int, width: int, generator: torch.Generator) -> Tensor:
        p = LAMA_PRESETS[self.cfg.preset]
        scale = min(height, width) / 256
        out = torch.zeros(n, 1, height, width)
        for i in range(n):
            canvas = out[i, 0]
            for k in range(_randint(p["min_times"], p["max_times"], generator)):
                x, y = _randint(0, width - 1, generator), _randint(0, height - 1, generator)
                for _ in range(1 + _randint(0, 4, generator)):
                    angle = 0.01 + _randint(0, self.cfg.max_angle - 1, generator)
                    if k % 2 == 0:
                        angle = 2 * math.pi - angle
                    length = (10 + _randint(0, p["max_len"] - 1, generator)) * scale
                    brush = max(1.0, (5 + _randint(0, p["max_width"] - 1, generator)) * scale)
                    ex = min(max(x + length * math.sin(angle), 0), width - 1)
                    ey = min(max(y + length * math.cos(angle), 0), height - 1)
                    draw_segment(canvas, x, y, ex, ey, brush)
                    x, y = ex, ey
            if p["box_p"] and _rand(generator) < p["box_p"]:
                lo, hi = (max(1, round(s * scale)) for s in p["box_size"])
                for _ in range(_randint(*p["boxes"], generator)):
                    draw_box(canvas, generator, lo, hi)
        return out


class FreeFormConfig(ComponentConfig):
    max_vertices: int = Field(8, ge=2)
    max_strokes: int = Field(4, ge=1)
    min_width: int = Field(12, ge=1, description="brush width, pixels at 256")
    max_width: int = Field(40, ge=1, description="brush width, pixels at 256")
    max_angle: float = Field(2 * math.pi / 5, gt=0)


class FreeFormMask(MaskGenerator):
    """DeepFill-v2 free-form brush strokes: random walks with jittered angles and round joints."""

    Config = FreeFormConfig

    def __call__(self, n: int, height: int, width: int, generator: torch.Generator) -> Tensor:
        c = self.cfg
        scale = min(height, width) / 256
        avg_radius = math.sqrt(height * height + width * width) / 8
        out = torch.zeros(n, 1, height, width)
        for i in range(n):
            for _ in range(_randint(1, c.max_strokes, generator)):
                nv = _randint(4, max(4, c.max_vertices), generator)
                brush = max(1.0, (c.min_width + _rand(generator) * (c.max_width - c.min_width)) * scale)
                x, y = _rand(generator) * width, _rand(generator) * height
                base = _rand(generator) * 2 * math.pi
                for j in range(nv):
                    a = base + (_rand(generator) - 0.5) * 2 * c.max_angle
                    a = a if j % 2 == 0 else a + math.pi
                    r = max(1.0, avg_radius / 2 + (_rand(generator) - 0.5) * avg_radius)
                    ex = min(max(x + r * math.cos(a), 0), width - 1)
                    ey = min(max(y + r * math.sin(a), 0), height - 1)
                    draw_segment(out[i, 0], x, y, ex, ey, brush)
                    x, y = ex, ey
        return out
