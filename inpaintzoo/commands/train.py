"""`inpaintzoo train`: a spec or zoo model; `--resume RUN` continues one."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from . import positive_float, positive_int, seed


def _add_train(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train a spec or zoo model; progress, checkpoints, resume, evaluation, plots")
    p.add_argument("spec", nargs="?", help="a spec.toml or a zoo name (omit with --resume)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a spec value by its dotted key, TOML value (repeatable), e.g. --set train.batch_size=8")
    p.add_argument("--data", help="data root folder (shorthand for --set data.dataset.root=DIR)")
    p.add_argument("--val-data", metavar="DIR", help="validate on every image of this folder instead of a held-out part of --data")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--epochs", type=positive_int, help="shorthand for --set train.epochs=N (clears train.steps)")
    g.add_argument("--steps", type=positive_int, help="shorthand for --set train.steps=N")
    p.add_argument("--batch-size", type=positive_int, help="global batch size, split across processes (--set train.batch_size=N)")
    p.add_argument("--lr", type=positive_float, help="learning rate (--set train.optimizer.lr=X)")
    p.add_argument("--seed", type=seed, help="--set train.seed=N")
    p.add_argument("--out", help="run folder (default runs/NAME)")
    p.add_argument("--resume", metavar="RUN", help="continue the run in RUN from its newest intact checkpoint")
    p.add_argument("--init", metavar="MODEL", help="start from a published model's weights (folder, hf-hub:…, zoo name): "
                   "fine-tuning; a zoo model with released weights starts from them unless --from-scratch")
    p.add_argument("--from-scratch", action="store_true", help="train a zoo model with released weights from fresh weights")
    p.add_argument("--losses", metavar="NAME,…", help="keep only these loss terms of the spec (e.g. --losses l1: a release's "
                   "recipe without its GAN); the discriminator goes when no kept term is adversarial")
    p.add_argument("--device", default="auto", help="auto (the best present: cuda, mps, cpu; said on the first line), "
                                                    "cpu, cuda, cuda:N or mps")
    p.add_argument("--amp", action="store_true", help="mixed precision: bfloat16 on CPU, float16 + grad scaler on CUDA")
    p.add_argument("--stop-after", type=positive_int, metavar="N", help="stop with a checkpoint after N steps of this invocation")
    p.add_argument("--max-minutes", type=positive_float, help="time budget for the whole command: train until it ends, "
                   "the schedule planned over the steps it allows, then evaluate and write final/; with --epochs or "
                   "--steps (or the same --set) it is a ceiling on those instead")
    p.add_argument("--quiet", action="store_true", help="no progress bar or progress lines; one line per epoch")
    p.add_argument("--progress-every", type=positive_float, default=30.0, metavar="SECONDS",
                   help="when stderr is not a terminal, print a progress line this often (default 30)")
    p.add_argument("--no-tensorboard", action="store_true", help="do not write TensorBoard event files")


def cmd_train(a: argparse.Namespace) -> int:
    from .. import distributed, plugins
    from ..errors import InpaintzooError
    from ..overrides import keep_losses, parse_sets, resolve, shorthands
    from ..spec import validate
    from ..train.loop import RunOptions, Trainer, TrainingError, resolve_device
    from ..zoo import resolve_spec

    reg = plugins.registry()
    plugins.warn_failures()
    resolve_device(a.device)  # a bad --device is reported before anything is read or written
    sets = {**shorthands(a.epochs, a.steps, a.lr, a.batch_size, a.data, a.seed, a.amp), **parse_sets(a.set)}
    record: dict = {}
    if a.resume:
        run = Path(a.resume)
        spec_file = run / "spec.json"
        if not spec_file.is_file():
            raise TrainingError(f"--resume {run}: not a run folder (no spec.json)")
        try:
            raw = json.loads(spec_file.read_text(encoding="utf-8"))
            record = json.loads((run / "overrides.json").read_text(encoding="utf-8")) if (run / "overrides.json").is_file() else {}
        except ValueError as exc:
            raise TrainingError(f"--resume {run}: {spec_file.name} or overrides.json is corrupt ({exc}); the run "
                                f"cannot be resumed: start a new one") from None
        if not isinstance(raw, dict):
            raise TrainingError(f"--resume {run}: {spec_file} does not hold a spec")
        if not isinstance(record, dict):
            raise TrainingError(f"--resume {run}: overrides.json does not hold a table of dotted keys; restore it "
                                f"(or delete it: the run's spec.json already includes them)")
        source = str(spec_file)
        if a.out and Path(a.out).resolve() != run.resolve():
            raise InpaintzooError(f"--out {a.out}: a resumed run writes into its own folder {run}; drop --out (or copy "
                                  f"the run folder to {a.out} and resume that)")
        recorded = _recorded_options(run)
        a.val_data = a.val_data or recorded.get("val_data")  # the run's held-out folder, unless given again
        if a.spec:
            raise InpaintzooError(f"train: give a spec or --resume RUN, not both ({a.spec!r} and --resume {a.resume})")
    elif a.spec:
        raw, source = resolve_spec(a.spec)
    else:
        raise InpaintzooError("train: give a spec or zoo name, or --resume RUN")
    if a.losses is not None:
        if a.resume:
            raise InpaintzooError("--losses: a resumed run keeps its loss terms; start a new run to change them")
        raw = keep_losses(raw, [n.strip() for n in a.losses.split(",") if n.strip()], reg, source)
    init = a.init or _release_init(a)
    spec = validate(resolve(raw, sets), reg, source + (" with --set" if sets else ""))
    record = {**record, **sets}
    out = Path(a.resume) if a.resume else Path(a.out or f"runs/{spec.model.name}")
    if out.exists() and not out.is_dir():
        raise InpaintzooError(f"--out {out}: is a file; give a folder for the run")
    distributed.join("nccl" if a.device.startswith("cuda") else "gloo")
    ok = False
    try:
        opts = RunOptions(out=out, data=a.data, val_data=a.val_data, resume=bool(a.resume), device=a.device,
                          quiet=a.quiet, stop_after=a.stop_after, max_minutes=a.max_minutes, overrides=record,
                          until_budget=a.max_minutes is not None and not ({"train.epochs", "train.steps"} & set(record)),
                          init=init, tensorboard=not a.no_tensorboard, progress_interval=a.progress_every)
        run = Trainer(spec, opts).fit()  # a resumed run's spec.json is rewritten only once its checkpoint fits it
        ok = True
    finally:
        distributed.leave(ok)
    if not a.quiet:
        print(f"run folder: {run}" + (f" (model: {run / 'final'})" if (run / "final").exists() else ""))
    return 0


def _recorded_options(run: Path) -> dict:
    """The options a run was started with that its spec does not hold (--val-data), from its options.json."""
    path = run / "options.json"
    try:
        options = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    except ValueError:
        from ..train.loop import TrainingError

        raise TrainingError(f"--resume {run}: {path.name} is corrupt; restore it, or delete it and give --val-data "
                            f"again if the run had one") from None
    return options if isinstance(options, dict) else {}


def _release_init(a: argparse.Namespace) -> str | None:
    """A zoo model with released weights fine-tunes from them by default (what its users ask for), saying so."""
    from .. import zoo
    from ..errors import InpaintzooError

    entry = zoo.get(a.spec) if a.spec and not a.resume and a.spec in zoo.index() else None
    if entry is None or entry.release is None:
        if a.from_scratch:
            raise InpaintzooError("--from-scratch: only for a zoo model with released weights (which otherwise fine-tunes)")
        return None
    if a.from_scratch:
        return None
    print(f"fine-tuning {a.spec} from its released weights (fetched and converted on first use); --from-scratch "
          f"trains fresh weights", file=sys.stderr)
    return a.spec


COMMANDS = {"train": (_add_train, cmd_train)}
