"""Intervention accuracy: the model's do() against the data set's true counterfactual, per concept.

For held-out scene k and concept c, the value is concept c's label in another held-out scene; the truth
is the renderer's image of do(c = value) with descendants recomputed by the data set's own mechanism.
Reported per concept: PSNR(model's intervened image, true counterfactual) and the read-back error, the
distance between the value asked for and the value the model's own encoder reads back from its output,
in prior units (|λ(read) − λ(asked)|, so 1 ≈ one prior standard deviation).
"""
from __future__ import annotations

import torch

from inpaintzoo.metrics import psnr


@torch.no_grad()
def evaluate_interventions(model, dataset, n: int = 16, seed: int = 0) -> dict[str, float]:
    layer = model.prior
    names = layer.concept_names()
    g = torch.Generator().manual_seed(seed)
    idx = torch.randperm(len(dataset), generator=g)[: 2 * n].tolist()
    src, donors = idx[:n], idx[n : 2 * n] if len(idx) >= 2 * n else idx[:n][::-1]
    images = torch.stack([dataset[i]["image"] for i in src])
    out: dict[str, float] = {}
    recon = model.intervene(images, {})  # factual regeneration, for context
    truth = images
    out["recon_psnr"] = float(psnr(recon[:, :3], truth[:, :3]).mean())
    for c_i, concept in enumerate(names):
        values = [float(dataset[d]["labels"][c_i]) for d in donors]
        preds, trues = [], []
        for k, v in zip(src, values):
            preds.append(model.intervene(images[src.index(k)], {concept: v}))
            trues.append(dataset.counterfactual(k, {concept: v}))
        pred, true = torch.stack(preds), torch.stack(trues)
        out[f"do_{concept}_psnr"] = float(psnr(pred[:, :3], true[:, :3]).mean())
        z = read_back(model, pred)
        s0, s1 = layer.scale[c_i]
        asked = (torch.tensor(values) - s0) / s1
        out[f"do_{concept}_readback"] = float((z[:, c_i] - asked).abs().mean())
    return out


@torch.no_grad()
def read_back(model, images01: torch.Tensor) -> torch.Tensor:
    """The model's z per concept (mean over its dims) for images in [0, 1], with no hole."""
    from .dag import causal_solve

    mask = torch.zeros_like(images01[:, :1])
    feats = model.encoder(model.network_input(images01, mask), mask)
    return causal_solve(model.prior.A, model.prior._encode(feats)).mean(-1)
