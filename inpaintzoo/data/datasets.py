"""Core datasets: any folder of images, and a procedural one for tests and smoke runs."""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np
import torch
from pydantic import Field

from ..errors import InputError
from ..interfaces import ComponentConfig, ImageDataset, ImageSize

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff"}


class FolderConfig(ComponentConfig):
    derive: ClassVar[dict[str, Any]] = {"image_size": "model.image_size", "channels": "model.channels"}
    root: str = Field("data", description="folder searched recursively for images")
    split: Literal["train", "val", "test", "all"] = "train"
    val_fraction: float = Field(0.1, ge=0, lt=1)
    test_fraction: float = Field(0.0, ge=0, lt=1)
    image_size: ImageSize = Field((64, 64), description="[height, width] images are resized to")
    channels: int = Field(3, ge=1)
    skip_unreadable: bool = Field(False, description="skip unreadable images instead of failing")
    split_seed: int = Field(0, description="seed of the hash split (another seed, another split)")
    split_lists: dict[Literal["train", "val", "test"], str] | None = Field(
        None, description="split by list files instead of the hash: {train = 'train.txt', …}, one path per line, "
                          "relative to root")
    mask_root: str | None = Field(None, description="folder of masks matched to the images by file stem (white/1 = hole); "
                                                    "items then carry their own mask")


def _position(name: str, seed: int) -> float:
    key = name if seed == 0 else f"{seed}:{name}"
    return int(hashlib.sha1(key.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF


def split_of(name: str, val_fraction: float, test_fraction: float, seed: int = 0) -> str:
    """A stable split from a hash of the relative path: adding files never moves existing ones."""
    u = _position(name, seed)
    if u < test_fraction:
        return "test"
    if u < test_fraction + val_fraction:
        return "val"
    return "train"


def assign_splits(names: list[str], val_fraction: float, test_fraction: float, seed: int = 0) -> dict[str, str]:
    """Each name's split by `split_of`; a split asked for (fraction > 0) that the hash left empty takes the one
    image nearest to it (a 20-image folder at 10 % would otherwise often have no validation image), while the
    training split keeps at least one."""
    split = {n: split_of(n, val_fraction, test_fraction, seed) for n in names}
    for kind, fraction in (("test", test_fraction), ("val", val_fraction)):
        train = sorted((n for n in names if split[n] == "train"), key=lambda n: _position(n, seed))
        if fraction > 0 and kind not in split.values() and len(train) >= 2:
            split[train[0]] = kind
    return split


class ImageFolder(ImageDataset):
    """Every image under `root` (recursive), split by a seeded hash of its path, resized to `image_size`."""

    Config = FolderConfig

    def __init__(self, cfg: FolderConfig):
        super().__init__(cfg)
        root = Path(cfg.root).expanduser()
        if not root.is_dir():
            raise InputError(f"data root '{root}': no such folder; pass --data PATH or set [data.dataset] root")
        mask_dir = Path(cfg.mask_root).expanduser().resolve() if cfg.mask_root else None
        files = sorted(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES
                       and not (mask_dir and p.resolve().is_relative_to(mask_dir)))  # masks inside root are not images
        if not files:
            raise InputError(f"data root '{root}': no images found ({', '.join(sorted(IMAGE_SUFFIXES))})")
        rel = [p.relative_to(root).as_posix() for p in files]
        if cfg.split_lists is not None:
            chosen = self._listed(root, set(rel))
            self.files = [f for f, r in zip(files, rel) if r in chosen]
        else:
            split = assign_splits(rel, cfg.val_fraction, cfg.test_fraction, cfg.split_seed)
            self.files = [f for f, r in zip(files, rel) if cfg.split == "all" or split[r] == cfg.split]
        if not self.files:
            raise InputError(f"data root '{root}': the '{cfg.split}' split is empty ({len(files)} images in all)")
        self.masks = self._match_masks(Path(cfg.mask_root).expanduser()) if cfg.mask_root else None

    def _listed(self, root: Path, present: set[str]) -> set[str]:
        lists = self.cfg.split_lists or {}
        names = lists.keys() if self.cfg.split == "all" else [self.cfg.split]
        chosen: set[str] = set()
        for split in names:
            if split not in lists:
                raise InputError(f"split_lists: no list for the '{split}' split; add {split} = 'FILE' or drop split_lists")
            path = root / lists[split] if not Path(lists[split]).is_absolute() else Path(lists[split])
            if not path.is_file():
                raise InputError(f"split_lists.{split} = '{lists[split]}': no such file (looked at {path})")
            for n, line in enumerate(path.read_text().splitlines(), 1):
                entry = line.strip().replace("\\", "/")
                if entry and not entry.startswith("#"):
                    if entry not in present:
                        raise InputError(f"{path}:{n}: '{entry}' is not an image under {root}; fix the list or add the file")
                    chosen.add(entry)
        return chosen

    def _match_masks(self, folder: Path) -> list[Path]:
        if not folder.is_dir():
            raise InputError(f"mask_root '{folder}': no such folder")
        by_stem = {p.stem: p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES}
        missing = [f.name for f in self.files if f.stem not in by_stem]
        if missing:
            raise InputError(f"mask_root '{folder}': no mask for {len(missing)} image(s), e.g. '{missing[0]}' "
                             f"(masks are matched by file stem)")
        return [by_stem[f.stem] for f in self.files]

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
        item = {"image": torch.from_numpy(arr.copy()).permute(2, 0, 1).float() / 255.0}
        if self.masks is not None:
            with Image.open(self.masks[i]) as m:
                m = m.convert("L").resize(self.cfg.image_size[::-1], Image.NEAREST)
                item["mask"] = torch.from_numpy(np.asarray(m) >= 128).float()[None]
        return item


class ShapesConfig(ComponentConfig):
    derive: ClassVar[dict[str, Any]] = {"image_size": "model.image_size", "channels": "model.channels"}
    split: Literal["train", "val", "test", "all"] = "train"
    size: int = Field(64, ge=1, description="number of images in the split")
    image_size: ImageSize = (32, 32)
    channels: int = Field(3, ge=1)
    seed: int = 0


class SyntheticShapes(ImageDataset):
    """Coloured discs and squares on a gradient: a deterministic procedural set for tests and smoke runs."""

    Config = ShapesConfig
    procedural = True
    in_memory = True

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
