"""The causal-NVAE seed's open problems, measured: blur, slow convergence, quality vs interventions.

Trains causalvae-pendulum (at the same 32×32 RGB as the others), nvae-pendulum and causal-nvae-pendulum
on the same pendulum data, box masks, seed and CPU time budget, then reports masked-region PSNR/SSIM on
the held-out split, intervention accuracy (PSNR against the renderer's true counterfactual, averaged
over the four concepts), SHD of the learned graph, and minutes/epochs to reach a hole PSNR target.

    python benchmarks/seed_causal_nvae.py --minutes 9 --epochs 5 --target 19
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from _common import write  # noqa: E402


def causalvae_at_32(raw: dict) -> dict:
    """The released CausalVAE architecture, resized to the benchmark's 32×32 RGB data."""
    raw["model"].update(image_size=[32, 32], channels=3)
    raw["encoder"].update(in_channels=3, image_size=[32, 32])
    raw["decoder"].update(out_channels=3, image_size=[32, 32])
    raw["data"]["dataset"].update(image_size=[32, 32], channels=3)
    raw["data"]["masks"].update(min_size=60, max_size=128)
    return raw


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=9.0, help="training wall-time budget per model")
    ap.add_argument("--epochs", type=int, default=5, help="epochs for the scheduled (NVAE-based) models")
    ap.add_argument("--target", type=float, default=20.0, help="hole PSNR (dB) whose time-to-reach is reported")
    ap.add_argument("--out", default="runs/bench-seed")
    ap.add_argument("--models", nargs="*", default=["causalvae-pendulum", "nvae-pendulum", "causal-nvae-pendulum"])
    a = ap.parse_args()
    from inpaintzoo import plugins
    from inpaintzoo.evaluation import evaluate_model
    from inpaintzoo.loader import load
    from inpaintzoo.spec import validate
    from inpaintzoo.train.data import build_dataset
    from inpaintzoo.train.loop import RunOptions, Trainer
    from inpaintzoo.zoo import resolve_spec

    reg = plugins.registry()
    rows = []
    for name in a.models:
        raw, src = resolve_spec(name)
        if name == "causalvae-pendulum":
            raw = causalvae_at_32(raw)
        # The same wall-time budget for all; models with an LR/KL schedule get the number of epochs that fits
        # it (--epochs), so that their schedule completes; CausalVAE's constant LR runs until the budget ends.
        if name != "causalvae-pendulum":
            raw["train"]["epochs"] = a.epochs
        raw["train"]["seed"] = 0
        spec = validate(raw, reg, src)
        run = Path(a.out) / name
        Trainer(spec, RunOptions(out=run, quiet=True, max_minutes=a.minutes)).fit()
        hist = [json.loads(l) for l in (run / "metrics.jsonl").read_text().splitlines()]
        reach = next((h for h in hist if h.get("val/psnr_hole", 0) >= a.target), None)
        model = load(run / "final")
        ds = build_dataset(model.spec, reg, "test")
        g = torch.Generator().manual_seed(123)
        masks = reg.get(spec.data["masks"].type, "masks").factory(spec.data["masks"].config)(256, 32, 32, g)
        ev = evaluate_model(model, ds, masks)
        row = {"model": name, "params": sum(p.numel() for p in model.parameters()), "epochs": hist[-1]["epoch"],
               "minutes": hist[-1]["elapsed_s"] / 60, "psnr_hole": ev["metrics"]["psnr_hole"],
               "ssim_hole": ev["metrics"]["ssim_hole"], "l1_hole": ev["metrics"]["l1_hole"],
               f"min_to_{a.target:g}dB": (reach["elapsed_s"] / 60) if reach else None,
               f"epochs_to_{a.target:g}dB": reach["epoch"] if reach else None}
        if model.prior.supports_interventions:
            from inpaintzoo_causalvae.interventions import evaluate_interventions

            iv = evaluate_interventions(model, ds, n=32)
            concepts = model.prior.concept_names()
            row["do_psnr"] = sum(iv[f"do_{c}_psnr"] for c in concepts) / len(concepts)
            row["do_readback"] = sum(iv[f"do_{c}_readback"] for c in concepts) / len(concepts)
            row["shd"] = hist[-1].get("val/shd")
            row.update({f"do_{c}_psnr": iv[f"do_{c}_psnr"] for c in concepts})
        rows.append(row)
        print(json.dumps(row), flush=True)
    cols = ["model", "params", "epochs", "minutes", "psnr_hole", "ssim_hole", "do_psnr", "do_readback", "shd",
            f"min_to_{a.target:g}dB", f"epochs_to_{a.target:g}dB"]
    path = write("seed_causal_nvae", rows, cols,
                 notes=f"Same data (pendulum, 32×32 RGB), box masks, seed 0, {a.minutes:g} CPU minutes each. "
                       "Evaluated on 256 held-out scenes with a fixed mask set; do_psnr is the mean over the four "
                       "concepts of PSNR(model's do() image, renderer's true counterfactual); do_readback is "
                       "|λ(read back) − λ(asked)| in prior units; shd against the true 4-edge graph at |A| > 0.3.",
                 extra={"command": " ".join(sys.argv), "target_db": a.target, "budget_minutes": a.minutes})
    print(path.read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
