"""MEDFE's RTV structure targets: cost per image and accuracy, the current exact solve beside the first version.

The first version (commit 8b7bb27, read from git) solved each linear system by Jacobi-preconditioned conjugate
gradients capped at 100 iterations; the current one factorises the sparse system once per image and solves it
exactly. Reported per size: seconds per image and the relative residual ‖(I + L_w)x − b‖/‖b‖ of the last of the
three solves (the first version's is what its cap left).

    python benchmarks/rtv_cost.py --sizes 128 256 --n 4
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import time
import types
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from _common import write  # noqa: E402

FIRST = "8b7bb27"
PATH = "plugins/medfe/inpaintzoo_medfe/rtv.py"


def first_version() -> types.ModuleType:
    src = subprocess.run(["git", "show", f"{FIRST}:{PATH}"], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).parent).stdout
    mod = types.ModuleType("rtv_first")
    exec(compile(src, f"{FIRST}:{PATH}", "exec"), mod.__dict__)  # our own earlier code, from our own history
    return mod


def last_residual(rtv, image: torch.Tensor, lam: float = 0.015, sigma: float = 3.0, sharpness: float = 1e-3) -> float:
    """Run tsmooth's three passes with the module's own solve and return the last solve's relative residual."""
    from inpaintzoo_medfe.rtv import apply_system

    src = image.double()
    x, lam = src, lam / 2.0
    for _ in range(3):
        wx, wy = rtv.texture_weights(x, sigma, sharpness)
        x = rtv.solve(src, lam * wx, lam * wy)
        sigma = max(sigma / 2.0, 0.5)
    return float((apply_system(x, lam * wx, lam * wy) - src).norm() / src.norm())


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="*", default=[128, 256])
    ap.add_argument("--n", type=int, default=4, help="images per size (smooth noise + edges, seeded)")
    a = ap.parse_args()
    from inpaintzoo_medfe import rtv as current

    versions = {f"first ({FIRST}, CG ≤ 100 its)": first_version(), "current (exact sparse LU)": current}
    rows = []
    g = torch.Generator().manual_seed(0)
    for size in a.sizes:
        base = torch.nn.functional.interpolate(torch.rand(a.n, 3, size // 8, size // 8, generator=g), size=size, mode="bilinear")
        images = (base + 0.1 * torch.rand(a.n, 3, size, size, generator=g)).clamp(0, 1)
        for name, mod in versions.items():
            t0 = time.perf_counter()
            for i in range(a.n):
                mod.rtv_smooth(images[i : i + 1])
            sec = (time.perf_counter() - t0) / a.n
            rows.append({"version": name, "size": f"{size}²", "sec_per_image": sec,
                         "last_solve_residual": last_residual(mod, images[:1])})
            print(rows[-1], flush=True)
    path = write("rtv_cost", rows, ["version", "size", "sec_per_image", "last_solve_residual"],
                 notes=f"Command: `python benchmarks/rtv_cost.py --sizes {' '.join(map(str, a.sizes))} --n {a.n}`. One image "
                       "at a time (targets are computed once per data set image, by `inpaintzoo precompute` or cached in "
                       "DataLoader workers), float64 as the reference's MATLAB.")
    print(path.read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
