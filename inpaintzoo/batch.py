"""Inpainting files and folders: planned and checked first, then decoded by DataLoader workers, batched by size,
written atomically, resumable, and summarised (`inpaintzoo inpaint`).

Planning touches only file headers: every image gets its mask (the file given for all, the mask at the same
relative path in the mask folder, else the one mask with its stem, else a rule: `--mask-preset`, `--mask-box`) and
its output path (the input's relative path under `-o`, as PNG; two inputs that would land on one file keep their
suffix: `a.jpg.png`). Nothing is ever written over an input or a mask, and `-o` may not lie inside the input
folder. In a folder run, an output that exists is a finished one (outputs appear in one rename), so a killed run
resumes by skipping them; a single output file that exists is refused. `--overwrite` replaces either: one rule,
nothing replaced unasked. Under `torchrun`, rank r of W takes every W-th image and the summary is
gathered on rank 0. A file that cannot be decoded is reported in the summary and skipped; it never stops the run.
"""
from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import InputError
from .images import (Header, check_mode_fits, check_parent, header, image_files, mask_of, open_image, output_format,
                     remove_dead_temps, save_image)

log = logging.getLogger(__name__)


@dataclass
class Job:
    image: Path
    mask: Path | None  # None: the mask comes from a rule
    out: Path
    fmt: str
    head: Header


@dataclass
class Plan:
    jobs: list[Job]
    skipped: list[tuple[Path, str]] = field(default_factory=list)  # (image, why): existing outputs
    failed: list[tuple[Path, str]] = field(default_factory=list)  # (image, why): unreadable headers
    notes: list[str] = field(default_factory=list)


def _match_masks(images: list[Path], root: Path, mask_root: Path) -> dict[Path, Path | str]:
    """Each image's mask: the same relative path (any image suffix), else the only mask with that stem; a str
    says why there is none."""
    masks = image_files(mask_root, "mask")
    by_rel = {m.relative_to(mask_root).with_suffix(""): m for m in masks}
    by_stem: dict[str, list[Path]] = {}
    for m in masks:
        by_stem.setdefault(m.stem, []).append(m)
    out: dict[Path, Path | str] = {}
    for img in images:
        rel = img.relative_to(root).with_suffix("") if root.is_dir() else Path(img.stem)
        if rel in by_rel:
            out[img] = by_rel[rel]
        elif len(by_stem.get(img.stem, [])) == 1:
            out[img] = by_stem[img.stem][0]
        elif by_stem.get(img.stem):
            out[img] = (f"several masks named '{img.stem}.*' ({', '.join(str(p) for p in by_stem[img.stem][:3])}) and "
                        f"none at {mask_root / rel}.*; put the mask at the image's relative path")
        else:
            out[img] = f"no mask at {mask_root / rel}.* nor named '{img.stem}.*' in {mask_root}"
    return out


def plan(inp: Path, mask: Path | None, out: Path, *, overwrite: bool = False, max_pixels: int, resize_mask: bool = False,
         rank: int = 0, world: int = 1) -> Plan:
    """Every job checked from headers; nothing is decoded, loaded or written."""
    images = image_files(inp, "input")
    many = inp.is_dir()
    if many and out.exists() and not out.is_dir():
        raise InputError(f"-o {out}: is a file; a folder of inputs needs an output folder")
    if many:
        o, i = out.resolve(), inp.resolve()
        if o == i or i in o.parents:
            raise InputError(f"-o {out}: inside the input folder {inp} (outputs would be read as inputs); choose a folder outside it")
    if not many and (out.is_dir() or str(out).endswith(os.sep)):
        out = out / f"{images[0].stem}.png"
    masks: dict[Path, Path | str] = {}
    if mask is not None:
        masks = {img: mask for img in images} if mask.is_file() else _match_masks(images, inp, mask)
    protected = {p.resolve() for p in images} | {p.resolve() for p in masks.values() if isinstance(p, Path)}
    targets = _targets(images, inp, out) if many else {images[0]: out}
    result = Plan([])
    for n, img in enumerate(images):
        if n % world != rank:
            continue
        target = targets[img]
        if target.resolve() in protected:
            raise InputError(f"-o {target}: is one of the inputs (an image or a mask); it is never written over, choose "
                             f"another output")
        m = masks.get(img) if mask is not None else None
        if isinstance(m, str):
            if many:
                result.failed.append((img, m))
                continue
            raise InputError(f"{img}: {m}")
        try:
            head = header(img, max_pixels)
        except InputError as exc:
            if not many:
                raise
            result.failed.append((img, str(exc).removeprefix(f"{img}: ")))
            continue
        if m is not None:
            mhead = header(m, max_pixels)
            if mhead.size != head.size and not resize_mask:
                raise InputError(f"{m}: mask is {mhead.size[0]}×{mhead.size[1]} but {img.name} is "
                                 f"{head.size[0]}×{head.size[1]} (as displayed); pass --resize-mask to resize it")
        fmt = output_format(target)
        check_parent(target)
        check_mode_fits(fmt, head.mode, target)
        if target.exists() and not overwrite:
            if not many:
                raise InputError(f"-o {target}: exists; pass --overwrite to replace it (a folder run likewise skips "
                                 f"outputs that exist)")
            result.skipped.append((img, f"{target} exists (--overwrite redoes it)"))  # finished: a resumed run skips it
            continue
        result.notes += head.notes
        result.jobs.append(Job(img, m, target, fmt, head))
    for folder in {job.out.parent for job in result.jobs}:
        remove_dead_temps(folder)  # what a killed run was writing
    return result


