"""MEDFE (KumapowerLIU/Rethinking-Inpainting-MEDFE) beside its inpaintzoo port, in the release's computation.

The release's Encoder, Decoder and PCblock are imported from a checkout (`--medfe PATH`; the repository is large:
its models/ and util/ folders are all it needs). Its `.cuda()` calls are made no-ops so it runs on the CPU. The
networks get the release's N(0, 0.02) initialisation (`init_weights`, which also overwrites the partial
convolutions' all-ones mask kernels, as in the released files) and random InstanceNorm affine parameters, and
are saved in the three layouts its `save_networks` writes or users hold: the CPU state dict, the GPU form
{'net', 'optimize'}, and a DataParallel state dict (`module.` keys). Each folder is converted with `inpaintzoo
convert`, and compared at 256² with a centre and an irregular hole: the generator output (before compositing)
and `inpaint()` against test.py's steps ([-1, 1], mean-colour fill, composite, truncation to uint8); and a batch
of two against the release run one sample at a time (the release takes batch 1 only).
"""
from __future__ import annotations

import functools
import sys
from pathlib import Path

import numpy as np
import torch
from torch import nn

MEAN_COLOUR = (123.0, 104.0, 117.0)


def release_networks(checkout: Path, seed: int = 0):
    torch.Tensor.cuda = lambda self, *a, **k: self  # type: ignore[method-assign]  # the release calls .cuda() inline
    sys.path.insert(0, str(checkout))
    from models.Decoder import Decoder
    from models.Encoder import Encoder
    from models.networks import PCblock, init_weights

    torch.manual_seed(seed)
    norm = functools.partial(nn.InstanceNorm2d, affine=True)
    stde: list = []
    nets = {"EN": Encoder(6, 3, 64, norm_layer=norm), "DE": Decoder(6, 3, 64, norm_layer=norm), "MEDFE": PCblock(stde)}
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for net in nets.values():
            init_weights(net, "normal", 0.02)
            for m in net.modules():
                if isinstance(m, nn.InstanceNorm2d) and m.affine:
                    m.weight.copy_(1 + 0.2 * torch.randn(m.weight.shape, generator=g))
                    m.bias.copy_(0.2 * torch.randn(m.bias.shape, generator=g))
            net.eval()
    return nets, stde[0]


def save_layouts(nets: dict, work: Path) -> dict[str, Path]:
    out = {}
    for layout in ("cpu", "gpu", "dataparallel"):
        folder = work / f"medfe-{layout}"
        folder.mkdir(parents=True, exist_ok=True)
        for name, net in nets.items():
            state = net.state_dict()
            if layout == "gpu":
                opt = torch.optim.Adam(net.parameters(), lr=2e-4, betas=(0.5, 0.999))
                obj = {"net": state, "optimize": opt.state_dict()}
            elif layout == "dataparallel":
                obj = {f"module.{k}": v for k, v in state.items()}
            else:
                obj = state
            torch.save(obj, folder / f"20_net_{name}.pth")
        out[{"cpu": "CPU state dict", "gpu": "GPU {'net', 'optimize'}", "dataparallel": "DataParallel module."}[layout]] = folder
    return out


def release_forward(nets: dict, inner, detail: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """models/MEDFE.py set_input + forward for one sample: detail in [-1, 1], mask 1 = hole (1×1×H×W)."""
    mask_global = mask[0][0][None, None].byte()
    input_de = detail.clone()
    for c, v in enumerate(MEAN_COLOUR):
        input_de.narrow(1, c, 1).masked_fill_(mask_global.bool(), 2 * v / 255.0 - 1.0)
    inv = 1 - mask_global.expand(1, 3, *mask.shape[-2:]).float()
    inner.set_target(detail, detail)
    feats = nets["EN"](torch.cat([input_de, inv], 1))
    x_out = nets["MEDFE"](list(feats), mask_global)
    return nets["DE"](*x_out)


def release_test(nets: dict, inner, image: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """test.py for one image: img2tensor, msk2tensor, forward, composite, (x+1)/2·255, astype(uint8)."""
    detail = (torch.Tensor(image / 255.0).permute(2, 0, 1)[None] - 0.5) / 0.5
    m = torch.Tensor(mask > 0)[None, None].float()
    fake = release_forward(nets, inner, detail, m)
    out = fake * m + detail * (1 - m)
    img = ((out + 1) / 2.0)[0].numpy().transpose(1, 2, 0)
    return img, (img * 255).astype(np.uint8)


def masks(size: int = 256) -> dict[str, np.ndarray]:
    centre = np.zeros((size, size), np.uint8)
    centre[size // 4: 3 * size // 4, size // 4: 3 * size // 4] = 255
    from PIL import Image, ImageDraw

    irregular = Image.new("L", (size, size), 0)
    d = ImageDraw.Draw(irregular)
    d.line([(20, 30), (120, 200), (230, 90)], fill=255, width=22)
    d.ellipse([150, 150, 220, 240], fill=255)
    return {"centre": centre, "irregular": np.asarray(irregular).copy()}


def run(checkout: Path, work: Path) -> list[dict]:
    from inpaintzoo import load
    from inpaintzoo.cli import main

    nets, inner = release_networks(checkout)
    rows = []
    rng = np.random.default_rng(0)
    images = [(rng.random((256, 256, 3)) * 255).astype(np.uint8) for _ in range(2)]
    for layout, folder in save_layouts(nets, work).items():
        out = work / f"converted-{folder.name}"
        assert main(["convert", "medfe.release", str(folder), "--out", str(out), "--overwrite"]) == 0
        ours = load(out).to(memory_format=torch.contiguous_format)  # the release's layout: bit for bit
        for hole, mask in masks().items():
            image = images[0]
            x = torch.from_numpy(image).permute(2, 0, 1)[None].float() / 255
            m = torch.from_numpy(mask > 0)[None, None].float()
            with torch.no_grad():
                theirs = release_forward(nets, inner, (x - 0.5) / 0.5, m)
                net = (theirs - ours.run(x, m)[1]).abs()
            rel_float, rel_u8 = release_test(nets, inner, image, mask)
            res = ours.inpaint(image, mask)
            ours_float = ours.inpaint(image.astype(np.float32) / 255, (mask > 0).astype(np.float32))
            h = mask > 0
            rows.append({"release": "MEDFE", "layout": layout, "size": f"256×256 {hole}",
                         "net_max": float(net.max()), "net_mean": float(net.mean()),
                         "inpaint_hole_max_float": float(np.abs(ours_float - rel_float)[h].max()),
                         "inpaint_hole_max_levels": int(np.abs(res.astype(int) - rel_u8.astype(int))[h].max()),
                         "outside_identical": bool(np.array_equal(res[~h], image[~h]))})
            print(rows[-1], flush=True)
        # a batch of two against the release run one at a time
        mask = masks()["irregular"]
        batch = np.stack(images)
        res = ours.inpaint(batch.astype(np.float32) / 255, (mask > 0).astype(np.float32))
        worst = max(float(np.abs(res[i] - release_test(nets, inner, images[i], mask)[0])[mask > 0].max()) for i in range(2))
        rows.append({"release": "MEDFE", "layout": layout, "size": "256×256 batch of 2 vs one at a time",
                     "inpaint_hole_max_float": worst})
        print(rows[-1], flush=True)
    return rows
