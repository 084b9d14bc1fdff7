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
import os
import subprocess
import sys
import tempfile
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
    "inpaintzoo components": [CLI, "components"],
    # issue 35: a release that cannot be fetched (no network here, an empty INPAINTZOO_HOME): one line, exit 2
    "inpaintzoo inpaint lama-big … (offline, not cached)": [CLI, "inpaint", "lama-big", "{work}/small.png",
                                                            "--mask-box", "8,8,16,16", "-o", "{work}/never.png"],
    # issue 35: a 12-megapixel photo with a small hole, crop strategy, the smoke model (start-up included)
    "inpaintzoo inpaint core-shapes-tiny 12 MP photo, small hole": [CLI, "inpaint", "core-shapes-tiny", "{work}/p12.jpg",
                                                                    "{work}/m12.png", "-o", "{work}/out/o12.png"],
}
GOALS = {"inpaintzoo --version": 0.5, "inpaintzoo --help": 0.5, "inpaintzoo list": 1.5, "inpaintzoo plugins": 1.5,
         "inpaintzoo components": 1.5, "inpaintzoo inpaint lama-big … (offline, not cached)": 2.0,
         "inpaintzoo inpaint core-shapes-tiny 12 MP photo, small hole": 5.0}


def inputs(work: Path) -> None:
    """A 12-megapixel photo-like JPEG (blurred noise) with a 150×100 hole, and a small PNG."""
    import numpy as np
    from PIL import Image, ImageFilter

    rng = np.random.default_rng(0)
    Image.fromarray((rng.random((3000, 4000, 3)) * 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(2)).save(
        work / "p12.jpg", quality=92)
    mask = np.zeros((3000, 4000), np.uint8)
    mask[1400:1500, 2000:2150] = 255
    Image.fromarray(mask).save(work / "m12.png")
    Image.fromarray(np.zeros((32, 32, 3), np.uint8)).save(work / "small.png")


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
    work = Path(tempfile.mkdtemp())
    inputs(work)
    env = {k: v for k, v in os.environ.items() if k != "HF_HUB_OFFLINE"}
    env["INPAINTZOO_HOME"] = str(work / "home")  # nothing cached: the offline row must try to fetch
    for name, argv in COMMANDS.items():
        argv = [x.replace("{work}", str(work)) for x in argv]
        times = []
        for _ in range(a.repeats):
            shutil.rmtree(work / "out", ignore_errors=True)
            t = time.perf_counter()
            r = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               env=env if "offline" in name else None)
            times.append(time.perf_counter() - t)
            if r.returncode != (2 if "offline" in name else 0):
                raise SystemExit(f"{name}: exit {r.returncode}")
        row = {"command": name, "best_s": min(times), "median_s": statistics.median(times),
               "imports_torch": imports_torch(argv), "goal_s": GOALS.get(name)}
        if name in GOALS:
            row["meets_goal"] = row["best_s"] < GOALS[name]
        rows.append(row)
        print(row, flush=True)
    write("startup", rows, ["command", "best_s", "median_s", "imports_torch", "goal_s", "meets_goal"],
          notes=f"Wall time of a fresh process, best and median of {a.repeats}, on {len(os.sched_getaffinity(0))} core(s); "
                f"imports_torch from `python -X importtime`; plugins/components with their listing cached (the first run "
                f"after an install or an edit imports every plugin: 4.6 s). Command: python benchmarks/startup.py "
                f"--repeats {a.repeats} (here under `taskset -c 1` while another benchmark held the other core)")


if __name__ == "__main__":
    main()
