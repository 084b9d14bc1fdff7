"""`inpaintzoo train`."""
from __future__ import annotations

import argparse
import os
from pathlib import Path


def _add_train(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train a spec or zoo model; progress, checkpoints, resume, evaluation, plots")
    p.add_argument("spec", nargs="?", help="a spec.toml or a zoo name (omit with --resume)")
    p.add_argument("--data", help="data root folder (overrides [data.dataset] root)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--epochs", type=int)
    g.add_argument("--steps", type=int)
    p.add_argument("--batch-size", type=int, help="global batch size (split across processes)")
    p.add_argument("--lr", type=float)
    p.add_argument("--out", help="run folder (default runs/NAME)")
    p.add_argument("--resume", metavar="RUN", help="continue the run in RUN from its last checkpoint")
    p.add_argument("--seed", type=int)
    p.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    p.add_argument("--amp", action="store_true", help="mixed precision: bfloat16 on CPU, float16 + grad scaler on CUDA")
    p.add_argument("--stop-after", type=int, metavar="N", help="stop with a checkpoint after N steps of this invocation")
    p.add_argument("--max-minutes", type=float, help="finish (evaluate, write final/) at the first step past this wall time")
    p.add_argument("--quiet", action="store_true", help="no progress bar; one line per epoch")


def cmd_train(a: argparse.Namespace) -> int:
    import json

    import torch.distributed as dist

    from .. import plugins
    from ..errors import InpaintzooError
    from ..spec import TrainSpec, validate
    from ..train.loop import RunOptions, Trainer, TrainingError
    from ..zoo import resolve_spec

    reg = plugins.registry()
    plugins.warn_failures()
    if a.resume:
        run = Path(a.resume)
        if not (run / "spec.json").is_file():
            raise TrainingError(f"--resume {run}: not a run folder (no spec.json)")
        raw, source = json.loads((run / "spec.json").read_text()), str(run / "spec.json")
    elif a.spec:
        raw, source = resolve_spec(a.spec)
    else:
        raise InpaintzooError("train: give a spec or zoo name, or --resume RUN")
    spec = validate(raw, reg, source)
    overrides = {k: v for k, v in {"epochs": a.epochs, "steps": a.steps, "batch_size": a.batch_size,
                                   "seed": a.seed}.items() if v is not None}
    if a.amp:
        overrides["amp"] = True
    if a.lr is not None:
        overrides["optimizer"] = {**spec.train.optimizer.model_dump(), "lr": a.lr}
    if a.epochs is not None:
        overrides["steps"] = None
    if a.resume and (run / "overrides.json").is_file():
        overrides = {**json.loads((run / "overrides.json").read_text()), **overrides}
    try:
        spec.train = TrainSpec(**{**spec.train.model_dump(), **overrides})
    except Exception as exc:
        raise InpaintzooError(f"train: bad override: {str(exc).splitlines()[-1]}") from None
    out = Path(a.resume) if a.resume else Path(a.out or f"runs/{spec.model.name}")
    if int(os.environ.get("WORLD_SIZE", "1")) > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if a.device == "cuda" else "gloo")
    try:
        opts = RunOptions(out=out, data=a.data, resume=bool(a.resume), device=a.device, quiet=a.quiet,
                          stop_after=a.stop_after, max_minutes=a.max_minutes, overrides=overrides)
        run = Trainer(spec, opts).fit()
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()
    if not a.quiet:
        print(f"run folder: {run}" + (f" (model: {run / 'final'})" if (run / "final").exists() else ""))
    return 0


COMMANDS = {"train": (_add_train, cmd_train)}
