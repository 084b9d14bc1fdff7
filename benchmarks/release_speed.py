"""Inference speed of each ported release beside the release's own network, in one run on this machine.

The releases' networks come from checkouts (the parity_*.py modules build them; their code is never copied into
the project), ours from converting their random weights. Both run the same input at 512² (MEDFE: its fixed 256²)
with batch 1 and batch 4 (MEDFE's release takes batch 1: four calls), median of `--repeats` after a warm-up, torch
threads as set. Ours is timed in both memory layouts; the table reports NCHW and channels_last and the ratio of
ours (its default layout) to the release. Achieved GFLOP/s (torch's FLOP formulas) against this machine's fp32
matmul peak, measured in the same run.

    python benchmarks/release_speed.py --lama /tmp/lama --migan /tmp/MI-GAN --aotgan /tmp/AOT-GAN \
        --mmagic /tmp/mmagic --medfe /tmp/medfe --mat /tmp/MAT
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from _common import median_seconds, write  # noqa: E402

COLUMNS = ["model", "size", "batch", "release_ms", "ours_ms_nchw", "ours_ms_channels_last", "speedup",
           "gflop_per_img", "ours_gflops", "peak_fraction"]


def matmul_peak(n: int = 2048, repeats: int = 5) -> float:
    a, b = torch.randn(n, n), torch.randn(n, n)
    return 2 * n ** 3 / median_seconds(lambda: a @ b, repeats) / 1e9


def flops(fn) -> float:
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as fc:
        fn()
    return fc.get_total_flops()


def releases(a, work: Path):
    """(name, release forward(x4, m) at batch n, zoo entry, release file, size, batchable) per checkout given."""
    out = []
    if a.lama:
        import parity_lama

        G, D, _ = parity_lama.release_modules(a.lama)
        gen = G(**parity_lama.BIG_LAMA).eval()
        parity_lama.randomise(gen, 0, torch.rand(2, 4, 128, 128))
        path = parity_lama.save_lightning_zip(work / "big-lama.zip", gen, D(input_nc=3, ndf=64, n_layers=4))
        out.append(("big-lama", lambda x, m, g=gen: g(torch.cat([x * (1 - m), m], 1)), "lama-big", path, 512, True))
    if a.migan:
        import parity_migan

        gen = parity_migan.release_generator(a.migan)(resolution=512).eval()
        torch.save(gen.state_dict(), work / "migan.pt")
        out.append(("MI-GAN 512", lambda x, m, g=gen: g(torch.cat([0.5 - m, (x * 2 - 1) * (1 - m)], 1)),
                    "migan-512-places2", work / "migan.pt", 512, True))
    if a.aotgan:
        import parity_aotgan

        gen = parity_aotgan.authors_generator(a.aotgan).eval()
        torch.save(gen.state_dict(), work / "G0000000.pt")
        out.append(("AOT-GAN", lambda x, m, g=gen: g((x * 2 - 1) * (1 - m) + m, m), "aotgan-places2",
                    work / "G0000000.pt", 512, True))
    if a.mmagic:
        import parity_deepfill

        encdec = parity_deepfill.mmagic_encdec(a.mmagic).eval()
        torch.save({"state_dict": {f"generator.{k}": v for k, v in encdec.state_dict().items()}}, work / "df.pth")
        out.append(("DeepFill v2", lambda x, m, g=encdec: g(torch.cat([(x * 2 - 1) * (1 - m), torch.ones_like(m), m], 1)),
                    "deepfillv2-places", work / "df.pth", 512, True))
        v1 = parity_deepfill.mmagic_encdec(a.mmagic, "base_deepfillv1.py").eval()
        torch.save({"state_dict": {f"generator.{k}": v for k, v in v1.state_dict().items()}}, work / "df1.pth")
        out.append(("DeepFill v1", lambda x, m, g=v1: g(torch.cat([(x * 2 - 1) * (1 - m), torch.ones_like(m), m], 1)),
                    "deepfillv1-places", work / "df1.pth", 512, True))
        import parity_gl
        import parity_pconv

        gl = parity_gl.mmagic_gl(a.mmagic).eval()
        parity_gl.randomise(gl, 0)
        torch.save({"state_dict": {f"generator.{k}": v for k, v in gl.state_dict().items()}}, work / "gl.pth")
        out.append(("Global&Local", lambda x, m, g=gl: g(torch.cat([(x * 2 - 1) * (1 - m), m], 1)), "gl-places",
                    work / "gl.pth", 512, True))
        pc = parity_pconv.mmagic_pconv(a.mmagic).eval()
        parity_gl.randomise(pc, 0)
        torch.save({"state_dict": {f"generator.{k}": v for k, v in pc.state_dict().items()}}, work / "pconv.pth")
        out.append(("PConv", lambda x, m, g=pc: g((x * 2 - 1) * (1 - m), (1 - m).repeat(1, 3, 1, 1))[0], "pconv-places",
                    work / "pconv.pth", 512, True))
    if a.mat:
        import parity_mat

        gen = parity_mat.release_generator(a.mat, use_noise=False)  # IOPaint's network, as the zoo entry
        parity_mat.randomise(gen, 0)
        torch.save(gen.state_dict(), work / "mat.pth")
        out.append(("MAT", lambda x, m, g=gen: g(x * 2 - 1, 1 - m, torch.randn(x.shape[0], 512), None, noise_mode="none"),
                    "mat-places512", work / "mat.pth", 512, True))
    if a.medfe:
        import parity_medfe

        nets, inner = parity_medfe.release_networks(a.medfe)
        folder = parity_medfe.save_layouts(nets, work)["CPU state dict"]
        out.append(("MEDFE", lambda x, m: torch.cat([parity_medfe.release_forward(nets, inner, x[i:i + 1] * 2 - 1, m[i:i + 1])
                                                     for i in range(x.shape[0])]), "medfe-celeba256-release", folder,
                    256, False))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for name in ("lama", "migan", "aotgan", "mmagic", "medfe", "mat"):
        ap.add_argument(f"--{name}", type=Path)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=torch.get_num_threads())
    ap.add_argument("--name", default="release_speed")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.set_grad_enabled(False)
    from inpaintzoo import load, zoo
    from inpaintzoo.convert import convert_release

    peak = matmul_peak()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, theirs, entry, path, size, _ in releases(a, Path(tmp)):
            convert_release(zoo.get(entry).release.converter, path, Path(tmp) / f"ours-{entry}", zoo_entry=entry)
            ours = load(Path(tmp) / f"ours-{entry}")
            for batch in (1, 4):
                x = torch.rand(batch, 3, size, size)
                m = torch.zeros(batch, 1, size, size)
                m[..., size // 4: size // 2, size // 3: 2 * size // 3] = 1
                release_s = median_seconds(lambda: theirs(x, m), a.repeats)
                nchw = median_seconds(lambda: ours.run(x, m), a.repeats)
                ours.to(memory_format=torch.channels_last)
                xc, mc = x.contiguous(memory_format=torch.channels_last), m.contiguous(memory_format=torch.channels_last)
                cl = median_seconds(lambda: ours.run(xc, mc), a.repeats)
                ours.to(memory_format=torch.contiguous_format)
                best = min(nchw, cl)
                f = flops(lambda: ours.run(x[:1], m[:1]))
                rows.append({"model": name, "size": f"{size}²", "batch": batch, "release_ms": 1000 * release_s / batch,
                             "ours_ms_nchw": 1000 * nchw / batch, "ours_ms_channels_last": 1000 * cl / batch,
                             "speedup": release_s / best, "gflop_per_img": f / 1e9,
                             "ours_gflops": f * batch / best / 1e9, "peak_fraction": f * batch / best / 1e9 / peak})
                print(rows[-1], flush=True)
    notes = (f"ms per image (batch 4: a batch's time / 4); speedup = release / ours in its faster layout. fp32 matmul "
             f"peak of this machine in the same run: {peak:.0f} GFLOP/s (2048² matmul). Command: python "
             f"benchmarks/release_speed.py " + " ".join(f"--{k} PATH" for k in ("lama", "migan", "aotgan", "mmagic", "medfe",
                                                                                     "mat") if getattr(a, k)) + f" --threads {a.threads}")
    write(a.name, rows, COLUMNS, notes, extra={"matmul_peak_gflops": peak})


if __name__ == "__main__":
    main()