def _targets(images: list[Path], root: Path, out: Path) -> dict[Path, Path]:
    """Relative layout kept; of inputs that would share an output, a PNG keeps the name and the others keep
    their suffix in it (a.png → a.png, a.jpg → a.jpg.png)."""
    plain = {img: out / img.relative_to(root).with_suffix(".png") for img in images}
    counts: dict[Path, int] = {}
    for t in plain.values():
        counts[t] = counts.get(t, 0) + 1
    return {img: (t if counts[t] == 1 or img.suffix.lower() == ".png" else t.with_name(img.name + ".png"))
            for img, t in plain.items()}


class _Decode:
    """A map-style data set for DataLoader workers: job index → (index, image, mask) as PIL images, or an error."""

    def __init__(self, jobs: list[Job], max_pixels: int, rule: Any):
        self.jobs, self.max_pixels, self.rule = jobs, max_pixels, rule

    def __len__(self) -> int:
        return len(self.jobs)

    def __getitem__(self, i: int) -> tuple[int, Any, Any, str | None]:
        job = self.jobs[i]
        try:
            img = open_image(job.image, self.max_pixels)
            if job.mask is not None:
                mask = mask_of(open_image(job.mask, self.max_pixels))
                if mask.size != img.size:
                    from PIL import Image

                    mask = mask.resize(img.size, Image.NEAREST)
            else:
                mask = self.rule(img.size, i)
            if mask.getextrema()[1] == 0:  # say it when nothing would happen
                why = "its mask box lies outside the image" if job.mask is None else f"mask {job.mask} is all black"
                return i, None, None, f"no hole to inpaint: {why}"
            return i, img, mask, None
        except (InputError, OSError, ValueError) as exc:
            return i, None, None, str(exc).removeprefix(f"{job.image}: ")


def _timed(items: Any, stats: dict) -> Iterator[Any]:
    """`items`, adding the seconds spent waiting for each (the decoding the model waits for) to stats['data_wait']."""
    it = iter(items)
    while True:
        t = time.perf_counter()
        try:
            item = next(it)
        except StopIteration:
            return
        finally:
            stats["data_wait"] = stats.get("data_wait", 0.0) + time.perf_counter() - t
        yield item


def _batches(loader: Any, batch_size: int) -> Iterator[list[tuple[int, Any, Any, str | None]]]:
    """Consecutive decoded items of the same size and mode (RGB and L only), at most `batch_size` together."""
    group: list = []
    for item in loader:
        i, img, mask, err = item
        key = (img.size, img.mode) if err is None and img.mode in ("RGB", "L") else None
        if group and (key is None or key != (group[0][1].size, group[0][1].mode) or len(group) == batch_size):
            yield group
            group = []
        if key is None:
            yield [item]
        else:
            group.append(item)
    if group:
        yield group


def _identity(x: Any) -> Any:
    return x


class BoxRule:
    """--mask-box x,y,w,h: the same rectangle (clipped) in every image."""

    def __init__(self, text: str):
        try:
            self.x, self.y, self.w, self.h = (int(v) for v in text.split(","))
        except ValueError:
            raise InputError(f"--mask-box {text}: expected x,y,w,h in whole pixels, e.g. 100,80,64,64") from None
        if min(self.x, self.y) < 0 or min(self.w, self.h) < 1:
            raise InputError(f"--mask-box {text}: x and y must be ≥ 0, w and h ≥ 1")

    def __call__(self, size: tuple[int, int], index: int) -> Any:
        from PIL import Image, ImageDraw

        m = Image.new("L", size, 0)
        ImageDraw.Draw(m).rectangle([self.x, self.y, self.x + self.w - 1, self.y + self.h - 1], fill=255)
        return m


