"""Train the zoo entries that fit a CPU and ship their weights inside the package (zoo/weights/NAME/).

Each entry is trained from its zoo spec with seed 0 (the CAEs first: medfe-cae-tiny trains against them), its
published folder (generator weights + config.json, no losses, no discriminator) copied to zoo/weights/NAME,
then evaluated exactly as `inpaintzoo eval NAME --n 32 --masks M` does (test split, mask seed 0). The
metrics go to benchmarks/results/zoo-weights.{json,md}; copy them into each entry's `metrics` in registry.toml
with `weights = "shipped"` (tests/test_zoo_weights.py checks the shipped models still reach them).

    python benchmarks/train_zoo.py                      # every CPU entry, ~35 min on 2 cores
    python benchmarks/train_zoo.py nvae-pendulum        # one entry
    python benchmarks/train_zoo.py causal-nvae-pendulum --from causal-nvae-pendulum=runs/bench-seed/causal-nvae-pendulum-s0
    python benchmarks/train_zoo.py causal-nvae-faces64 --from causal-nvae-faces64=runs/faces/cnf-s0   # seed_faces.py's run
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import RESULTS, write  # noqa: E402

ENTRIES = ["core-shapes-tiny", "nvae-pendulum", "cae-texture-tiny", "cae-structure-tiny", "medfe-tiny",
           "medfe-cae-tiny", "causal-nvae-pendulum", "causal-nvae-faces64"]
EVAL_N = 32  # what the registry's metrics and the shipped-weights test use
MASKS = {"nvae-pendulum": "boxes", "causal-nvae-pendulum": "boxes", "causal-nvae-faces64": "thick"}  # else the centre hole
ZOO = Path(__file__).resolve().parent.parent / "zoo"


def overrides_for(name: str, runs: Path) -> dict:
    """medfe-cae-tiny's ground-truth encoders are the CAEs trained just before it."""
    if name == "medfe-cae-tiny":
        return {"losses.cae.texture": str(runs / "cae-texture-tiny" / "final"),
                "losses.cae.structure": str(runs / "cae-structure-tiny" / "final")}
    return {}


def eval_command(name: str) -> str:
    return f"inpaintzoo eval {name} --n {EVAL_N} --masks {MASKS.get(name, 'center')}"


def evaluate_shipped(name: str) -> dict:
    """The metrics of the entry's eval command (and a causal layer's summary), from the shipped folder."""
    import shlex

    from inpaintzoo.commands.evaluate import all_metrics, evaluate_source

    folder = ZOO / "weights" / name  # what `load(name)` opens once the entry says weights = "shipped"
    return all_metrics(evaluate_source(str(folder), *shlex.split(eval_command(name))[3:]))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("names", nargs="*", default=ENTRIES)
    ap.add_argument("--runs", default="runs/zoo", help="where the training runs go")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--from", dest="from_runs", action="append", default=[], metavar="NAME=RUN",
                    help="ship NAME from a finished run of its zoo spec instead of training it (e.g. the seed-0 run of "
                         "benchmarks/seed_causal_nvae.py)")
    a = ap.parse_args()
    from inpaintzoo import plugins
    from inpaintzoo.overrides import apply
    from inpaintzoo.spec import validate
    from inpaintzoo.train.loop import RunOptions, Trainer
    from inpaintzoo.zoo import resolve_spec

    reg, runs, rows = plugins.registry(), Path(a.runs).resolve(), []
    given = dict(f.split("=", 1) for f in a.from_runs)
    for name in a.names:
        raw, src = resolve_spec(name)
        raw = apply(raw, {"train.seed": a.seed, **overrides_for(name, runs)})
        if name in given:
            run = Path(given[name])
            minutes = json.loads((run / "metrics.jsonl").read_text().splitlines()[-1])["elapsed_s"] / 60
        else:
            run = runs / name
            shutil.rmtree(run, ignore_errors=True)
            t0 = time.perf_counter()
            Trainer(validate(raw, reg, src), RunOptions(out=run, quiet=True)).fit()
            minutes = (time.perf_counter() - t0) / 60
        dest = ZOO / "weights" / name
        shutil.rmtree(dest, ignore_errors=True)
        dest.mkdir(parents=True)
        for f in ("model.safetensors", "config.json"):
            shutil.copy2(run / "final" / f, dest / f)
        metrics = evaluate_shipped(name)
        row = {"model": name, "minutes": round(minutes, 2), "bytes": (dest / "model.safetensors").stat().st_size,
               **{k: round(v, 4) for k, v in metrics.items() if isinstance(v, float)}}
        row["command"] = eval_command(name)
        rows.append(row)
        print(json.dumps(row), flush=True)
        print(f"[models.{name}.metrics]  # paste into registry.toml\ncommand = \"{row['command']}\"\n"
              + "".join(f"{json.dumps(k)} = {v}\n" for k, v in row.items() if k not in ("model", "command", "bytes", "minutes"))
              + 'source = "benchmarks/results/zoo-weights.json (benchmarks/train_zoo.py)"', flush=True)
    previous = RESULTS / "zoo-weights.json"  # rows of entries trained by earlier invocations are kept
    if previous.is_file():
        done = {r["model"] for r in rows}
        rows = [r for r in json.loads(previous.read_text())["rows"] if r["model"] not in done] + rows
    cols = ["model", "minutes", "bytes", "psnr_hole", "ssim_hole", "l1_hole", "do_psnr", "do_readback", "shd@0.3"]
    path = write("zoo-weights", rows, cols, notes=f"Trained with `python benchmarks/train_zoo.py [NAMES]` (seed {a.seed}); metrics as "
                 f"each row's `command` (test split, mask seed 0) on the shipped weights.",
                 extra={"eval_n": EVAL_N})
    print(path.read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
