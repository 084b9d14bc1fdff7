"""The training data pipeline: a DataLoader over seeded items, identical with any number of workers.

Determinism with workers: an epoch's order is a permutation seeded by (seed, epoch), drawn in the main
process by `EpochBatches`, which hands every batch as (index, epoch, position) keys. Everything random about
one sample — its mask and the data set's own augmentation — is drawn from a generator seeded by (seed,
epoch, position), inside whichever worker loads it. So batch contents depend on neither the worker count
nor which worker loaded them, and a resumed run (which skips the batches already seen) sees exactly the
items an uninterrupted run sees. Under torchrun each rank takes its slice of every global batch.
"""
from __future__ import annotations

import hashlib
import json
import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from ..errors import InpaintzooError
from ..interfaces import DataTarget, ImageDataset, MaskGenerator
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
    factory = registry.get(ref.type, "dataset").factory
    if root is not None:
        if "root" not in fields or getattr(factory, "procedural", False):
            from ..zoo import folder_starter

            raise DataError(f"--data {root}: dataset '{ref.type}' is generated, not read from a folder; drop --data, "
                            f"or {folder_starter()}")
        update["root"] = root
    cfg = ref.config.model_copy(update=update)
    ds = factory(type(cfg)(**cfg.model_dump()))
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


SEEDS = 2**63 - 1  # derived seeds stay below this: torch's generators take 64-bit signed seeds


def offset_seed(seed: int, offset: int) -> int:
    """`seed + offset` kept in range (a run's seed may be up to 2⁶³ − 1)."""
    return (seed + offset) % SEEDS


def sample_seed(seed: int, epoch: int, position: int) -> int:
    """The seed of one sample's randomness: a function of the run's seed and the sample's place in the run."""
    return ((seed * 1_000_003 + epoch) * 1_000_000_007 + position) % SEEDS


def targets_key(target: DataTarget, dataset: ImageDataset) -> str:
    """Cache folder name of `target` on `dataset`: its computation and the data set's identity."""
    cfg = getattr(dataset, "cfg", None)
    ident = json.dumps({"target": target.name, "version": target.version, "dataset": type(dataset).__qualname__,
                        "config": cfg.model_dump(mode="json") if cfg is not None else None}, sort_keys=True)
    return f"{target.name}-{hashlib.sha1(ident.encode()).hexdigest()[:16]}"


class TargetCache:
    """Per-image data targets on disk, keyed by the data set's index: computed once, read every epoch after.

    Used only for data sets without random augmentation (an augmented image has its own target, computed
    in the worker every time). Files are .npy written atomically, so concurrent workers cannot corrupt them.
    """

    def __init__(self, folder: Path):
        self.folder = folder

    def path(self, index: int) -> Path:
        return self.folder / f"{index:08d}.npy"

    def get(self, index: int) -> torch.Tensor | None:
        p = self.path(index)
        if not p.is_file():
            return None
        try:
            return torch.from_numpy(np.load(p, allow_pickle=False))
        except (OSError, ValueError):
            return None  # a damaged entry is recomputed

    def put(self, index: int, value: torch.Tensor) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        tmp = self.folder / f".{index:08d}.{os.getpid()}.tmp.npy"
        np.save(tmp, value.detach().cpu().numpy(), allow_pickle=False)
        os.replace(tmp, self.path(index))


