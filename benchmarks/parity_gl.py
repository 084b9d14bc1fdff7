"""Global&Local beside its inpaintzoo port: mmagic's own modules and its inpaintor's test-time steps.

mmagic's GLEncoderDecoder is built from a folder holding its package and configs (`--mmagic PATH`, as
parity_deepfill.py; needs mmengine and mmcv-lite) by its own config (`configs/_base_/models/base_gl.py`, SyncBN as
plain batch norm: the same computation at inference), through parity_deepfill.py's stand-in registry (mmcv-lite has
no `Deconv`: torch's ConvTranspose2d is registered under that name, as mmagic's full install does). Random weights
and batch-norm statistics, eval mode, saved as its checkpoint layout (`state_dict` with `generator.*` beside a
discriminator key), converted with `inpaintzoo convert` and compared at two sizes: the network output, and
`inpaint()` against GLInpaintor.forward_tensor's steps (BGR [−1, 1], holes 0, image ‖ mask, composite) and its
8-bit output ((x + 1)·127.5, truncated).

    python benchmarks/release_parity.py --mmagic /tmp/mmco --name release_parity_mmagic
"""
from __future__ import annotations

import importlib.util
import runpy
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
from parity_deepfill import mmagic_encdec  # noqa: E402


def mmagic_gl(checkout: Path):
    from mmengine.registry import MODELS
    from torch import nn

    if "Deconv" not in MODELS.module_dict:
        MODELS.register_module("Deconv", module=nn.ConvTranspose2d)
    mmagic_encdec(checkout)  # the stand-in registry, and GLDilationNeck / GLEncoderDecoder registered in it
    for rel in ("editors/global_local/gl_encoder.py", "editors/global_local/gl_decoder.py"):
        dotted = "mmagic.models." + rel[:-3].replace("/", ".")
        spec = importlib.util.spec_from_file_location(dotted, checkout / "mmagic/models" / rel)
        mod = importlib.util.module_from_spec(spec)
        sys.modules[dotted] = mod
        spec.loader.exec_module(mod)
    cfg = dict(runpy.run_path(str(checkout / "configs/_base_/models/base_gl.py"))["model"]["encdec"])
    for part in ("encoder", "decoder", "dilation_neck"):
        cfg[part] = {**cfg[part], "norm_cfg": {"type": "BN"}}
    return sys.modules["mmagic.registry"].MODELS.build(cfg)


def randomise(net: torch.nn.Module, seed: int) -> None:
    """Weights by fan-in, batch-norm statistics and affine parameters random, so no layer saturates or vanishes."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in net.named_parameters():
            if name.endswith("conv.weight"):
                p.copy_(1.4 / p[0].numel() ** 0.5 * torch.randn(p.shape, generator=g))
            else:
                p.copy_(0.1 * torch.randn(p.shape, generator=g) + (1.0 if name.endswith("bn.weight") else 0.0))
        for name, b in net.named_buffers():
            if name.endswith("running_mean"):
                b.copy_(0.1 * torch.randn(b.shape, generator=g))
            elif name.endswith("running_var"):
                b.copy_(0.5 + torch.rand(b.shape, generator=g))


def convert_mmagic(net: torch.nn.Module, entry: str, work: Path, extra: dict | None = None):
    """`net`'s weights saved as an mmagic checkpoint (`state_dict` with `generator.*`, plus `extra` keys), converted
    with `inpaintzoo convert ENTRY` and loaded back as a user loads it."""
    from inpaintzoo import load
    from inpaintzoo.cli import main

    state = {**{f"generator.{k}": v for k, v in net.state_dict().items()}, **(extra or {})}
    torch.save({"meta": {"mmagic": "1.x"}, "state_dict": state}, work / f"{entry}.pth")
    out = work / f"{entry}-converted"
    assert main(["convert", entry, str(work / f"{entry}.pth"), "--out", str(out), "--overwrite"]) == 0
    return load(out)


def sample(rng: np.random.Generator, h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    """A random h×w RGB image and a 0/1 hole of two boxes (one touching the border)."""
    image = (rng.random((h, w, 3)) * 255).astype(np.uint8)
    hole = np.zeros((h, w), np.uint8)
    hole[h // 4: h // 2, w // 3: 2 * w // 3] = 1
    hole[h - h // 6:, : w // 5] = 1
    return image, hole


def run(checkout: Path, work: Path) -> list[dict]:
    net = mmagic_gl(checkout).eval()
    randomise(net, 0)
    ours = convert_mmagic(net, "gl-places", work, {"disc.global_disc.conv1.conv.weight": torch.zeros(64, 3, 5, 5)})
    rows = []
    rng = np.random.default_rng(0)
    for h, w in ((256, 256), (200, 328)):
        image, hole = sample(rng, h, w)
        bgr = torch.from_numpy(image[..., ::-1].copy()).permute(2, 0, 1)[None].float()
        m = torch.from_numpy(hole)[None, None].float()
        masked = (bgr * (1 - m) + 127.5 * m - 127.5) / 127.5
        with torch.no_grad():
            theirs = net(torch.cat([masked, m], 1))
            x = torch.from_numpy(image).permute(2, 0, 1)[None].float() / 255
            net_d = (theirs.flip(1) - ours.run(x, m)[1]).abs()
        rows.append({"release": "Global&Local", "layout": "mmagic checkpoint", "size": f"{h}×{w}",
                     "net_max": float(net_d.max()), "net_mean": float(net_d.mean()),
                     **against_pipeline(ours, theirs, masked, image, hole)})
        print(rows[-1], flush=True)
    return rows


def against_pipeline(ours, theirs: torch.Tensor, masked: torch.Tensor, image: np.ndarray, hole: np.ndarray) -> dict:
    """`inpaint()` against mmagic's test-time steps on the network output `theirs` (BGR [−1, 1]): composite with the
    masked input, then its 8-bit image ((x + 1)·127.5, truncated)."""
    m = torch.from_numpy(hole)[None, None].float()
    fake = theirs * m + masked * (1 - m)
    rel_f = ((fake.clamp(-1, 1) + 1) / 2)[0].permute(1, 2, 0).numpy()[..., ::-1]
    rel_u8 = (rel_f * 255).astype(np.uint8)
    ours_f = ours.inpaint(image.astype(np.float32) / 255, hole.astype(np.float32))
    res_u8 = ours.inpaint(image, hole * 255)
    hh = hole > 0
    return {"inpaint_hole_max_float": float(np.abs(ours_f - rel_f)[hh].max()),
            "inpaint_hole_max_levels": int(np.abs(res_u8.astype(int) - rel_u8.astype(int))[hh].max()),
            "outside_identical": bool(np.array_equal(res_u8[~hh], image[~hh]))}
