"""Intervention accuracy: the model's do() against the data set's true counterfactual, per concept.

For held-out scene k and concept c, the value is concept c's label in another held-out scene; the truth is
the renderer's image of do(c = value), descendants recomputed by the data set's own mechanism. Per concept:

- `psnr`: PSNR(model's intervened image, true counterfactual), the whole image regenerated;
- `readback`: |λ(read) − λ(asked)|, the distance between the value asked for and the value the model's own
  encoder reads back from its output, in prior units (1 ≈ one prior standard deviation);
- `nondesc_change`: how far the concepts that are not descendants of c in the true graph move, read back from
  the intervened image against the factual one (0 when do(c) leaves them alone, as it must);
- `desc_change`: the same for c's true descendants (they should move);
- `moved` / `scm_moved` (data sets with `counterfactual_labels`): per other concept, the mean |change| read back
  from the model's do() image against the factual read-back, beside the mean |change| of that concept's true
  label under the same do() (the seed's Fig. 4 as numbers: do(smile) should move mouth_open, do(mouth_open) not
  smile), both in prior units.

`recon_psnr` is the factual regeneration (do() of nothing: the same path, no value changed).
"""
from __future__ import annotations

import torch

from inpaintzoo.metrics import psnr

from .dag import causal_solve, descendants


@torch.no_grad()
def evaluate_interventions(model, dataset, n: int = 16, seed: int = 0) -> tuple[dict[str, float], list[dict]]:
    """(flat metrics, one table row per concept)."""
    layer = model.prior
    names = layer.concept_names()
    truth = layer.true_graph()
    g = torch.Generator().manual_seed(seed)
    idx = torch.randperm(len(dataset), generator=g)[: 2 * n].tolist()
    src, donors = idx[:n], idx[n : 2 * n] if len(idx) >= 2 * n else idx[:n][::-1]
    images = torch.stack([dataset[i]["image"] for i in src])
    factual = read_back(model, images)
    recon = model.intervene(images, {})
    metrics: dict[str, float] = {"recon_psnr": float(psnr(recon[:, :3], images[:, :3]).mean())}
    rows = []
    for c_i, concept in enumerate(names):
        values = [float(dataset[d]["labels"][c_i]) for d in donors]
        pred = torch.stack([model.intervene(images[j], {concept: v}) for j, v in enumerate(values)])
        true = torch.stack([dataset.counterfactual(k, {concept: v}) for k, v in zip(src, values)])
        z = read_back(model, pred)
        s0, s1 = layer.scale[c_i]
        asked = (torch.tensor(values) - s0) / s1
        row = {"concept": concept, "psnr": float(psnr(pred[:, :3], true[:, :3]).mean()),
               "readback": float((z[:, c_i] - asked).abs().mean())}
        if truth is not None:
            row["nondesc_change"], row["desc_change"] = concept_changes(z, factual, truth, c_i)
        if hasattr(dataset, "counterfactual_labels"):  # how far each concept moved, read back, beside the SCM's move
            scm = torch.tensor([[a - b for a, b in zip(dataset.counterfactual_labels(k, {concept: v}), dataset.counterfactual_labels(k, {}))]
                                for k, v in zip(src, values)]) / layer.scale[:, 1]
            moved = (z - factual).abs().mean(0)
            row["moved"] = {o: round(float(moved[j]), 4) for j, o in enumerate(names) if j != c_i}
            row["scm_moved"] = {o: round(float(scm[:, j].abs().mean()), 4) for j, o in enumerate(names) if j != c_i}
        rows.append(row)
        metrics[f"do_{concept}_psnr"] = row["psnr"]
        metrics[f"do_{concept}_readback"] = row["readback"]
    metrics["do_psnr"] = sum(r["psnr"] for r in rows) / len(rows)
    metrics["do_readback"] = sum(r["readback"] for r in rows) / len(rows)
    if truth is not None:
        metrics["do_nondesc_change"] = sum(r["nondesc_change"] for r in rows) / len(rows)
    return metrics, rows


def concept_changes(z_do: torch.Tensor, z_fact: torch.Tensor, truth: torch.Tensor, c: int) -> tuple[float, float]:
    """Mean |z_do − z_fact| over the concepts that are not descendants of c in the true graph (nor c itself),
    and over its descendants (0 where a group is empty); z are N × K read-backs."""
    desc = sorted(descendants(truth, c))
    others = [j for j in range(truth.shape[0]) if j != c and j not in desc]
    moved = (z_do - z_fact).abs()
    return (float(moved[:, others].mean()) if others else 0.0, float(moved[:, desc].mean()) if desc else 0.0)


@torch.no_grad()
def read_back(model, images01: torch.Tensor) -> torch.Tensor:
    """The model's z per concept (mean over its dims) for images in [0, 1], with no hole."""
    mask = torch.zeros_like(images01[:, :1])
    feats = model.encoder(model.network_input(images01, mask), mask)
    return causal_solve(model.prior.A, model.prior._encode(feats)).mean(-1)
