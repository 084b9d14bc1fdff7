"""One training iteration: the generator step, and the discriminator step in the order the adversarial losses name.

Each release orders its two steps its own way (see `Loss.step_order`); the loop runs the order the spec's losses
name, so a fine-tune from released weights takes the release's steps:

- `d_first` (mmagic, MEDFE): D steps on the detached output of the pass, then G against the updated D;
- `g_first` (LaMa under Lightning): G steps, G runs again (train mode, no gradient) and D steps on that output;
- `joint` (AOT-GAN): both gradients from one pass and the pre-step weights, then both steps.
"""
from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

import torch
from torch import Tensor, nn

from ..interfaces import LossContext
from .runtime import allreduce_grads, frozen


def run_iteration(tr: Any, forward: Callable[[], LossContext], amp: Callable[[], AbstractContextManager]) -> dict[str, float]:
    """One iteration of trainer `tr` (its model, parts, optimisers, scaler): returns the logged values."""
    ctx = forward()
    logs: dict[str, float] = {}
    if tr.opt_d is None:
        losses = _generator_losses(tr, ctx, amp)
        _generator_step(tr, losses)
    else:
        order = tr.parts.step_order
        if order == "d_first":
            logs["d_loss"] = _discriminator_step(tr, _discriminator_terms(tr, ctx, amp))
            losses = _generator_losses(tr, ctx, amp)
            _generator_step(tr, losses)
        elif order == "g_first":
            losses = _generator_losses(tr, ctx, amp)
            _generator_step(tr, losses)
            with torch.no_grad():
                again = forward()  # the updated generator, in train mode (its batch norms update as the release's)
            logs["d_loss"] = _discriminator_step(tr, _discriminator_terms(tr, again, amp))
        else:  # joint: the generator's terms first, as AOT-GAN's loss calls its discriminator (spectral-norm vectors
            # advance per call), then the discriminator's; both backward from the pre-step weights, then both steps
            losses = _generator_losses(tr, ctx, amp)
            d_loss = sum(_discriminator_terms(tr, ctx, amp))
            tr.opt.zero_grad(set_to_none=True)
            tr.opt_d.zero_grad(set_to_none=True)
            tr.scaler.scale(sum(losses.values())).backward()
            tr.scaler.scale(d_loss).backward()
            _finish(tr, tr.opt, tr.sched, tr.loss_params, tr.t.grad_clip, update=False)  # one scale for both steps
            _finish(tr, tr.opt_d, tr.sched_d, list(tr.parts.discriminator.parameters()), tr.t.discriminator_grad_clip)
            logs["d_loss"] = float(d_loss.detach())
    for loss in tr.parts.losses.values():
        loss.after_step(ctx)
    logs.update({k: float(v.detach()) for k, v in losses.items()})
    logs["loss"] = float(sum(losses.values()).detach())
    return logs


def _generator_losses(tr: Any, ctx: LossContext, amp: Callable[[], AbstractContextManager]) -> dict[str, Tensor]:
    # the discriminator is frozen for the generator's terms unless a loss reproduces a release that let them reach it
    with frozen(tr.parts.discriminator if tr.parts.discriminator_frozen else None), amp():
        losses = tr.parts.generator_losses(ctx)
    tr._check_finite(losses)
    return losses


def _generator_step(tr: Any, losses: dict[str, Tensor]) -> None:
    tr.opt.zero_grad(set_to_none=True)
    tr.scaler.scale(sum(losses.values())).backward()
    _finish(tr, tr.opt, tr.sched, tr.loss_params, tr.t.grad_clip)


def _discriminator_terms(tr: Any, ctx: LossContext, amp: Callable[[], AbstractContextManager]) -> list[Tensor]:
    with amp():
        terms = tr.parts.discriminator_terms(ctx)
    tr._check_finite({"discriminator": sum(t.detach() for t in terms)})
    return terms


def _discriminator_step(tr: Any, terms: list[Tensor]) -> float:
    """Backpropagate the terms in turn (one backward per term, as the release does), then one optimiser step."""
    tr.opt_d.zero_grad(set_to_none=True)
    for term in terms:
        tr.scaler.scale(term).backward()
    _finish(tr, tr.opt_d, tr.sched_d, list(tr.parts.discriminator.parameters()), tr.t.discriminator_grad_clip)
    return float(sum(t.detach() for t in terms))


def _finish(tr: Any, opt: torch.optim.Optimizer, sched: Any, params: list[Tensor], max_norm: float | None,
            update: bool = True) -> None:
    """All-reduce the gradients across ranks, clip their norm, step the optimiser and its schedule (and the grad
    scaler's scale, unless another optimiser's step of the same backward scale follows)."""
    allreduce_grads(params, tr.world)
    if max_norm:
        tr.scaler.unscale_(opt)
        nn.utils.clip_grad_norm_([p for g in opt.param_groups for p in g["params"] if p.grad is not None], max_norm)
    tr.scaler.step(opt)
    if update:
        tr.scaler.update()
    sched.step()
