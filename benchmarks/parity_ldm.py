"""Latent-diffusion inpainting (CompVis/latent-diffusion, `inpainting_big`) beside its inpaintzoo port.

The release's modules are imported from checkouts (`--ldm PATH` of latent-diffusion, `--taming PATH` of
taming-transformers for its `VectorQuantizer2`): the U-Net (`openaimodel.UNetModel` with inpainting_big's config),
the VQ-f4 encoder and decoder (`diffusionmodules/model.py`), and the DDIM sampler (`models/diffusion/ddim.py`)
driving a stand-in for `LatentDiffusion` that holds what the sampler reads: the schedule, registered as
`DDPM.register_schedule` computes it from `make_beta_schedule`, and `apply_model` as its `concat` wrapper
(`cat([x_t, c], 1)` into the U-Net). The stand-in keeps the sampler's buffers on the CPU: the release's
`DDIMSampler.register_buffer` moves them to CUDA unconditionally and fails on a machine without a GPU.
Random weights (every parameter, scaled by fan-in; the U-Net's output layer scaled so ε̂ has unit spread, the
decoder's so images stay in ±0.7), saved as a Lightning checkpoint as the release's last.ckpt (EMA copy, duplicate
`cond_stage_model`, schedule buffers), converted with `inpaintzoo convert`, loaded as a user loads it.

Compared: one U-Net step and the VQ decode (deterministic parts); the whole sampler from the same initial noise;
and `inpaint(..., seed=S, steps=N)` against scripts/inpaint.py's steps (`make_batch`, encode, mask to ±1 and
resized, `sampler.sample(S=N)`, `decode_first_stage`, composite, `astype(uint8)`) on photos at 256² and 200×296
(padded to 224×320 by the contract; the release is given the same padded input).
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch

UNET = dict(image_size=64, in_channels=7, out_channels=3, model_channels=256, attention_resolutions=[8, 4, 2],
            num_res_blocks=2, channel_mult=[1, 2, 3, 4], num_heads=8, resblock_updown=True)
VQ = dict(attn_type="none", double_z=False, z_channels=3, resolution=256, in_channels=3, out_ch=3, ch=128,
          ch_mult=[1, 2, 4], num_res_blocks=2, attn_resolutions=[], dropout=0.0)


def release_modules(ldm: Path, taming: Path):
    for p in (str(ldm), str(taming)):
        if p not in sys.path:
            sys.path.insert(0, p)
    from ldm.models.diffusion.ddim import DDIMSampler
    from ldm.modules.diffusionmodules.model import Decoder, Encoder
    from ldm.modules.diffusionmodules.openaimodel import UNetModel
    from ldm.modules.diffusionmodules.util import make_beta_schedule
    from taming.modules.vqvae.quantize import VectorQuantizer2

    class CPUSampler(DDIMSampler):
        def register_buffer(self, name, attr):  # the release's moves every tensor to CUDA
            setattr(self, name, attr)

    class Stand(torch.nn.Module):
        """What DDIMSampler reads of LatentDiffusion, computed as DDPM.register_schedule does."""

        def __init__(self):
            super().__init__()
            torch.manual_seed(0)
            self.diffusion_model = UNetModel(**UNET)
            self.encoder, self.decoder = Encoder(**VQ), Decoder(**VQ)
            self.quant_conv, self.post_quant_conv = torch.nn.Conv2d(3, 3, 1), torch.nn.Conv2d(3, 3, 1)
            self.quantize = VectorQuantizer2(8192, 3, beta=0.25)
            betas = make_beta_schedule("linear", 1000, linear_start=0.0015, linear_end=0.0205)
            alphas_cumprod = np.cumprod(1.0 - betas, axis=0)
            to_torch = lambda x: torch.tensor(x, dtype=torch.float32)  # noqa: E731
            self.num_timesteps = 1000
            self.register_buffer("betas", to_torch(betas))
            self.register_buffer("alphas_cumprod", to_torch(alphas_cumprod))
            self.register_buffer("alphas_cumprod_prev", to_torch(np.append(1.0, alphas_cumprod[:-1])))
            self.device = torch.device("cpu")

        def apply_model(self, x, t, c):
            return self.diffusion_model(torch.cat([x, c], dim=1), t)

        def encode(self, x):
            return self.quant_conv(self.encoder(x))

        def decode(self, z):
            quant, _, _ = self.quantize(z)
            return self.decoder(self.post_quant_conv(quant))

    return Stand().eval(), CPUSampler


def randomise(stand: torch.nn.Module, seed: int) -> None:
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in stand.named_parameters():
            if "embedding" in name:  # the codebook: N(0, 1), as the latents
                p.copy_(torch.randn(p.shape, generator=g))
            elif p.ndim == 1:
                p.copy_(0.05 * torch.randn(p.shape, generator=g))
            else:
                p.copy_(torch.randn(p.shape, generator=g) / p[0].numel() ** 0.5)
        for name, m in stand.named_modules():  # GroupNorm affine parameters near (1, 0)
            if isinstance(m, torch.nn.GroupNorm):
                m.weight.copy_(1 + 0.1 * torch.randn(m.weight.shape, generator=g))
                m.bias.copy_(0.1 * torch.randn(m.bias.shape, generator=g))
        x = torch.randn(1, 7, 32, 32, generator=g)
        e = stand.diffusion_model(x, torch.tensor([500]))
        stand.diffusion_model.out[2].weight.div_(float(e.std()))
        stand.diffusion_model.out[2].bias.div_(float(e.std()))
        img = stand.decode(torch.randn(1, 3, 32, 32, generator=g))
        s = 0.7 / float(img.abs().flatten().quantile(0.99))
        stand.decoder.conv_out.weight.mul_(s)
        stand.decoder.conv_out.bias.mul_(s)


def save_checkpoint(stand: torch.nn.Module, path: Path) -> None:
    """The release's last.ckpt layout: LatentDiffusion's state_dict inside a Lightning checkpoint."""
    sd = {}
    unet = {f"model.diffusion_model.{k}": v for k, v in stand.diffusion_model.state_dict().items()}
    sd.update(unet)
    sd.update({"model_ema.diffusion_model" + k[len("model.diffusion_model."):].replace(".", ""): v.clone()
               for k, v in unet.items()})
    sd.update({"model_ema.decay": torch.tensor(0.9999), "model_ema.num_updates": torch.tensor(1000, dtype=torch.int)})
    for prefix in ("first_stage_model.", "cond_stage_model."):
        for part in ("encoder", "decoder", "quant_conv", "post_quant_conv", "quantize"):
            sd.update({f"{prefix}{part}.{k}": v.clone() for k, v in getattr(stand, part).state_dict().items()})
    for k in ("betas", "alphas_cumprod", "alphas_cumprod_prev"):
        sd[k] = getattr(stand, k).clone()
    torch.save({"epoch": 1, "global_step": 1000, "state_dict": sd}, path)


def release_inpaint(stand, sampler_class, image: np.ndarray, hole: np.ndarray, seed: int, steps: int):
    """scripts/inpaint.py's steps on one image (u8 HWC) and 0/1 hole; the sample and the 8-bit result."""
    img = torch.from_numpy(image.astype(np.float32) / 255.0)[None].permute(0, 3, 1, 2)
    mask = torch.from_numpy(hole.astype(np.float32))[None, None]
    batch = {"image": img, "mask": mask, "masked_image": (1 - mask) * img}
    batch = {k: v * 2.0 - 1.0 for k, v in batch.items()}
    c = stand.encode(batch["masked_image"])
    c = torch.cat((c, torch.nn.functional.interpolate(batch["mask"], size=c.shape[-2:])), dim=1)
    torch.manual_seed(seed)
    samples, _ = sampler_class(stand).sample(S=steps, conditioning=c, batch_size=1, shape=(3,) + c.shape[2:], verbose=False)
    x = stand.decode(samples)
    image01 = torch.clamp((batch["image"] + 1.0) / 2.0, 0.0, 1.0)
    m01 = torch.clamp((batch["mask"] + 1.0) / 2.0, 0.0, 1.0)
    pred = torch.clamp((x + 1.0) / 2.0, 0.0, 1.0)
    inpainted = (1 - m01) * image01 + m01 * pred
    return pred, (inpainted.numpy().transpose(0, 2, 3, 1)[0] * 255).astype(np.uint8)


