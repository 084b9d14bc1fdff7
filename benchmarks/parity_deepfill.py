"""DeepFill v2 beside its inpaintzoo port: mmagic's own modules and its inpaintor's test-time steps.

mmagic's DeepFillEncoderDecoder is built from a checkout (`--mmagic PATH`; needs `pip install mmengine mmcv-lite`)
by its own config (`configs/_base_/models/base_deepfillv2.py`'s `encdec`) through a minimal stand-in for its
registry (the modules register by name and build each other from config dicts, as mmagic's does). Random
weights (mmagic's N(0, 0.02) initialisation, random biases), saved as its checkpoint layout (`state_dict` with
`generator.*` beside a discriminator), converted, and compared at two sizes: the generator's refined output,
and `inpaint()` against TwoStageInpaintor.forward_tensor's steps (BGR [−1, 1], holes 0, ones ‖ mask appended,
composite) and its 8-bit output (clamp, (x + 1)·127.5, truncation).
"""
from __future__ import annotations

import importlib.util
import runpy
import sys
import types
from pathlib import Path

import numpy as np
import torch

FILES = ["archs/gated_conv_module.py", "editors/global_local/gl_dilation.py", "editors/global_local/gl_encoder_decoder.py",
         "editors/deepfillv1/contextual_attention.py", "editors/deepfillv1/contextual_attention_neck.py",
         "editors/deepfillv1/deepfill_encoder.py", "editors/deepfillv1/deepfill_decoder.py",
         "editors/deepfillv1/deepfill_refiner.py", "editors/deepfillv2/two_stage_encoder_decoder.py"]


def mmagic_encdec(checkout: Path, config: str = "base_deepfillv2.py"):
    classes: dict = {}

    class Registry:
        @staticmethod
        def register_module(*a, **k):
            def add(cls):
                classes[cls.__name__] = cls
                return cls
            return add

        @staticmethod
        def build(cfg):
            cfg = dict(cfg)
            return classes[cfg.pop("type")](**cfg)

    def module(name: str) -> types.ModuleType:
        if name not in sys.modules:
            sys.modules[name] = types.ModuleType(name)
        return sys.modules[name]

    module("mmagic")
    module("mmagic.registry").MODELS = Registry
    for rel in FILES:
        dotted = "mmagic.models." + rel[:-3].replace("/", ".")
        spec = importlib.util.spec_from_file_location(dotted, checkout / "mmagic/models" / rel)
        mod = importlib.util.module_from_spec(spec)
        sys.modules[dotted] = mod
        spec.loader.exec_module(mod)
        if rel.startswith("archs/"):
            module("mmagic.models.archs").SimpleGatedConvModule = mod.SimpleGatedConvModule
    cfg = runpy.run_path(str(checkout / "configs/_base_/models" / config))["model"]["encdec"]
    return Registry.build(cfg)