class PresetRule:
    """--mask-preset NAME: a seeded mask of the preset per image (seed + the image's index in the sorted folder)."""

    def __init__(self, preset: str, seed: int):
        from .commands.masks import mask_generator

        mask_generator(preset)  # an unknown name is reported before anything runs
        self.preset, self.seed = preset, seed

    def __call__(self, size: tuple[int, int], index: int) -> Any:
        import torch
        from PIL import Image

        from .commands.masks import mask_generator

        w, h = size
        m = mask_generator(self.preset, max(w, h))(1, h, w, torch.Generator().manual_seed((self.seed + index) % (2**63 - 1)))[0, 0]
        return Image.fromarray((m * 255).byte().numpy())


def run(model: Any, jobs: list[Job], *, batch_size: int = 1, workers: int = 0, max_pixels: int, rule: Any = None,
        infer: dict[str, Any] | None = None, progress: Any = None, exclusive: bool = False, quality: int | None = None,
        stats: dict | None = None, seed: int | None = None,
        root: Path | None = None) -> tuple[int, list[tuple[Path, str]], list[tuple[Path, str]]]:
    """Inpaint every job; returns (done, skipped, failed), the last two with reasons. Each output appears whole
    or not at all; with `exclusive`, an output another run wrote meanwhile is kept (and this one skipped).
    `stats['data_wait']` receives the seconds spent waiting for decoded images. With `seed`, a model that samples
    draws each image's noise from `image_seed(seed, its path relative to root)`: the same file gives the same
    result whatever its batch, worker or rank."""
    import numpy as np
    from PIL import Image
    from torch.utils.data import DataLoader

    from .model import image_seed

    from .procs import worker_init

    loader = DataLoader(_Decode(jobs, max_pixels, rule), batch_size=None, num_workers=workers, collate_fn=_identity,
                        prefetch_factor=4 if workers else None, worker_init_fn=worker_init if workers else None)
    done, skipped, failed = 0, [], []
    for group in _batches(_timed(loader, stats if stats is not None else {}), batch_size):
        ok = [(i, img, m) for i, img, m, err in group if err is None]
        failed += [(jobs[i].image, err) for i, _, _, err in group if err is not None]
        if not ok:
            continue
        kwargs = dict(infer or {})
        if seed is not None and getattr(model, "samples", False):  # an ONNX file or a deterministic model: no noise
            kwargs["seed"] = [image_seed(seed, _key(jobs[i].image, root)) for i, _, _ in ok]
        try:
            if len(ok) == 1:
                results = [model.inpaint(ok[0][1], ok[0][2], **kwargs)]
            else:
                arr = np.stack([np.asarray(img) for _, img, _ in ok])
                masks = np.stack([np.asarray(m) for _, _, m in ok])
                results = [Image.fromarray(r) for r in model.inpaint(arr, masks, **kwargs)]
        except InputError as exc:
            failed += [(jobs[i].image, str(exc)) for i, _, _ in ok]
            continue
        for (i, img, _), res in zip(ok, results):
            job = jobs[i]
            if save_image(res, job.out, job.fmt, exclusive=exclusive, like=img, quality=quality):
                done += 1
            else:
                skipped.append((job.image, f"{job.out} was written by another run meanwhile; kept that one"))
        if progress is not None:
            progress(len(group))
    return done, skipped, failed


def _key(image: Path, root: Path | None) -> str:
    """An image's name in its run: its path relative to the input folder; a single input is image 0, as
    `model.inpaint(image, mask, seed=S)` takes it."""
    if root is not None:
        try:
            return image.relative_to(root).as_posix()
        except ValueError:
            pass
    return "0"


def summary(done: int, skipped: list, failed: list, seconds: float, where: str = "") -> list[str]:
    lines = [f"done {done}, skipped {len(skipped)}, failed {len(failed)} in {seconds:.1f} s" + (f" ({where})" if where else "")]
    lines += [f"  skipped {p}: {why}" for p, why in skipped[:20]]
    lines += [f"  failed {p}: {why}" for p, why in failed]
    if len(skipped) > 20:
        lines.append(f"  … {len(skipped) - 20} more skipped")
    return lines


def gather(rank_result: tuple[int, list, list]) -> tuple[int, list, list]:
    """Under torchrun, every rank's (done, skipped, failed) summed on each rank."""
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()):
        return rank_result
    parts: list = [None] * dist.get_world_size()
    dist.all_gather_object(parts, rank_result)
    return (sum(p[0] for p in parts), [x for p in parts for x in p[1]], [x for p in parts for x in p[2]])


def timed(fn: Any) -> tuple[Any, float]:
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t
