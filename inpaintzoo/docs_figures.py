"""Pictures in the docs made from the code and the shipped weights, so they cannot go stale
(`inpaintzoo docs --hd-figure`)."""
from __future__ import annotations

import time
import warnings
from pathlib import Path

import torch
from torch import Tensor

HD_FIGURE = "docs/images/hd-strategies.png"
SIDE = 512  # the "photo": 16× the side the two shipped models were trained at


def _outline(img: Tensor, windows: list[tuple[int, int, int, int]], colour=(1.0, 0.85, 0.0), width: int = 3) -> Tensor:
    out = img.clone()
    c = torch.tensor(colour).view(3, 1, 1)
    for t, l, b, r in windows:
        out[:3, t:t + width, l:r] = c
        out[:3, b - width:b, l:r] = c
        out[:3, t:b, l:l + width] = c
        out[:3, t:b, r - width:r] = c
    return out


FIGURE_MODELS = ("core-shapes-tiny", "causal-nvae-pendulum")  # shipped: one runs at any size, one at 32² only
HOLES = {"core-shapes-tiny": [(120, 90, 64, 80), (330, 340, 50, 80)], "causal-nvae-pendulum": [(150, 200, 110, 130)]}


def _photo(model) -> Tensor:
    """Image 0 of the model's own (procedural) data set, rendered at SIDE² rather than upscaled."""
    from .overrides import resolve
    from .plugins import registry
    from .spec import validate
    from .train.data import build_dataset

    reg = registry()
    raw = model.config["spec"]
    fields = reg.get(raw["data"]["dataset"]["type"], "dataset").config.model_fields
    sets = {"data.dataset.image_size": [SIDE, SIDE]}
    sets.update({"data.dataset.limit": 1} if "limit" in fields else {"data.dataset.size": 1} if "size" in fields else {})
    spec = validate(resolve(raw, sets), reg, "figure", scope="data")
    return build_dataset(spec, reg, "test")[0]["image"]


@torch.no_grad()
def hd_strategies(dest: Path, margin: int = 64, resize_limit: int = 128) -> Path:
    """One row per shipped model, one column per strategy, each captioned with its network input and CPU time."""
    from . import plots
    from .hd import crop_windows
    from .loader import load

    rows, captions, titles = [], [], []
    for name in FIGURE_MODELS:
        with warnings.catch_warnings():  # core-shapes-tiny is a smoke test, and the figure says what it shows
            warnings.simplefilter("ignore")
            model = load(name)
        image = _photo(model)
        mask = torch.zeros(1, SIDE, SIDE)
        for top, left, h, w in HOLES[name]:
            mask[:, top:top + h, left:left + w] = 1
        fixed = model.contract.resize == "fixed"
        colour_name, colour = plots.hole_colour(image[None])
        windows = crop_windows(mask[0], margin, square=fixed)
        tiles = [_outline(plots.show_holes(image[None], mask[None], colour)[0], windows)]
        caps = [f"hole in {colour_name}; crop windows"]
        for strategy in ("original", "resize", "crop"):
            start = time.perf_counter()
            out = model.inpaint(image, mask, hd_strategy=strategy, hd_crop_margin=margin, hd_resize_limit=resize_limit)
            ms = (time.perf_counter() - start) * 1000
            # ASCII only: Pillow's default font has no ² or ×
            seen = {"original": f"{SIDE}x{SIDE}", "resize": f"{resize_limit}x{resize_limit}",
                    "crop": " + ".join(f"{b - t}x{r - l}" for t, l, b, r in windows)}[strategy]
            if fixed:
                seen += " resized to {0}x{0}".format(model.contract.image_size[0])
            tiles.append(out)
            caps.append(f"network saw {seen}; {ms:.0f} ms")
        rows.append(tiles)
        captions.append(caps)
        titles.append(f"{name} ({'fixed {0}x{0}'.format(model.contract.image_size[0]) if fixed else 'any size'})")
    canvas, _ = plots.labelled_grid(rows, col_titles=["input", "original", f"resize (limit {resize_limit})",
                                                      f"crop (margin {margin})"],
                                    row_titles=titles, captions=captions,
                                    title=f"HD strategies on a {SIDE}x{SIDE} picture; outside the hole every result "
                                          "is the input")
    dest.parent.mkdir(parents=True, exist_ok=True)
    plots.save_image(canvas, dest)  # atomic: a second `docs --hd-figure` never sees half a PNG
    return dest