def run(ldm: Path, taming: Path, work: Path, folder: Path, steps: int = 5, full_steps: int = 50) -> list[dict]:
    import io
    from contextlib import redirect_stderr, redirect_stdout

    from inpaintzoo import contract as C
    from inpaintzoo import load
    from inpaintzoo.cli import main
    from inpaintzoo.model import image_seed

    sys.path.insert(0, str(Path(__file__).parent))
    from parity_mat import crop, hole_of, photos

    stand, Sampler = release_modules(ldm, taming)
    randomise(stand, 0)
    save_checkpoint(stand, work / "last-random.ckpt")
    assert main(["convert", "ldm.release", str(work / "last-random.ckpt"), "--out", str(work / "ours"), "--overwrite"]) == 0
    ours = load(work / "ours")
    rows = []
    g = torch.Generator().manual_seed(1)
    # deterministic parts: one U-Net step, the VQ decode
    x = torch.randn(1, 7, 64, 64, generator=g)
    t = torch.tensor([981])
    d_unet = (ours.prior.diffusion_model(x, t) - stand.diffusion_model(x, t)).abs().max()
    z = torch.randn(1, 3, 64, 64, generator=g)
    d_dec = (ours.decoder(z) - stand.decode(z)).abs().max()
    rows.append({"release": "LDM", "layout": "last.ckpt (EMA)", "size": "64² latent", "part": "U-Net step, t=981",
                 "net_max": float(d_unet)})
    rows.append({"release": "LDM", "layout": "last.ckpt (EMA)", "size": "64² latent → 256²", "part": "VQ decode",
                 "net_max": float(d_dec)})
    print(rows[-2], rows[-1], flush=True)
    seed = 11
    s = image_seed(seed, 0)
    for i, photo in enumerate(photos(folder, 2)):
        for (h, w), n in (((256, 256), full_steps if i == 0 else steps), ((200, 296), steps)):
            image, hole = crop(photo, h, w), hole_of(h, w)
            x01 = torch.from_numpy(image.transpose(2, 0, 1).copy()).float()[None] / 255
            m = torch.from_numpy(hole.astype(np.float32))[None, None]
            xp, mp, how = C.to_network_size(x01, m, ours.contract)
            levels = (xp * 255).round().clamp(0, 255)[0].permute(1, 2, 0).numpy().astype(np.uint8)
            with redirect_stdout(io.StringIO()), redirect_stderr(io.StringIO()):  # its schedule and tqdm bar
                pred, rel_u8p = release_inpaint(stand, Sampler, levels, mp[0, 0].numpy().astype(np.uint8), s, n)
            f = ours.inpaint(image.astype(np.float32) / 255, hole.astype(np.float32), seed=seed, steps=n)
            u8 = ours.inpaint(image, hole * 255, seed=seed, steps=n)
            back = C.from_network_size(pred, how)[0].permute(1, 2, 0).numpy()
            hh = hole > 0
            rel_u8 = C.from_network_size(torch.from_numpy(rel_u8p).permute(2, 0, 1)[None].float(), how)[0]
            levels = np.abs(u8.astype(int) - rel_u8.permute(1, 2, 0).numpy().round().astype(int))[hh]
            rows.append({"release": "LDM", "layout": "last.ckpt (EMA)", "size": f"{h}×{w}",
                         "part": f"inpaint(seed=, steps={n}), photo {i}",
                         "inpaint_hole_max_float": float(np.abs(f - back)[hh].max()),
                         "inpaint_hole_max_levels": int(levels.max()),
                         "outside_identical": bool(np.array_equal(u8[~hh], image[~hh]))})
            print(rows[-1], flush=True)
    return rows


if __name__ == "__main__":
    import tempfile

    torch.set_grad_enabled(False)
    with tempfile.TemporaryDirectory() as tmp:
        run(Path(sys.argv[1]), Path(sys.argv[2]), Path(tmp), Path(sys.argv[3]),
            full_steps=int(sys.argv[4]) if len(sys.argv) > 4 else 50)
