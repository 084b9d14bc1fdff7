"""CelebA in its official layout, with the crops the reference systems used.

    ROOT/img_align_celeba/000001.jpg …
    ROOT/list_attr_celeba.txt       (count line, attribute names, then `file  1 -1 …`)
    ROOT/list_eval_partition.txt    (`file 0|1|2` for train/val/test)

Crops: `nvae` = box (15, 40, 163, 188) then resize (Larsen et al., NVAE); `center` = centre square then
resize; `squash` = resize to the target ignoring aspect (MEDFE-CAE's test.py).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np
import torch
from pydantic import Field

from ..errors import InputError
from ..interfaces import ComponentConfig, ImageDataset, ImageSize

SPLITS = {"train": "0", "val": "1", "test": "2"}
NVAE_BOX = (15, 40, 163, 188)


class CelebAConfig(ComponentConfig):
    derive: ClassVar[dict[str, Any]] = {"image_size": "model.image_size"}
    root: str = Field("data/celeba", description="folder holding img_align_celeba/ and the list files")
    split: Literal["train", "val", "test", "all"] = "train"
    crop: Literal["nvae", "center", "squash"] = "nvae"
    image_size: ImageSize = (64, 64)
    attributes: list[str] = Field([], description="attribute names returned as labels in {0, 1}, e.g. Smiling; '!Narrow_Eyes' negates")
    flip: bool = Field(False, description="random horizontal flip (training augmentation)")
    load_size: int | None = Field(None, ge=1, description="pix2pix augmentation: resize to load_size² then random-crop image_size (e.g. 286 → 256)")
    limit: int | None = Field(None, ge=1, description="use only the first N files of the split (sorted)")


class CelebA(ImageDataset):
    """CelebA (aligned) with official splits, attribute labels and the NVAE / centre / squash crops."""

    Config = CelebAConfig

    def __init__(self, cfg: CelebAConfig):
        super().__init__(cfg)
        root = Path(cfg.root).expanduser()
        images = root / "img_align_celeba"
        if not images.is_dir():
            raise InputError(f"celeba root '{root}': no img_align_celeba/ folder; download CelebA (aligned) into it")
        part = root / "list_eval_partition.txt"
        if not part.is_file():
            raise InputError(f"celeba root '{root}': missing list_eval_partition.txt")
        files = []
        for line in part.read_text().split("\n"):
            bits = line.split()
            if len(bits) == 2 and (cfg.split == "all" or bits[1] == SPLITS[cfg.split]):
                files.append(bits[0])
        files.sort()
        if cfg.limit:
            files = files[: cfg.limit]
        self.files = [images / f for f in files]
        self.label_names = list(cfg.attributes)
        self.labels: dict[str, np.ndarray] = {}
        if cfg.attributes:
            attr = root / "list_attr_celeba.txt"
            if not attr.is_file():
                raise InputError(f"celeba root '{root}': attributes asked for but list_attr_celeba.txt is missing")
            lines = attr.read_text().split("\n")
            names = lines[1].split()
            wanted = [a.removeprefix("!") for a in cfg.attributes]
            missing = [a for a in wanted if a not in names]
            if missing:
                from ..errors import did_you_mean

                raise InputError(f"celeba attributes: unknown {missing[0]!r}{did_you_mean(missing[0], names)}")
            cols = [names.index(a) for a in wanted]
            negate = np.array([a.startswith("!") for a in cfg.attributes])
            for line in lines[2:]:
                bits = line.split()
                if len(bits) == len(names) + 1:
                    v = np.array([(int(bits[1 + c]) + 1) // 2 for c in cols], np.float32)
                    self.labels[bits[0]] = np.where(negate, 1 - v, v).astype(np.float32)
        if not self.files:
            raise InputError(f"celeba root '{root}': the '{cfg.split}' split is empty")

    @property
    def random_augmentation(self) -> bool:  # type: ignore[override]
        return bool(self.cfg.flip or self.cfg.load_size)

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i: int) -> dict:
        from PIL import Image

        path = self.files[i]
        h, w = self.cfg.image_size
        with Image.open(path) as im:
            im = im.convert("RGB")
            if self.cfg.crop == "nvae":
                im = im.crop(NVAE_BOX)
            elif self.cfg.crop == "center":
                s = min(im.size)
                left, top = (im.width - s) // 2, (im.height - s) // 2
                im = im.crop((left, top, left + s, top + s))
            if self.cfg.load_size:
                ls = self.cfg.load_size
                im = im.resize((ls, ls), Image.BICUBIC)
                top, left = int(torch.randint(0, ls - h + 1, ())), int(torch.randint(0, ls - w + 1, ()))
                im = im.crop((left, top, left + w, top + h))
            else:
                im = im.resize((w, h), Image.BILINEAR)
            arr = np.asarray(im, dtype=np.uint8)
        img = torch.from_numpy(arr.copy()).permute(2, 0, 1).float() / 255.0
        if self.cfg.flip and torch.rand(()) < 0.5:
            img = img.flip(-1)
        item = {"image": img}
        if self.label_names:
            item["labels"] = torch.from_numpy(self.labels[path.name])
        return item

    @classmethod
    def example_config(cls, workdir: Path) -> CelebAConfig:
        write_fixture(workdir, n=6)
        return CelebAConfig(root=str(workdir), split="train", attributes=["Smiling", "Male"], image_size=(16, 16))


def write_fixture(root: Path, n: int = 6) -> list[str]:
    """A tiny CelebA in the official layout (178×218 JPEGs, attribute and partition lists), for tests."""
    from PIL import Image

    (root / "img_align_celeba").mkdir(parents=True, exist_ok=True)
    names = ["5_o_Clock_Shadow", "Male", "Mouth_Slightly_Open", "Narrow_Eyes", "Smiling"]
    files = [f"{i + 1:06d}.jpg" for i in range(n)]
    attr_rows, part_rows = [], []
    for i, f in enumerate(files):
        arr = np.zeros((218, 178, 3), np.uint8)
        arr[..., 0] = 40 * i
        arr[40:188, 15:163, 1] = 200  # the NVAE crop box is green
        Image.fromarray(arr).save(root / "img_align_celeba" / f, quality=95)
        vals = [("1" if (i + k) % 2 else "-1") for k in range(len(names))]
        attr_rows.append(f"{f} " + " ".join(vals))
        part_rows.append(f"{f} {0 if i < n - 2 else (1 if i == n - 2 else 2)}")
    (root / "list_attr_celeba.txt").write_text(f"{n}\n" + " ".join(names) + "\n" + "\n".join(attr_rows) + "\n")
    (root / "list_eval_partition.txt").write_text("\n".join(part_rows) + "\n")
    return files
