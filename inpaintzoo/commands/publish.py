"""`inpaintzoo push`: a model folder to a Hugging Face Hub repo in one commit, with a model card."""
from __future__ import annotations

import argparse
import json
from pathlib import Path


def _add(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("push", help="upload a model folder (weights, config, model card) in one commit")
    p.add_argument("model_dir", help="a model folder (model.safetensors + config.json), e.g. runs/NAME/final")
    p.add_argument("repo_id", metavar="ORG/NAME", help="the Hub repository to create or update")
    p.add_argument("--private", action="store_true", help="create the repository private")
    p.add_argument("--branch", help="commit to this branch (created if missing)")
    p.add_argument("--message", help="commit message")
    p.add_argument("--eval", action="append", default=[], metavar="REPORT.json", help="`inpaintzoo eval --json` reports for the card")
    p.add_argument("--token", help="hub token (default: HF_TOKEN or the cached login); never printed")
    p.add_argument("--demo", action="store_true", help="also app.py + requirements.txt: the repository's files then serve "
                                                       "as a Gradio Space (`inpaintzoo demo` on this model)")


def cmd_push(a: argparse.Namespace) -> int:
    from ..errors import InpaintzooError
    from ..hub import push

    reports = []
    for path in a.eval:
        try:
            report = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError, RecursionError) as exc:  # ValueError: bad JSON, bytes, a 5,000-digit number
            raise InpaintzooError(f"--eval {path}: not a readable JSON report ({type(exc).__name__})") from None
        metrics = report.get("metrics") if isinstance(report, dict) else None
        if not isinstance(metrics, dict) or not metrics:
            raise InpaintzooError(f"--eval {path}: not an `inpaintzoo eval --json` report (no \"metrics\" table)")
        bad = [k for k, v in metrics.items() if v is not None and (not isinstance(v, (int, float)) or isinstance(v, bool))]
        if bad:
            raise InpaintzooError(f"--eval {path}: metric {bad[0]!r} is {metrics[bad[0]]!r}, not a number; give the report "
                                  f"`inpaintzoo eval --json` wrote")
        report = {**report, "metrics": {k: v for k, v in metrics.items() if v is not None}}  # null: measured nothing
        reports.append(report)
    oid = push(a.model_dir, a.repo_id, a.private, a.branch, a.message, a.token, reports, a.demo)
    print(f"pushed {a.model_dir} to {a.repo_id} at revision {oid}; load it with load(\"hf-hub:{a.repo_id}@{oid}\")")
    return 0


COMMANDS = {"push": (_add, cmd_push)}
