"""DeepFill v2's training losses as mmagic trains its checkpoints (configs/_base_/models/base_deepfillv2.py,
`TwoStageInpaintor`): L1 inside and outside the hole for both stages (weight 1 each), and the SN-PatchGAN hinge loss
on the refined composite with the mask (weight 0.1; the discriminator's term is unweighted).

- `deepfill.l1`: Σ|raw − target|·w / Σw (w the hole or its complement, over every channel), for stage 1 (the coarse
  image, the encoder's second output) or stage 2 (the refined image), as mmagic's masked L1.
- `deepfill.hinge`: generator −mean D(composite ‖ mask); discriminator mean relu(1 − D(real)) + mean relu(1 + D(fake)).
  The discriminator sees images in the network's channel order (BGR for mmagic's checkpoints), as it was trained.

Steps as mmagic's: the discriminator on the detached output of the pass (its fake and real terms backpropagated in
turn), then the generator (`d_first`).
"""
from __future__ import annotations

from typing import Literal

import torch.nn.functional as F
from pydantic import Field
from torch import Tensor

from inpaintzoo.gan import scores
from inpaintzoo.interfaces import ComponentConfig, Loss, LossContext


def _network_order(x: Tensor, ctx: LossContext) -> Tensor:
    return x.flip(1) if ctx.model is not None and ctx.model.contract.channel_order == "BGR" else x


class L1Config(ComponentConfig):
    stage: Literal[1, 2] = Field(2, description="1: the coarse image; 2: the refined one")
    region: Literal["hole", "valid"] = Field("hole", description="inside the hole, or outside it")


class StageL1(Loss):
    """mmagic's masked L1 of one stage over one region."""

    Config = L1Config

    def forward(self, ctx: LossContext) -> Tensor:
        if self.cfg.stage == 2:
            raw = ctx.pred
        else:
            if len(ctx.features) < 2:
                raise ValueError("deepfill.l1 stage 1 needs the coarse image as the encoder's second output "
                                 "(deepfill.coarse)")
            raw = _network_order(ctx.features[1], ctx)  # the encoder works in the network's channel order
        w = ctx.mask if self.cfg.region == "hole" else 1 - ctx.mask
        w = w.expand_as(raw)
        return ((raw - ctx.target).abs() * w).sum() / (w.sum() + 1e-12)


class HingeConfig(ComponentConfig):
    image: Literal["composite", "pred"] = Field("composite", description="what the discriminator sees (mmagic: the "
                                                                         "stage-2 composite)")
    step_order: Literal["d_first", "g_first", "joint"] = "d_first"


class Hinge(Loss):
    """SN-PatchGAN's hinge loss."""

    Config = HingeConfig
    adversarial = True

    def _fake(self, ctx: LossContext) -> Tensor:
        return _network_order(ctx.composite if self.cfg.image == "composite" else ctx.pred, ctx)

    def forward(self, ctx: LossContext) -> Tensor:
        fake, _ = scores(ctx, "fake", self._fake(ctx), ctx.mask, key=self.cfg.image)
        return -fake.mean()

    def discriminator_loss(self, ctx: LossContext, discriminator) -> Tensor:
        return sum(self.discriminator_terms(ctx, discriminator))

    def discriminator_terms(self, ctx: LossContext, discriminator) -> list[Tensor]:
        """Fake, then real, each backpropagated on its own as mmagic's train_step does (so a step is its step to the
        bit; one backward of the sum differs by float rounding: benchmarks/train_parity_deepfill.py)."""
        fake = discriminator(self._fake(ctx).detach(), ctx.mask)
        real = discriminator(_network_order(ctx.target, ctx), ctx.mask)
        return [F.relu(1 + fake).mean(), F.relu(1 - real).mean()]

    def example_inputs(self, batch_size: int = 2) -> tuple:
        from inpaintzoo.testing import dummy_loss_context

        from .discriminator import SNPatchDiscriminator

        ctx = dummy_loss_context(batch_size, size=32)
        ctx.discriminator = SNPatchDiscriminator(SNPatchDiscriminator.Config(convs=2, max_channels=8))
        return (ctx,)
