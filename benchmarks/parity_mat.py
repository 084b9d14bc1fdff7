"""MAT (fenglinglwb/MAT) beside its inpaintzoo port: the release's generator and generate_image.py's steps.

The release's `networks/mat.py` Generator is imported from a checkout (`--mat PATH`; it needs its `torch_utils`
and `dnnlib`, whose CUDA ops fall back to their reference code on a CPU) at 512², with random weights (PyTorch's
initialisation, random biases and noise strengths, the to-RGB layers scaled so 99 % of the output lies in ±0.5),
saved as the two state dicts users hold: IOPaint's (`use_noise=False`: no noise inputs) and one saved from the
authors' network (noise inputs, run with generate_image.py's `noise_mode='const'`). Each is converted with
`inpaintzoo convert` and loaded as a user loads it. The same draws on both sides: `inpaint(..., seed=S)` draws z
and then the two dropout maps from torch's generator seeded with `image_seed(S, 0)`; the release is given that z
after the same seeding, and its dropouts follow in the same stream.

Compared per photo (ImageNet samples, `--photos DIR`): the network output on the contract's 512² input, and
`inpaint()` against generate_image.py's steps (u8 / 127.5 − 1, mask 1 = valid, the generator's composite,
`(x·127.5 + 127.5).round().clamp(0, 255)`), at 512² and at 333×517 (resized to 512² by the contract; the release
runs at 512² only, so there it is given the same resized input). One row also draws the noise fields
(noise_mode='random' against `decoder.random_noise`).
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch
from PIL import Image


def release_generator(checkout: Path, use_noise: bool) -> torch.nn.Module:
    if str(checkout) not in sys.path:
        sys.path.insert(0, str(checkout))
    from networks.mat import Generator

    torch.manual_seed(0)
    return Generator(z_dim=512, c_dim=0, w_dim=512, img_resolution=512, img_channels=3,
                     synthesis_kwargs={"use_noise": use_noise}).eval()


def randomise(gen: torch.nn.Module, seed: int) -> None:
    """Random biases and noise strengths; every to-RGB layer of a stage scaled so that stage's output stays in
    ±0.5 for 99 % of the pixels (the RGB branch is linear in those weights)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in gen.named_parameters():
            if name.endswith("noise_strength"):
                p.copy_(0.3 * torch.randn([], generator=g))
            elif name.endswith("bias"):
                p.copy_(0.1 * torch.randn(p.shape, generator=g))
        x = torch.rand(1, 3, 512, 512, generator=g) * 2 - 1
        valid = torch.ones(1, 1, 512, 512)
        valid[..., 128:384, 96:320] = 0
        z = torch.randn(1, 512, generator=g)
        for stage in (gen.synthesis.first_stage.dec_conv, gen.synthesis.dec):
            torch.manual_seed(1)
            img, stg1 = gen(x, valid, z, None, noise_mode="const", return_stg1=True)
            out = stg1 if stage is gen.synthesis.first_stage.dec_conv else img
            scale = 0.5 / float((out * (1 - valid)).abs().flatten().quantile(0.99))
            for name, m in stage.named_modules():
                if name.endswith("toRGB"):
                    m.conv.weight.mul_(scale)
                    m.bias.mul_(scale)


def photos(folder: Path, n: int = 3) -> list[np.ndarray]:
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in (".jpeg", ".jpg", ".png"))[:n]
    return [np.asarray(Image.open(p).convert("RGB")) for p in files]


def crop(image: np.ndarray, h: int, w: int) -> np.ndarray:
    """A centre crop of h×w, the photo first scaled so its shorter side covers it (PIL bicubic)."""
    ih, iw = image.shape[:2]
    s = max(h / ih, w / iw)
    im = Image.fromarray(image).resize((max(w, round(iw * s)), max(h, round(ih * s))), Image.BICUBIC)
    a = np.asarray(im)
    top, left = (a.shape[0] - h) // 2, (a.shape[1] - w) // 2
    return np.ascontiguousarray(a[top:top + h, left:left + w])


