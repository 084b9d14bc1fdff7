"""The CausalVAE pendulum data set, regenerated from its exact grid and scene geometry (seed-systems §3.1).

Grid: pendulum index i ∈ [−40, 43] (θ = iπ/200), light index j ∈ [60, 147] without 100 (φ = jπ/200):
84 × 87 = 7,308 scenes. Split as the reference's counter: the first 4 train, then 3 train : 1 test
(5,482 / 1,826). Labels are the reference's raw integers (i, j, int(shadow length), int(shadow position)).

Rendering uses our own anti-aliased rasteriser with matplotlib's default axes box, so pixels differ
slightly from a matplotlib rendering (which itself differs across matplotlib versions); the geometry,
labels and split are exact. Scenes render in about a millisecond and are cached in memory.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

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
LINE_PX = 3 * 96 / 72  # linewidth 3 points at 96 dpi


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


def render(scene: Scene, size: int = 96) -> Tensor:
    """3×size×size image in [0, 1] (the reference's RGBA has alpha 255 everywhere, so RGB carries it all)."""
    c = Canvas(size, (0.0, 20.0), (-1.0, 21.0), BOX)
    theta, phi = scene.pendulum * math.pi / 200, scene.light * math.pi / 200
    slope = math.tan(phi)
    sun_x = PIVOT[0] + (20.5 - PIVOT[1]) / slope
    c.circle(sun_x, 20.5, 3.0, ORANGE)
    bob = (PIVOT[0] + 8 * math.sin(theta), PIVOT[1] - 8 * math.cos(theta))
    c.line(*PIVOT, *bob, LINE_PX, BLACK)
    c.circle(*bob, 1.5, FIREBRICK)
    half = scene.shadow_length / 2
    c.line(scene.shadow_position - half, -0.5, scene.shadow_position + half, -0.5, LINE_PX, BLACK)
    return c.image()


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
    root: str = Field("", description="unused: scenes are rendered, not read")
    split: Literal["train", "val", "test", "all"] = Field("train", description="'val' is the reference's test split")
    image_size: SquareSize = Field((96, 96), description="square render size (reference: 96×96)")
    channels: Literal[3, 4] = Field(4, description="4 = the reference's RGBA (alpha 1), 3 = RGB")
    limit: int | None = Field(None, ge=1, description="use only the first N scenes of the split")


class Pendulum(ImageDataset):
    """CausalVAE's pendulum scenes (exact grid, geometry, split and labels), rendered on demand."""

    Config = PendulumConfig
    label_names = CONCEPTS

    def __init__(self, cfg: PendulumConfig):
        super().__init__(cfg)
        split = "test" if cfg.split == "val" else cfg.split
        self.items = [(i, j) for i, j, s in grid() if split == "all" or s == split]
        if cfg.limit:
            self.items = self.items[: cfg.limit]

    def __len__(self) -> int:
        return len(self.items)

    def scene(self, k: int) -> Scene:
        return Scene.factual(*self.items[k])

    def render(self, scene: Scene) -> Tensor:
        img = _render_cached(scene, self.cfg.image_size[0])
        if self.cfg.channels == 4:
            img = torch.cat([img, torch.ones_like(img[:1])])
        return img

    def counterfactual(self, k: int, values: dict[str, float]) -> Tensor:
        """The true image of scene k under do(values), descendants recomputed by the scene's mechanism."""
        return self.render(self.scene(k).intervene(values))

    def __getitem__(self, k: int) -> dict:
        scene = self.scene(k)
        return {"image": self.render(scene), "labels": torch.tensor(scene.labels())}

    @classmethod
    def example_config(cls, workdir) -> PendulumConfig:
        return PendulumConfig(image_size=(32, 32), limit=8)


@lru_cache(maxsize=16384)
def _render_cached(scene: Scene, size: int) -> Tensor:
    return render(scene, size)
