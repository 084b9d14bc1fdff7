"""`inpaintzoo inpaint` and `inpaintzoo intervene`: run a model on image files or folders.

Everything that can be checked is checked before the model is loaded and before any output is written:
each input's header (readable, at most `--max-pixels`), that every image has a mask of its size, and that
`-o` names a writable image file (or folder) whose format can hold the result. Outputs are written through a
unique temporary file in the target folder and renamed into place, so concurrent runs writing the same
folder, or an interrupted one, never leave a half-written image.
"""
from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path
from typing import Any

from ..data.datasets import IMAGE_SUFFIXES
from ..errors import InputError
from . import fraction, positive_int

#: output formats by suffix (PIL format names)
FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".bmp": "BMP", ".tif": "TIFF", ".tiff": "TIFF", ".webp": "WEBP"}
#: what each format can hold besides 8-bit RGB / grey
HOLDS_ALPHA = {"PNG", "TIFF", "WEBP"}
HOLDS_16BIT = {"PNG", "TIFF"}
#: images above this many pixels are refused before decoding (50 megapixels: about 0.6 GB as float RGB)
MAX_PIXELS = 50_000_000


def _images(path: Path, what: str) -> list[Path]:
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
        if not files:
            raise InputError(f"{what} {path}: no images found in the folder ({', '.join(sorted(IMAGE_SUFFIXES))})")
        return files
    if not path.is_file():
        raise InputError(f"{what} {path}: no such file or folder")
    return [path]


