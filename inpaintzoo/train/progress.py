"""Training progress: a rich bar on a terminal, plain timed lines anywhere else; one line per epoch.

When stderr is not a terminal (nohup, CI, a pipe, a log file) a bar would print nothing useful, so a plain
line goes out every `interval` seconds instead: step/total, epoch, img/s, the loss terms and the ETA. The ETA comes
from the rate over the last 50 steps, counted from the first training step (never the set-up).
"""
from __future__ import annotations

import sys
import time
from collections import deque
from typing import TextIO

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress as RichProgress, TextColumn, TimeRemainingColumn


def _duration(seconds: float) -> str:
    s = int(max(0, seconds))
    return f"{s // 3600}h{s % 3600 // 60:02d}m" if s >= 3600 else f"{s // 60}m{s % 60:02d}s"


class Progress:
    def __init__(self, total: int | None, batch_size: int, quiet: bool = False, silent: bool = False, interval: float = 30.0,
                 stream: TextIO | None = None, start_step: int = 0):
        self.total, self.batch_size, self.silent = total, batch_size, silent
        self.stream = stream or sys.stderr
        self.quiet = quiet or silent
        self.interval = interval
        self.sums: dict[str, float] = {}
        self.count = 0
        self.t0 = self.t_last = time.perf_counter()
        self.run_t0, self.run_start = self.t0, start_step
        self.window: deque[tuple[float, int]] = deque(maxlen=50)  # (time, step) of the last updates: the ETA's rate
        self.bar = None
        self.plain = not self.quiet and not self.stream.isatty()
        if not self.quiet and not self.plain:
            self.bar = RichProgress(
                TextColumn("epoch {task.fields[epoch]}"), BarColumn(), MofNCompleteColumn(),
                TextColumn("{task.fields[logs]}"), TextColumn("{task.fields[ips]:.1f} img/s"), TimeRemainingColumn(),
                console=Console(file=self.stream), transient=True,
            )

    def __enter__(self) -> "Progress":
        if self.bar is not None:
            self.bar.__enter__()
            self.task = self.bar.add_task("train", total=self.total, completed=self.run_start, epoch=0, logs="", ips=0.0)
        return self

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            self.bar.__exit__(*exc)

    def set_total(self, total: int | None) -> None:
        """The steps the run plans (None: not known yet, e.g. before a time budget is measured)."""
        self.total = total
        if self.bar is not None and hasattr(self, "task"):
            self.bar.update(self.task, total=total)

    def restart_clock(self) -> None:
        """Training starts now: set-up (data, graph discovery) counts in no rate or ETA."""
        self.t0 = self.t_last = self.run_t0 = time.perf_counter()
        self.window.clear()

    def eta(self, step: int) -> float:
        """Seconds left, from the rate over the last (up to 50) steps."""
        if len(self.window) < 2:
            return 0.0
        (t_a, s_a), (t_b, s_b) = self.window[0], self.window[-1]
        rate = (s_b - s_a) / max(1e-9, t_b - t_a)
        return (self.total - step) / rate if rate > 0 and self.total is not None else 0.0

    def images_per_second(self) -> float:
        return self.count * self.batch_size / max(1e-9, time.perf_counter() - self.t0)

    def update(self, step: int, epoch: int, logs: dict[str, float]) -> None:
        for k, v in logs.items():
            self.sums[k] = self.sums.get(k, 0.0) + v
        self.count += 1
        self.window.append((time.perf_counter(), step))
        text = " ".join(f"{k} {v:.4g}" for k, v in logs.items())
        if self.bar is not None:
            self.bar.update(self.task, completed=step, epoch=epoch, logs=text, ips=self.images_per_second())
        elif self.plain and (time.perf_counter() - self.t_last >= self.interval or step == self.total):
            self.t_last = time.perf_counter()
            eta = self.eta(step)
            of = f"{step}/{self.total} ({100 * step / max(1, self.total):.0f}%)" if self.total else f"{step}/? (planning)"
            print(f"step {of} epoch {epoch} | {self.images_per_second():.1f} img/s | {text} | "
                  f"ETA {_duration(eta) if self.total else '?'}", file=self.stream, flush=True)

    def note(self, text: str, always: bool = True) -> None:
        """A line for the user: budget plans and resume notes always; routine ones (`always=False`) not in quiet mode."""
        if not self.silent and (always or not self.quiet):
            if self.bar is not None:
                self.bar.console.print(text, markup=False, highlight=False)
            else:
                print(text, file=self.stream, flush=True)

    def means(self) -> dict[str, float]:
        return {f"train/{k}": v / max(1, self.count) for k, v in self.sums.items()}

    def epoch_summary(self, epoch: int, metrics: dict[str, float]) -> None:
        if not self.silent:
            parts = [f"{k.removeprefix('train/')} {v:.4g}" for k, v in self.means().items()]
            parts += [f"val {k} {v:.4g}" for k, v in metrics.items() if k in ("psnr_hole", "ssim_hole", "l1_hole", "shd")]
            elapsed = time.perf_counter() - self.t0
            print(f"epoch {epoch}: " + ", ".join(parts) + f" ({elapsed:.0f}s)", flush=True)
        self.sums, self.count, self.t0 = {}, 0, time.perf_counter()
