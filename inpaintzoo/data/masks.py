"""Mask generators (1 = hole): centre square, random boxes, LaMa's irregular masks, free-form strokes.

LaMa's presets are its released mask-generation configurations, `configs/data_gen/random_{thin,medium,thick}_
{256,512}.yaml` (advimman/lama), read as facts: a mask is either irregular strokes or boxes, drawn with
probabilities proportional to `irregular_proba` and `box_proba` (1 and 0.3), in pixels of an image whose
shorter side is the configuration's resolution, and a mask covering more than `max_tamper_area` (0.5) of the
image is drawn again. Strokes are polylines of 1–5 segments with round ends; sizes are scaled with the image
(pixels at 256 for a 256 configuration). Drawing uses PIL.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch
from pydantic import Field, model_validator
from torch import Tensor

from ..interfaces import ComponentConfig, MaskGenerator


def _randint(lo: int, hi: int, g: torch.Generator) -> int:
    """Uniform integer in [lo, hi] inclusive."""
    return int(torch.randint(lo, hi + 1, (1,), generator=g))


def _rand(g: torch.Generator) -> float:
    return float(torch.rand((), generator=g))


class Strokes:
    """A PIL canvas for strokes with round ends and joints, and boxes (1 = hole)."""

    def __init__(self, height: int, width: int):
        from PIL import Image, ImageDraw

        self.image = Image.new("L", (width, height), 0)
        self.draw = ImageDraw.Draw(self.image)

    def segment(self, x0: float, y0: float, x1: float, y1: float, width: float) -> None:
        w = max(1, int(round(width)))
        self.draw.line([(x0, y0), (x1, y1)], fill=1, width=w)
        r = w / 2
        for x, y in ((x0, y0), (x1, y1)):  # round ends, as cv2.line's thick lines
            self.draw.ellipse([x - r, y - r, x + r, y + r], fill=1)

    def box(self, x: int, y: int, w: int, h: int) -> None:
        if w > 0 and h > 0:
            self.draw.rectangle([x, y, x + w - 1, y + h - 1], fill=1)

    def tensor(self) -> Tensor:
        return torch.from_numpy(np.asarray(self.image, dtype=np.float32))


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


def ordered(cfg: Any, *pairs: tuple[str, str]) -> Any:
    """`cfg`, when each (low, high) pair of its fields is in order; else the error naming both."""
    for lo, hi in pairs:
        if getattr(cfg, lo) > getattr(cfg, hi):
            raise ValueError(f"{lo} = {getattr(cfg, lo)} exceeds {hi} = {getattr(cfg, hi)}; give {lo} ≤ {hi}")
    return cfg


class BoxesConfig(ComponentConfig):
    min_boxes: int = Field(1, ge=1)
    max_boxes: int = Field(3, ge=1)
    min_size: int = Field(30, ge=1, description="box side, pixels at 256")
    max_size: int = Field(100, ge=1, description="box side, pixels at 256")
    full_image_prob: float = Field(0.0, ge=0, le=1, description="with this probability the whole image is the hole "
                                                                "(a model then also learns to generate from its latent alone)")

    @model_validator(mode="after")
    def _ordered(self) -> "BoxesConfig":
        return ordered(self, ("min_boxes", "max_boxes"), ("min_size", "max_size"))


class BoxesMask(MaskGenerator):
    """Random axis-aligned boxes (and, with `full_image_prob`, sometimes the whole image)."""

    Config = BoxesConfig

    def __call__(self, n: int, height: int, width: int, generator: torch.Generator) -> Tensor:
        scale = min(height, width) / 256
        lo = max(1, round(self.cfg.min_size * scale))
        hi = max(lo, round(self.cfg.max_size * scale))
        out = torch.zeros(n, 1, height, width)
        for i in range(n):
            if self.cfg.full_image_prob and _rand(generator) < self.cfg.full_image_prob:
                out[i] = 1.0
                continue
            for _ in range(_randint(self.cfg.min_boxes, max(self.cfg.min_boxes, self.cfg.max_boxes), generator)):
                draw_box(out[i, 0], generator, lo, hi)
        return out


@dataclass(frozen=True)
class LamaPreset:
    """One of LaMa's `random_*` mask configurations (pixels at `resolution`)."""

    resolution: int
    min_times: int
    max_times: int
    max_width: int
    max_len: int
    max_angle: int = 4
    box_proba: float = 0.0
    box_margin: int = 0
    box_min: int = 0
    box_max: int = 0
    box_min_times: int = 1
    box_max_times: int = 1


#: advimman/lama configs/data_gen/random_{kind}_{resolution}.yaml (irregular_proba 1 throughout; max_tamper_area 0.5)
LAMA_PRESETS = {
    ("thin", 256): LamaPreset(256, 4, 50, 10, 40),
    ("thin", 512): LamaPreset(512, 4, 70, 20, 100),
    ("medium", 256): LamaPreset(256, 4, 5, 50, 100, box_proba=0.3, box_margin=0, box_min=10, box_max=50, box_max_times=5),
    ("medium", 512): LamaPreset(512, 4, 10, 100, 200, box_proba=0.3, box_margin=0, box_min=30, box_max=150, box_max_times=5),
    ("thick", 256): LamaPreset(256, 1, 5, 100, 200, box_proba=0.3, box_margin=10, box_min=30, box_max=150, box_max_times=3),
    ("thick", 512): LamaPreset(512, 1, 5, 250, 450, box_proba=0.3, box_margin=10, box_min=30, box_max=300, box_max_times=4),
    # what LaMa trains big-lama and LaMa-Fourier with (configs/training/data/abl-04-256-mh-dist.yaml: irregular and box
    # generators at equal probability); the training generator has no area limit: use it with max_area = 1
    ("train", 256): LamaPreset(256, 1, 5, 100, 200, box_proba=1.0, box_margin=10, box_min=30, box_max=150, box_max_times=4),
}
LAMA_MAX_AREA = 0.5


