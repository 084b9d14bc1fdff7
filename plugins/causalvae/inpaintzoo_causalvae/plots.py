"""The adjacency heatmap and its curve over training (the seed's Fig. 5), written atomically as PNG; matplotlib
with the Agg backend.

Intervention grids (the seed's Fig. 4) are drawn by the core's `inpaintzoo.plots.intervention_grid`, with the
values of `CausalLayer.grid_values()`, the same in training plots and in `inpaintzoo intervene --grid`.
"""
from __future__ import annotations

import json
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
    _save(fig, path)
    return texts, patches


def adjacency_curve(history: list[dict], names: list[str], path: Path, truth: Tensor | None = None,
                    threshold: float = 0.3) -> list[str]:
    """Every entry of A over training (the seed's Fig. 5 as a curve), true edges in colour and the others grey, with
    the SHD at `threshold` on a second axis. `history`: {"step", "A", "shd"?} per evaluation, in step order.

    Returns the labels of the lines drawn (for checks)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path.parent.mkdir(parents=True, exist_ok=True)
    steps = [h["step"] for h in history]
    fig, ax = plt.subplots(figsize=(6.8, 3.6), dpi=100)
    drawn = []
    for i, cause in enumerate(names):
        for j, effect in enumerate(names):
            if i == j:
                continue
            values = [h["A"][i][j] for h in history]
            true = truth is not None and bool(truth[i, j] != 0)
            if true or any(abs(v) > 1e-6 for v in values):
                label = f"{cause} → {effect}" + (" (true)" if true else "")
                ax.plot(steps, values, marker="o", markersize=3, linewidth=1.8 if true else 1.0,
                        color=None if true else "0.6", linestyle="-" if true else "--", label=label)
                drawn.append(label)
    ax.axhline(threshold, color="0.8", linewidth=0.8)
    ax.axhline(-threshold, color="0.8", linewidth=0.8)
    ax.set_xlabel("step")
    ax.set_ylabel("A[cause, effect]")
    if all("shd" in h for h in history):
        ax2 = ax.twinx()
        ax2.step(steps, [h["shd"] for h in history], where="post", color="black", linewidth=1.2, label="SHD")
        ax2.set_ylabel(f"SHD at |A| > {threshold:g}")
        ax2.set_ylim(-0.2, max(4, max(h["shd"] for h in history)) + 0.2)
        drawn.append("SHD")
    ax.legend(fontsize=6, loc="upper left", bbox_to_anchor=(1.15, 1.0))
    ax.set_title("A over training" + (" · grey: not in the true graph" if truth is not None else ""), fontsize=8)
    fig.tight_layout()
    _save(fig, path)
    return drawn


def record_adjacency(folder: Path, step: int, A: Tensor, shd: float | None, names: list[str], truth: Tensor | None,
                     threshold: float) -> list[dict]:
    """A (and SHD) of one evaluation appended to folder/adjacency.jsonl, and the curve over all of them redrawn
    (folder/adjacency-curve.png); a step seen before (a resumed run) keeps its newest line. Returns the history."""
    log = folder / "adjacency.jsonl"
    log.parent.mkdir(parents=True, exist_ok=True)
    entry = {"step": step, "A": [[round(float(v), 4) for v in row] for row in A]}
    if shd is not None:
        entry["shd"] = shd
    cut = log.is_file() and log.stat().st_size and not log.read_bytes().endswith(b"\n")  # a write killed mid-line
    with log.open("a") as f:
        f.write(("\n" if cut else "") + json.dumps(entry) + "\n")
    history: dict[int, dict] = {}
    for line in log.read_text().splitlines():
        try:
            h = json.loads(line)
            history[int(h["step"])] = h
        except (ValueError, KeyError, TypeError):
            continue  # a line cut short by a kill: the others still draw
    ordered = [history[k] for k in sorted(history)]
    adjacency_curve(ordered, names, folder / "adjacency-curve.png", truth, threshold)
    return ordered


def _save(fig, path: Path) -> None:
    """PNG, atomically (a reader never sees half a file); the figure is closed."""
    import matplotlib.pyplot as plt

    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        fig.savefig(tmp, format="png")
        os.chmod(tmp, 0o644)  # mkstemp makes it private; a plot is as readable as any file the run writes
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)
        plt.close(fig)
