"""--max-minutes: the time a run may take, and the plan of steps it allows (a mixin of the Trainer).

The budget covers the whole command (set-up, training, evaluations, the final one) and, across `--resume`, every
earlier invocation's training. The schedule is planned over the steps the budget allows once the first steps are
measured; without --epochs/--steps the budget alone ends the run (`until_budget`).
"""
from __future__ import annotations

import time
from typing import Any

UNBOUNDED = 2**62  # the step total of a run that only its time budget ends


class TimeBudget:
    """Needs from the Trainer: opts (max_minutes, until_budget), step, plan, total, sched, sched_d, elapsed,
    eval_seconds, t (eval_batches), t_start and t_created once training starts."""

    def _plan_budget(self, start: int, progress: Any) -> None:
        """With --max-minutes, plan the schedule over the steps the budget allows, measured on this run's first
        steps (at least 10 steps and 20 s), instead of over epochs × steps_per_epoch it will never reach (or, with
        no epochs given, instead of a run without end). The progress line's total and ETA follow the plan."""
        if not self.opts.max_minutes or getattr(self, "_planned", False):
            return
        done, spent = self.step - start, time.perf_counter() - self.t_start
        if done < 10 or spent < 20:
            return
        self._planned = True
        per_step = spent / done
        fits = self.step + int((60 * self.opts.max_minutes - self.budget_used() - self.eval_reserve(per_step)) / per_step)
        if fits < self.plan or self.opts.until_budget:
            self.plan = max(self.step + 1, fits)
            for s in (self.sched, self.sched_d):
                if s is not None:
                    s.replan(self.plan)
            planned = "" if self.opts.until_budget else f" of the {self.total} planned"
            progress.note(f"budget: {self.opts.max_minutes:g} min at {per_step:.2f} s/step fits about {self.plan} "
                          f"steps{planned}; the learning-rate schedule (and any warm-up by progress) now spans them")
        progress.set_total(self.plan)

    def elapsed_now(self) -> float:
        return self.elapsed + (time.perf_counter() - self.t_start if hasattr(self, "t_start") else 0.0)

    def budget_used(self) -> float:
        """What --max-minutes has spent: earlier invocations' training, this one's set-up and steps so far."""
        return self.elapsed_now() + (self.t_start - self.t_created if hasattr(self, "t_start") else 0.0)

    def eval_reserve(self, per_step: float) -> float:
        """Seconds kept for the final evaluation: the last one's cost, else an estimate (eval batches as steps)."""
        return self.eval_seconds if self.eval_seconds is not None else self.t.eval_batches * per_step

    def over_budget(self) -> bool:
        if not self.opts.max_minutes:
            return False
        done = max(1, self.step - getattr(self, "_budget_start", 0))
        per_step = (time.perf_counter() - self.t_start) / done if hasattr(self, "t_start") else 0.0
        return self.budget_used() + self.eval_reserve(per_step) >= 60 * self.opts.max_minutes
