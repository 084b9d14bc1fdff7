"""Latent-diffusion inpainting as three components:

- `ldm.vq_encoder`: the VQ-f4 encoder (+ `quant_conv`) of the masked image, and the mask resized to the latent
  (nearest; as the release's scripts/inpaint.py computes it, from the mask mapped to ±1): the conditioning c;
- `ldm.ddim`: the denoising U-Net and DDIM sampling in the latent space from N(0, I) noise, the U-Net seeing the
  noisy latent ‖ c at every step (`concat` conditioning), `steps` steps (the release's default 50), η = `eta`;
- `ldm.vq_decoder`: quantisation to the codebook, `post_quant_conv` and the VQ decoder: the image in [−1, 1].

The image reaches the encoder in [−1, 1] with holes black (−1): the release's (1 − m)·x·2 − 1.
"""
from __future__ import annotations

from typing import ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from pydantic import Field
from torch import Tensor

from inpaintzoo.interfaces import ComponentConfig, Decoder, Encoder, LatentOutput, LatentPrior

from .unet import UNet
from .vq import Quantizer, VQDecoder, VQEncoder


class VQConfig(ComponentConfig):
    ch: int = Field(128, ge=32, multiple_of=32, description="the autoencoder's base width (GroupNorm(32) needs ×32)")
    ch_mult: list[int] = Field([1, 2, 4], min_length=1, description="width multiples per level (len − 1 halvings)")
    num_res_blocks: int = Field(2, ge=1)
    z_channels: int = Field(3, ge=1, description="latent channels")
    image_channels: int = Field(3, ge=1)


class VQDecoderConfig(VQConfig):
    n_embed: int = Field(8192, ge=1, description="codebook size")


class DDIMConfig(ComponentConfig):
    steps: int = Field(50, ge=1, le=1000, description="DDIM sampling steps (the release's scripts/inpaint.py: 50)")
    eta: float = Field(0.0, ge=0.0, description="DDIM η: 0 is deterministic given the initial noise")
    timesteps: int = Field(1000, ge=1, description="the diffusion's training steps")
    linear_start: float = Field(0.0015, gt=0.0, description="β schedule: linear in √β from √start to √end")
    linear_end: float = Field(0.0205, gt=0.0)
    latent_channels: int = Field(3, ge=1, description="channels of the latent being denoised")
    model_channels: int = Field(256, ge=32, multiple_of=32)
    channel_mult: list[int] = Field([1, 2, 3, 4], min_length=1)
    num_res_blocks: int = Field(2, ge=1)
    attention_resolutions: list[int] = Field([8, 4, 2], description="downsampling rates with self-attention")
    num_heads: int = Field(8, ge=1)


class LDMEncoder(Encoder):
    """`encoder` and `quant_conv` of the release's first stage (its `cond_stage_model` is the same module)."""

    Config = VQConfig

    def __init__(self, cfg: VQConfig):
        super().__init__(cfg)
        self.encoder = VQEncoder(cfg.image_channels, cfg.ch, cfg.ch_mult, cfg.num_res_blocks, cfg.z_channels)
        self.quant_conv = torch.nn.Conv2d(cfg.z_channels, cfg.z_channels, 1)

    def forward(self, x: Tensor, mask: Tensor) -> list[Tensor]:
        c = self.quant_conv(self.encoder(x))
        return [torch.cat([c, F.interpolate(mask * 2.0 - 1.0, size=c.shape[-2:])], dim=1)]

    def example_inputs(self, batch_size: int = 2) -> tuple:
        mask = torch.zeros(batch_size, 1, 32, 32)
        mask[..., 8:20, 8:24] = 1
        return torch.rand(batch_size, self.cfg.image_channels, 32, 32) * 2 - 1, mask

    @classmethod
    def example_config(cls, workdir) -> VQConfig:
        return VQConfig(ch=32, ch_mult=[1, 2], num_res_blocks=1)


