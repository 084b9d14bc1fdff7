"""LaMa (advimman/lama) beside its inpaintzoo port: the release's own generator and pipeline, random weights.

The release's FFCResNetGenerator is imported from a checkout (`--lama PATH`); what it imports and big-lama does
not use (kornia's rotation, Lightning's seed helper) is stubbed. Its weights are random, BatchNorm statistics
randomised too; the network is saved in the two layouts users hold:
- `big-lama.zip`: big-lama/config.yaml + big-lama/models/best.ckpt, a Lightning 1.2.9-style dict saved with
  pickle protocol 2, hyper-parameters as a real OmegaConf DictConfig (when omegaconf is installed);
- `big-lama.pt`: a TorchScript trace of the training module's forward, as the release's bin/to_jit.py makes it
  and IOPaint ships it.
Each is converted with `inpaintzoo convert`, and compared with the release:
- the generator's output on the same input (max/mean abs difference);
- `inpaint()` against the release's predict.py steps (its `pad_img_to_modulo`, mask > 0, the training module's
  compositing, crop, clip, uint8): float difference inside the hole, and pixels outside the hole.
"""
from __future__ import annotations

import sys
import types
import zipfile
from pathlib import Path

import numpy as np
import torch
from torch import nn

BIG_LAMA = dict(input_nc=4, output_nc=3, ngf=64, n_downsampling=3, n_blocks=18, add_out_act="sigmoid",
                init_conv_kwargs=dict(ratio_gin=0, ratio_gout=0, enable_lfu=False),
                downsample_conv_kwargs=dict(ratio_gin=0, ratio_gout=0, enable_lfu=False),
                resnet_conv_kwargs=dict(ratio_gin=0.75, ratio_gout=0.75, enable_lfu=False))


def release_modules(checkout: Path):
    """The release's generator class, discriminator class and its evaluation data helpers."""
    for name in ("kornia", "kornia.geometry", "kornia.geometry.transform"):
        sys.modules.setdefault(name, types.ModuleType(name))
    sys.modules["kornia.geometry.transform"].rotate = lambda *a, **k: None  # type: ignore[attr-defined]
    if "pytorch_lightning" not in sys.modules:
        pl = types.ModuleType("pytorch_lightning")
        pl.seed_everything = lambda *a, **k: None  # type: ignore[attr-defined]
        sys.modules["pytorch_lightning"] = pl
    sys.path.insert(0, str(checkout))
    import importlib.util

    # evaluation/data.py alone: the package's __init__ pulls in the evaluators and their dependencies
    spec = importlib.util.spec_from_file_location("lama_eval_data", checkout / "saicinpainting/evaluation/data.py")
    data = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(data)
    pad_img_to_modulo = data.pad_img_to_modulo
    from saicinpainting.training.modules.ffc import FFCResNetGenerator
    from saicinpainting.training.modules.pix2pixhd import NLayerDiscriminator

    return FFCResNetGenerator, NLayerDiscriminator, pad_img_to_modulo


def randomise(module: nn.Module, seed: int, calibrate: torch.Tensor) -> None:
    """Random weights with BatchNorm statistics calibrated on `calibrate` (so every layer works in range, as in a
    trained network) and random BN affine parameters; the output layer scaled so the sigmoid is neither flat nor
    saturated: a comparison that can see a difference anywhere in [0, 1]."""
    g = torch.Generator().manual_seed(seed)
    bns = [m for m in module.modules() if isinstance(m, nn.BatchNorm2d)]
    with torch.no_grad():
        for bn in bns:
            bn.weight.copy_(1 + 0.2 * torch.randn(bn.weight.shape, generator=g))
            bn.bias.copy_(0.2 * torch.randn(bn.bias.shape, generator=g))
            bn.momentum = 1.0  # one calibration pass sets the running statistics to the batch's
        module.train()
        module(calibrate)
        module.eval()
        for bn in bns:
            bn.momentum = 0.1
            bn.num_batches_tracked.fill_(1000)
        last = [m for m in module.modules() if isinstance(m, nn.Conv2d)][-1]
        scale = 1.5 / float(module(calibrate).logit().std().clamp_min(1e-6))
        last.weight.mul_(scale)
        if last.bias is not None:
            last.bias.mul_(scale)