class LamaConfig(ComponentConfig):
    preset: Literal["thin", "medium", "thick", "train"] = Field(
        "medium", description="LaMa's evaluation sets random_{thin,medium,thick}_{resolution}, or 'train': its training "
                              "masks (abl-04-256-mh-dist, resolution 256)")
    resolution: Literal[256, 512] = Field(256, description="LaMa's configuration: random_{preset}_{resolution}; sizes "
                                                          "are pixels at that resolution, scaled with the image")
    max_area: float = Field(LAMA_MAX_AREA, gt=0, le=1, description="masks covering more of the image are drawn again "
                                                                    "(LaMa's max_tamper_area)")
    full_image_prob: float = Field(0.0, ge=0, le=1, description="with this probability the whole image is the hole (not "
                                                                "LaMa's: a model with a latent also learns to draw from it alone)")

    @model_validator(mode="after")
    def _known_preset(self) -> "LamaConfig":
        if (self.preset, self.resolution) not in LAMA_PRESETS:
            raise ValueError(f"preset '{self.preset}' exists at resolution 256 only; set resolution = 256")
        return self


class LamaMask(MaskGenerator):
    """LaMa's irregular masks: strokes (polylines of 1–5 segments) or boxes, with its thin/medium/thick presets.

    As LaMa's `RandomIrregularMaskGenerator` at full ramp, the stroke count runs to max_times + 1, segment
    angles are 0.01 + {0 … max_angle−1} rad (mirrored on even strokes), lengths 10 + [0, max_len) and widths
    5 + [0, max_width) px, and ends are clipped to the image.
    """

    Config = LamaConfig

    def __call__(self, n: int, height: int, width: int, generator: torch.Generator) -> Tensor:
        p = LAMA_PRESETS[(self.cfg.preset, self.cfg.resolution)]
        out = torch.zeros(n, 1, height, width)
        for i in range(n):
            if self.cfg.full_image_prob and _rand(generator) < self.cfg.full_image_prob:
                out[i] = 1.0
                continue
            for _ in range(1000):
                m = self.draw(p, height, width, generator)
                if float(m.mean()) <= self.cfg.max_area:
                    break
            out[i, 0] = m
        return out

    @staticmethod
    def draw(p: LamaPreset, height: int, width: int, g: torch.Generator) -> Tensor:
        scale = min(height, width) / p.resolution
        canvas = Strokes(height, width)
        if p.box_proba and _rand(g) < p.box_proba / (1.0 + p.box_proba):
            margin = round(p.box_margin * scale)
            lo = max(1, round(p.box_min * scale))
            hi = max(lo, min(round(p.box_max * scale), height - 2 * margin, width - 2 * margin))
            for _ in range(_randint(p.box_min_times, p.box_max_times, g)):
                bw, bh = _randint(lo, hi, g), _randint(lo, hi, g)
                x = _randint(margin, max(margin, width - margin - bw), g)
                y = _randint(margin, max(margin, height - margin - bh), g)
                canvas.box(x, y, bw, bh)
            return canvas.tensor()
        for k in range(_randint(p.min_times, p.max_times + 1, g)):
            x, y = _randint(0, width - 1, g), _randint(0, height - 1, g)
            for _ in range(1 + _randint(0, 4, g)):
                angle = 0.01 + _randint(0, p.max_angle - 1, g)
                if k % 2 == 0:
                    angle = 2 * math.pi - angle
                length = (10 + _randint(0, p.max_len - 1, g)) * scale
                brush = max(1.0, (5 + _randint(0, p.max_width - 1, g)) * scale)
                ex = min(max(int(x + length * math.sin(angle)), 0), width)
                ey = min(max(int(y + length * math.cos(angle)), 0), height)
                canvas.segment(x, y, ex, ey, brush)
                x, y = ex, ey
        return canvas.tensor()


class FreeFormConfig(ComponentConfig):
    max_vertices: int = Field(8, ge=2)
    max_strokes: int = Field(4, ge=1)
    min_width: int = Field(12, ge=1, description="brush width, pixels at 256")
    max_width: int = Field(40, ge=1, description="brush width, pixels at 256")
    max_angle: float = Field(2 * math.pi / 5, gt=0)

    @model_validator(mode="after")
    def _ordered(self) -> "FreeFormConfig":
        return ordered(self, ("min_width", "max_width"))


class FreeFormMask(MaskGenerator):
    """DeepFill-v2 free-form brush strokes: random walks with jittered angles and round joints."""

    Config = FreeFormConfig

    def __call__(self, n: int, height: int, width: int, generator: torch.Generator) -> Tensor:
        c = self.cfg
        scale = min(height, width) / 256
        avg_radius = math.sqrt(height * height + width * width) / 8
        out = torch.zeros(n, 1, height, width)
        for i in range(n):
            canvas = Strokes(height, width)
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
                    canvas.segment(x, y, ex, ey, brush)
                    x, y = ex, ey
            out[i, 0] = canvas.tensor()
        return out
