"""NVAE's objective: logistic-mixture reconstruction, KL with warm-up and balancing, spectral regularisation."""
from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from pydantic import Field
from torch import Tensor, nn

from inpaintzoo.interfaces import ComponentConfig, LatentOutput, Loss, LossContext

from .distributions import DiscMixLogistic


class MixtureConfig(ComponentConfig):
    num_mixtures: int = Field(10, ge=1, description="must match the decoder's")
    num_bits: int = Field(8, ge=1)
    region: Literal["all", "hole", "valid"] = Field("all", description="pixels whose negative log-likelihood is summed")


class LogisticMixtureNLL(Loss):
    """−log p(x) under the discretised logistic mixture, summed over pixels, averaged over the batch (nats)."""

    Config = MixtureConfig

    def forward(self, ctx: LossContext) -> Tensor:
        nll = -DiscMixLogistic(ctx.raw, self.cfg.num_mixtures, self.cfg.num_bits).log_prob(ctx.target)  # B,H,W
        if self.cfg.region != "all":
            w = ctx.mask[:, 0] if self.cfg.region == "hole" else 1 - ctx.mask[:, 0]
            nll = nll * w
        return nll.flatten(1).sum(1).mean()

    def example_inputs(self, batch_size: int = 2) -> tuple:
        from inpaintzoo.testing import dummy_loss_context

        ctx = dummy_loss_context(batch_size)
        ctx.raw = torch.randn(batch_size, 10 * self.cfg.num_mixtures, 8, 8, requires_grad=True)
        return (ctx,)


class KLConfig(ComponentConfig):
    warmup_fraction: float = Field(0.3, ge=0, le=1, description="KL coefficient rises linearly over this fraction of training")
    constant_fraction: float = Field(1e-4, ge=0, le=1, description="fraction of training at the minimum coefficient first")
    min_coeff: float = Field(1e-4, gt=0)
    balance: bool = Field(True, description="KL balancing while the coefficient is below 1")


def kl_coeff(progress: float, warmup: float, constant: float, minimum: float) -> float:
    """NVAE: max(min((step − c·T) / (w·T), 1), min) with progress = step / T."""
    if warmup == 0:
        return 1.0
    return max(min((progress - constant) / warmup, 1.0), minimum)


def kl_balance(kl_all: Tensor, alpha: Tensor) -> tuple[Tensor, Tensor]:
    """NVAE's kl_balancer for kl_all [B, G]: per-group coefficients ∝ (mean|KL|+0.01)/α, mean 1 (detached)."""
    coeff = kl_all.abs().mean(0, keepdim=True) + 0.01
    total = coeff.sum()
    coeff = coeff / alpha.unsqueeze(0) * total
    coeff = coeff / coeff.mean(dim=1, keepdim=True)
    return (kl_all * coeff.detach()).sum(1), coeff.squeeze(0)


class WarmupKL(Loss):
    """Σ_groups KL with NVAE's linear warm-up and KL balancing (α ∝ 4^scale / groups per scale)."""

    Config = KLConfig

    def forward(self, ctx: LossContext) -> Tensor:
        lat: LatentOutput = ctx.latent
        if not lat.kl:
            return ctx.pred.new_zeros(())
        kl_all = torch.stack(list(lat.kl.values()), dim=1)
        beta = kl_coeff(ctx.progress, self.cfg.warmup_fraction, self.cfg.constant_fraction, self.cfg.min_coeff)
        alpha = lat.extras.get("kl_alpha")
        if self.cfg.balance and beta < 1.0 and alpha is not None:
            kl, _ = kl_balance(kl_all, alpha.to(kl_all))
        else:
            kl = kl_all.sum(1)
        return beta * kl.mean()

    def example_inputs(self, batch_size: int = 2) -> tuple:
        from inpaintzoo.testing import dummy_loss_context

        ctx = dummy_loss_context(batch_size)
        ctx.latent.kl["g1"] = torch.rand(batch_size, requires_grad=True)
        ctx.latent.extras["kl_alpha"] = torch.tensor([1.0, 4.0])
        return (ctx,)


class SpectralConfig(ComponentConfig):
    num_iter: int = Field(4, ge=1, description="power iterations per step")
    first_iter: int = Field(40, ge=1, description="power iterations on the first step")
    bn_penalty: bool = Field(True, description="add Σ max|γ| over BatchNorm layers")
    include_se: bool = Field(False, description="also regularise the squeeze-excitation convs (timm's SE is made of 1×1 "
                                                "convs; the release's SE is nn.Linear and is not regularised)")


