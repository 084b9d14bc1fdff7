"""`inpaintzoo inpaint` and `inpaintzoo intervene`: run a model on image files or folders.

Everything that can be checked is checked before the model is loaded and before any output is written (file
headers, masks, output paths and formats: inpaintzoo.batch.plan); folders are decoded by DataLoader workers,
batched by size and summarised (inpaintzoo.batch); files are read and written by inpaintzoo.images.
"""
from __future__ import annotations

import argparse
import logging
import math
import time
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..images import MAX_PIXELS, check_mode_fits, check_parent, header, mask_of, open_image, output_format, save_image
from ..progressbar import steps
from . import fraction, positive_int, quality, seed

log = logging.getLogger("inpaintzoo")


def device_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--device", default="auto", help="auto (the best present: cuda, mps, cpu), cpu, cuda, cuda:N or mps")
    p.add_argument("--max-pixels", type=positive_int, default=MAX_PIXELS,
                   help=f"refuse images with more pixels than this, before decoding (default {MAX_PIXELS:,})")


def _add_inpaint(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("inpaint", help="fill the holes of images (files or folders of thousands)")
    p.add_argument("model", help="model folder, local-dir:PATH, hf-hub:ORG/NAME[@REV] or zoo name")
    p.add_argument("input", help="an image or a folder of images (searched recursively)")
    p.add_argument("mask", nargs="?", help="a mask for every image (white, 1 or painted = hole), or a folder of masks at "
                                           "the images' relative paths; not needed with --mask-preset/--mask-box")
    p.add_argument("-o", "--out", required=True, help="output image (single input) or folder (relative layout kept)")
    p.add_argument("--mask-preset", help="draw a seeded mask per image instead (center, boxes, thin, medium, thick, …)")
    p.add_argument("--mask-box", metavar="X,Y,W,H", help="the same rectangle as the hole of every image")
    p.add_argument("--seed", type=seed, default=0,
                   help="one seed for everything random in the run (default 0): --mask-preset's masks (image i of the "
                        "sorted folder gets seed + i) and, for a model that samples (`inpaintzoo list` says which), "
                        "each image's noise (drawn from the seed and the image's relative path)")
    p.add_argument("--steps", type=positive_int, help="sampling steps of a model with an iterative sampler (a diffusion "
                                                       "model's DDIM steps; default: its spec's)")
    p.add_argument("--threshold", type=fraction, help="binarise non-binary masks at this value in [0, 1]")
    p.add_argument("--resize-mask", action="store_true", help="resize masks whose size differs from their image")
    p.add_argument("--overwrite", action="store_true", help="replace outputs that exist (default: nothing is replaced: a "
                   "single output that exists is refused, a folder run skips them, so a killed run resumes)")
    p.add_argument("--quality", type=quality, help="JPEG/WebP output quality 1…100 (default: a JPEG input's own "
                                                   "encoding, else 95)")
    p.add_argument("--skip-bad", action="store_true", help="exit 0 although some images could not be read (a folder run "
                                                           "always skips them and lists them in its summary)")
    p.add_argument("--hd-strategy", default="auto", choices=["auto", "original", "resize", "crop"],
                   help="large images: crop around each hole, resize, or run whole (auto: crop above --hd-crop-trigger)")
    p.add_argument("--hd-crop-margin", type=int, default=128, help="context pixels around each hole region (default 128)")
    p.add_argument("--hd-crop-trigger", type=positive_int, help="auto crops above this longer side (default: 800, or "
                                                               "twice the trained size)")
    p.add_argument("--hd-resize-limit", type=positive_int, default=1280, help="longer side for --hd-strategy resize")
    p.add_argument("--batch-size", type=positive_int, default=4, help="images of one size inpainted together (default 4)")
    p.add_argument("--workers", type=int, default=None, help="DataLoader workers decoding images (default: 2 for folders)")
    p.add_argument("--dtype", choices=["float32", "bfloat16", "float16"], default="float32",
                   help="run the network under autocast in this precision (see docs/benchmarks.md for its error)")
    p.add_argument("--compile", action="store_true", help="torch.compile the network first (a one-time warm-up per size)")
    device_args(p)


def mask_rule(a: argparse.Namespace):
    from ..batch import BoxRule, PresetRule

    given = [x for x in (a.mask, a.mask_preset, a.mask_box) if x]
    if len(given) != 1:
        raise InputError("inpaint: give exactly one of MASK, --mask-preset NAME or --mask-box X,Y,W,H")
    if a.mask_box:
        return BoxRule(a.mask_box)
    if a.mask_preset:
        return PresetRule(a.mask_preset, a.seed)
    if not Path(a.mask).exists():
        raise InputError(f"mask {a.mask}: no such file or folder")
    return None


def cmd_inpaint(a: argparse.Namespace) -> int:
    from ..fetch import precheck

    precheck(a.model)  # a release that cannot be fetched: said before torch is imported
    from .. import distributed
    from ..devices import resolve_device

    device = resolve_device(a.device)
    if a.hd_crop_margin < 0:
        raise InputError(f"--hd-crop-margin {a.hd_crop_margin}: must be ≥ 0")
    if a.workers is not None and a.workers < 0:
        raise InputError(f"--workers {a.workers}: must be ≥ 0")
    rule = mask_rule(a)
    rank, world = distributed.join()
    ok = False
    try:
        code = _inpaint(a, device, rule, rank, world)
        ok = True
        return code
    finally:
        distributed.leave(ok)


def _inpaint(a: argparse.Namespace, device: Any, rule: Any, rank: int, world: int) -> int:
    from .. import batch
    from ..loader import load

    inp = Path(a.input)
    started = time.perf_counter()
    work = batch.plan(inp, None if rule is not None else Path(a.mask), Path(a.out), overwrite=a.overwrite,
                      max_pixels=a.max_pixels, resize_mask=a.resize_mask, rank=rank, world=world)
    for note in work.notes[:5]:
        log.info(note)
    model = load(a.model, device=device) if work.jobs else None
    if model is not None:
        if model.contract.channels == 4:
            for job in work.jobs:
                check_mode_fits(job.fmt, "RGBA", job.out)  # an RGBA model returns RGBA
        if a.compile:
            model.compile()
        if a.steps is not None and getattr(model, "sampler_steps", None) is None:
            raise InputError(f"--steps {a.steps}: {a.model} has no iterative sampler; leave --steps out")
    infer = {"threshold": a.threshold, "hd_strategy": a.hd_strategy, "hd_crop_margin": a.hd_crop_margin,
             "hd_crop_trigger": a.hd_crop_trigger, "hd_resize_limit": a.hd_resize_limit,
             "dtype": None if a.dtype == "float32" else a.dtype, **({"steps": a.steps} if a.steps is not None else {})}
    workers = a.workers if a.workers is not None else (2 if inp.is_dir() else 0)
    with steps(len(work.jobs), "inpainting", "images") as advance:
        done, skipped, failed = batch.run(model, work.jobs, batch_size=a.batch_size, workers=workers,
                                          max_pixels=a.max_pixels, rule=rule, infer=infer, progress=advance,
                                          exclusive=not a.overwrite, quality=a.quality, seed=a.seed,
                                          root=inp if inp.is_dir() else None) if work.jobs else (0, [], [])
    done, skipped, failed = batch.gather((done, work.skipped + skipped, work.failed + failed))
    if rank != 0:
        return 0
    seconds = time.perf_counter() - started
    if not inp.is_dir():
        if failed:
            raise InputError(f"{failed[0][0]}: {failed[0][1]}")
        if skipped:  # another process wrote the output between the check and the rename: its file is kept
            raise InputError(f"-o {skipped[0][1]}")
        print(f"wrote {work.jobs[0].out} ({device}, {seconds:.1f} s)")
        return 0
    for line in batch.summary(done, skipped, failed, seconds, f"{device}" + (f", {world} processes" if world > 1 else "")):
        print(line)
    return 2 if failed and not a.skip_bad else 0


def _add_intervene(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("intervene", help="do(concept = value) on an image with a causal model, or an intervention grid")
    p.add_argument("model", help="model folder, local-dir:PATH, hf-hub:ORG/NAME[@REV] or zoo name")
    p.add_argument("image", help="the image to intervene on")
    p.add_argument("--set", action="append", default=[], metavar="CONCEPT=VALUE", help="repeatable; values in label units")
    p.add_argument("--mask", help="regenerate only this hole (default: the whole image)")
    p.add_argument("--grid", action="store_true", help="write a grid: one row per concept, one column per value")
    p.add_argument("--threshold", type=fraction, help="binarise a non-binary mask at this value in [0, 1]")
    p.add_argument("-o", "--out", required=True, help="output image file (never an input)")
    p.add_argument("--overwrite", action="store_true", help="replace -o if it exists (default: refuse, as inpaint does)")
    p.add_argument("--quality", type=quality, help="JPEG/WebP output quality 1…100 (default: the input JPEG's own "
                                                   "encoding, else 95)")
    device_args(p)


def parse_values(items: list[str]) -> dict[str, float]:
    values: dict[str, float] = {}
    for item in items:
        key, sep, val = item.partition("=")
        if not sep or not key.strip():
            raise InputError(f"--set {item}: expected CONCEPT=NUMBER, e.g. --set light=120")
        try:
            value = float(val)
        except ValueError:
            raise InputError(f"--set {item}: expected CONCEPT=NUMBER, e.g. --set light=120") from None
        if not math.isfinite(value):
            raise InputError(f"--set {item}: {val} is not a finite number")
        if key.strip() in values:
            raise InputError(f"--set {item}: {key.strip()} is set twice; give each concept once")
        values[key.strip()] = value
    return values


def cmd_intervene(a: argparse.Namespace) -> int:
    from ..devices import resolve_device
    from ..loader import load

    device = resolve_device(a.device)
    if a.grid and a.set:
        raise InputError("intervene: --grid shows every concept at the prior's grid values; drop --set, or drop --grid")
    if not a.grid and not a.set:
        raise InputError("intervene: give at least one --set CONCEPT=VALUE, or --grid")
    values = parse_values(a.set)
    image_path = Path(a.image)
    if not image_path.is_file():
        raise InputError(f"{a.image}: no such image")
    head = header(image_path, a.max_pixels)
    inputs = {image_path.resolve()}
    if a.mask:
        if not Path(a.mask).is_file():
            raise InputError(f"--mask {a.mask}: no such file")
        mhead = header(Path(a.mask), a.max_pixels)
        if mhead.size != head.size:
            raise InputError(f"--mask {a.mask}: {mhead.size[0]}×{mhead.size[1]} but the image is "
                             f"{head.size[0]}×{head.size[1]} (as displayed)")
        inputs.add(Path(a.mask).resolve())
    out = Path(a.out)
    if out.is_dir():
        raise InputError(f"-o {out}: is a folder; give an image file name")
    if out.resolve() in inputs:
        raise InputError(f"-o {out}: is one of the inputs; it is never written over, choose another output")
    if out.exists() and not a.overwrite:
        raise InputError(f"-o {out}: exists; pass --overwrite to replace it")
    fmt = output_format(out)
    check_parent(out)
    if not a.grid:
        check_mode_fits(fmt, head.mode, out)
    for note in head.notes:
        log.info(note)
    model = load(a.model, device=device)
    if model.contract.channels == 4 and not a.grid:
        check_mode_fits(fmt, "RGBA", out)
    if not model.prior.supports_interventions:
        raise InputError(f"{a.model}: its prior '{model.spec.prior.type}' has no named concepts to intervene on")
    img = open_image(image_path, a.max_pixels)
    mask = mask_of(open_image(Path(a.mask), a.max_pixels)) if a.mask else None
    if mask is not None and mask.getextrema()[1] == 0:
        log.info("--mask %s has no hole: the image is written unchanged (drop --mask to regenerate all of it)", a.mask)
    if a.grid:
        from ..plots import intervention_grid

        grid, layout = intervention_grid(model, img, model.prior.grid_values(), mask=mask, threshold=a.threshold)
        save_image(grid, out, fmt)
        rows = ", ".join(model.prior.concept_names())
        print(f"wrote {a.out}: rows {rows}; each tile shows do(concept = value)" + (" inside the mask" if a.mask else ""))
        return 0
    save_image(model.intervene(img, values, mask=mask, threshold=a.threshold), out, fmt, like=img, quality=a.quality)
    print(f"wrote {a.out}")
    return 0


COMMANDS = {"inpaint": (_add_inpaint, cmd_inpaint), "intervene": (_add_intervene, cmd_intervene)}
