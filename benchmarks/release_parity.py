"""Converters proven against the releases' own code: each release's network built from a checkout of its
repository with random weights (BatchNorm statistics randomised), saved in every layout its weights are published
in, converted with `inpaintzoo convert`, and compared with the release's own network and inference pipeline.

The releases' code is never copied into the project: give the path of a checkout of each.

    git clone https://github.com/advimman/lama /tmp/lama
    python benchmarks/release_parity.py --lama /tmp/lama --medfe /tmp/medfe

Reported per release, layout and size: max/mean abs difference of the network output, the largest difference
inside the hole of `inpaint()` against the release's pipeline (float, and in grey levels of the written file),
and whether pixels outside the hole are bit-identical. Results: benchmarks/results/release_parity.{json,md}.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from _common import write  # noqa: E402

COLUMNS = ["release", "layout", "size", "part", "net_max", "net_mean", "inpaint_hole_max_float", "inpaint_hole_max_levels",
           "outside_identical"]


def commit(checkout: Path) -> str:
    """The checkout's commit, or what its SOURCE.txt says of where its files come from (a partial copy)."""
    if (checkout / "SOURCE.txt").is_file():
        return (checkout / "SOURCE.txt").read_text(encoding="utf-8").strip()
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], cwd=checkout, capture_output=True, text=True,
                              check=True).stdout.strip()
    except (subprocess.CalledProcessError, FileNotFoundError):
        return "unknown (not a git checkout)"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lama", type=Path, help="checkout of advimman/lama")
    ap.add_argument("--medfe", type=Path, help="checkout of KumapowerLIU/Rethinking-Inpainting-MEDFE")
    ap.add_argument("--migan", type=Path, help="checkout of Picsart-AI-Research/MI-GAN")
    ap.add_argument("--aotgan", type=Path, help="checkout of researchmm/AOT-GAN-for-Inpainting")
    ap.add_argument("--mmagic", type=Path, help="checkout of open-mmlab/mmagic (needs mmengine and mmcv-lite): "
                                                "AOT-GAN's mmagic layout, DeepFill v2 and v1, Global&Local, PConv")
    ap.add_argument("--mat", type=Path, help="checkout of fenglinglwb/MAT (its networks/, torch_utils/, dnnlib/)")
    ap.add_argument("--ldm", type=Path, help="checkout of CompVis/latent-diffusion (needs --taming and einops)")
    ap.add_argument("--taming", type=Path, help="checkout of CompVis/taming-transformers (its VectorQuantizer2)")
    ap.add_argument("--photos", type=Path, help="a folder of photos (MAT's rows use the first three)")
    ap.add_argument("--name", default="release_parity")
    a = ap.parse_args()
    torch.set_grad_enabled(False)
    rows, commits = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        if a.lama:
            import parity_lama

            commits["advimman/lama"] = commit(a.lama)
            rows += parity_lama.run(a.lama, Path(tmp), [(256, 256), (384, 512), (512, 384), (408, 608), (603, 401)])
        if a.medfe:
            import parity_medfe

            commits["KumapowerLIU/Rethinking-Inpainting-MEDFE"] = commit(a.medfe)
            rows += parity_medfe.run(a.medfe, Path(tmp))
        if a.migan:
            import parity_migan

            commits["Picsart-AI-Research/MI-GAN"] = commit(a.migan)
            rows += parity_migan.run(a.migan, Path(tmp))
        if a.aotgan or a.mmagic:
            import parity_aotgan

            for key, path in (("researchmm/AOT-GAN-for-Inpainting", a.aotgan), ("open-mmlab/mmagic", a.mmagic)):
                if path:
                    commits[key] = commit(path)
            rows += parity_aotgan.run(a.aotgan, a.mmagic, Path(tmp))
        if a.mmagic:
            import parity_deepfill

            import parity_gl
            import parity_pconv

            rows += parity_deepfill.run(a.mmagic, Path(tmp)) + parity_deepfill.run(a.mmagic, Path(tmp), version=1)
            rows += parity_gl.run(a.mmagic, Path(tmp)) + parity_pconv.run(a.mmagic, Path(tmp))
        if a.mat:
            import parity_mat

            if not a.photos:
                ap.error("--mat needs --photos DIR")
            commits["fenglinglwb/MAT"] = commit(a.mat)
            rows += parity_mat.run(a.mat, Path(tmp), a.photos)
        if a.ldm:
            import parity_ldm

            if not (a.photos and a.taming):
                ap.error("--ldm needs --taming PATH and --photos DIR")
            commits["CompVis/latent-diffusion"] = commit(a.ldm)
            commits["CompVis/taming-transformers"] = commit(a.taming)
            rows += parity_ldm.run(a.ldm, a.taming, Path(tmp), a.photos)
    notes = ("Release commits: " + "; ".join(f"{k} {v}" for k, v in commits.items()) + ". Random weights with "
             "randomised BatchNorm statistics; net_* compare the network outputs (empty where the size needs padding, "
             "which the network itself does not do); inpaint_hole_max_float compares inpaint() with the release's "
             "pipeline before quantisation, inpaint_hole_max_levels the written 8-bit files (the releases truncate, "
             "inpaintzoo rounds: at most 1 level apart when equal). Command: python benchmarks/release_parity.py "
             + " ".join(f"--{k} PATH" for k in ("lama", "medfe", "migan", "aotgan", "mmagic", "mat", "ldm", "taming")
                        if getattr(a, k))
             + (f" --photos {a.photos}" if a.photos else ""))
    write(a.name, rows, COLUMNS, notes, extra={"commits": commits})


if __name__ == "__main__":
    main()
