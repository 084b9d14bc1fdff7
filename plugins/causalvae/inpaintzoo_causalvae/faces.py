"""`concept-faces`: procedurally drawn faces whose concepts follow a documented structural causal model.

Concepts (labels in [0, 1]): gender, smile, eyes_open, mouth_open. With exogenous noise u ~ U(0, 1)
stored per sample (seeded by the sample index):

    gender     = 1[u_g < 0.5]                                  (1 = male: short hair, heavier brows)
    smile      = clip(u_s + 0.2·(1 − gender) − 0.1, 0, 1)       gender → smile
    mouth_open = clip(0.75·smile + 0.35·(u_m − 0.2), 0, 1)     smile → mouth_open
    eyes_open  = clip(1 − 0.65·smile + 0.3·(u_e − 0.5), 0, 1)  smile → eyes_open (smiling narrows the eyes)

so do(smile) changes mouth_open and eyes_open, while do(mouth_open) leaves smile as it was (the seed's CelebA
observation). Appearance noise (skin, hair colour, background, pose and scale jitter) is drawn from the
same per-sample generator, so a counterfactual is rendered with exactly the sample's own noise.
"""
from __future__ import annotations


from dataclasses import dataclass
from functools import lru_cache
from typing import Any, ClassVar, Literal

import numpy as np
import torch
from pydantic import Field
from torch import Tensor

from inpaintzoo.interfaces import ComponentConfig, ImageDataset

from .raster import Canvas, SquareSize

CONCEPTS = ["gender", "smile", "eyes_open", "mouth_open"]
TRUE_EDGES = [("gender", "smile"), ("smile", "eyes_open"), ("smile", "mouth_open")]
LABEL_SCALE = [(0.5, 0.25)] * 4
SPLIT_OFFSET = {"train": 0, "val": 10_000_000, "test": 20_000_000, "all": 0}


@dataclass(frozen=True)
class Face:
    u: tuple[float, ...]  # u_g, u_s, u_m, u_e, then appearance noise
    gender: float
    smile: float
    eyes_open: float
    mouth_open: float

    @classmethod
    def from_noise(cls, u: tuple[float, ...], do: dict[str, float] | None = None) -> "Face":
        do = do or {}
        clip = lambda v: min(1.0, max(0.0, v))  # noqa: E731
        g = do.get("gender", 1.0 if u[0] < 0.5 else 0.0)
        s = do.get("smile", clip(u[1] + 0.2 * (1 - g) - 0.1))
        m = do.get("mouth_open", clip(0.75 * s + 0.35 * (u[2] - 0.2)))
        e = do.get("eyes_open", clip(1 - 0.65 * s + 0.3 * (u[3] - 0.5)))
        return cls(u, g, s, e, m)

    def labels(self) -> list[float]:
        return [self.gender, self.smile, self.eyes_open, self.mouth_open]

    def intervene(self, values: dict[str, float]) -> "Face":
        return Face.from_noise(self.u, values)


def noise(index: int, seed: int) -> tuple[float, ...]:
    g = torch.Generator().manual_seed(seed * 1_000_003 + index)
    return tuple(torch.rand(16, generator=g).tolist())


def _mix(a: tuple, b: tuple, t: float) -> tuple:
    return tuple(x + (y - x) * t for x, y in zip(a, b))


