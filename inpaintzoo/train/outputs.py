"""What a run writes besides its checkpoints: validation numbers on a fixed mask set, titled sample grids, and
its JSON records."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from ..artifact import atomic_write_text
from ..evaluation import evaluate_model, fixed_masks
from ..model import InpaintModel


@torch.no_grad()
def evaluate(model: InpaintModel, dataset, masks, batch_size: int, batches: int, seed: int) -> dict[str, float]:
    """Mean standard metrics of the composited output on the first `batches` batches, with a fixed mask set."""
    n = min(len(dataset), batch_size * batches)
    h, w = dataset[0]["image"].shape[-2:]
    return evaluate_model(model, dataset, fixed_masks(dataset, masks, n, h, w, seed), batch_size)["metrics"]


@torch.no_grad()
def write_sample_grid(model: InpaintModel, dataset, masks, path: Path, seed: int, n: int = 8, device: Any = "cpu"):
    """Rows of masked input | output | ground truth, titled, with the hole in a colour the data do not use."""
    from ..contract import denormalize
    from ..model import eval_mode
    from ..plots import hole_colour, labelled_grid, save_image, show_holes

    n = min(n, len(dataset))
    image = torch.stack([dataset[i]["image"] for i in range(n)]).to(device)
    mask = fixed_masks(dataset, masks, n, image.shape[-2], image.shape[-1], seed).to(device)
    with eval_mode(model):
        _, pred, _, _ = model.run(image, mask)
    out = torch.where(mask.bool(), denormalize(pred, model.contract).clamp(0, 1), image)
    name, colour = hole_colour(image)
    shown = show_holes(image, mask, colour)
    tiles = [[shown[i], out[i], image[i]] for i in range(n)]
    grid, layout = labelled_grid(tiles, col_titles=["masked input", "output", "ground truth"],
                                 title=f"step {path.stem.removeprefix('step-').lstrip('0') or '0'} · hole shown in {name}")
    save_image(grid, path)
    return layout


def write_json(path: Path, obj: Any) -> None:
    """A run's JSON record (spec.json, overrides.json, …), written atomically with the umask's mode."""
    atomic_write_text(path, json.dumps(obj, indent=2) + "\n")
