"""CausalVAE's objective, each term a weighted loss in the spec (defaults: the reference's weights)."""
from __future__ import annotations

import math
from typing import Literal

import torch
import torch.nn.functional as F
from pydantic import Field
from torch import Tensor

from inpaintzoo.interfaces import ComponentConfig, LatentOutput, Loss, LossContext

from .dag import acyclicity


def _extras(ctx: LossContext, *keys: str) -> list[Tensor]:
    missing = [k for k in keys if k not in ctx.latent.extras]
    if missing:
        raise ValueError(f"needs the causal layer's {', '.join(missing)} (labels must be given for the prior terms)")
    return [ctx.latent.extras[k] for k in keys]


class ElboConfig(ComponentConfig):
    eps_weight: float = Field(0.3, ge=0, description="KL(N(ε, I) ‖ N(0, I)) weight (reference 0.3)")
    z_weight: float = Field(1.0, ge=0, description="Σ_i KL(N(z_i, I) ‖ p(z_i|u_i)) weight (reference 1)")
    fz_weight: float = Field(1.0, ge=0, description="Σ_i KL(N(f(z)_i, I) ‖ p(z_i|u_i)) weight (reference 1)")
    style_weight: float = Field(0.0, ge=0, description="weight of KL(N(s, I) ‖ N(0, I)) = ½‖s‖² on the layer's style "
                                                        "latents (`style_dims`); 0 leaves them an unregularised code, as "
                                                        "the shipped causal-nvae-faces64 was trained")


class CausalKL(Loss):
    """The KL terms of CausalVAE's ELBO: posteriors with unit variance as released; the concept prior's variance
    is the layer's `prior_std`² (1 as released) (batch mean)."""

    Config = ElboConfig

    def forward(self, ctx: LossContext) -> Tensor:
        eps, z, fz, pm = _extras(ctx, "eps", "z", "fz", "prior_mean")
        s2 = float(ctx.latent.extras.get("prior_std", 1.0)) ** 2
        kl_eps = 0.5 * eps.pow(2).flatten(1).sum(1)
        # KL(N(x, I) ‖ N(λ, σ²I)) per dimension = ½[(1 + (x − λ)²)/σ² − 1 + ln σ²]: ½(x − λ)² when σ = 1, as released
        const = 0.0 if s2 == 1.0 else 0.5 * (1.0 / s2 - 1.0 + math.log(s2)) * z[0].numel()
        kl_z = 0.5 * (z - pm).pow(2).flatten(1).sum(1) / s2 + const
        kl_fz = 0.5 * (fz - pm).pow(2).flatten(1).sum(1) / s2 + const
        total = self.cfg.eps_weight * kl_eps + self.cfg.z_weight * kl_z + self.cfg.fz_weight * kl_fz
        style = ctx.latent.extras.get("style")
        if style is not None and self.cfg.style_weight:
            total = total + self.cfg.style_weight * 0.5 * style.pow(2).sum(1)
        return total.mean()

    def example_inputs(self, batch_size: int = 2) -> tuple:
        return (_causal_ctx(batch_size),)


class LabelConfig(ComponentConfig):
    pass


class LabelLoss(Loss):
    """MSE(g(Aᵀu), u) in the causal layer's label space: λ(u) by default, the raw labels as released
    (`label_space = "raw"`, which lets the widest-ranged concept dominate the objective)."""

    Config = LabelConfig

    def forward(self, ctx: LossContext) -> Tensor:
        pred, labels = _extras(ctx, "label_pred", "labels")
        return F.mse_loss(pred, labels)

    def example_inputs(self, batch_size: int = 2) -> tuple:
        return (_causal_ctx(batch_size),)


class DagConfig(ComponentConfig):
    multiplier: float = Field(3.0, ge=0, description="initial Lagrange multiplier λ (reference: 3)")
    penalty: float = Field(1.0, gt=0, description="initial quadratic penalty c (reference: 1, i.e. 0.5·h²)")
    update_every: int = Field(100, ge=1, description="steps between multiplier updates")
    growth: float = Field(10.0, ge=1, description="c ← c·growth when h(A) fell by less than `progress_ratio`")
    progress_ratio: float = Field(0.25, gt=0, le=1)
    max_penalty: float = Field(1e6, gt=0)
    l1: float = Field(0.0, ge=0, description="L1 sparsity weight on A (the reference's is commented out)")
    faithful_fixed_multipliers: bool = Field(False, description="the reference: λ = 3 and c = 1 fixed, never updated")


