"""Start-up time of the CLI, side by side with `python -c "import torch"` in one run.

Each command runs `--repeats` times as a fresh process (its output discarded); the table gives the best and the
median wall time. Goals (issue 29): `--version`/`--help` under 0.5 s, `list` under 1.5 s; torch is imported only
by commands that run a model. Also reports whether each command imported torch (`-X importtime`).

    python benchmarks/startup.py --repeats 5
"""
from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import write  # noqa: E402

CLI = shutil.which("inpaintzoo") or "inpaintzoo"
COMMANDS = {
    'python -c "pass"': [sys.executable, "-c", "pass"],
    'python -c "import torch"': [sys.executable, "-c", "import torch"],
    "inpaintzoo --version": [CLI, "--version"],
    "inpaintzoo --help": [CLI, "--help"],
    "inpaintzoo list": [CLI, "list"],
    "inpaintzoo list --json": [CLI, "list", "--json"],
    "inpaintzoo spec lama-big": [CLI, "spec", "lama-big"],
    "inpaintzoo plugins": [CLI, "plugins"],
}
GOALS = {"inpaintzoo --version": 0.5, "inpaintzoo --help": 0.5, "inpaintzoo list": 1.5}


def imports_torch(argv: list[str]) -> bool:
    """Whether the command imports torch: run it once under -X importtime (Python's own import log)."""
    run_cli = "import sys; from inpaintzoo.cli import main; sys.exit(main(sys.argv[1:]))"
    args = argv[1:] if argv[0] == sys.executable else ["-c", run_cli, *argv[1:]]
    err = subprocess.run([sys.executable, "-X", "importtime", *args], capture_output=True, text=True).stderr
    return any(line.rsplit("|", 1)[-1].strip() == "torch" for line in err.splitlines())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    a = ap.parse_args()
    rows = []
    for name, argv in COMMANDS.items():
        times = []
        for _ in range(a.repeats):
            t = time.perf_counter()
            subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
            times.append(time.perf_counter() - t)
        row = {"command": name, "best_s": min(times), "median_s": statistics.median(times),
               "imports_torch": imports_torch(argv), "goal_s": GOALS.get(name)}
        if name in GOALS:
            row["meets_goal"] = row["best_s"] < GOALS[name]
        rows.append(row)
        print(row, flush=True)
    write("startup", rows, ["command", "best_s", "median_s", "imports_torch", "goal_s", "meets_goal"],
          notes=f"Wall time of a fresh process, best and median of {a.repeats}; imports_torch from `python -X importtime`. "
                "Command: python benchmarks/startup.py --repeats 5")


if __name__ == "__main__":
    main()
