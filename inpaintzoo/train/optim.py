"""Optimisers and the learning-rate schedule, whose length can be re-planned when a time budget is given."""
from __future__ import annotations

import math

import torch
from torch import nn

from ..spec import OptimizerSpec, TrainSpec


def make_optimizer(params: list[nn.Parameter], o: OptimizerSpec) -> torch.optim.Optimizer:
    """torch's optimisers; single-tensor (foreach) kernels, which are the fastest on CPU for small models."""
    kw = {"lr": o.lr, "weight_decay": o.weight_decay}
    if o.name == "sgd":
        return torch.optim.SGD(params, momentum=o.momentum, **kw)
    cls = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW, "adamax": torch.optim.Adamax}[o.name]
    return cls(params, betas=o.betas, eps=o.eps, foreach=True, **kw)


class Schedule(torch.optim.lr_scheduler.LambdaLR):
    """Warm-up, hold, then constant / cosine / linear decay over `total` steps; `total` may be re-planned."""

    def __init__(self, opt: torch.optim.Optimizer, t: TrainSpec, total: int):
        self.spec, self.total = t, total
        base = opt.param_groups[0]["lr"]
        self.floor = t.schedule.min_lr / base if base else 0.0
        super().__init__(opt, lambda step: self.factor(step))  # a plain function: not stored in state_dict

    def factor(self, step: int) -> float:
        s, total = self.spec.schedule, self.total
        warm = int(s.warmup_fraction * total)
        if warm and step < warm:
            return (step + 1) / warm
        hold = max(warm, int(s.hold_fraction * total))
        if step < hold:
            return 1.0
        p = (step - hold) / max(1, total - hold)
        if s.name == "cosine":
            return self.floor + (1 - self.floor) * 0.5 * (1 + math.cos(math.pi * min(p, 1.0)))
        if s.name == "linear":
            return self.floor + (1 - self.floor) * max(0.0, 1 - p)
        return 1.0

    def replan(self, total: int) -> None:
        """Plan the same shape over `total` steps from now on (the current step keeps its place)."""
        self.total = max(1, int(total))
        for group, lr0 in zip(self.optimizer.param_groups, self.base_lrs):
            group["lr"] = lr0 * self.factor(self.last_epoch)

    def rebase(self, lr: float) -> float | None:
        """A resumed run given another base learning rate: it applies from the current step, in the schedule's shape.
        Returns the checkpoint's base rate when it changed, else None."""
        old = self.base_lrs[0] if self.base_lrs else lr
        if math.isclose(old, lr, rel_tol=1e-12, abs_tol=0.0):
            return None
        self.base_lrs = [lr for _ in self.base_lrs]
        self.floor = self.spec.schedule.min_lr / lr if lr else 0.0
        for group in self.optimizer.param_groups:
            group["lr"], group["initial_lr"] = lr * self.factor(self.last_epoch), lr
        return old

    def state_dict(self) -> dict:
        d = super().state_dict()
        d.pop("spec", None)
        d["total"] = self.total
        return d

    def load_state_dict(self, state: dict) -> None:
        state = dict(state)
        self.total = int(state.pop("total", self.total))
        super().load_state_dict(state)
