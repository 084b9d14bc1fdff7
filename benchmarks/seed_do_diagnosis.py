"""Why do() through the learned mechanisms loses (issue 28, item 2): the learned g_j against the renderer's own.

For held-out scenes (pendulum or concept faces) and do(c = v) with v a donor scene's label, three images are compared with the
renderer's true counterfactual (PSNR, whole image regenerated):

- `learned`: the model's do(c = v), the descendants computed by its learned mechanisms g_j (what the zoo does);
- `oracle_children`: do(c = v) plus do() of every true descendant at its true counterfactual label, so no g_j is
  used: what the same decoder draws when the mechanisms are exact;
- `all_labels`: every concept pinned to the counterfactual scene's true labels: the decoder's rendering ceiling
  from the concepts alone.

Then the same weights are evaluated with do() by each of the causal layer's `intervention` modes.

`child_error`: the descendants read back from the learned do() image against their true counterfactual labels
(prior units), i.e. how wrong the propagated values are as the model's own encoder sees them.
If oracle_children is well above learned, the mechanisms limit interventions; if it is not, the decoder does.

    python benchmarks/seed_do_diagnosis.py causal-nvae-pendulum runs/bench-seed/causalvae-pendulum-pc-s0/final
"""
from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from _common import write  # noqa: E402


@torch.no_grad()
def diagnose(source: str, n: int, seed: int) -> list[dict]:
    from inpaintzoo import load, plugins
    from inpaintzoo.metrics import psnr
    from inpaintzoo.spec import validate
    from inpaintzoo.train.data import build_dataset
    from inpaintzoo_causalvae.dag import descendants
    from inpaintzoo_causalvae.interventions import read_back

    model = load(source).eval()
    reg = plugins.registry()
    spec = validate(model.config["spec"], reg, f"{source} (config.json)", scope="data")
    ds = build_dataset(spec, reg, "test")
    layer, names = model.prior, model.prior.concept_names()
    truth = layer.true_graph()
    g = torch.Generator().manual_seed(seed)
    idx = torch.randperm(len(ds), generator=g)[: 2 * n].tolist()
    src, donors = idx[:n], idx[n:]
    rows = []
    for c, concept in enumerate(names):
        desc = sorted(descendants(truth, c))
        scores: dict[str, list[float]] = {"learned": [], "oracle_children": [], "all_labels": []}
        child_err: list[float] = []
        for k, d in zip(src, donors):
            v = float(ds[d]["labels"][c])
            image = ds[k]["image"]
            true = ds.counterfactual(k, {concept: v})[None]
            labels = ds.counterfactual_labels(k, {concept: v})
            asks = {
                "learned": {concept: v},
                "oracle_children": {concept: v, **{names[j]: labels[j] for j in desc}},
                "all_labels": dict(zip(names, labels)),
            }
            for key, values in asks.items():
                out = model.intervene(image, values)
                out = out if out.dim() == 4 else out[None]
                scores[key].append(float(psnr(out[:, :3], true[:, :3]).mean()))
                if key == "learned" and desc:
                    z = read_back(model, out)[0]
                    want = (torch.tensor([labels[j] for j in desc]) - layer.scale[desc, 0]) / layer.scale[desc, 1]
                    child_err.append(float((z[desc] - want).abs().mean()))
        rows.append({"model": source, "concept": concept, "descendants": ", ".join(names[j] for j in desc) or "—",
                     **{k: statistics.fmean(v) for k, v in scores.items()},
                     "child_error": statistics.fmean(child_err) if child_err else None})
        print(rows[-1], flush=True)
    # the same model, do() by each intervention mode of the layer (no retraining): the evaluation's own numbers
    from inpaintzoo_causalvae.interventions import evaluate_interventions

    for mode in ("decoder_input", "latent", "counterfactual"):
        layer.cfg = layer.cfg.model_copy(update={"intervention": mode})
        metrics, table = evaluate_interventions(model, ds, n=n, seed=seed)
        rows.append({"model": source, "concept": f"all, do() by {mode}", "learned": metrics["do_psnr"],
                     "per_concept": " / ".join(f"{r['psnr']:.1f}" for r in table),
                     "readback": metrics["do_readback"], "nondesc": metrics["do_nondesc_change"]})
        print(rows[-1], flush=True)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("models", nargs="+", help="zoo names or model folders of causal models on the pendulum or concept faces")
    ap.add_argument("--n", type=int, default=64)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--name", default="seed_do_diagnosis", help="results file name (benchmarks/results/NAME.*)")
    a = ap.parse_args()
    rows = [r for m in a.models for r in diagnose(m, a.n, a.seed)]
    write(a.name, rows, ["model", "concept", "descendants", "learned", "oracle_children", "all_labels",
                                      "child_error", "per_concept", "readback", "nondesc"],
          notes=f"PSNR (dB) against the renderer's true counterfactual on {a.n} held-out scenes, do() values from donor "
                "scenes; child_error in prior units. Rows 'all, do() by MODE': the layer's `intervention` setting switched "
                "on the same weights; learned = mean do() PSNR, per_concept in the model's concept order, readback and nondesc as in seed_causal_nvae. Command: python "
                "benchmarks/seed_do_diagnosis.py " + " ".join(a.models) + (f" --name {a.name}" if a.name != "seed_do_diagnosis" else ""))


if __name__ == "__main__":
    main()
