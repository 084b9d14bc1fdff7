"""Fair evaluation: a fixed, seeded mask set; metrics on the composited output, overall and per hole-area bucket."""
from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from .contract import denormalize
from .interfaces import Metric
from .model import InpaintModel

BUCKETS = 10  # LaMa: 0–10 %, …, 90–100 % of the image in the hole


def masks_from_folder(folder: Path, n: int, h: int, w: int) -> Tensor:
    import numpy as np
    from PIL import Image

    from .data.datasets import IMAGE_SUFFIXES
    from .errors import InputError

    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise InputError(f"--masks {folder}: no mask images in the folder")
    out = []
    for i in range(n):
        with Image.open(files[i % len(files)]) as im:
            m = im.convert("L")
            if m.size != (w, h):
                m = m.resize((w, h), Image.NEAREST)
            out.append(torch.from_numpy(np.asarray(m) >= 128).float())
    return torch.stack(out)[:, None]


STANDARD = ("core.masked_l1", "core.psnr", "core.ssim")


def fixed_masks(dataset, generator: Any, n: int, height: int, width: int, seed: int) -> Tensor:
    """The evaluation masks of the first n images: the data set's own when its items carry one, else a seeded draw."""
    if n and "mask" in dataset[0]:
        return torch.stack([dataset[i]["mask"] for i in range(n)])
    return generator(n, height, width, torch.Generator().manual_seed(seed))


def build_metrics(names: Sequence[str] = STANDARD, options: dict[str, dict] | None = None) -> dict[str, Metric]:
    """Registered metrics by name (shell wildcards allowed), each built from `options[name]` or its defaults."""
    from . import plugins

    reg = plugins.registry()
    chosen: list[str] = []
    for pattern in names:
        hits = reg.names(pattern, kind="metric") if any(c in pattern for c in "*?[") else [reg.get(pattern, "metric").name]
        if not hits:
            from .errors import InputError, choices_text

            raise InputError(f"--metrics {pattern}: matches no registered metric; they are "
                             f"{choices_text(reg.names(kind='metric'))}")
        chosen += [n for n in hits if n not in chosen]
    if not chosen:
        from .errors import InputError

        raise InputError("--metrics: names no metric; give registered metrics (`inpaintzoo components --kind metric`)")
    return {n: reg.get(n, "metric").build((options or {}).get(n, {})) for n in chosen}


@torch.no_grad()
def evaluate_model(model: InpaintModel, dataset, masks: Tensor, batch_size: int = 16,
                   metrics: Mapping[str, Metric] | None = None, progress: Any = None) -> dict[str, Any]:
    """Per-image metrics on the first len(masks) images, on the composited output; their means overall and per
    hole-area bucket, the set-level metrics (FID and its image count), and every metric's source.
    `progress(n)` is called with the images done after each batch."""
    metrics = build_metrics() if metrics is None else metrics
    model.eval()
    device = next(model.parameters()).device
    n = masks.shape[0]
    per: dict[str, list[Tensor]] = {}
    metric_of: dict[str, str] = {}  # value key (psnr_hole) → the metric that produced it (core.psnr)
    area: list[Tensor] = []
    for s in range(0, n, batch_size):
        idx = range(s, min(n, s + batch_size))
        image = torch.stack([dataset[i]["image"] for i in idx]).to(device)
        mask = masks[s : s + len(idx)].to(device)
        _, pred, _, _ = model.run(image, mask)
        out = torch.where(mask.bool(), denormalize(pred, model.contract).clamp(0, 1), image)
        for name, metric in metrics.items():
            for k, v in metric.update(out, image, mask).items():
                per.setdefault(k, []).append(v.detach().float().cpu())
                metric_of[k] = name
        area.append(mask.flatten(1).mean(1).cpu())
        if progress is not None:
            progress(len(idx))
    vals = {k: torch.cat(v) for k, v in per.items()}
    a = torch.cat(area)
    summary = {k: float(v[torch.isfinite(v)].mean()) for k, v in vals.items() if torch.isfinite(v).any()}
    buckets = []
    for b in range(BUCKETS):
        lo, hi = b / BUCKETS, (b + 1) / BUCKETS
        sel = (a >= lo) & ((a < hi) if b < BUCKETS - 1 else (a <= hi))
        if sel.any():
            buckets.append({"area": f"{int(lo * 100)}-{int(hi * 100)}%", "n": int(sel.sum()),
                            **{k: float(v[sel][torch.isfinite(v[sel])].mean()) for k, v in vals.items()}})
    extra: dict[str, Any] = {}
    for name, metric in metrics.items():
        for k, v in metric.compute().items():
            (summary if isinstance(v, float) else extra)[k] = v  # values are metrics; counts and notes go beside
            metric_of[k] = name
    return {"n": n, "metrics": summary, **extra, "buckets": buckets,
            "mask_checksum": hashlib.sha256((masks > 0.5).numpy().tobytes()).hexdigest(),
            "sources": {name: m.source for name, m in metrics.items()}, "metric_of": metric_of, "composited": True}



def component_reports(model: InpaintModel, dataset, n: int) -> dict[str, Any]:
    """What components add to an evaluation: every module with `evaluation_report(model, dataset, n)`, by its
    spec section (e.g. 'prior': the causal layer's SHD and per-concept intervention table)."""
    out: dict[str, Any] = {}
    for section, module in (("encoder", model.encoder), ("prior", model.prior), ("decoder", model.decoder)):
        hook = getattr(module, "evaluation_report", None)
        if callable(hook):
            rep = hook(model, dataset, n)
            if rep:
                out[section] = rep
    return out
