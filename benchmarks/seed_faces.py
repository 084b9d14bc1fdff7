"""The seed's face experiment on concept faces (issue 37): its Figs. 2–5 and Section 4.2 as measurements.

Each model (a run folder or a zoo name, given as LABEL=SOURCE) is scored on the same held-out faces
(`causalvae.concept_faces`, test split, 64²):

- holes: PSNR/SSIM inside LaMa's thick masks (mask seed 0, composited) and ST-LPIPS (stlpips-pytorch, AlexNet,
  shift-tolerant; whole composited image), with OpenCV Telea on the same faces and masks;
- regeneration from the concepts alone (do() of nothing): PSNR against the face and its sharpness, the energy of
  the Laplacian relative to the true face's (1 = as sharp; the seed's Fig. 3 is about the MLP decoder's blur);
- the graph (Fig. 5): SHD against gender → smile → {eyes_open, mouth_open} at |A| > 0.1/0.3/0.5;
- interventions (Fig. 4): do() PSNR against the renderer's true counterfactual faces, per concept, for each of the
  layer's do() modes on the same weights, and how far each concept moves as the model's encoder reads it back
  beside how far the SCM moves it (do(smile) must move mouth_open and eyes_open; do(mouth_open) must not move smile
  or gender).

With --figures, two pictures for docs/seeds.md: holes filled by each model beside Telea and the truth (Figs. 2/3),
and the first model's do() grid (Fig. 4).

    inpaintzoo train causal-nvae-faces64 --seed S --out runs/faces/cnf-sS           # S = 0, 1, 2; ~20 CPU min each
    inpaintzoo train causalvae-faces64 --seed 0 --max-minutes 15 --out runs/faces/cvae-s0
    python benchmarks/seed_faces.py cnf-s0=runs/faces/cnf-s0/final cnf-s1=… cvae-s0=runs/faces/cvae-s0/final --figures
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).parent))
from _common import write  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
LAPLACE = torch.tensor([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]])


def laplacian_energy(images01: torch.Tensor) -> torch.Tensor:
    """Mean squared Laplacian per image (grey levels): how much fine detail an image has."""
    grey = images01[:, :3].mean(1, keepdim=True)
    return F.conv2d(grey, LAPLACE.view(1, 1, 3, 3)).pow(2).mean((1, 2, 3))


def stlpips_of(net, pred01: torch.Tensor, true01: torch.Tensor) -> float:
    with torch.no_grad():
        return float(net(pred01 * 2 - 1, true01 * 2 - 1).mean())


def telea_fill(images01: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    from baselines import classical  # noqa: E402  (benchmarks/baselines.py: OpenCV's call)

    inpaint = classical("telea")
    outs = []
    for img, m in zip(images01, masks):
        out8 = inpaint((img[:3].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8), (m[0].numpy() * 255).astype(np.uint8))
        outs.append(torch.from_numpy(out8).permute(2, 0, 1).float() / 255)
    return torch.stack(outs)


@torch.no_grad()
def score(label: str, source: str, ds, images: torch.Tensor, masks: torch.Tensor, stl, n_do: int) -> tuple[dict, torch.Tensor]:
    from inpaintzoo import load
    from inpaintzoo.metrics import psnr, ssim
    from inpaintzoo_causalvae.dag import shd
    from inpaintzoo_causalvae.interventions import evaluate_interventions

    model = load(source).eval()
    filled = torch.cat([model.inpaint(images[i : i + 32], masks[i : i + 32]) for i in range(0, len(images), 32)])
    filled = filled * masks + images * (1 - masks)
    row: dict = {"model": label, "source": source, "params": sum(p.numel() for p in model.parameters()),
                 "psnr_hole": float(psnr(filled, images, masks).nanmean()), "ssim_hole": float(ssim(filled, images, masks).mean()),
                 "stlpips": stlpips_of(stl, filled, images)}
    run = Path(source).parent if Path(source).name == "final" else None
    if run is not None and (run / "metrics.jsonl").is_file():
        hist = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
        row.update(steps=hist[-1].get("step"), minutes=round(hist[-1]["elapsed_s"] / 60, 1))
    regen = torch.cat([model.intervene(images[i : i + 32], {}) for i in range(0, n_do, 32)])
    truth = images[:n_do]
    row["recon_psnr"] = float(psnr(regen[:, :3], truth[:, :3]).mean())
    row["sharpness"] = float(laplacian_energy(regen).mean() / laplacian_energy(truth).mean())
    layer = model.prior
    A = layer.A.detach()
    row.update({f"shd@{t}": shd(A, layer.true_graph(), t) for t in (0.1, 0.3, 0.5)})
    row["A"] = [[round(float(v), 3) for v in r] for r in A]
    modes = ["decoder_input", "latent", "counterfactual"]
    shipped = layer.cfg.intervention
    for mode in modes:
        layer.cfg = layer.cfg.model_copy(update={"intervention": mode})
        metrics, table = evaluate_interventions(model, ds, n=n_do)
        tag = "" if mode == shipped else f" ({mode})"
        row[f"do_psnr{tag}"] = metrics["do_psnr"]
        if mode == shipped:
            row.update(do_readback=metrics["do_readback"], do_nondesc=metrics["do_nondesc_change"],
                       per_concept={r["concept"]: r for r in table})
            by = {r["concept"]: r for r in table}
            for do, other in (("smile", "mouth_open"), ("smile", "eyes_open"), ("mouth_open", "smile"), ("mouth_open", "gender")):
                row[f"{do}→{other}"] = by[do]["moved"][other]
                row[f"{do}→{other} (SCM)"] = by[do]["scm_moved"][other]
    layer.cfg = layer.cfg.model_copy(update={"intervention": shipped})
    row["do_mode"] = shipped
    return row, filled


def figures(models: dict[str, str], images: torch.Tensor, masks: torch.Tensor, fills: dict[str, torch.Tensor]) -> list[Path]:
    from inpaintzoo import load
    from inpaintzoo.plots import hole_colour, intervention_grid, labelled_grid, save_image, show_holes

    out = ROOT / "docs" / "images"
    pick = list(range(6))
    _, colour = hole_colour(images[pick])
    cols = {"input": show_holes(images[pick], masks[pick], colour), **{k: v[pick] for k, v in fills.items()},
            "truth": images[pick]}
    tiles = [[cols[c][i] for c in cols] for i in range(len(pick))]
    grid, _ = labelled_grid(tiles, col_titles=list(cols))
    paths = [out / "faces-holes.png"]
    save_image(grid, paths[0])
    first = next(iter(models.values()))
    model = load(first).eval()
    do_grid, _ = intervention_grid(model, images[0], model.prior.grid_values())
    paths.append(out / "faces-do-grid.png")
    save_image(do_grid, paths[1])
    return paths


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("models", nargs="+", help="LABEL=SOURCE (a run's final/ folder or a zoo name)")
    ap.add_argument("--n", type=int, default=256, help="held-out faces for the hole metrics")
    ap.add_argument("--n-do", type=int, default=64, help="held-out faces for the intervention metrics")
    ap.add_argument("--figures", action="store_true", help="write docs/images/faces-holes.png and faces-do-grid.png")
    ap.add_argument("--name", default="seed_faces")
    a = ap.parse_args()
    from stlpips_pytorch import stlpips

    from inpaintzoo_causalvae.faces import ConceptFaces, FacesConfig
    from inpaintzoo.commands.masks import mask_generator

    torch.set_num_threads(2)
    models = dict(m.split("=", 1) for m in a.models)
    ds = ConceptFaces(FacesConfig(split="test", size=max(a.n, 2 * a.n_do)))
    images = torch.stack([ds[i]["image"] for i in range(a.n)])
    masks = mask_generator("thick")(a.n, 64, 64, torch.Generator().manual_seed(0))
    stl = stlpips.LPIPS(net="alex", variant="shift_tolerant", verbose=False).eval()
    rows, fills = [], {}
    for label, source in models.items():
        row, fills[label] = score(label, source, ds, images, masks, stl, a.n_do)
        rows.append(row)
        print(json.dumps({k: v for k, v in row.items() if k not in ("A", "per_concept")}), flush=True)
    from inpaintzoo.metrics import psnr, ssim

    tel = telea_fill(images, masks)
    fills["telea"] = tel
    rows.append({"model": "opencv telea", "psnr_hole": float(psnr(tel, images, masks).nanmean()),
                 "ssim_hole": float(ssim(tel, images, masks).mean()), "stlpips": stlpips_of(stl, tel, images)})
    groups: dict[str, list[dict]] = {}
    for r in rows:
        if "-s" in r["model"]:
            groups.setdefault(r["model"].rsplit("-s", 1)[0], []).append(r)
    cols = ["model", "params", "steps", "minutes", "psnr_hole", "ssim_hole", "stlpips", "recon_psnr", "sharpness",
            "do_mode", "do_psnr", "do_psnr (latent)", "do_psnr (counterfactual)", "do_psnr (decoder_input)",
            "do_readback", "do_nondesc", "smile→mouth_open", "smile→mouth_open (SCM)", "smile→eyes_open",
            "smile→eyes_open (SCM)", "mouth_open→smile", "mouth_open→gender", "shd@0.1", "shd@0.3", "shd@0.5"]
    for name, group in groups.items():
        if len(group) > 1:
            rows.append({"model": f"{name} (mean of {len(group)})", **{c: statistics.fmean(r[c] for r in group) for c in cols[1:]
                                                                        if all(isinstance(r.get(c), (int, float)) for r in group)}})
    paths = [ROOT / "docs" / "images" / f for f in ("faces-holes.png", "faces-do-grid.png")] if a.figures else []
    path = write(a.name, rows, cols, notes=(
        f"Concept faces 64², test split: holes on the first {a.n} faces with LaMa's thick masks (seed 0), composited; "
        f"regeneration and interventions on the first {a.n_do} (do() values from donor faces). do_psnr: the model's own "
        "do() mode (do_mode); the other modes on the same weights in brackets. X→Y: mean |change| of Y read back from "
        "do(X) images, prior units (label/0.25), beside the SCM's own change. sharpness: Laplacian energy of the "
        "regenerated face over the true face's. Command: python benchmarks/seed_faces.py " + " ".join(a.models)
        + (" --figures" if a.figures else "")), extra={"figures": [str(p.relative_to(ROOT)) for p in paths]})
    print(path.read_text())
    if a.figures:
        figures(models, images, masks, fills)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
