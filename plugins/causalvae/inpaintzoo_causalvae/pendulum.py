"""The CausalVAE pendulum data set, regenerated from its exact grid and scene geometry (seed-systems §3.1).

Grid: pendulum index i ∈ [−40, 43] (θ = iπ/200), light index j ∈ [60, 147] without 100 (φ = jπ/200):
84 × 87 = 7,308 scenes. Split as the reference's counter: the first 4 train, then 3 train : 1 test
(5,482 / 1,826). Labels are the reference's raw integers (i, j, int(shadow length), int(shadow position)).

Scenes are drawn by our own rasteriser to match the release's matplotlib figure (see `render`); a scene takes
about 0.3 ms at 32² and 0.7 ms at 96² on one CPU core. Each split is rendered once per process into one
compact uint8 array (5,482 train scenes: 17 MB at 32², 152 MB at 96²), which DataLoader workers share
copy-on-write; true counterfactuals are drawn on demand.
"""
from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import numpy as np
import torch
from pydantic import Field
from torch import Tensor

from inpaintzoo.interfaces import ComponentConfig, ImageDataset

from .raster import Canvas, SquareSize

CONCEPTS = ["pendulum", "light", "shadow_length", "shadow_position"]
#: ground-truth graph: pendulum → both shadow concepts, light → both shadow concepts
TRUE_EDGES = [("pendulum", "shadow_length"), ("pendulum", "shadow_position"),
              ("light", "shadow_length"), ("light", "shadow_position")]
#: the reference's prior scales (s0, s1): λ(u) = (u − s0) / s1
LABEL_SCALE = [(0.0, 44.0), (100.0, 40.0), (6.5, 3.5), (10.0, 5.0)]
PENDULUM = list(range(-40, 44))
LIGHT = [j for j in range(60, 148) if j != 100]
BOX = (0.125, 0.9, 0.11, 0.88)  # matplotlib's default subplot parameters
FIREBRICK = (178 / 255, 34 / 255, 34 / 255)
ORANGE = (1.0, 165 / 255, 0.0)
BLACK = (0.0, 0.0, 0.0)
PIVOT = (10.0, 10.5)


def _project(x: float, y: float, slope: float, base: float = -0.5) -> float:
    """Where the ray of slope tan φ through (x, y) meets y = base."""
    return (base - (y - x * slope)) / slope


def shadow(i: float, j: float) -> tuple[float, float]:
    """(shadow length, shadow position) of the scene: the reference's projection of pivot and bob edge."""
    theta, phi = i * math.pi / 200, j * math.pi / 200
    slope = math.tan(phi)
    px, py = PIVOT
    bx, by = px + 9.5 * math.sin(theta), py - 9.5 * math.cos(theta)
    a, b = _project(px, py, slope), _project(bx, by, slope)
    return max(3.0, abs(a - b)), (a + b) / 2


@dataclass(frozen=True)
class Scene:
    pendulum: float  # index i (θ = iπ/200)
    light: float  # index j (φ = jπ/200)
    shadow_length: float
    shadow_position: float

    @classmethod
    def factual(cls, i: float, j: float) -> "Scene":
        return cls(i, j, *shadow(i, j))

    def labels(self) -> list[float]:
        return [self.pendulum, self.light, float(int(self.shadow_length)), float(int(self.shadow_position))]

    def intervene(self, values: dict[str, float]) -> "Scene":
        """The true counterfactual: do() on some concepts, descendants recomputed from the mechanism."""
        i = values.get("pendulum", self.pendulum)
        j = values.get("light", self.light)
        length, pos = shadow(i, j) if ("pendulum" in values or "light" in values) else (self.shadow_length, self.shadow_position)
        return Scene(i, j, values.get("shadow_length", length), values.get("shadow_position", pos))


def render(scene: Scene, size: int = 96) -> np.ndarray:
    """size×size×3 uint8, drawn as the release's matplotlib figure (1 inch at dpi = size, default axes box).

    Matches matplotlib's Agg output of the same scene: rod and shadow are 3-pt strokes with butt ends (the
    release draws them as two-point polygons), the horizontal shadow is snapped to whole pixels and clipped by
    the axes box, bob and sun carry the default 1-pt edge in their own colour, and shapes are drawn in the
    release's order (rod, bob, sun, shadow). Median PSNR against matplotlib 3.11 renderings of the same scenes:
    see `tests/test_pendulum_render.py` and docs/seeds.md (> 40 dB at 96 px; the old rasteriser: 24.5 dB).
    """
    c = Canvas(size, (0.0, 20.0), (-1.0, 21.0), BOX)
    pt = size / 72  # pixels per point at dpi = size
    theta, phi = scene.pendulum * math.pi / 200, scene.light * math.pi / 200
    slope = math.tan(phi)
    sun_x = PIVOT[0] + (20.5 - PIVOT[1]) / slope
    bob = (PIVOT[0] + 8 * math.sin(theta), PIVOT[1] - 8 * math.cos(theta))
    c.line(*PIVOT, *bob, 3 * pt, BLACK, caps="butt", snap=True)  # Agg snaps a vertical rod (θ = 0)
    c.circle(*bob, 1.5, FIREBRICK, edge_px=pt)
    c.circle(sun_x, 20.5, 3.0, ORANGE, edge_px=pt)
    half = scene.shadow_length / 2
    c.line(scene.shadow_position - half, -0.5, scene.shadow_position + half, -0.5, 3 * pt, BLACK, caps="butt", snap=True)
    return c.uint8()


