"""Core datasets: any folder of images, and a procedural one for tests and smoke runs."""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from pydantic import Field

from ..errors import InputError
from ..interfaces import ComponentConfig, ImageDataset

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff"}


class FolderConfig(ComponentConfig):
    root: str = Field("data", description="folder searched recursively for images")
    split: Literal["train", "val", "test", "all"] = "train"
    val_fraction: float = Field(0.1, ge=0, lt=1)
    test_fraction: float = Field(0.0, ge=0, lt=1)
    image_size: tuple[int, int] = Field((64, 64), description="[height, width] images are resized to")
    channels: int = Field(3, ge=1)
    skip_unreadable: bool = Field(False, description="skip unreadable images instead of failing")


def split_of(name: str, val_fraction: float, test_fraction: float) -> str:
    """A stable split from a hash of the relative path: adding files never moves existing ones."""
    u = int(hashlib.sha1(name.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    if u < test_fraction:
        return "test"
    if u < test_fraction + val_fraction:
        return "val"
    return "train"


class ImageFolder(ImageDataset):
    """Every image under `root` (recursive), split by a seeded hash of its path, resized to `image_size`."""

    Config = FolderConfig

    def __init__(self, cfg: FolderConfig):
        super().__init__(cfg)
        root = Path(cfg.root).expanduser()
        if not root.is_dir():
            raise InputError(f"data root '{root}': no such folder; pass --data PATH or set [data.dataset] root")
        files = sorted(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            raise InputError(f"data root '{root}': no images found ({', '.join(sorted(IMAGE_SUFFIXES))})")
        rel = [str(p.relative_to(root)) for p in files]
        self.files = [f for f, r in zip(files, rel) if cfg.split == "all" or split_of(r, cfg.val_fraction, cfg.test_fraction) == cfg.split]
        if not self.files:
            raise InputError(f"data root '{root}': the '{cfg.split}' split is empty ({len(files)} images in all)")

    @classmethod
    def example_config(cls, workdir: Path) -> FolderConfig:
        from PIL import Image

        for i in range(4):
            arr = (np.random.default_rng(i).random((20, 24, 3)) * 255).astype(np.uint8)
            Image.fromarray(arr).save(workdir / f"img{i}.png")
        return FolderConfig(root=str(workdir), split="all", image_size=(16, 16))

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i: int) -> dict:
        from PIL import Image, UnidentifiedImageError

        path = self.files[i]
        mode = {1: "L", 3: "RGB", 4: "RGBA"}[self.cfg.channels]
        try:
            with Image.open(path) as im:
                im = im.convert(mode).resize(self.cfg.image_size[::-1], Image.BICUBIC)
                arr = np.asarray(im, dtype=np.uint8).reshape(im.height, im.width, -1)
        except (OSError, UnidentifiedImageError) as exc:
            if self.cfg.skip_unreadable:
                return self[(i + 1) % len(self)]
            raise InputError(f"{path}: unreadable image ({exc}); remove it or set skip_unreadable = true") from None
        return {"image": torch.from_numpy(arr.copy()).permute(2, 0, 1).float() / 255.0}


class ShapesConfig(ComponentConfig):
    root: str = Field("", description="unused; procedural")
    split: Literal["train", "val", "test", "all"] = "train"
    size: int = Field(64, ge=1, description="number of images in the split")
    image_size: tuple[int, int] = (32, 32)
    channels: int = Field(3, ge=1)
    seed: int = 0


class SyntheticShapes(ImageDataset):
    """Coloured discs and squares on a gradient: a deterministic procedural set for tests and smoke runs."""

    Config = ShapesConfig

    def __len__(self) -> int:
        return self.cfg.size

    def __getitem__(self, i: int) -> dict:
        offset = {"train": 0, "val": 1_000_000, "test": 2_000_000, "all": 0}[self.cfg.split]
        g = torch.Generator().manual_seed(self.cfg.seed * 7_919 + offset + i)
        h, w = self.cfg.image_size
        c = self.cfg.channels
        ys = torch.linspace(0, 1, h).view(1, h, 1)
        xs = torch.linspace(0, 1, w).view(1, 1, w)
        base = torch.rand(c, 1, 1, generator=g)
        img = (base * 0.6 + 0.2 * ys + 0.2 * xs).expand(c, h, w).clone()
        for _ in range(2):
            colour = torch.rand(c, 1, 1, generator=g)
            cy, cx, r = torch.rand(3, generator=g).tolist()
            r = 0.1 + 0.2 * r
            if torch.rand((), generator=g) < 0.5:
                inside = (ys - cy) ** 2 + (xs - cx) ** 2 < r * r
            else:
                inside = ((ys - cy).abs() < r) & ((xs - cx).abs() < r)
            img = torch.where(inside, colour.expand(c, h, w), img)
        return {"image": img.clamp(0, 1)}
