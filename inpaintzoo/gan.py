"""What adversarial losses share within one generator step: the discriminator's outputs, computed once.

A release's generator losses often read the same discriminator pass twice (LaMa's adversarial term and its
feature matching both use D(real) and D(fake)); the release calls D once per image, so a discriminator with batch
normalisation updates its running statistics once per call. `scores` keeps that count: the first loss to ask runs
D, later ones read the cached result. The cache lives in the step's `LossContext.shared`, so it never crosses from
one step (or iteration) to the next; discriminator steps call D directly (they need gradients the generator step
must not keep).
"""
from __future__ import annotations

from typing import Literal

from torch import Tensor

from .interfaces import Discriminator, LossContext

STEP_ORDERS = ("d_first", "g_first", "joint")


def scores(ctx: LossContext, which: Literal["real", "fake"], image: Tensor, mask: Tensor | None = None,
           key: str = "") -> tuple[Tensor, list[Tensor] | None]:
    """The generator step's discriminator output for the real or the generated image: (scores, activations), the
    activations None for a discriminator without `forward_features`.

    `key` names the input when two losses of one step feed the discriminator different images (a composite and a
    raw prediction); the same key must mean the same image.
    """
    disc: Discriminator | None = ctx.discriminator
    if disc is None:
        raise ValueError("an adversarial loss needs the context's discriminator (train through the training loop)")
    slot = f"gan.{which}.{key}"
    if slot not in ctx.shared:
        has_features = type(disc).forward_features is not Discriminator.forward_features
        ctx.shared[slot] = disc.forward_features(image, mask) if has_features else (disc(image, mask), None)
    return ctx.shared[slot]