def grid() -> list[tuple[int, int, str]]:
    """(i, j, split) in the reference's generation order."""
    out, p = [], 0
    for i in PENDULUM:
        for j in LIGHT:
            out.append((i, j, "test" if p >= 4 and p % 4 == 0 else "train"))
            p += 1
    return out


def latent_of(concept: int, value: float) -> float:
    s0, s1 = LABEL_SCALE[concept]
    return (value - s0) / s1


class PendulumConfig(ComponentConfig):
    derive: ClassVar[dict[str, Any]] = {"image_size": "model.image_size", "channels": "model.channels"}
    split: Literal["train", "val", "test", "all"] = Field("train", description="'val' is the reference's test split")
    image_size: SquareSize = Field((96, 96), description="square render size (reference: 96×96)")
    channels: Literal[3, 4] = Field(4, description="4 = the reference's RGBA (alpha 1), 3 = RGB")
    limit: int | None = Field(None, ge=1, description="use only the first N scenes of the split")


class Pendulum(ImageDataset):
    """CausalVAE's pendulum scenes (exact grid, geometry, split and labels), each split rendered once."""

    Config = PendulumConfig
    procedural = True
    in_memory = True
    label_names = CONCEPTS

    def __init__(self, cfg: PendulumConfig):
        super().__init__(cfg)
        split = "test" if cfg.split == "val" else cfg.split
        self.items = [(i, j) for i, j, s in grid() if split == "all" or s == split]
        if cfg.limit:
            self.items = self.items[: cfg.limit]
        self.pixels = _rendered(tuple(self.items), cfg.image_size[0])  # N×H×W×3 uint8
        self.labels = torch.tensor([Scene.factual(i, j).labels() for i, j in self.items])

    def __len__(self) -> int:
        return len(self.items)

    def scene(self, k: int) -> Scene:
        return Scene.factual(*self.items[k])

    def _tensor(self, rgb: np.ndarray) -> Tensor:
        img = torch.from_numpy(rgb.copy()).permute(2, 0, 1).float() / 255  # rgb is a read-only view
        if self.cfg.channels == 4:
            img = torch.cat([img, torch.ones_like(img[:1])])
        return img

    def render(self, scene: Scene) -> Tensor:
        return self._tensor(render(scene, self.cfg.image_size[0]))

    def counterfactual(self, k: int, values: dict[str, float]) -> Tensor:
        """The true image of scene k under do(values), descendants recomputed by the scene's mechanism."""
        return self.render(self.scene(k).intervene(values))

    def counterfactual_labels(self, k: int, values: dict[str, float]) -> list[float]:
        """Scene k's labels under do(values): what the true counterfactual image shows."""
        return self.scene(k).intervene(values).labels()

    def __getitem__(self, k: int) -> dict:
        return {"image": self._tensor(self.pixels[k]), "labels": self.labels[k].clone()}

    @classmethod
    def example_config(cls, workdir) -> PendulumConfig:
        return PendulumConfig(image_size=(32, 32), limit=8)


_RENDERED: OrderedDict[tuple, np.ndarray] = OrderedDict()


def _rendered(items: tuple[tuple[int, int], ...], size: int) -> np.ndarray:
    """Every scene of `items` at `size`, rendered once per process (train and val sets are built often)."""
    key = (items, size)
    if key not in _RENDERED:
        out = np.empty((len(items), size, size, 3), dtype=np.uint8)
        for k, (i, j) in enumerate(items):
            out[k] = render(Scene.factual(i, j), size)
        out.setflags(write=False)
        _RENDERED[key] = out
        while len(_RENDERED) > 4:  # a few splits × sizes: memory stays bounded however often specs change
            _RENDERED.popitem(last=False)
    _RENDERED.move_to_end(key)
    return _RENDERED[key]
