"""Shared helpers for the benchmark scripts: machine description and result writing (JSON + Markdown)."""
from __future__ import annotations

import json
import os
import platform
from pathlib import Path

import torch

RESULTS = Path(__file__).parent / "results"


def machine() -> dict:
    import inpaintzoo

    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "inpaintzoo": inpaintzoo.__version__,
        "cpu": platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
        "threads": torch.get_num_threads(),
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
    }


def write(name: str, rows: list[dict], columns: list[str], notes: str = "", extra: dict | None = None) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    info = {"machine": machine(), "rows": rows, **(extra or {})}
    (RESULTS / f"{name}.json").write_text(json.dumps(info, indent=2) + "\n")
    lines = [f"# {name}", "", "| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for r in rows:
        lines.append("| " + " | ".join(_fmt(r.get(c)) for c in columns) + " |")
    m = info["machine"]
    lines += ["", f"Machine: {m['cpu']}, {m['cores']} cores, {m['threads']} torch threads, CUDA {m['cuda']}; "
              f"torch {m['torch']}, Python {m['python']}, inpaintzoo {m['inpaintzoo']}."]
    if notes:
        lines += ["", notes]
    path = RESULTS / f"{name}.md"
    path.write_text("\n".join(lines) + "\n")
    return path


def _fmt(v) -> str:
    if v is None:
        return "—"
    if isinstance(v, float):
        return f"{v:.3g}" if abs(v) < 1000 else f"{v:.0f}"
    return str(v)


def kept_rows(name: str, rows: list[dict], key) -> list[dict]:
    """`rows` with the rows of results/NAME.json they do not re-measure (same `key(row)`) kept in front: a script
    run for some cases (--only, --inputs) updates its table instead of replacing it."""
    previous = RESULTS / f"{name}.json"
    if not previous.is_file():
        return rows
    fresh = {key(r) for r in rows}
    return [r for r in json.loads(previous.read_text())["rows"] if key(r) not in fresh] + rows



def random_square_crop(im, rng, lo: float, size: int):
    """A random square of lo…1 of `im`'s shorter side, resized to size² (bicubic) and flipped left-right half the
    time: the crops the training and scoring sets of the photo benchmarks are made of."""
    from PIL import Image

    s = int(min(im.size) * rng.uniform(lo, 1.0))
    x, y = rng.integers(0, im.width - s + 1), rng.integers(0, im.height - s + 1)
    c = im.crop((x, y, x + s, y + s)).resize((size, size), Image.BICUBIC)
    return c.transpose(Image.FLIP_LEFT_RIGHT) if rng.random() < 0.5 else c


def median_seconds(fn, repeats: int) -> float:
    """Median wall time of `repeats` calls of `fn` after one warm-up call."""
    import statistics
    import time

    fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)
