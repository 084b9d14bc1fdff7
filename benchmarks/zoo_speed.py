"""What `inpaintzoo list` shows as "CPU s @512²": one 512×512 photo with a 128×128 hole through `inpaint()` (the
contract's resize or pad, the network, the composite), per zoo entry that inpaints, on this machine's CPU.

Random weights built from each entry's spec (the cost does not depend on the values, and nothing is downloaded);
`hd_strategy="original"` (the whole picture through the contract), channels_last as `load()` sets it, median of
`--repeats` after one warm-up. `--write-registry` records the numbers in registry.toml (`cpu_seconds_512`).

    python benchmarks/zoo_speed.py [--write-registry] [--only lama-big migan-512-places2]
"""
from __future__ import annotations

import argparse
import re
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
from _common import kept_rows, write  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def seconds(name: str, repeats: int) -> tuple[float, int]:
    from inpaintzoo import create_model

    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = create_model(name).eval().to(memory_format=torch.channels_last)
    rng = np.random.default_rng(0)
    channels = model.contract.channels  # the release's pendulum CausalVAE is RGBA
    img = (rng.random((512, 512, channels)) * 255).astype(np.uint8)
    mask = np.zeros((512, 512), np.uint8)
    mask[192:320, 192:320] = 255
    model.inpaint(img, mask, hd_strategy="original")
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        model.inpaint(img, mask, hd_strategy="original")
        times.append(time.perf_counter() - t)
    return statistics.median(times), sum(p.numel() for p in model.parameters())


def write_registry(values: dict[str, float]) -> None:
    """Set `cpu_seconds_512` in each entry's [models.NAME] table (replacing an earlier value), text-preserving."""
    path = ROOT / "registry.toml"
    lines = path.read_text(encoding="utf-8").splitlines()
    out, current = [], None
    for line in lines:
        header = re.match(r"\[models\.([^.\]]+)\]\s*$", line)
        if header or (line.startswith("[") and current):
            current = header.group(1) if header else None
            out.append(line)
            if current in values:
                out.append(f"cpu_seconds_512 = {values[current]:.2f}  # benchmarks/zoo_speed.py")
            continue
        if current in values and line.startswith("cpu_seconds_512"):
            continue
        out.append(line)
    path.write_text("\n".join(out) + "\n", encoding="utf-8")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", nargs="*", help="zoo names (default: every entry that inpaints)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--write-registry", action="store_true")
    a = ap.parse_args()
    from inpaintzoo import zoo

    names = a.only or [e.name for e in zoo.index().values() if "inpaint" in e.task]
    rows, values = [], {}
    for name in names:
        s, n = seconds(name, a.repeats)
        values[name] = s
        rows.append({"model": name, "parameters": f"{n / 1e6:.1f} M", "seconds_512": s})
        print(rows[-1], flush=True)
    if a.only:  # re-measures some rows and keeps the others
        rows = kept_rows("zoo_speed", rows, key=lambda r: r["model"])
    write("zoo_speed", rows, ["model", "parameters", "seconds_512"],
          notes=f"One 512×512 image with a 128×128 hole through inpaint(hd_strategy='original'), random weights, "
                f"channels_last, median of {a.repeats} after a warm-up, {torch.get_num_threads()} torch threads. "
                "Command: python benchmarks/zoo_speed.py --write-registry")
    if a.write_registry:
        write_registry(values)


if __name__ == "__main__":
    main()
