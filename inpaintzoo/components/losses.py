"""Core losses: pixel reconstruction and the KL terms a latent prior reports."""
from __future__ import annotations

from typing import Literal

import torch
from pydantic import Field
from torch import Tensor

from ..interfaces import ComponentConfig, Loss, LossContext


class PixelConfig(ComponentConfig):
    region: Literal["all", "hole", "valid"] = Field("all", description="pixels the loss averages over")


def _region_mean(err: Tensor, mask: Tensor, region: str) -> Tensor:
    if region == "all":
        return err.mean()
    w = mask if region == "hole" else 1.0 - mask
    w = w.expand_as(err)
    return (err * w).sum() / w.sum().clamp_min(1.0)


class L1(Loss):
    """Mean absolute error between the decoded image and the target, over a chosen region."""

    Config = PixelConfig

    def forward(self, ctx: LossContext) -> Tensor:
        return _region_mean((ctx.pred - ctx.target).abs(), ctx.mask, self.cfg.region)


class L2(Loss):
    """Mean squared error between the decoded image and the target, over a chosen region."""

    Config = PixelConfig

    def forward(self, ctx: LossContext) -> Tensor:
        return _region_mean((ctx.pred - ctx.target).pow(2), ctx.mask, self.cfg.region)


class KLConfig(ComponentConfig):
    pass


class KL(Loss):
    """Sum of the prior's per-group KL terms, averaged over the batch (no warm-up, no balancing)."""

    Config = KLConfig

    def forward(self, ctx: LossContext) -> Tensor:
        if not ctx.latent.kl:
            return ctx.pred.new_zeros(())
        return torch.stack([v for v in ctx.latent.kl.values()], dim=1).sum(1).mean()
