"""AOT-GAN beside its inpaintzoo port: the authors' generator and test.py, and mmagic's encoder-decoder.

From checkouts: the authors' `src/model/aotgan.py` (`--aotgan PATH`, researchmm/AOT-GAN-for-Inpainting) and
mmagic's `mmagic/models/editors/aotgan/aot_{encoder,neck,decoder}.py` (`--mmagic PATH`; they need mmcv's
ConvModule and mmengine's BaseModule: `pip install mmengine mmcv-lite`; mmagic's registry is stubbed, the
modules are composed as its GLEncoderDecoder.forward does). Random weights (the authors' N(0, 0.02)
initialisation, random biases), saved as the authors' state dict (`G0000000.pt`) and as mmagic's checkpoint
(`{'meta', 'state_dict'}` with `generator.*` keys beside a discriminator); each converted and compared at two
sizes: the network output, and `inpaint()` against test.py's steps ([−1, 1], holes + 1, composite, clamp, uint8).
"""
from __future__ import annotations

import importlib.util
import sys
import types
from argparse import Namespace
from pathlib import Path

import numpy as np
import torch


def authors_generator(checkout: Path):
    sys.path.insert(0, str(checkout / "src"))
    from model.aotgan import InpaintGenerator  # noqa: E402  (the checkout's package `model`)

    return InpaintGenerator(Namespace(rates=[1, 2, 4, 8], block_num=8))


def mmagic_generator(checkout: Path):
    registry = types.ModuleType("mmagic.registry")

    class Models:
        @staticmethod
        def register_module(*a, **k):
            return lambda cls: cls

    registry.MODELS = Models
    for name in ("mmagic", "mmagic.registry"):
        sys.modules.setdefault(name, types.ModuleType(name))
    sys.modules["mmagic.registry"] = registry
    mods = {}
    for part in ("aot_encoder", "aot_neck", "aot_decoder"):
        spec = importlib.util.spec_from_file_location(f"mm_{part}", checkout / f"mmagic/models/editors/aotgan/{part}.py")
        mods[part] = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mods[part])

    class EncoderDecoder(torch.nn.Module):  # AOTEncoderDecoder's modules, GLEncoderDecoder.forward's order
        def __init__(self):
            super().__init__()
            self.encoder = mods["aot_encoder"].AOTEncoder()
            self.decoder = mods["aot_decoder"].AOTDecoder()
            self.dilation_neck = mods["aot_neck"].AOTBlockNeck()

        def forward(self, x):
            return self.decoder(self.dilation_neck(self.encoder(x)))

    return EncoderDecoder()


def randomise(net: torch.nn.Module, seed: int) -> None:
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in net.named_parameters():
            p.copy_((0.02 if name.endswith("weight") else 0.05) * torch.randn(p.shape, generator=g))
        out = [m for m in net.modules() if isinstance(m, torch.nn.Conv2d)][-1]
        x = torch.rand(1, 4, 64, 64) * 2 - 1
        y = net(x[:, :3], x[:, 3:]) if "InpaintGenerator" in type(net).__name__ else net(x)
        out.weight.mul_(1.0 / float(torch.atanh(y.clamp(-0.999, 0.999)).std().clamp_min(1e-6)))


def test_py(forward, image: np.ndarray, hole: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """src/test.py: ToTensor, ×2 − 1; mask from ToTensor; masked = image·(1 − m) + m; composite; postprocess."""
    img = torch.from_numpy(image).permute(2, 0, 1)[None].float() / 255 * 2 - 1
    m = torch.from_numpy(hole)[None, None].float()
    with torch.no_grad():
        pred = forward(img * (1 - m) + m, m)
    comp = (1 - m) * img + m * pred
    f = ((torch.clamp(comp, -1, 1) + 1) / 2.0)[0].permute(1, 2, 0).numpy()
    return f, (f * 255.0).astype(np.uint8)


def run(authors: Path | None, mmagic: Path | None, work: Path) -> list[dict]:
    from inpaintzoo import load
    from inpaintzoo.cli import main

    nets = {}
    if authors:
        gen = authors_generator(authors).eval()
        randomise(gen, 0)
        torch.save(gen.state_dict(), work / "G0000000.pt")
        nets["authors' G0000000.pt"] = (work / "G0000000.pt", lambda x, m, g=gen: g(x, m))
    if mmagic:
        enc_dec = mmagic_generator(mmagic).eval()
        randomise(enc_dec, 1)
        state = {f"generator.{k}": v for k, v in enc_dec.state_dict().items()}
        state["disc.model.0.conv.weight"] = torch.zeros(64, 3, 4, 4)
        torch.save({"meta": {"mmagic_version": "1.0"}, "state_dict": state}, work / "AOT-GAN_mmagic.pth")
        nets["mmagic checkpoint"] = (work / "AOT-GAN_mmagic.pth", lambda x, m, g=enc_dec: g(torch.cat([x, m], 1)))
    rows = []
    rng = np.random.default_rng(0)
    for layout, (path, forward) in nets.items():
        out = work / f"aotgan-converted-{path.stem}"
        assert main(["convert", "aotgan-places2", str(path), "--out", str(out), "--overwrite"]) == 0
        ours = load(out)  # as a user loads it: the contract's layout (contiguous for this release: bit for bit)
        for h, w in ((512, 512), (256, 384)):
            image = (rng.random((h, w, 3)) * 255).astype(np.uint8)
            hole = np.zeros((h, w), np.uint8)
            hole[h // 4: h // 2, w // 3: 2 * w // 3] = 1
            hole[h - h // 6:, : w // 5] = 1
            x = torch.from_numpy(image).permute(2, 0, 1)[None].float() / 255
            m = torch.from_numpy(hole)[None, None].float()
            with torch.no_grad():
                theirs = forward((x * 2 - 1) * (1 - m) + m, m)
                net = (theirs - ours.run(x, m)[1]).abs()
            rel_f, rel_u8 = test_py(forward, image, hole)
            ours_f = ours.inpaint(image.astype(np.float32) / 255, hole.astype(np.float32))
            res_u8 = ours.inpaint(image, hole * 255)
            hh = hole > 0
            rows.append({"release": "AOT-GAN", "layout": layout, "size": f"{h}×{w}",
                         "net_max": float(net.max()), "net_mean": float(net.mean()),
                         "inpaint_hole_max_float": float(np.abs(ours_f - rel_f)[hh].max()),
                         "inpaint_hole_max_levels": int(np.abs(res_u8.astype(int) - rel_u8.astype(int))[hh].max()),
                         "outside_identical": bool(np.array_equal(res_u8[~hh], image[~hh]))})
            print(rows[-1], flush=True)
    return rows