def schedule(cfg: DDIMConfig) -> tuple[Tensor, Tensor]:
    """The DDIM steps, and per step ᾱ_t of the release's DDPM (β linear in √β, float64, cumulative product, then
    float32), ᾱ of the previous DDIM step (ᾱ_0 before the first) and √(1 − ᾱ_t), as its sampler computes them: the
    square root by numpy in float32 (torch's vectorised sqrt differs from it by one ulp on some of these values)."""
    root = torch.linspace(cfg.linear_start ** 0.5, cfg.linear_end ** 0.5, cfg.timesteps, dtype=torch.float64)
    betas = (root ** 2).numpy()
    alphas_cumprod = torch.tensor(np.cumprod(1.0 - betas, axis=0), dtype=torch.float32)
    steps = np.asarray(list(range(0, cfg.timesteps, cfg.timesteps // cfg.steps))) + 1
    a = alphas_cumprod[steps]
    prev = torch.cat([alphas_cumprod[:1], alphas_cumprod[steps[:-1]]])
    return torch.from_numpy(steps), torch.stack([a, prev, torch.from_numpy(np.sqrt((1.0 - a).numpy()))])


class DDIMPrior(LatentPrior):
    """Denoises N(0, I) noise into the latent with DDIM, the U-Net conditioned on c by concatenation."""

    Config = DDIMConfig
    samples: ClassVar[bool] = True

    def __init__(self, cfg: DDIMConfig):
        super().__init__(cfg)
        c = cfg.latent_channels
        self.diffusion_model = UNet(c * 2 + 1, c, cfg.model_channels, cfg.channel_mult, cfg.num_res_blocks,
                                    cfg.attention_resolutions, cfg.num_heads)

    def forward(self, features: list[Tensor], labels: Tensor | None = None, mask: Tensor | None = None) -> LatentOutput:
        from inpaintzoo.progressbar import steps as progress

        cond = features[-1]
        n = cond.shape[0]
        steps, (alphas, prev, sqrt_one_minus) = schedule(self.cfg)
        img = torch.randn((n, self.cfg.latent_channels, *cond.shape[-2:]), device=cond.device)
        total = len(steps)
        with progress(total if total >= 10 else 0, "DDIM sampling", "steps") as advance:
            for i, step in enumerate(np.flip(steps.numpy())):
                index = total - i - 1
                t = torch.full((n,), int(step), device=cond.device, dtype=torch.long)
                e_t = self.diffusion_model(torch.cat([img, cond], dim=1), t)
                img = self.ddim_step(img, e_t, alphas[index], prev[index], sqrt_one_minus[index])
                advance(1)
        return LatentOutput(h=img)

    def ddim_step(self, x: Tensor, e_t: Tensor, alpha: Tensor, alpha_prev: Tensor, sqrt_one_minus: Tensor) -> Tensor:
        """x_{t−1} from x_t and the predicted noise, in the release's order of operations (`p_sample_ddim`)."""
        n, dev = x.shape[0], x.device
        a_t = torch.full((n, 1, 1, 1), float(alpha), device=dev)
        a_prev = torch.full((n, 1, 1, 1), float(alpha_prev), device=dev)
        sqrt_one_minus_at = torch.full((n, 1, 1, 1), float(sqrt_one_minus), device=dev)
        a, ap = float(alpha), float(alpha_prev)
        sigma = self.cfg.eta * float(np.sqrt((1 - ap) / (1 - a) * (1 - a / ap)))
        sigma_t = torch.full((n, 1, 1, 1), sigma, device=dev)
        pred_x0 = (x - sqrt_one_minus_at * e_t) / a_t.sqrt()
        dir_xt = (1.0 - a_prev - sigma_t ** 2).sqrt() * e_t
        x_prev = a_prev.sqrt() * pred_x0 + dir_xt
        if sigma:  # the release draws this noise at every step and multiplies it by σ = 0 when η = 0
            x_prev = x_prev + sigma_t * torch.randn(x.shape, device=dev)
        return x_prev

    def example_inputs(self, batch_size: int = 2) -> tuple:
        c = self.cfg.latent_channels
        return ([torch.randn(batch_size, c + 1, 8, 8)],)

    @classmethod
    def example_config(cls, workdir) -> DDIMConfig:
        return DDIMConfig(steps=2, model_channels=32, channel_mult=[1, 2], num_res_blocks=1, attention_resolutions=[2],
                          num_heads=2)


class LDMDecoder(Decoder):
    """`quantize`, `post_quant_conv` and `decoder` of the release's first stage (`decode_first_stage`)."""

    Config = VQDecoderConfig

    def __init__(self, cfg: VQDecoderConfig):
        super().__init__(cfg)
        self.quantize = Quantizer(cfg.n_embed, cfg.z_channels)
        self.post_quant_conv = torch.nn.Conv2d(cfg.z_channels, cfg.z_channels, 1)
        self.decoder = VQDecoder(cfg.image_channels, cfg.ch, cfg.ch_mult, cfg.num_res_blocks, cfg.z_channels)

    def forward(self, h: Tensor, skips: list[Tensor] | None = None) -> Tensor:
        return self.decoder(self.post_quant_conv(self.quantize(h)))

    def example_inputs(self, batch_size: int = 2) -> tuple:
        return torch.randn(batch_size, self.cfg.z_channels, 8, 8), None

    @classmethod
    def example_config(cls, workdir) -> VQDecoderConfig:
        return VQDecoderConfig(ch=32, ch_mult=[1, 2], num_res_blocks=1, n_embed=16)
