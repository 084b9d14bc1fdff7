"""Adjacency heatmaps (the seed's Fig. 5) and intervention grids (its Fig. 4), written atomically as PNG."""
from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import Tensor


def adjacency_heatmap(A: Tensor, names: list[str], path: Path, title: str = "") -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path.parent.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(4.2, 3.6), dpi=100)
    im = ax.imshow(A.numpy(), cmap="RdBu_r", vmin=-1, vmax=1)
    ax.set_xticks(range(len(names)), names, rotation=45, ha="right", fontsize=7)
    ax.set_yticks(range(len(names)), names, fontsize=7)
    ax.set_xlabel("effect")
    ax.set_ylabel("cause")
    for i in range(A.shape[0]):
        for j in range(A.shape[1]):
            ax.text(j, i, f"{float(A[i, j]):.2f}", ha="center", va="center", fontsize=6)
    ax.set_title(title, fontsize=8)
    fig.colorbar(im, ax=ax, fraction=0.046)
    fig.tight_layout()
    tmp = path.with_suffix(".tmp.png")
    fig.savefig(tmp)
    plt.close(fig)
    os.replace(tmp, path)


def intervention_grid(model, image: Tensor, values: dict[str, list[float]], path: Path) -> Tensor:
    """One row per concept, one column per value: do(concept = value) on `image` (C×H×W in [0, 1])."""
    from torchvision.utils import make_grid

    from inpaintzoo.train.loop import save_png

    rows = []
    for concept, vals in values.items():
        rows += [model.intervene(image, {concept: v})[:3] for v in vals]
    grid = make_grid(torch.stack(rows), nrow=max(len(v) for v in values.values()), padding=2, pad_value=1.0)
    save_png(grid, path)
    return grid
