"""Latent-diffusion inpainting's speed beside the release, in one run on this machine: seconds per DDIM step (one
U-Net call at the image's latent size, with the sampler's update), the autoencoder's encode and decode, and the
whole `inpaint()` at the default 50 steps.

Both sides hold the same random weights (parity_ldm.py builds the release's modules from checkouts and converts them
with `inpaintzoo convert`). The release's step is its DDIMSampler's `p_sample_ddim` (its U-Net call and update);
ours `ldm.ddim`'s U-Net call and `ddim_step`. Batch 1 and 4 at 256² and 512², median of `--repeats` after a
warm-up. The default's wall time is measured once per size for ours (`inpaint(seed=0)`, 50 steps) and, for the
release, is its encode + 50 steps + decode.

    python benchmarks/ldm_speed.py --ldm /tmp/latent-diffusion --taming /tmp/taming-transformers
"""
from __future__ import annotations

import argparse
import io
import sys
import tempfile
import time
from contextlib import redirect_stdout
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
from _common import median_seconds, write  # noqa: E402

COLUMNS = ["size", "batch", "release_s_per_step", "ours_s_per_step", "step_speedup", "release_encode_decode_s",
           "ours_encode_decode_s", "release_default_s", "ours_default_s", "default_speedup"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ldm", type=Path, required=True)
    ap.add_argument("--taming", type=Path, required=True)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--name", default="ldm_speed")
    a = ap.parse_args()
    torch.set_grad_enabled(False)
    import parity_ldm
    from inpaintzoo import load
    from inpaintzoo.cli import main as cli

    stand, Sampler = parity_ldm.release_modules(a.ldm, a.taming)
    parity_ldm.randomise(stand, 0)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        parity_ldm.save_checkpoint(stand, Path(tmp) / "last.ckpt")
        assert cli(["convert", "ldm.release", str(Path(tmp) / "last.ckpt"), "--out", str(Path(tmp) / "ours")]) == 0
        ours = load(Path(tmp) / "ours")
        sampler = Sampler(stand)
        with redirect_stdout(io.StringIO()):
            sampler.make_schedule(50, ddim_eta=0.0, verbose=False)
        from inpaintzoo_ldm.network import schedule

        _, (alphas, prev, root) = schedule(ours.prior.cfg)
        for size in (256, 512):
            for batch in (1, 4):
                g = torch.Generator().manual_seed(0)
                x = torch.rand(batch, 3, size, size, generator=g) * 2 - 1
                lat = torch.randn(batch, 3, size // 4, size // 4, generator=g)
                c = torch.randn(batch, 4, size // 4, size // 4, generator=g)
                t = torch.full((batch,), 981, dtype=torch.long)
                rel_step = median_seconds(lambda: sampler.p_sample_ddim(lat, c, t, index=49), a.repeats)
                our_step = median_seconds(lambda: ours.prior.ddim_step(
                    lat, ours.prior.diffusion_model(torch.cat([lat, c], 1), t), alphas[49], prev[49], root[49]), a.repeats)
                rel_ed = median_seconds(lambda: stand.decode(stand.encode(x)), a.repeats)
                our_ed = median_seconds(lambda: ours.decoder(ours.encoder.quant_conv(ours.encoder.encoder(x))), a.repeats)
                row = {"size": f"{size}²", "batch": batch, "release_s_per_step": rel_step, "ours_s_per_step": our_step,
                       "step_speedup": rel_step / our_step, "release_encode_decode_s": rel_ed,
                       "ours_encode_decode_s": our_ed, "release_default_s": rel_ed + 50 * rel_step}
                if batch == 1:
                    img = (np.random.default_rng(0).random((size, size, 3)) * 255).astype(np.uint8)
                    hole = np.zeros((size, size), np.uint8)
                    hole[size // 4: size // 2, size // 3: 2 * size // 3] = 255
                    start = time.perf_counter()
                    ours.inpaint(img, hole, seed=0)
                    row["ours_default_s"] = time.perf_counter() - start
                    row["default_speedup"] = row["release_default_s"] / row["ours_default_s"]
                rows.append(row)
                print(row, flush=True)
    notes = ("Seconds per image batch (not per image). A step: one U-Net call on the noisy latent ‖ conditioning and "
             "the DDIM update; encode/decode: the VQ-f4 autoencoder; default: 50 DDIM steps, measured whole for ours "
             "(inpaint(), its contract's padding and composite included), encode + decode + 50 × step for the "
             f"release. Command: python benchmarks/ldm_speed.py --ldm PATH --taming PATH --repeats {a.repeats}")
    write(a.name, rows, COLUMNS, notes)


if __name__ == "__main__":
    main()
