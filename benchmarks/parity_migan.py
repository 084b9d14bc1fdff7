"""MI-GAN (Picsart-AI-Research/MI-GAN) beside its inpaintzoo port: the release's inference generator and demo.py.

The release's `lib/model_zoo/migan_inference.Generator` is imported from a checkout (`--migan PATH`) at 256 and
512, with random weights (PyTorch's initialisation, random noise strengths and output scale so the output spans
[−1, 1]), saved in the layouts users hold: the authors' state dict (`migan_512_places2.pt`) and a TorchScript
trace of the generator (IOPaint's `migan_traced.pt`). Each is converted and compared: the generator output on the
same input, and `inpaint()` against `scripts/demo.py`'s steps at the network's resolution (its `preprocess`:
[−1, 1], mask − 0.5 ‖ image · known; output ·0.5 + 0.5, clamp, ·255, `.to(uint8)`; composite with the input).
"""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import torch


def release_generator(checkout: Path):
    spec = importlib.util.spec_from_file_location("migan_inference", checkout / "lib/model_zoo/migan_inference.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.Generator


def randomise(gen: torch.nn.Module, seed: int) -> None:
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in gen.named_parameters():
            if name.endswith("noise_strength"):
                p.copy_(0.1 * torch.randn([], generator=g))
            elif name.endswith("bias"):
                p.copy_(0.05 * torch.randn(p.shape, generator=g))
        x = torch.rand(2, 4, gen.synthesis.resolution, gen.synthesis.resolution) * 2 - 1
        last = gen.synthesis.b4.torgb  # the RGB branch accumulates: scale every torgb so the output spans [−1, 1]
        scale = 0.8 / float(gen(x).std().clamp_min(1e-6))
        for r in gen.synthesis.block_res:
            block = getattr(gen.synthesis, f"b{r}")
            block.torgb.weight.mul_(scale)
            block.torgb.bias.mul_(scale)
        del last


def demo_inpaint(gen, image: np.ndarray, hole: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """demo.py at the network's resolution: known = 1 − hole (white = known in its masks)."""
    known = (1 - hole)[:, :, None].astype(np.uint8)
    img = torch.Tensor(image).float() * 2 / 255 - 1
    m = torch.Tensor(known).float()
    x = torch.cat([m.permute(2, 0, 1)[None] - 0.5, (img * m).permute(2, 0, 1)[None]], dim=1)
    with torch.no_grad():
        out = gen(x)[0]
    f = (out * 0.5 + 0.5).clamp(0, 1)
    u8 = (f * 255).to(torch.uint8).permute(1, 2, 0).numpy()
    composed = image * known + u8 * (1 - known)
    return f.permute(1, 2, 0).numpy(), composed


def run(checkout: Path, work: Path) -> list[dict]:
    from inpaintzoo import load
    from inpaintzoo.cli import main

    Generator = release_generator(checkout)
    rows = []
    rng = np.random.default_rng(0)
    for res, zoo_name in ((256, "migan-256-places2"), (512, "migan-512-places2")):
        torch.manual_seed(res)
        gen = Generator(resolution=res).eval()
        randomise(gen, res)
        files = {f"authors' state dict (migan_{res}.pt)": work / f"migan_{res}.pt"}
        torch.save(gen.state_dict(), files[f"authors' state dict (migan_{res}.pt)"])
        with torch.no_grad():
            trace = torch.jit.trace(gen, torch.rand(1, 4, res, res))
        trace.save(str(work / f"migan_traced_{res}.pt"))
        files["TorchScript trace (IOPaint's migan_traced.pt)"] = work / f"migan_traced_{res}.pt"
        image = (rng.random((res, res, 3)) * 255).astype(np.uint8)
        hole = np.zeros((res, res), np.uint8)
        hole[res // 4: res // 2, res // 3: 2 * res // 3] = 1
        hole[res - res // 6:, : res // 5] = 1
        for layout, path in files.items():
            out = work / f"migan-converted-{res}-{path.stem}"
            assert main(["convert", zoo_name, str(path), "--out", str(out), "--overwrite"]) == 0
            ours = load(out).to(memory_format=torch.contiguous_format)  # the release's layout: bit for bit
            x = torch.from_numpy(image).permute(2, 0, 1)[None].float() / 255
            m = torch.from_numpy(hole)[None, None].float()
            known = 1 - m
            with torch.no_grad():
                theirs = gen(torch.cat([known - 0.5, (x * 2 - 1) * known], 1))
                net = (theirs - ours.run(x, m)[1]).abs()
            rel_f, rel_u8 = demo_inpaint(gen, image, hole)
            ours_f = ours.inpaint(image.astype(np.float32) / 255, hole.astype(np.float32))
            res_u8 = ours.inpaint(image, hole * 255)
            h = hole > 0
            rows.append({"release": f"MI-GAN {res}", "layout": layout, "size": f"{res}×{res}",
                         "net_max": float(net.max()), "net_mean": float(net.mean()),
                         "inpaint_hole_max_float": float(np.abs(ours_f - rel_f)[h].max()),
                         "inpaint_hole_max_levels": int(np.abs(res_u8.astype(int) - rel_u8.astype(int))[h].max()),
                         "outside_identical": bool(np.array_equal(res_u8[~h], image[~h]))})
            print(rows[-1], flush=True)
    sys.modules.pop("migan_inference", None)
    return rows