def header(path: Path, max_pixels: int, skip_bad: bool = False) -> tuple[tuple[int, int], str] | None:
    """(size, mode) from the file's header, without decoding; refuses images above `max_pixels`. A palette image
    with a transparent colour reports mode 'PA' (its alpha is kept)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            size, mode = im.size, im.mode
            if "transparency" in im.info and "A" not in mode:
                mode += "A"
    except Image.DecompressionBombError as exc:
        raise InputError(f"{path}: {exc}; larger than --max-pixels {max_pixels:,}") from None
    except (OSError, UnidentifiedImageError, ValueError) as exc:
        if skip_bad:
            return None
        raise InputError(f"{path}: unreadable image ({exc}); fix or remove it, or pass --skip-bad") from None
    if size[0] * size[1] > max_pixels:
        raise InputError(f"{path}: {size[0]}×{size[1]} = {size[0] * size[1]:,} pixels, more than --max-pixels {max_pixels:,}; "
                         f"downscale it or raise the limit")
    return size, mode


def open_image(path: Path, max_pixels: int) -> Any:
    from PIL import Image

    old = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = max(max_pixels, old or 0)  # our limit was checked; PIL's own must not fire below it
    try:
        with Image.open(path) as im:
            im.load()
            return im.copy()
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: unreadable image ({exc})") from None
    finally:
        Image.MAX_IMAGE_PIXELS = old


def output_format(path: Path, option: str = "-o") -> str:
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise InputError(f"{option} {path}: expected an image file name ending in {', '.join(FORMATS)}" +
                         (" (or an existing folder)" if not path.suffix else ""))
    return fmt


def check_parent(path: Path, option: str = "-o") -> None:
    for anc in path.parents:
        if anc.exists():
            if not anc.is_dir():
                raise InputError(f"{option} {path}: {anc} is a file, not a folder")
            if not os.access(anc, os.W_OK):
                raise InputError(f"{option} {path}: {anc} is not writable")
            return


def check_mode_fits(fmt: str, mode: str, path: Path, option: str = "-o") -> None:
    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I") and fmt not in HOLDS_16BIT:
        raise InputError(f"{option} {path}: {fmt} cannot hold the 16-bit result of a 16-bit input; write .png or .tif")
    if "A" in mode and fmt not in HOLDS_ALPHA:
        raise InputError(f"{option} {path}: {fmt} cannot hold the alpha channel of the input ({mode}); write .png, .tif or .webp")


def save_image(img: Any, path: Path, fmt: str) -> None:
    """Write atomically: a unique temporary file beside the target, explicit format, then rename."""
    from ..artifact import umask

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            img.save(f, format=fmt)
        os.chmod(tmp, 0o666 & ~umask())
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)


def _device_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    p.add_argument("--max-pixels", type=positive_int, default=MAX_PIXELS,
                   help=f"refuse images with more pixels than this, before decoding (default {MAX_PIXELS:,})")


def _add_inpaint(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("inpaint", help="fill the holes of images (files or folders; masks matched by file stem)")
    p.add_argument("model", help="model folder, local-dir:PATH, hf-hub:ORG/NAME[@REV] or zoo name")
    p.add_argument("input", help="an image or a folder of images")
    p.add_argument("mask", help="a mask (white or 1 = hole) or a folder of masks with the images' stems")
    p.add_argument("-o", "--out", required=True, help="output image file (single input) or folder")
    p.add_argument("--threshold", type=fraction, help="binarise non-binary masks at this value in [0, 1]")
    p.add_argument("--resize-mask", action="store_true", help="resize masks whose size differs from their image")
    p.add_argument("--skip-bad", action="store_true", help="skip unreadable images instead of stopping")
    _device_arg(p)


def plan(a: argparse.Namespace) -> list[tuple[Path, Path, Path, str]]:
    """(image, mask, output, format) for every input, all checked; nothing is written or loaded yet."""
    inp = Path(a.input)
    images = _images(inp, "input")
    masks = _images(Path(a.mask), "mask")
    single_mask = masks[0] if Path(a.mask).is_file() else None
    by_stem = {m.stem: m for m in masks}
    out = Path(a.out)
    many = inp.is_dir()
    if many and out.exists() and not out.is_dir():
        raise InputError(f"-o {out}: is a file; a folder input needs an output folder")
    jobs = []
    for img in images:
        mpath = single_mask or by_stem.get(img.stem)
        if mpath is None:
            raise InputError(f"{img}: no mask named '{img.stem}.*' in {a.mask}")
        head = header(img, a.max_pixels, a.skip_bad)
        if head is None:
            continue
        msize, _ = header(mpath, a.max_pixels)
        if msize != head[0] and not a.resize_mask:
            raise InputError(f"{mpath}: mask is {msize[0]}×{msize[1]} but {img.name} is {head[0][0]}×{head[0][1]}; "
                             f"pass --resize-mask to resize it")
        if many:
            target = out / img.relative_to(inp).with_suffix(".png")
        elif out.is_dir():
            target = out / f"{img.stem}.png"
        else:
            target = out
        fmt = output_format(target)
        check_parent(target)
        check_mode_fits(fmt, head[1], target)
        jobs.append((img, mpath, target, fmt))
    return jobs


def cmd_inpaint(a: argparse.Namespace) -> int:
    from PIL import Image
    from rich.progress import track

    from ..loader import load
    from ..train.loop import resolve_device

    device = resolve_device(a.device)
    jobs = plan(a)
    model = load(a.model, device=device)
    for _, _, target, fmt in jobs[:1]:
        if model.contract.channels == 4:
            check_mode_fits(fmt, "RGBA", target)  # an RGBA model returns RGBA
    for img_path, mpath, target, fmt in track(jobs, description="inpainting", disable=len(jobs) < 2, transient=True):
        img = open_image(img_path, a.max_pixels)
        mask = open_image(mpath, a.max_pixels).convert("L")
        if mask.size != img.size:
            mask = mask.resize(img.size, Image.NEAREST)
        save_image(model.inpaint(img, mask, threshold=a.threshold), target, fmt)
    where = jobs[0][2] if len(jobs) == 1 else a.out
    print(f"wrote {len(jobs)} image(s) to {where}")
    return 0


def _add_intervene(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("intervene", help="do(concept = value) on an image with a causal model, or an intervention grid")
    p.add_argument("model", help="model folder, local-dir:PATH, hf-hub:ORG/NAME[@REV] or zoo name")
    p.add_argument("image", help="the image to intervene on")
    p.add_argument("--set", action="append", default=[], metavar="CONCEPT=VALUE", help="repeatable; values in label units")
    p.add_argument("--mask", help="regenerate only this hole (default: the whole image)")
    p.add_argument("--grid", action="store_true", help="write a grid: one row per concept, one column per value")
    p.add_argument("--threshold", type=fraction, help="binarise a non-binary mask at this value in [0, 1]")
    p.add_argument("-o", "--out", required=True, help="output image file")
    _device_arg(p)


def cmd_intervene(a: argparse.Namespace) -> int:
    from ..loader import load
    from ..train.loop import resolve_device

    device = resolve_device(a.device)
    if a.grid and a.set:
        raise InputError("intervene: --grid shows every concept at the prior's grid values; drop --set, or drop --grid")
    if not a.grid and not a.set:
        raise InputError("intervene: give at least one --set CONCEPT=VALUE, or --grid")
    values: dict[str, float] = {}
    for item in a.set:
        key, sep, val = item.partition("=")
        try:
            values[key.strip()] = float(val)
        except ValueError:
            raise InputError(f"--set {item}: expected CONCEPT=NUMBER, e.g. --set smile=1.0") from None
        if not sep or not key.strip():
            raise InputError(f"--set {item}: expected CONCEPT=NUMBER")
    image_path = Path(a.image)
    if not image_path.is_file():
        raise InputError(f"{a.image}: no such image")
    head = header(image_path, a.max_pixels)
    if a.mask:
        if not Path(a.mask).is_file():
            raise InputError(f"--mask {a.mask}: no such file")
        msize, _ = header(Path(a.mask), a.max_pixels)
        if msize != head[0]:
            raise InputError(f"--mask {a.mask}: {msize[0]}×{msize[1]} but the image is {head[0][0]}×{head[0][1]}")
    out = Path(a.out)
    if out.is_dir():
        raise InputError(f"-o {out}: is a folder; give an image file name")
    fmt = output_format(out)
    check_parent(out)
    if not a.grid:
        check_mode_fits(fmt, head[1], out)
    model = load(a.model, device=device)
    if model.contract.channels == 4 and not a.grid:
        check_mode_fits(fmt, "RGBA", out)
    if not model.prior.supports_interventions:
        raise InputError(f"{a.model}: its prior '{model.spec.prior.type}' has no named concepts to intervene on")
    img = open_image(image_path, a.max_pixels)
    mask = open_image(Path(a.mask), a.max_pixels).convert("L") if a.mask else None
    if a.grid:
        from ..plots import intervention_grid

        grid, layout = intervention_grid(model, img, model.prior.grid_values(), mask=mask, threshold=a.threshold)
        save_image(grid, out, fmt)
        rows = ", ".join(t for t, _ in layout.texts if t in model.prior.concept_names())
        print(f"wrote {a.out}: rows {rows}; each tile shows do(concept = value)" + (" inside the mask" if a.mask else ""))
        return 0
    save_image(model.intervene(img, values, mask=mask, threshold=a.threshold), out, fmt)
    print(f"wrote {a.out}")
    return 0


COMMANDS = {"inpaint": (_add_inpaint, cmd_inpaint), "intervene": (_add_intervene, cmd_intervene)}