class SpectralRegularizer(Loss):
    """Σ largest singular value of every conv (batched power iteration, persistent u, v) + Σ max|γ| of BN.

    Which layers are regularised, and how their weights group by shape, is worked out once per model and
    cached; only the stacking of the current weights happens each step. The u, v vectors are training
    state (checkpointed by the loop), not weights of the published model.
    """

    Config = SpectralConfig

    def __init__(self, cfg: SpectralConfig):
        super().__init__(cfg)
        self._uv: dict[str, tuple[Tensor, Tensor]] = {}
        self._layers: tuple[int, list[tuple[str, list[nn.Conv2d]]], list[nn.Module]] | None = None

    def train_state(self) -> dict[str, Tensor]:
        return {f"{k}/{i}": t for k, (u, v) in self._uv.items() for i, t in (("u", u), ("v", v))}

    def load_train_state(self, state: dict[str, Tensor]) -> None:
        keys = {k.rsplit("/", 1)[0] for k in state}
        self._uv = {k: (state[f"{k}/u"].clone(), state[f"{k}/v"].clone()) for k in keys}

    def layers(self, model: nn.Module) -> tuple[list[tuple[str, list[nn.Conv2d]]], list[nn.Module]]:
        """(conv groups by weight shape, affine BN layers) of `model`, computed once per model."""
        if self._layers is None or self._layers[0] != id(model):
            from timm.layers import SEModule

            named = [(n, m) for n, m in model.named_modules() if not n.startswith("losses.")]
            skip = tuple(f"{n}." for n, m in named if isinstance(m, SEModule)) if not self.cfg.include_se else ()
            groups: dict[tuple, tuple[str, list[nn.Conv2d]]] = {}
            for n, m in named:
                if isinstance(m, nn.Conv2d) and not (skip and n.startswith(skip)):
                    shape = tuple(m.weight.shape)
                    groups.setdefault(shape, ("x".join(map(str, shape)) + ":" + n, []))[1].append(m)
            bns = [m for _, m in named if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.affine]
            self._layers = (id(model), list(groups.values()), bns)
        return self._layers[1], self._layers[2]

    def sigma(self, groups: list[tuple[str, list[Tensor]]]) -> Tensor:
        """Largest singular value of each weight (flattened to out × rest), summed.

        Training: batched power iteration per weight shape with persistent u, v (NVAE). Evaluation: the
        exact value, so a reported loss does not depend on training state.
        """
        if not self.training:
            return sum(torch.linalg.matrix_norm(w.reshape(w.shape[0], -1), ord=2) for _, ws in groups for w in ws)
        total = None
        for key, ws in groups:
            W = torch.stack([w.reshape(w.shape[0], -1) for w in ws])  # G, out, in
            with torch.no_grad():
                if key in self._uv and self._uv[key][0].shape[0] == len(ws):
                    u, v = self._uv[key]
                    n_iter = self.cfg.num_iter
                else:
                    u = F.normalize(torch.randn(W.shape[0], W.shape[1], device=W.device), dim=1, eps=1e-3)
                    v = F.normalize(torch.randn(W.shape[0], W.shape[2], device=W.device), dim=1, eps=1e-3)
                    n_iter = self.cfg.first_iter
                Wd = W.detach()
                for _ in range(n_iter):
                    v = F.normalize(torch.bmm(u.unsqueeze(1), Wd).squeeze(1), dim=1, eps=1e-3)
                    u = F.normalize(torch.bmm(Wd, v.unsqueeze(2)).squeeze(2), dim=1, eps=1e-3)
                self._uv[key] = (u, v)
            s = torch.bmm(u.unsqueeze(1), torch.bmm(W, v.unsqueeze(2))).sum()
            total = s if total is None else total + s
        return total if total is not None else torch.zeros(())

    def forward(self, ctx: LossContext) -> Tensor:
        model: nn.Module = ctx.model if ctx.model is not None else self
        groups, bns = self.layers(model)
        loss = self.sigma([(k, [m.weight for m in ms]) for k, ms in groups]) if groups else ctx.pred.new_zeros(())
        if self.cfg.bn_penalty:
            for m in bns:
                loss = loss + m.weight.abs().max()
        return loss

    def example_inputs(self, batch_size: int = 2) -> tuple:
        from inpaintzoo.testing import dummy_loss_context

        ctx = dummy_loss_context(batch_size)
        probe = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4))
        ctx.model = probe
        return (ctx,)