def randomise(net: torch.nn.Module, seed: int) -> None:
    """Weights scaled by fan-in so signals neither vanish nor explode through the ~50 gated layers and the contextual
    attention's softmax is neither flat nor one-hot; the output layers then scaled so both stages' tanh outputs
    span most of (−1, 1)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in net.named_parameters():
            if name.endswith("weight"):
                p.copy_(1.4 / p[0].numel() ** 0.5 * torch.randn(p.shape, generator=g))
            else:
                p.copy_(0.1 * torch.randn(p.shape, generator=g))
        x = torch.rand(1, 5, 256, 256) * 2 - 1
        x[:, 3], x[:, 4] = 1, 0
        x[:, 4, 64:128, 80:170] = 1
        for stage in (net.stage1, net.stage2):  # the output layers, so each stage's tanh output spans (−1, 1)
            conv = stage.decoder.dec7.conv
            conv = getattr(conv, "conv", conv)  # v2's gated layer nests mmcv's ConvModule; v1's is one
            for _ in range(3):
                z = {}
                hook = stage.decoder.dec7.register_forward_hook(lambda m, i, o: z.setdefault("z", o))
                net(x)
                hook.remove()
                mean, std = float(z["z"].mean()), float(z["z"].std().clamp_min(1e-6))
                conv.weight[:3].mul_(0.8 / std)
                conv.bias[:3].mul_(0.8 / std)
                conv.bias[:3].sub_(mean * 0.8 / std)


def inpaintor(encdec, image: np.ndarray, hole: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """forward_tensor at test time: masked BGR image in [−1, 1] (hole 127.5 → 0), ones, mask; composite."""
    bgr = torch.from_numpy(image[..., ::-1].copy()).permute(2, 0, 1)[None].float()
    m = torch.from_numpy(hole)[None, None].float()
    masked = (bgr * (1 - m) + 127.5 * m - 127.5) / 127.5
    with torch.no_grad():
        _, stage2 = encdec(torch.cat([masked, torch.ones_like(m), m], 1))
    fake = stage2 * m + masked * (1 - m)
    f = ((fake.clamp(-1, 1) + 1) / 2)[0].permute(1, 2, 0).numpy()[..., ::-1]
    return f, (f * 255).astype(np.uint8)


def attention_row(checkout: Path) -> dict:
    """The contextual attention alone, on random features: the release's module against ours."""
    from inpaintzoo_deepfill.attention import ContextualAttention

    theirs = sys.modules["mmagic.models.editors.deepfillv1.contextual_attention"].ContextualAttentionModule(softmax_scale=10)
    x = torch.randn(2, 96, 64, 64, generator=torch.Generator().manual_seed(0))
    m = torch.zeros(2, 1, 64, 64)
    m[0, :, 10:40, 20:50] = 1
    m[1, :, 30:60, 0:25] = 1
    with torch.no_grad():
        d = (theirs(x, x, m)[0] - ContextualAttention(10.0)(x, m)).abs()
    return {"release": "DeepFill v2", "layout": "contextual attention alone", "size": "64×64 features, batch 2",
            "net_max": float(d.max()), "net_mean": float(d.mean())}


def run(checkout: Path, work: Path, version: int = 2) -> list[dict]:
    from inpaintzoo import load
    from inpaintzoo.cli import main

    encdec = mmagic_encdec(checkout, f"base_deepfillv{version}.py").eval()
    randomise(encdec, 0)
    state = {f"generator.{k}": v for k, v in encdec.state_dict().items()}
    state["disc.model.conv1.conv.weight"] = torch.zeros(64, 4, 5, 5)
    torch.save({"meta": {"mmagic": "1.x"}, "state_dict": state}, work / f"deepfillv{version}.pth")
    out = work / f"deepfillv{version}-converted"
    assert main(["convert", f"deepfillv{version}-places", str(work / f"deepfillv{version}.pth"), "--out", str(out),
                 "--overwrite"]) == 0
    ours = load(out)  # as a user loads it: the contract's layout (contiguous for this release: bit for bit)
    rows = [attention_row(checkout)] if version == 2 else []
    rng = np.random.default_rng(0)
    for h, w in ((256, 256), (200, 328)):
        image = (rng.random((h, w, 3)) * 255).astype(np.uint8)
        hole = np.zeros((h, w), np.uint8)
        hole[h // 4: h // 2, w // 3: 2 * w // 3] = 1
        hole[h - h // 6:, : w // 5] = 1
        net = None
        if h % 8 == 0 and w % 8 == 0:
            x = torch.from_numpy(image).permute(2, 0, 1)[None].float() / 255
            m = torch.from_numpy(hole)[None, None].float()
            masked = ((x.flip(1) * 255 - 127.5) / 127.5) * (1 - m)  # mmagic's arithmetic on the 8-bit levels
            with torch.no_grad():
                theirs = encdec(torch.cat([masked, torch.ones_like(m), m], 1))[1].flip(1)
                net = (theirs - ours.run(x, m)[1]).abs()
        rel_f, rel_u8 = inpaintor(encdec, image, hole)
        ours_f = ours.inpaint(image.astype(np.float32) / 255, hole.astype(np.float32))
        res_u8 = ours.inpaint(image, hole * 255)
        hh = hole > 0
        rows.append({"release": f"DeepFill v{version}", "layout": "mmagic checkpoint", "size": f"{h}×{w}",
                     "net_max": float(net.max()) if net is not None else None,
                     "net_mean": float(net.mean()) if net is not None else None,
                     "inpaint_hole_max_float": float(np.abs(ours_f - rel_f)[hh].max()),
                     "inpaint_hole_max_levels": int(np.abs(res_u8.astype(int) - rel_u8.astype(int))[hh].max()),
                     "outside_identical": bool(np.array_equal(res_u8[~hh], image[~hh]))})
        print(rows[-1], flush=True)
    return rows