def hole_of(h: int, w: int) -> np.ndarray:
    """A large box and a border strip: MAT's use (large holes)."""
    hole = np.zeros((h, w), np.uint8)
    hole[h // 5: 3 * h // 5, w // 4: 3 * w // 4] = 1
    hole[h - h // 6:, : w // 3] = 1
    return hole


def convert(gen: torch.nn.Module, name: str, work: Path):
    from inpaintzoo import load
    from inpaintzoo.cli import main

    torch.save(gen.state_dict(), work / f"{name}.pth")
    out = work / f"{name}-converted"
    assert main(["convert", "mat.release", str(work / f"{name}.pth"), "--out", str(out), "--overwrite"]) == 0
    return load(out)


def release_pipeline(gen, levels: np.ndarray, hole: np.ndarray, seed: int,
                     noise_mode: str) -> tuple[torch.Tensor, np.ndarray]:
    """generate_image.py on a 512² image of 8-bit levels (u8, or the float levels of a resized photo): the float
    output in [−1, 1] and the 8-bit file."""
    x = torch.from_numpy(levels.transpose(2, 0, 1).copy()).float()[None] / 127.5 - 1
    valid = torch.from_numpy(1 - hole.astype(np.float32))[None, None]
    torch.manual_seed(seed)
    z = torch.randn(1, 512)
    out = gen(x, valid, z, None, truncation_psi=1, noise_mode=noise_mode)
    u8 = (out.permute(0, 2, 3, 1) * 127.5 + 127.5).round().clamp(0, 255).to(torch.uint8)[0].numpy()
    return out, u8


def run(checkout: Path, work: Path, folder: Path, seed: int = 7) -> list[dict]:
    from inpaintzoo import contract as C
    from inpaintzoo.model import image_seed

    rows = []
    s = image_seed(seed, 0)  # what inpaint(seed=seed) seeds image 0 with
    for layout, use_noise, mode in (("IOPaint state dict (no noise)", False, "none"),
                                    ("authors' state dict (noise)", True, "const")):
        gen = release_generator(checkout, use_noise)
        randomise(gen, 0)
        ours = convert(gen, "mat-noise" if use_noise else "mat-iopaint", work)
        runs = [(mode, False)] + ([("random", True)] if use_noise else [])
        for i, photo in enumerate(photos(folder)):
            for h, w in ((512, 512), (333, 517)):
                image, hole = crop(photo, h, w), hole_of(h, w)
                for noise_mode, random_noise in runs if i == 0 else runs[:1]:
                    ours.decoder.cfg.random_noise = random_noise
                    x01 = torch.from_numpy(image.transpose(2, 0, 1).copy()).float()[None] / 255
                    m = torch.from_numpy(hole.astype(np.float32))[None, None]
                    xn, mn, how = C.to_network_size(x01, m, ours.contract)
                    exact = (h, w) == (512, 512)  # the contract's input is then the photo's own 8-bit levels
                    levels = (xn * 255)[0].permute(1, 2, 0).numpy()  # resized: float levels, as inpaint() has them
                    theirs, rel_u8 = release_pipeline(gen, levels, mn[0, 0].numpy().astype(np.uint8), s, noise_mode)
                    with torch.random.fork_rng():
                        torch.manual_seed(s)
                        _, pred, _, _ = ours.run(xn, mn)
                    composite = pred * mn + (xn * 255 / 127.5 - 1) * (1 - mn)
                    net_d = (composite - theirs).abs()
                    f = ours.inpaint(image.astype(np.float32) / 255, hole.astype(np.float32), seed=seed)
                    u8 = ours.inpaint(image, hole * 255, seed=seed)
                    hh = hole > 0
                    if exact:
                        rel_f = ((theirs.clamp(-1, 1) + 1) / 2)[0].permute(1, 2, 0).numpy()
                        fl = float(np.abs(f - rel_f)[hh].max())
                        lv = int(np.abs(u8.astype(int) - rel_u8.astype(int))[hh].max())
                    else:  # the release's 512² result brought back by the contract, as inpaint() does
                        back = C.from_network_size(((theirs.clamp(-1, 1) + 1) / 2), how)[0].permute(1, 2, 0).numpy()
                        fl, lv = float(np.abs(f - back)[hh].max()), None
                    rows.append({"release": "MAT", "layout": layout, "size": f"{h}×{w}",
                                 "part": f"inpaint(seed=), noise_mode={noise_mode}, photo {i}",
                                 "net_max": float(net_d.max()), "net_mean": float(net_d.mean()),
                                 "inpaint_hole_max_float": fl, "inpaint_hole_max_levels": lv,
                                 "outside_identical": bool(np.array_equal(u8[~hh], image[~hh]))})
                    print(rows[-1], flush=True)
        ours.decoder.cfg.random_noise = False
    return rows


if __name__ == "__main__":
    import tempfile

    torch.set_grad_enabled(False)
    with tempfile.TemporaryDirectory() as tmp:
        run(Path(sys.argv[1]), Path(tmp), Path(sys.argv[2]))
