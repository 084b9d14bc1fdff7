"""`inpaintzoo example`: write an example image (and mask) from a model's data set, to try the other commands on.

    inpaintzoo example causal-nvae-pendulum -o scene.png --mask mask.png
    inpaintzoo inpaint causal-nvae-pendulum scene.png mask.png -o filled.png
"""
from __future__ import annotations

import argparse
from pathlib import Path

from . import positive_int, seed, side


def _add(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("example", help="write an example image (and mask) from a model's data set")
    p.add_argument("model", help="a zoo name, spec.toml or model folder: its [data.dataset] supplies the image")
    p.add_argument("-o", "--out", required=True, help="image file to write (.png)")
    p.add_argument("--mask", help="also write a mask here, drawn by the spec's evaluation masks (or --masks)")
    p.add_argument("--masks", help="mask preset to draw instead (see `inpaintzoo masks --help`)")
    p.add_argument("--index", type=int, default=0, help="which image of the split (default 0)")
    p.add_argument("--split", default="val", choices=["train", "val", "test", "all"], help="data split (default val)")
    p.add_argument("--seed", type=seed, default=0, help="mask seed (default 0)")
    p.add_argument("--size", type=side, help="write the image at this side length instead of the model's size")


def example_image(model: str | Path | dict, split: str = "test", index: int = 0, size: int | None = None):
    """Image `index` of the model's own data set (split) as an 8-bit PIL image, and the data spec.

    `model`: a model folder (its config.json), a zoo name or spec path, or a config dict. For procedural data sets
    (pendulum scenes, shapes) this needs nothing from disk; folder data sets need their root."""
    import numpy as np
    import torch
    from PIL import Image

    from .. import plugins
    from ..errors import InputError
    from ..spec import validate
    from ..train.data import build_dataset
    from ..zoo import resolve_spec

    reg = plugins.registry()
    if isinstance(model, dict):
        raw, source = model["spec"], "config.json"
    elif (Path(model) / "config.json").is_file():
        from ..artifact import read_config

        raw, source = read_config(Path(model))["spec"], str(Path(model) / "config.json")  # a broken file: one line
    else:
        raw, source = resolve_spec(str(model))
    spec = validate(raw, reg, source, scope="data")
    ds = build_dataset(spec, reg, split)
    if not 0 <= index < len(ds):
        raise InputError(f"--index {index}: the {split} split has {len(ds)} images (0…{len(ds) - 1})")
    img = ds[index]["image"]
    if size:
        img = torch.nn.functional.interpolate(img[None], size=(size, size), mode="bilinear", antialias=True)[0].clamp(0, 1)
    arr = (img.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
    return Image.fromarray(arr[..., 0] if arr.shape[-1] == 1 else arr), spec


def cmd_example(a: argparse.Namespace) -> int:
    import numpy as np
    import torch
    from PIL import Image

    from .. import plugins
    from ..errors import InputError
    from ..images import check_parent, output_format, save_image
    from ..train.data import build_masks
    from .masks import mask_generator

    outs = [Path(a.out)] + ([Path(a.mask)] if a.mask else [])
    for o in outs:
        if o.is_dir():
            raise InputError(f"{o}: is a folder; give an image file name")
        output_format(o, "-o" if o == outs[0] else "--mask")
        check_parent(o)
    img, spec = example_image(a.model, a.split, a.index, a.size)
    save_image(img, outs[0], output_format(outs[0]))
    if a.mask:
        w, h = img.size
        gen = mask_generator(a.masks, max(h, w)) if a.masks else build_masks(spec, plugins.registry(), "eval_masks")
        m = gen(1, h, w, torch.Generator().manual_seed(a.seed))[0, 0]
        save_image(Image.fromarray((m.numpy() * 255).astype(np.uint8)), outs[1], output_format(outs[1]))
    print(f"wrote {a.out}" + (f" and {a.mask}" if a.mask else ""))
    return 0


COMMANDS = {"example": (_add, cmd_example)}
