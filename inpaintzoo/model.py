"""A model composed from a spec: encoder → latent prior → decoder, plus its named losses."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor, nn

from . import contract as C
from .errors import InputError
from .interfaces import Decoder, Discriminator, Encoder, LatentOutput, LatentPrior, Loss, LossContext
from .spec import ModelSpec


@dataclass
class ModelOutput:
    """A training forward pass: raw decoder output, image, composite, every loss term by name."""

    raw: Tensor
    pred: Tensor
    composite: Tensor
    latent: LatentOutput
    features: list[Tensor]
    losses: dict[str, Tensor] = field(default_factory=dict)
    context: LossContext | None = None

    @property
    def loss(self) -> Tensor:
        """The weighted total the optimiser minimises (already weighted per term)."""
        return sum(self.losses.values()) if self.losses else torch.zeros(())


class InpaintModel(nn.Module):
    def __init__(
        self,
        spec: ModelSpec,
        encoder: Encoder,
        prior: LatentPrior,
        decoder: Decoder,
        losses: dict[str, Loss],
        discriminator: Discriminator | None = None,
    ):
        super().__init__()
        self.spec = spec
        self.contract = spec.contract
        self.encoder = encoder
        self.prior = prior
        self.decoder = decoder
        self.losses = nn.ModuleDict(losses)
        self.discriminator = discriminator
        self.loss_weights = {k: spec.losses[k].weight for k in losses}

    # -- the network, in normalised units ----------------------------------------------------------
    def network_input(self, image01: Tensor, mask: Tensor) -> Tensor:
        """Hole-filled, normalised image: what the encoder sees."""
        return C.normalize(C.fill_holes(image01, mask, self.contract), self.contract)

    def run(
        self, image01: Tensor, mask: Tensor, labels: Tensor | None = None, intervention: dict[str, float] | None = None
    ) -> tuple[Tensor, Tensor, LatentOutput, list[Tensor]]:
        x = self.network_input(image01, mask)
        features = self.encoder(x, mask)
        if intervention:
            latent = self.prior.intervene(features, intervention, labels, mask)
        else:
            latent = self.prior(features, labels, mask)
        raw = self.decoder(latent.h, latent.skips)
        return raw, self.decoder.to_image(raw), latent, features

    def forward(
        self,
        image: Tensor,
        mask: Tensor,
        labels: Tensor | None = None,
        progress: float = 1.0,
        step: int = 0,
        compute_losses: bool = True,
    ) -> ModelOutput:
        """Training pass. `image` is N×C×H×W in [0, 1] at the contract size; `mask` N×1×H×W, 1 = hole."""
        raw, pred, latent, feats = self.run(image, mask, labels)
        target = C.normalize(image, self.contract)
        composite = torch.where(mask.bool(), pred, target)
        out = ModelOutput(raw, pred, composite, latent, feats)
        ctx = LossContext(target, mask, raw, pred, composite, latent, feats, labels, self, progress, step)
        out.context = ctx
        if compute_losses:
            for name, loss in self.losses.items():
                out.losses[name] = self.loss_weights[name] * loss(ctx)
        return out

    # -- the user's calls --------------------------------------------------------------------------
    @torch.no_grad()
    def inpaint(self, image: Any, mask: Any, threshold: float | None = None) -> Any:
        """Fill the holes of `image` (PIL, numpy or tensor; single or batched; any size).

        `mask` is 1 (or 255) in the hole. The contract's preprocessing is applied and undone here;
        pixels outside the hole come back exactly as given, in the caller's own type.
        """
        return self._infer(image, mask, threshold, None)

    @torch.no_grad()
    def intervene(self, image: Any, values: dict[str, float], mask: Any = None, threshold: float | None = None) -> Any:
        """The image under do(concept = value) for each named concept, propagated through the prior's graph.

        With no mask the whole image is regenerated; with a mask only the hole is.
        """
        if not self.prior.supports_interventions:
            raise InputError(f"intervene: prior '{self.spec.prior.type}' has no named concepts to intervene on")
        names = self.prior.concept_names()
        for key in values:
            if key not in names:
                from .errors import did_you_mean

                raise InputError(f"intervene: unknown concept '{key}'{did_you_mean(key, names)}; concepts: {', '.join(names)}")
        return self._infer(image, mask, threshold, dict(values))

    def _infer(self, image: Any, mask: Any, threshold: float | None, intervention: dict[str, float] | None) -> Any:
        batch = C.image_batch(image, self.contract.channels)
        x01 = batch.tensor
        if x01.shape[1] != self.contract.channels:
            raise InputError(f"image: has {x01.shape[1]} channels; this model takes {self.contract.channels}")
        regenerate = mask is None  # intervene() without a mask: the encoder sees everything, all is redrawn
        m = torch.zeros_like(x01[:, :1]) if regenerate else C.mask_batch(mask, threshold)
        if m.shape[-2:] != x01.shape[-2:]:
            raise InputError(
                f"mask: size {m.shape[-1]}×{m.shape[-2]} differs from the image's {x01.shape[-1]}×{x01.shape[-2]} "
                f"(width×height); resize the mask to the image"
            )
        if m.shape[0] == 1 and x01.shape[0] > 1:
            m = m.expand(x01.shape[0], -1, -1, -1)
        if m.shape[0] != x01.shape[0]:
            raise InputError(f"mask: batch of {m.shape[0]} masks for {x01.shape[0]} images")
        device = next(self.parameters()).device
        xn, mn, how = C.to_network_size(x01.to(device), m.to(device), self.contract)
        _, pred, _, _ = self.run(xn, mn, intervention=intervention)
        pred01 = C.from_network_size(C.denormalize(pred, self.contract).clamp(0, 1), how)
        return C.hand_back(pred01.cpu(), torch.ones_like(m) if regenerate else m.cpu(), batch)

    def dummy_batch(self, batch_size: int = 2) -> tuple[Tensor, Tensor]:
        h, w = self.contract.image_size
        g = torch.Generator().manual_seed(0)
        image = torch.rand(batch_size, self.contract.channels, h, w, generator=g)
        mask = torch.zeros(batch_size, 1, h, w)
        mask[..., h // 4 : 3 * h // 4, w // 4 : 3 * w // 4] = 1.0
        return image, mask
