"""Latent diffusion's inpainting checkpoint (`models/ldm/inpainting_big/last.ckpt`, a Lightning checkpoint of
`LatentDiffusion`) → an inpaintzoo model folder.

Its `state_dict` holds the U-Net (`model.diffusion_model.*`), its exponential moving average (`model_ema.*`, names
without dots), the VQ autoencoder (`first_stage_model.*`; `cond_stage_model.*` is the same module, saved twice) and
the noise schedule's buffers. The release samples inside `ema_scope()`, which swaps the averaged weights in: so do
we (the EMA's tensors are read in place of the U-Net's when the file has them). The duplicate autoencoder and the
schedule are checked (equal to the first stage; equal to the schedule computed from the spec's β range) and dropped.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from pydantic import Field
from torch import Tensor

from inpaintzoo.convert import CheckpointConverter, ConvertError
from inpaintzoo.interfaces import ComponentConfig

RULES = [
    (r"model\.diffusion_model\.(.+)$", lambda m: f"prior.diffusion_model.{m[1]}"),
    (r"first_stage_model\.(encoder|quant_conv)\.(.+)$", lambda m: f"encoder.{m[1]}.{m[2]}"),
    (r"first_stage_model\.(decoder|post_quant_conv|quantize)\.(.+)$", lambda m: f"decoder.{m[1]}.{m[2]}"),
]
SCHEDULE = ("betas", "alphas_cumprod", "alphas_cumprod_prev", "sqrt_alphas_cumprod", "sqrt_one_minus_alphas_cumprod",
            "log_one_minus_alphas_cumprod", "sqrt_recip_alphas_cumprod", "sqrt_recipm1_alphas_cumprod",
            "posterior_variance", "posterior_log_variance_clipped", "posterior_mean_coef1", "posterior_mean_coef2",
            "lvlb_weights", "logvar")
DROPPED = {"cond_stage_model.": "the first stage saved again (the same module; checked equal)",
           "model_ema.": "the U-Net's moving average: read in place of model.diffusion_model.* (the release samples "
                         "inside ema_scope)",
           **{k: "the noise schedule (checked against the one the spec's β range gives)" for k in SCHEDULE}}


class LDMReleaseConfig(ComponentConfig):
    zoo: str = Field("ldm-inpainting-big", description="the zoo entry whose spec the converted model takes")


class LDMConverter(CheckpointConverter):
    """last.ckpt of CompVis' inpainting_big → ldm.vq_encoder / ldm.ddim / ldm.vq_decoder weights (EMA U-Net)."""

    Config = LDMReleaseConfig
    source_help = "last.ckpt of latent-diffusion's inpainting_big (models/ldm/inpainting_big)"
    rules = RULES
    dropped = DROPPED

    def read(self, source: Path) -> dict[str, Tensor]:
        state = super().read(source)
        if not any(k.startswith("model.diffusion_model.") for k in state):
            raise ConvertError(f"{source}: not a latent-diffusion checkpoint (no model.diffusion_model.* tensors)")
        for key in [k for k in state if k.startswith("model.diffusion_model.")]:
            ema = "model_ema.diffusion_model" + key[len("model.diffusion_model."):].replace(".", "")
            if ema in state:
                state[key] = state[ema]
        for key in [k for k in state if k.startswith("cond_stage_model.")]:
            first = "first_stage_model." + key[len("cond_stage_model."):]
            if first not in state or not torch.equal(state[first], state[key]):
                raise ConvertError(f"{source}: {key} differs from {first}; this converter reads the inpainting model, "
                                   f"whose conditioning encoder is its first stage")
        if "alphas_cumprod" in state:
            cfg = self.spec().get("prior", {})
            betas = np.linspace(cfg.get("linear_start", 0.0015) ** 0.5, cfg.get("linear_end", 0.0205) ** 0.5,
                                cfg.get("timesteps", 1000)) ** 2
            want = torch.tensor(np.cumprod(1.0 - betas), dtype=torch.float32)
            got = state["alphas_cumprod"]
            if got.shape != want.shape or not torch.allclose(got.float(), want, rtol=0, atol=1e-6):
                raise ConvertError(f"{source}: alphas_cumprod is not the spec's noise schedule (β linear in √β from "
                                   f"{cfg.get('linear_start', 0.0015)} to {cfg.get('linear_end', 0.0205)})")
        return state
