"""`inpaintzoo inpaint` and `inpaintzoo intervene`: run a model on image files or folders."""
from __future__ import annotations

import argparse
from pathlib import Path

from ..data.datasets import IMAGE_SUFFIXES
from ..errors import InputError


def _images(path: Path, what: str) -> list[Path]:
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            raise InputError(f"{what} {path}: no images found in the folder")
        return files
    if not path.is_file():
        raise InputError(f"{what} {path}: no such file or folder")
    return [path]


def _open(path: Path, skip_bad: bool):
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            im.load()
            return im.copy()
    except (OSError, UnidentifiedImageError) as exc:
        if skip_bad:
            return None
        raise InputError(f"{path}: unreadable image ({exc}); fix or remove it, or pass --skip-bad") from None


def _save(img, path: Path) -> None:
    import os

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.tmp{path.suffix}")
    img.save(tmp)
    os.replace(tmp, path)


def _add_inpaint(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("inpaint", help="fill the holes of images (files or folders; masks matched by file stem)")
    p.add_argument("model", help="model folder, local-dir:PATH, hf-hub:ORG/NAME[@REV] or zoo name")
    p.add_argument("input", help="an image or a folder of images")
    p.add_argument("mask", help="a mask (1/white = hole) or a folder of masks with the images' stems")
    p.add_argument("-o", "--out", required=True, help="output file (single image) or folder")
    p.add_argument("--threshold", type=float, help="binarise non-binary masks at this value in [0, 1]")
    p.add_argument("--resize-mask", action="store_true", help="resize masks whose size differs from their image")
    p.add_argument("--skip-bad", action="store_true", help="skip unreadable images instead of stopping")
    p.add_argument("--device", default="cpu")


def cmd_inpaint(a: argparse.Namespace) -> int:
    from PIL import Image
    from rich.progress import track

    from ..loader import load

    images = _images(Path(a.input), "input")
    masks = _images(Path(a.mask), "mask")
    by_stem = {m.stem: m for m in masks}
    single_mask = masks[0] if Path(a.mask).is_file() else None
    model = load(a.model, device=a.device)
    out = Path(a.out)
    many = Path(a.input).is_dir()
    done = 0
    for img_path in track(images, description="inpainting", disable=not many):
        mpath = single_mask or by_stem.get(img_path.stem)
        if mpath is None:
            raise InputError(f"{img_path}: no mask named '{img_path.stem}.*' in {a.mask}")
        img = _open(img_path, a.skip_bad)
        mask = _open(mpath, False)
        if img is None:
            continue
        mask = mask.convert("L")
        if mask.size != img.size:
            if not a.resize_mask:
                raise InputError(f"{mpath}: mask is {mask.size[0]}×{mask.size[1]} but {img_path.name} is "
                                 f"{img.size[0]}×{img.size[1]}; pass --resize-mask to resize it")
            mask = mask.resize(img.size, Image.NEAREST)
        result = model.inpaint(img, mask, threshold=a.threshold)
        target = out / img_path.relative_to(a.input).with_suffix(".png") if many else out
        _save(result, target)
        done += 1
    print(f"wrote {done} image(s) to {out}")
    return 0


def _add_intervene(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("intervene", help="do(concept = value) on an image with a causal model, or an intervention grid")
    p.add_argument("model")
    p.add_argument("image")
    p.add_argument("--set", action="append", default=[], metavar="CONCEPT=VALUE", help="repeatable; label units")
    p.add_argument("--mask", help="regenerate only this hole (default: the whole image)")
    p.add_argument("--grid", action="store_true", help="write a grid: one row per concept, one column per value")
    p.add_argument("-o", "--out", required=True)


def cmd_intervene(a: argparse.Namespace) -> int:
    from ..loader import load

    model = load(a.model)
    img = _open(Path(a.image), False)
    if img is None or not Path(a.image).is_file():
        raise InputError(f"{a.image}: no such image")
    values: dict[str, float] = {}
    for item in a.set:
        key, sep, val = item.partition("=")
        try:
            values[key.strip()] = float(val)
        except ValueError:
            raise InputError(f"--set {item}: expected CONCEPT=NUMBER, e.g. --set smile=1.0") from None
        if not sep:
            raise InputError(f"--set {item}: expected CONCEPT=NUMBER")
    mask = _open(Path(a.mask), False).convert("L") if a.mask else None
    if a.grid:
        import numpy as np
        import torch

        from ..errors import InpaintzooError

        prior = model.prior
        if not getattr(prior, "supports_interventions", False):
            raise InpaintzooError(f"{a.model}: its prior has no named concepts to intervene on")
        arr = np.asarray(img.convert({1: "L", 3: "RGB", 4: "RGBA"}[model.contract.channels]), dtype=np.float32) / 255
        t = torch.from_numpy(arr.reshape(arr.shape[0], arr.shape[1], -1)).permute(2, 0, 1)
        scale = getattr(prior, "scale", None)
        grid_values = {c: [float(scale[i, 0] + s * scale[i, 1]) for s in (-2, -1, 0, 1, 2)] if scale is not None else [-2, -1, 0, 1, 2]
                       for i, c in enumerate(prior.concept_names())}
        from torchvision.utils import make_grid

        from ..train.loop import save_png

        rows = [model.intervene(t, {c: v})[:3] for c, vals in grid_values.items() for v in vals]
        save_png(make_grid(torch.stack(rows), nrow=5, padding=2, pad_value=1.0), Path(a.out))
        print(f"wrote {a.out}: rows {', '.join(grid_values)}; columns λ⁻¹(−2 … 2)")
        return 0
    if not values:
        raise InputError("intervene: give at least one --set CONCEPT=VALUE, or --grid")
    _save(model.intervene(img, values, mask=mask), Path(a.out))
    print(f"wrote {a.out}")
    return 0


COMMANDS = {"inpaint": (_add_inpaint, cmd_inpaint), "intervene": (_add_intervene, cmd_intervene)}
