"""Core latent stages: a deterministic pass-through and a diagonal Gaussian bottleneck."""
from __future__ import annotations

from typing import Any, ClassVar

import torch
from pydantic import Field
from torch import Tensor, nn

from ..interfaces import ComponentConfig, LatentOutput, LatentPrior


class IdentityConfig(ComponentConfig):
    pass


class IdentityPrior(LatentPrior):
    """No latent variable: the coarsest feature map goes to the decoder, all maps as skips."""

    Config = IdentityConfig

    def forward(self, features: list[Tensor], labels: Tensor | None = None, mask: Tensor | None = None) -> LatentOutput:
        return LatentOutput(h=features[-1], skips=list(features))

    def example_inputs(self, batch_size: int = 2) -> tuple:
        return ([torch.randn(batch_size, 4, 8, 8), torch.randn(batch_size, 8, 4, 4)],)


class GaussianConfig(ComponentConfig):
    derive: ClassVar[dict[str, Any]] = {"channels": lambda r, d: r["encoder"].channels[-1]}
    channels: int = Field(16, ge=1, description="channels of the coarsest encoder feature")
    latent_channels: int = Field(8, ge=1)


class GaussianPrior(LatentPrior):
    """A per-pixel diagonal Gaussian posterior on the coarsest map with an N(0, I) prior (a plain VAE)."""

    Config = GaussianConfig

    def __init__(self, cfg: GaussianConfig):
        super().__init__(cfg)
        self.to_params = nn.Conv2d(cfg.channels, 2 * cfg.latent_channels, 1)
        self.from_latent = nn.Conv2d(cfg.latent_channels, cfg.channels, 1)

    def forward(self, features: list[Tensor], labels: Tensor | None = None, mask: Tensor | None = None) -> LatentOutput:
        mu, log_sigma = self.to_params(features[-1]).chunk(2, dim=1)
        log_sigma = log_sigma.clamp(-10, 5)
        z = mu + torch.randn_like(mu) * log_sigma.exp() if self.training else mu
        kl = 0.5 * (mu.pow(2) + (2 * log_sigma).exp() - 1 - 2 * log_sigma)
        return LatentOutput(h=self.from_latent(z), skips=None, kl={"z": kl.flatten(1).sum(1)})

    def example_inputs(self, batch_size: int = 2) -> tuple:
        return ([torch.randn(batch_size, self.cfg.channels, 4, 4)],)