def render(face: Face, size: int = 64) -> np.ndarray:
    """size×size×3 uint8."""
    u = face.u
    bg = _mix((0.55, 0.7, 0.85), (0.9, 0.8, 0.6), u[4])
    c = Canvas(size, (0.0, 64.0), (64.0, 0.0), background=bg)  # y grows downward, like pixel rows
    skin = _mix((0.98, 0.85, 0.72), (0.55, 0.38, 0.26), u[5])
    hair = _mix((0.15, 0.1, 0.05), (0.85, 0.7, 0.35), u[6] ** 2)
    dx, dy, sc = (u[7] - 0.5) * 8, (u[8] - 0.5) * 6, 0.9 + 0.2 * u[9]
    cx, cy = 32 + dx, 33 + dy
    rx, ry = 15 * sc, 19 * sc
    male = face.gender >= 0.5
    if not male:  # long hair behind the face
        c.ellipse(cx, cy + 6 * sc, rx + 6 * sc, ry + 8 * sc, hair)
        c.rect(cx - rx - 6 * sc, cx + rx + 6 * sc, cy, cy + ry + 12 * sc, hair)
    c.ellipse(cx, cy, rx, ry, skin)
    c.ellipse(cx, cy - ry * 0.75, rx * (1.02 if male else 1.05), ry * (0.35 if male else 0.45), hair)  # hair cap
    # eyes: open height scales with eyes_open; nearly closed eyes are a line
    ex, ey = rx * 0.42, cy - ry * 0.12
    for side in (-1, 1):
        x = cx + side * ex
        h = 3.2 * sc * face.eyes_open
        if h > 0.7:
            c.ellipse(x, ey, 3.6 * sc, h, (1.0, 1.0, 1.0))
            c.ellipse(x, ey, 1.6 * sc, min(h, 1.8 * sc), (0.1, 0.1, 0.15))
        else:
            c.line(x - 3.4 * sc, ey, x + 3.4 * sc, ey, 1.2, (0.1, 0.1, 0.1))
        brow_w = 2.2 if male else 1.1
        c.line(x - 4 * sc, ey - 5.5 * sc, x + 4 * sc, ey - 5.5 * sc - side * 0.5, brow_w, _mix(hair, (0, 0, 0), 0.3))
    # mouth: a smile curves the lips upward at the corners; an open mouth shows a dark gap
    my, mw = cy + ry * 0.5, 7.0 * sc
    curve = (face.smile - 0.3) * 5.0 * sc
    gap = 5.0 * sc * face.mouth_open
    if gap > 0.6:
        c.ellipse(cx, my + gap * 0.3, mw * 0.8, gap / 2 + 0.3, (0.35, 0.05, 0.08))
    pts = [(cx + t * mw, my - curve * (t * t)) for t in torch.linspace(-1, 1, 9).tolist()]
    c.polyline(pts, 1.6, (0.6, 0.15, 0.2))
    c.ellipse(cx, cy + ry * 0.15, 1.6 * sc, 2.2 * sc, _mix(skin, (0, 0, 0), 0.15))  # nose
    return c.uint8()


class FacesConfig(ComponentConfig):
    derive: ClassVar[dict[str, Any]] = {"image_size": "model.image_size"}
    split: Literal["train", "val", "test", "all"] = "train"
    size: int = Field(20000, ge=1, description="number of faces in the split")
    image_size: SquareSize = Field((64, 64), description="square render size (64 and up)")
    seed: int = 0


class ConceptFaces(ImageDataset):
    """Procedural faces with gender, smile, eyes_open, mouth_open from a known SCM (true counterfactuals)."""

    Config = FacesConfig
    procedural = True
    label_names = CONCEPTS

    def __len__(self) -> int:
        return self.cfg.size

    @property
    def labels(self) -> Tensor:
        """Every face's labels (N × 4) without rendering: what graph discovery reads."""
        return torch.tensor([self.face(k).labels() for k in range(len(self))])

    def face(self, k: int) -> Face:
        return Face.from_noise(noise(SPLIT_OFFSET[self.cfg.split] + k, self.cfg.seed))

    def render(self, face: Face) -> Tensor:
        return torch.from_numpy(_render_cached(face, self.cfg.image_size[0]).copy()).permute(2, 0, 1).float() / 255

    def counterfactual(self, k: int, values: dict[str, float]) -> Tensor:
        return self.render(self.face(k).intervene(values))

    def counterfactual_labels(self, k: int, values: dict[str, float]) -> list[float]:
        """Face k's labels under do(values): what the true counterfactual image shows."""
        return self.face(k).intervene(values).labels()

    def __getitem__(self, k: int) -> dict:
        f = self.face(k)
        return {"image": self.render(f), "labels": torch.tensor(f.labels())}

    @classmethod
    def example_config(cls, workdir) -> FacesConfig:
        return FacesConfig(size=6)


@lru_cache(maxsize=8192)  # uint8: 12 KB a face at 64², about 100 MB when full
def _render_cached(face: Face, size: int) -> np.ndarray:
    return render(face, size)



