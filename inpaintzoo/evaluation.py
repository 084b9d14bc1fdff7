"""Fair evaluation: a fixed, seeded mask set; metrics on the composited output, overall and per hole-area bucket."""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from .contract import denormalize
from .metrics import image_metrics
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


@torch.no_grad()
def evaluate_model(model: InpaintModel, dataset, masks: Tensor, batch_size: int = 16, fid: dict | None = None) -> dict[str, Any]:
    """Per-image metrics on the first len(masks) images; summary overall and per hole-area bucket.

    `fid={"weights": path or None, "allow_few": bool}` adds FID of the composited outputs against the
    ground truth, with its image count and network source."""
    model.eval()
    device = next(model.parameters()).device
    n = masks.shape[0]
    per: dict[str, list[Tensor]] = {}
    area: list[Tensor] = []
    reals: list[Tensor] = []
    fakes: list[Tensor] = []
    for s in range(0, n, batch_size):
        idx = range(s, min(n, s + batch_size))
        image = torch.stack([dataset[i]["image"] for i in idx]).to(device)
        mask = masks[s : s + len(idx)].to(device)
        _, pred, _, _ = model.run(image, mask)
        out = torch.where(mask.bool(), denormalize(pred, model.contract).clamp(0, 1), image)
        for k, v in image_metrics(out, image, mask).items():
            per.setdefault(k, []).append(v.cpu())
        area.append(mask.flatten(1).mean(1).cpu())
        if fid is not None:
            reals.append(image.cpu())
            fakes.append(out.cpu())
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
    if fid is not None:
        from .fid import fid as compute_fid

        extra = compute_fid(torch.cat(reals), torch.cat(fakes), fid.get("weights"), fid.get("allow_few", False))
        summary["fid"] = extra.pop("fid")
    return {"n": n, "metrics": summary, **extra, "buckets": buckets,
            "mask_checksum": hashlib.sha256((masks > 0.5).numpy().tobytes()).hexdigest(),
            "sources": {"psnr": "inpaintzoo.metrics (data range 1)", "l1": "inpaintzoo.metrics",
                        "ssim": "torchmetrics structural_similarity_index_measure (11×11 Gaussian, σ 1.5)"},
            "composited": True}
