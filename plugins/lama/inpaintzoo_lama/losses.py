"""LaMa's training losses (configs/training/big-lama.yaml, lama-fourier.yaml; saicinpainting/training/losses).

- `lama.adversarial`: non-saturating GAN loss with an R1 penalty on real images (`gp_coef` 0.001). For the
  discriminator, generated pixels outside the hole count as real (`mask_as_fake_target`), the mask scaled to the
  score map (`allow_scale_mask`, nearest). Spec weight 10 (the generator term only; the discriminator's is unweighted).
- `lama.feature_matching`: MSE between the discriminator's activations on the generated and the real image, averaged
  over layers (spec weight 100).
- `lama.masked_l1`: per-pixel L1 weighted `weight_known` outside the hole and `weight_missing` inside (10 and 0).

Steps run in the release's order (`step_order = 'g_first'`: Lightning steps the generator, then runs it again for the
discriminator's step). The discriminator sees the raw prediction, as `image_to_discriminator = 'predicted_image'`.
"""
from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from pydantic import Field
from torch import Tensor

from inpaintzoo.gan import scores
from inpaintzoo.interfaces import ComponentConfig, Loss, LossContext


def _fake(ctx: LossContext, which: str) -> Tensor:
    return ctx.composite if which == "composite" else ctx.pred


class AdversarialConfig(ComponentConfig):
    gp_coef: float = Field(0.001, ge=0, description="R1 penalty weight (LaMa's configs: 0.001)")
    mask_as_fake_target: bool = Field(True, description="for the discriminator, only hole pixels of the generated "
                                                        "image are fake; the rest count as real")
    allow_scale_mask: bool = Field(True, description="scale the mask to the score map (else the sizes must agree)")
    mask_scale_mode: Literal["nearest", "bilinear", "maxpool"] = "nearest"
    extra_mask_weight_for_gen: float = Field(0.0, ge=0, description="extra generator weight on hole scores")
    use_unmasked_for_gen: bool = Field(True, description="the generator's term covers known pixels' scores too")
    use_unmasked_for_discr: bool = Field(True, description="the discriminator's fake term covers known pixels too")
    image: Literal["pred", "composite"] = Field("pred", description="what the discriminator sees of the generator: "
                                                                    "the raw prediction (LaMa) or the composite")
    step_order: Literal["g_first", "d_first", "joint"] = Field(
        "g_first", description="'g_first' as the release under Lightning (the generator is run again for the "
                               "discriminator's step); 'd_first' saves that second generator pass")


class Adversarial(Loss):
    """LaMa's `NonSaturatingWithR1`."""

    Config = AdversarialConfig
    adversarial = True

    def _mask(self, mask: Tensor, shape: torch.Size) -> Tensor:
        if shape == mask.shape[-2:]:
            return mask
        if not self.cfg.allow_scale_mask:
            raise ValueError(f"lama.adversarial: the score map is {tuple(shape)} but the mask {tuple(mask.shape[-2:])}; "
                             f"set allow_scale_mask = true")
        if self.cfg.mask_scale_mode == "maxpool":
            return F.adaptive_max_pool2d(mask, shape)
        return F.interpolate(mask, size=shape, mode=self.cfg.mask_scale_mode)

    def forward(self, ctx: LossContext) -> Tensor:
        scores(ctx, "real", ctx.target)  # the release calls D on the real image here too (its batch norms count it)
        fake, _ = scores(ctx, "fake", _fake(ctx, self.cfg.image), key=self.cfg.image)
        loss = F.softplus(-fake)
        if (self.cfg.mask_as_fake_target and self.cfg.extra_mask_weight_for_gen > 0) or not self.cfg.use_unmasked_for_gen:
            m = self._mask(ctx.mask, fake.shape[-2:])
            loss = loss * m if not self.cfg.use_unmasked_for_gen else loss * (1 + m * self.cfg.extra_mask_weight_for_gen)
        return loss.mean()

    def discriminator_loss(self, ctx: LossContext, discriminator) -> Tensor:
        real = ctx.target.detach().requires_grad_(True)
        real_scores = discriminator(real, ctx.mask)
        fake_scores = discriminator(_fake(ctx, self.cfg.image).detach(), ctx.mask)
        real_loss = F.softplus(-real_scores)
        penalty: Tensor | float = 0.0
        if torch.is_grad_enabled():  # R1: the squared gradient norm of D at real images
            grad = torch.autograd.grad(real_scores.sum(), real, create_graph=True)[0]
            penalty = grad.reshape(grad.shape[0], -1).norm(2, dim=1).pow(2).mean() * self.cfg.gp_coef
        fake_loss = F.softplus(fake_scores)
        if not self.cfg.use_unmasked_for_discr or self.cfg.mask_as_fake_target:
            m = self._mask(ctx.mask, fake_scores.shape[-2:])
            fake_loss = fake_loss * m
            if self.cfg.mask_as_fake_target:
                fake_loss = fake_loss + (1 - m) * F.softplus(-fake_scores)
        return (real_loss + penalty + fake_loss).mean()

    def example_inputs(self, batch_size: int = 2) -> tuple:
        return (_example_context(batch_size),)


class FeatureMatchingConfig(ComponentConfig):
    pass_mask: bool = Field(False, description="weight each layer's error by 1 − the (bilinearly scaled) mask; LaMa's "
                                               "configs leave it off")
    image: Literal["pred", "composite"] = Field("pred", description="the generated image the activations come from")


class FeatureMatching(Loss):
    """Mean over the discriminator's layers of the MSE between its activations on the generated and real image."""

    Config = FeatureMatchingConfig

    def forward(self, ctx: LossContext) -> Tensor:
        _, real = scores(ctx, "real", ctx.target)
        _, fake = scores(ctx, "fake", _fake(ctx, self.cfg.image), key=self.cfg.image)
        if real is None or fake is None:
            raise ValueError("lama.feature_matching: the discriminator exposes no activations (forward_features); "
                             "use one that does, e.g. lama.nlayer_discriminator")
        if not self.cfg.pass_mask:
            return torch.stack([F.mse_loss(f, r) for f, r in zip(fake, real)]).mean()
        total = 0.0
        for f, r in zip(fake, real):
            keep = 1 - F.interpolate(ctx.mask, size=f.shape[-2:], mode="bilinear", align_corners=False)
            total = total + ((f - r).pow(2) * keep).mean()
        return total / len(fake)

    def example_inputs(self, batch_size: int = 2) -> tuple:
        return (_example_context(batch_size),)


class MaskedL1Config(ComponentConfig):
    weight_known: float = Field(10.0, ge=0, description="per-pixel weight outside the hole (LaMa: 10)")
    weight_missing: float = Field(0.0, ge=0, description="per-pixel weight inside the hole (LaMa: 0)")


class MaskedL1(Loss):
    """mean(|pred − target| · (mask·weight_missing + (1 − mask)·weight_known)), over every pixel and channel."""

    Config = MaskedL1Config

    def forward(self, ctx: LossContext) -> Tensor:
        w = ctx.mask * self.cfg.weight_missing + (1 - ctx.mask) * self.cfg.weight_known
        return (w * (ctx.pred - ctx.target).abs()).mean()


def _example_context(batch_size: int) -> LossContext:
    from inpaintzoo.testing import dummy_loss_context

    from .discriminator import NLayerDiscriminator

    ctx = dummy_loss_context(batch_size, size=32)
    ctx.discriminator = NLayerDiscriminator(NLayerDiscriminator.Config(ndf=4, n_layers=2))
    return ctx