class TrainingModuleForward(nn.Module):
    """The release's DefaultInpaintingTrainingModule.forward in inference: hole-zeroed image ‖ mask → generator,
    composited with the input outside the hole (what predict.py reads as 'inpainted')."""

    def __init__(self, generator: nn.Module):
        super().__init__()
        self.generator = generator

    def forward(self, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        predicted = self.generator(torch.cat([image * (1 - mask), mask], dim=1))
        return mask * predicted + (1 - mask) * image


class JITWrapper(nn.Module):
    """bin/to_jit.py's wrapper: the module lives at `.model`, so the trace's keys are model.generator.model.N.*."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.model(image, mask)


def save_lightning_zip(path: Path, generator: nn.Module, discriminator: nn.Module) -> Path:
    state = {f"generator.{k}": v for k, v in generator.state_dict().items()}
    state.update({f"discriminator.{k}": v for k, v in discriminator.state_dict().items()})
    try:
        from omegaconf import OmegaConf

        hparams = OmegaConf.create({"generator": {"kind": "ffc_resnet", **BIG_LAMA}, "training_model": {"kind": "default"}})
        hparams_type = type(hparams)
    except ImportError:
        hparams, hparams_type = {"generator": {"kind": "ffc_resnet"}}, dict
    ckpt = {"epoch": 39, "global_step": 1_000_000, "pytorch-lightning_version": "1.2.9", "callbacks": {},
            "lr_schedulers": [], "state_dict": state, "hparams_name": "kwargs", "hyper_parameters": hparams,
            "hparams_type": hparams_type}
    raw = path.with_suffix(".ckpt")
    torch.save(ckpt, raw, pickle_protocol=2)
    with zipfile.ZipFile(path, "w") as z:
        z.write(raw, "big-lama/models/best.ckpt")
        z.writestr("big-lama/config.yaml", "generator:\n  kind: ffc_resnet\n")
    raw.unlink()
    return path


def release_predict(module: nn.Module, pad_img_to_modulo, image: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """predict.py's steps for one image: float [0, 1] CHW, both padded symmetric to 8, mask > 0, forward,
    crop; returns the float result (HWC) and the uint8 file it writes (clip, astype: truncation)."""
    img = np.transpose(image, (2, 0, 1)).astype("float32") / 255
    msk = (mask[None].astype("float32") / 255)
    h, w = mask.shape
    img_p, msk_p = pad_img_to_modulo(img, 8), pad_img_to_modulo(msk, 8)
    with torch.no_grad():
        t_img, t_msk = torch.from_numpy(img_p)[None], torch.from_numpy(msk_p)[None]
        t_msk = (t_msk > 0) * 1
        out = module(t_img, t_msk.float())[0].permute(1, 2, 0).numpy()[:h, :w]
    return out, np.clip(out * 255, 0, 255).astype("uint8")


def run(checkout: Path, work: Path, sizes: list[tuple[int, int]]) -> list[dict]:
    from inpaintzoo import load
    from inpaintzoo.cli import main

    FFCResNetGenerator, NLayerDiscriminator, pad_img_to_modulo = release_modules(checkout)
    torch.manual_seed(0)
    gen = FFCResNetGenerator(**BIG_LAMA).eval()
    randomise(gen, 0, torch.rand(4, 4, 128, 128))
    disc = NLayerDiscriminator(input_nc=3, ndf=64, n_layers=4)
    module = TrainingModuleForward(gen).eval()
    files = {"big-lama.zip (Lightning)": save_lightning_zip(work / "big-lama.zip", gen, disc)}
    with torch.no_grad():
        trace = torch.jit.trace(JITWrapper(module), (torch.rand(1, 3, 120, 120), torch.rand(1, 1, 120, 120)), strict=False)
    trace.save(str(work / "big-lama.pt"))
    files["big-lama.pt (IOPaint TorchScript)"] = work / "big-lama.pt"
    rows = []
    rng = np.random.default_rng(0)
    for layout, path in files.items():
        out = work / f"converted-{path.suffix[1:]}"
        assert main(["convert", "lama.big_lama", str(path), "--out", str(out), "--overwrite"]) == 0
        ours = load(out)  # as a user loads it: the contract's layout (contiguous for this release: bit for bit)
        for h, w in sizes:
            image = (rng.random((h, w, 3)) * 255).astype(np.uint8)
            mask = np.zeros((h, w), np.uint8)
            mask[h // 4: h // 2, w // 3: 2 * w // 3] = 255
            mask[h - h // 5:, w - w // 6:] = 255  # a hole touching the bottom-right corner (the padded strip)
            x = torch.from_numpy(image).permute(2, 0, 1)[None].float() / 255
            m = torch.from_numpy(mask)[None, None].float() / 255
            net = None
            if h % 8 == 0 and w % 8 == 0:  # the network itself, where no padding is involved
                with torch.no_grad():
                    net = (gen(torch.cat([x * (1 - m), m], 1)) - ours.run(x, m)[1]).abs()
            rel_float, rel_u8 = release_predict(module, pad_img_to_modulo, image, mask)
            res = ours.inpaint(image, mask)
            hole = mask > 0
            ours_float = ours.inpaint(image.astype(np.float32) / 255, hole.astype(np.float32))  # before quantising
            rows.append({
                "release": "lama big-lama", "layout": layout, "size": f"{h}×{w}",
                "net_max": float(net.max()) if net is not None else None,
                "net_mean": float(net.mean()) if net is not None else None,
                "inpaint_hole_max_float": float(np.abs(ours_float - rel_float)[hole].max()),
                "inpaint_hole_max_levels": int(np.abs(res.astype(int) - rel_u8.astype(int))[hole].max()),
                "outside_identical": bool(np.array_equal(res[~hole], image[~hole])),
            })
            print(rows[-1], flush=True)
    return rows
