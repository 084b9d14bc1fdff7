"""The adjacency heatmap (the seed's Fig. 5), written atomically as PNG; matplotlib with the Agg backend.

Intervention grids (the seed's Fig. 4) are drawn by the core's `inpaintzoo.plots.intervention_grid`, with the
values of `CausalLayer.grid_values()`, the same in training plots and in `inpaintzoo intervene --grid`.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

from torch import Tensor


def adjacency_heatmap(A: Tensor, names: list[str], path: Path, title: str = "", truth: Tensor | None = None):
    """A as a heatmap with its values; with `truth`, true edges are outlined (green) so misses and extras show.

    Returns the matplotlib figure's texts (for checks) after saving; the figure is closed.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    path.parent.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(4.4, 3.8), dpi=100)
    im = ax.imshow(A.numpy(), cmap="RdBu_r", vmin=-1, vmax=1)
    ax.set_xticks(range(len(names)), names, rotation=45, ha="right", fontsize=7)
    ax.set_yticks(range(len(names)), names, fontsize=7)
    ax.set_xlabel("effect")
    ax.set_ylabel("cause")
    for i in range(A.shape[0]):
        for j in range(A.shape[1]):
            ax.text(j, i, f"{float(A[i, j]):.2f}", ha="center", va="center", fontsize=6)
    if truth is not None:
        for i, j in (truth != 0).nonzero().tolist():
            ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, edgecolor="#1a9850", linewidth=2.2))
        title = (title + " · " if title else "") + "green: true edges"
    ax.set_title(title, fontsize=8)
    fig.colorbar(im, ax=ax, fraction=0.046)
    fig.tight_layout()
    texts = [t.get_text() for t in fig.findobj(matplotlib.text.Text) if t.get_text()]
    patches = [p for p in ax.patches if isinstance(p, Rectangle)]
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        fig.savefig(tmp, format="png")
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)
        plt.close(fig)
    return texts, patches