class DagPenalty(Loss):
    """Augmented Lagrangian λ·h(A) + c/2·h(A)² (+ L1), with λ and c actually updated during training.

    Every `update_every` steps: λ ← λ + c·h(A); c ← c·growth unless h(A) fell below progress_ratio of its
    value at the previous update. λ and c are training state, checkpointed by the loop.
    """

    Config = DagConfig

    def __init__(self, cfg: DagConfig):
        super().__init__(cfg)
        self.lam = float(cfg.multiplier)
        self.c = float(cfg.penalty)
        self.h_prev = float("inf")
        self.steps = 0

    def train_state(self) -> dict:
        return {"lam": self.lam, "c": self.c, "h_prev": self.h_prev if self.h_prev != float("inf") else -1.0, "steps": self.steps}

    def load_train_state(self, s: dict) -> None:
        self.lam, self.c, self.steps = float(s["lam"]), float(s["c"]), int(s["steps"])
        self.h_prev = float("inf") if s["h_prev"] < 0 else float(s["h_prev"])

    def forward(self, ctx: LossContext) -> Tensor:
        (A,) = _extras(ctx, "A")
        h = acyclicity(A)
        return self.lam * h + 0.5 * self.c * h * h + self.cfg.l1 * A.abs().sum()

    def after_step(self, ctx: LossContext) -> None:
        if self.cfg.faithful_fixed_multipliers:
            return
        self.steps += 1
        if self.steps % self.cfg.update_every:
            return
        with torch.no_grad():
            h = float(acyclicity(ctx.latent.extras["A"].detach()))
        self.lam += self.c * h
        if h > self.cfg.progress_ratio * self.h_prev:
            self.c = min(self.c * self.cfg.growth, self.cfg.max_penalty)
        self.h_prev = h

    def example_inputs(self, batch_size: int = 2) -> tuple:
        return (_causal_ctx(batch_size),)


class BernoulliConfig(ComponentConfig):
    scale: Literal["pixel_sum", "release"] = Field(
        "pixel_sum", description="'pixel_sum': −log p(x) summed over every pixel and channel (nats per image); 'release': "
                                 "the released code's value, BCE summed over the image width only and averaged over the "
                                 "rest, i.e. the per-image sum ÷ (C·H) (1/384 at 4×96×96)")


class BernoulliNLL(Loss):
    """−log p(x) for a Bernoulli decoder: BCE with logits summed over pixels, batch mean (target in [0, 1]).

    The release sums over the last axis only and then takes the mean, which scales reconstruction by 1/(C·H)
    against the label and KL terms; `scale = "release"` reproduces that balance (seed-systems §3.3).
    """

    Config = BernoulliConfig

    def forward(self, ctx: LossContext) -> Tensor:
        bce = F.binary_cross_entropy_with_logits(ctx.raw, ctx.target.clamp(0, 1), reduction="none")
        if self.cfg.scale == "release":
            return bce.sum(-1).mean()
        return bce.flatten(1).sum(1).mean()


def _causal_ctx(batch_size: int) -> LossContext:
    from inpaintzoo.testing import dummy_loss_context

    ctx = dummy_loss_context(batch_size)
    g = torch.Generator().manual_seed(1)
    K, d = 3, 2
    A = (torch.rand(K, K, generator=g) * (1 - torch.eye(K))).requires_grad_()
    labels = torch.rand(batch_size, K, generator=g)
    ctx.latent = LatentOutput(h=ctx.pred, extras={
        "eps": torch.randn(batch_size, K, d, generator=g, requires_grad=True),
        "z": torch.randn(batch_size, K, d, generator=g, requires_grad=True),
        "fz": torch.randn(batch_size, K, d, generator=g, requires_grad=True),
        "prior_mean": labels.unsqueeze(-1).expand(-1, -1, d),
        "labels": labels,
        "label_pred": (labels @ A),
        "A": A,
    })
    return ctx