class TrainItems(Dataset):
    """One run's training items, addressed by (index, epoch, position) keys from `EpochBatches`.

    Each item holds the data set's image (and labels), the sample's mask — the data set's own, else drawn
    from the sample's seed — and every data target the losses asked for, as `target/NAME`.
    """

    def __init__(self, dataset: ImageDataset, masks: MaskGenerator, seed: int, targets: list[DataTarget] = (),
                 cache_root: Path | None = None):
        self.dataset, self.masks, self.seed = dataset, masks, seed
        self.targets = list(targets)
        augmented = bool(getattr(dataset, "random_augmentation", False))
        self.caches = {t.name: TargetCache(cache_root / targets_key(t, dataset))
                       for t in self.targets} if cache_root is not None and not augmented else {}

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, key: tuple[int, int, int] | int) -> dict[str, torch.Tensor]:
        index, epoch, position = key if isinstance(key, tuple) else (key, 0, key)
        s = sample_seed(self.seed, epoch, position)
        with torch.random.fork_rng(devices=[]):  # the data set's augmentation draws from the sample's seed
            torch.manual_seed(s)
            item = dict(self.dataset[index])
        if "mask" not in item:
            h, w = item["image"].shape[-2:]
            item["mask"] = self.masks(1, h, w, torch.Generator().manual_seed(s ^ 0x5DEECE66D))[0]
        for t in self.targets:
            cache = self.caches.get(t.name)
            value = cache.get(index) if cache is not None else None
            if value is None:
                value = t.fn(item["image"])
                if cache is not None:
                    cache.put(index, value)
            item[f"target/{t.name}"] = value
        return item


class EpochBatches(Sampler):
    """This rank's keys of every global batch of one epoch, in the seeded order, after `skip` batches.

    Call `set_epoch(epoch, skip)` before iterating, as with DistributedSampler: the sampler lives in the main
    process, so persistent workers need not restart.
    """

    def __init__(self, n: int, batch_size: int, seed: int, rank: int = 0, world: int = 1):
        self.n, self.batch_size, self.seed, self.rank, self.world = n, batch_size, seed, rank, world
        self.per_rank = batch_size // world
        self.steps = n // batch_size
        self.epoch, self.skip = 0, 0

    def set_epoch(self, epoch: int, skip: int = 0) -> None:
        self.epoch, self.skip = epoch, skip

    def order(self, epoch: int) -> list[int]:
        g = torch.Generator().manual_seed((self.seed * 100_003 + epoch) % SEEDS)
        return torch.randperm(self.n, generator=g).tolist()

    def __iter__(self) -> Iterator[list[tuple[int, int, int]]]:
        order = self.order(self.epoch)
        for b in range(self.skip, self.steps):
            first = b * self.batch_size + self.rank * self.per_rank
            yield [(order[p], self.epoch, p) for p in range(first, first + self.per_rank)]

    def __len__(self) -> int:
        return max(0, self.steps - self.skip)


def collate(items: list[dict]) -> dict[str, torch.Tensor]:
    out = {"image": torch.stack([i["image"] for i in items]), "mask": torch.stack([i["mask"] for i in items]).float()}
    if "labels" in items[0]:
        out["labels"] = torch.stack([i["labels"] for i in items]).float()
    for k in items[0]:
        if k.startswith("target/"):
            out[k] = torch.stack([i[k] for i in items])
    return out


def _worker_init(_: int) -> None:
    # Ctrl-C is the main process's to handle: it finishes the step, checkpoints and stops the workers.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    torch.set_num_threads(1)
    from ..procs import die_with_parent

    die_with_parent()  # a run killed with SIGKILL leaves no worker behind


def auto_workers(dataset: ImageDataset, targets: list[DataTarget]) -> int:
    """Workers when `num_workers = "auto"`: none for in-memory data sets without per-image targets (the
    transfer would cost more than the item), else all but one core, at most 8."""
    if getattr(dataset, "in_memory", False) and not targets:
        return 0
    return min(8, max(1, (os.cpu_count() or 2) - 1))


def make_loader(items: TrainItems, sampler: EpochBatches, num_workers: int, prefetch_factor: int, pin_memory: bool,
                seed: int) -> DataLoader:
    kw: dict[str, Any] = {}
    if num_workers > 0:
        kw = {"persistent_workers": True, "prefetch_factor": prefetch_factor, "worker_init_fn": _worker_init}
    # own generator: creating iterators must not consume the training's global RNG (workers' base seed)
    return DataLoader(items, batch_sampler=sampler, num_workers=num_workers, collate_fn=collate, pin_memory=pin_memory,
                      generator=torch.Generator().manual_seed(seed), **kw)
