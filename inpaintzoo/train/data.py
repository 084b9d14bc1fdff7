"""Building the data a spec asks for, and checking it against the model's contract."""
from __future__ import annotations

from typing import Any

import torch

from ..errors import InpaintzooError
from ..interfaces import ImageDataset, MaskGenerator
from ..registry import Registry
from ..spec import ComponentRef, ModelSpec


class DataError(InpaintzooError):
    pass


def build_dataset(spec: ModelSpec, registry: Registry, split: str, root: str | None = None) -> ImageDataset:
    ref = spec.data.get("dataset")
    if ref is None:
        raise DataError(f"{spec.source}: no [data.dataset] section; add one (e.g. type = \"core.image_folder\")")
    update: dict[str, Any] = {}
    fields = type(ref.config).model_fields
    if "split" in fields:
        update["split"] = split
    if root is not None:
        if "root" not in fields:
            raise DataError(f"--data: dataset '{ref.type}' takes no root folder")
        update["root"] = root
    cfg = ref.config.model_copy(update=update)
    ds = registry.get(ref.type, "dataset").factory(type(cfg)(**cfg.model_dump()))
    if len(ds) == 0:
        raise DataError(f"dataset '{ref.type}' ({split} split): empty")
    return ds


def build_masks(spec: ModelSpec, registry: Registry, key: str = "masks") -> MaskGenerator:
    ref: ComponentRef | None = spec.data.get(key) or spec.data.get("masks")
    if ref is None:
        return registry.get("core.center", "masks").build()
    return registry.get(ref.type, "masks").factory(ref.config)


def check_against_contract(ds: ImageDataset, spec: ModelSpec, what: str) -> None:
    item = ds[0]
    img = item["image"]
    c, h, w = img.shape
    m = spec.model
    if c != m.channels or (h, w) != tuple(m.image_size):
        raise DataError(
            f"{what} gives {c}×{h}×{w} images but model '{m.name}' takes {m.channels}×{m.image_size[0]}×{m.image_size[1]}; "
            f"set the dataset's image_size/channels to match [model]"
        )


def collate(items: list[dict]) -> dict[str, torch.Tensor]:
    out = {"image": torch.stack([i["image"] for i in items])}
    if "labels" in items[0]:
        out["labels"] = torch.stack([i["labels"] for i in items]).float()
    if "mask" in items[0]:  # a data set with its own masks (e.g. image_folder's mask_root)
        out["mask"] = torch.stack([i["mask"] for i in items]).float()
    return out
