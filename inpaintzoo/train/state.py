"""What a checkpoint holds of a run, and how a resumed run takes it back (a mixin of the Trainer): weights, the
optimisers and schedules, RNG states, counters, the time spent and the plan, each component's training state."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..artifact import weight_mismatch
from . import checkpoint as ckpt


class RunState:
    """Needs from the Trainer: model, parts, opt, sched, scaler, opt_d, sched_d, ema, opts, t, the counters."""

    def state(self) -> dict[str, Any]:
        s: dict[str, Any] = {
            "model": self.model.state_dict(),
            "parts": self.parts.state_dict(),
            "opt": self.opt.state_dict(),
            "sched": self.sched.state_dict(),
            "scaler": self.scaler.state_dict(),
            "rng": {"torch": torch.get_rng_state()},
            "step": self.step,
            "epoch": self.epoch,
            "best": self.best,
            "elapsed": self.elapsed_now(),
            "plan": self.plan,
            "until_budget": self.opts.until_budget,
        }
        if torch.cuda.is_available():
            s["rng"]["cuda"] = torch.cuda.get_rng_state_all()
        if self.opt_d is not None:
            s["opt_d"], s["sched_d"] = self.opt_d.state_dict(), self.sched_d.state_dict()
        if self.ema is not None:
            s["ema"] = self.ema.module.state_dict()
        s["components"] = {n: m.train_state() for n, m in self._named_components() if hasattr(m, "train_state")}
        return s

    def _named_components(self) -> Iterator[tuple[str, nn.Module]]:
        yield from (("model." + n, m) for n, m in self.model.named_modules())
        yield from (("parts." + n, m) for n, m in self.parts.named_modules())

    def load_state(self, s: dict[str, Any], where: Path) -> None:
        weights = ckpt.strip_module_prefix(s["model"])
        problem = weight_mismatch(self.model, weights) or weight_mismatch(self.parts, s.get("parts", {}))
        if problem:
            from .loop import TrainingError

            raise TrainingError(f"--resume {where}: the checkpoint's architecture differs from the spec: {problem}")
        self.model.load_state_dict(weights)
        self.parts.load_state_dict(s["parts"])
        self.opt.load_state_dict(s["opt"])
        self.sched.load_state_dict(s["sched"])
        self.scaler.load_state_dict(s["scaler"])
        torch.set_rng_state(s["rng"]["torch"])
        if "cuda" in s["rng"] and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(s["rng"]["cuda"])
        if self.opt_d is not None and "opt_d" in s:
            self.opt_d.load_state_dict(s["opt_d"])
            self.sched_d.load_state_dict(s["sched_d"])
        if self.ema is not None and "ema" in s:
            self.ema.module.load_state_dict(s["ema"])
        modules = dict(self._named_components())
        for name, st in s.get("components", {}).items():
            modules[name].load_train_state(st)
        self.step, self.epoch, self.best = int(s["step"]), int(s["epoch"]), s["best"]
        self.elapsed = float(s.get("elapsed", 0.0))
        self.plan = int(s.get("plan", self.total))
        self.resume_notes = []
        for name, sched, o in (("optimizer", self.sched, self.t.optimizer),
                               ("discriminator_optimizer", self.sched_d, self.t.discriminator_optimizer)):
            old = sched.rebase(o.lr) if sched is not None else None
            if old is not None:  # the optimizer state restored the checkpoint's rate: the user asked for another
                self.resume_notes.append(f"note: train.{name}.lr is {o.lr:g} from step {self.step} on (the run used "
                                         f"{old:g}); the schedule keeps its shape")
        if s.get("until_budget") and not self.opts.until_budget and not self.opts.max_minutes:
            self.total = self.plan  # a budget-bound run resumed without a budget ends where its budget planned
