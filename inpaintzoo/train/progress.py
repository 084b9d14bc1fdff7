"""Training progress: a rich bar with every loss term, images/s and ETA; one line per epoch."""
from __future__ import annotations

import time

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress as RichProgress, TextColumn, TimeRemainingColumn


class Progress:
    def __init__(self, total: int, batch_size: int, quiet: bool = False, silent: bool = False):
        self.total, self.batch_size, self.quiet, self.silent = total, batch_size, quiet or silent, silent
        self.console = Console(stderr=True)
        self.sums: dict[str, float] = {}
        self.count = 0
        self.t0 = time.perf_counter()
        self.bar = None
        if not quiet:
            self.bar = RichProgress(
                TextColumn("epoch {task.fields[epoch]}"), BarColumn(), MofNCompleteColumn(),
                TextColumn("{task.fields[logs]}"), TextColumn("{task.fields[ips]:.1f} img/s"), TimeRemainingColumn(),
                console=self.console, transient=True,
            )

    def __enter__(self) -> "Progress":
        if self.bar is not None:
            self.bar.__enter__()
            self.task = self.bar.add_task("train", total=self.total, epoch=0, logs="", ips=0.0)
        return self

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            self.bar.__exit__(*exc)

    def update(self, step: int, epoch: int, logs: dict[str, float]) -> None:
        for k, v in logs.items():
            self.sums[k] = self.sums.get(k, 0.0) + v
        self.count += 1
        if self.bar is not None:
            ips = self.count * self.batch_size / max(1e-9, time.perf_counter() - self.t0)
            text = " ".join(f"{k} {v:.4g}" for k, v in logs.items())
            self.bar.update(self.task, completed=step, epoch=epoch, logs=text, ips=ips)

    def means(self) -> dict[str, float]:
        return {f"train/{k}": v / max(1, self.count) for k, v in self.sums.items()}

    def epoch_summary(self, epoch: int, metrics: dict[str, float]) -> None:
        if not self.silent:
            parts = [f"{k.removeprefix('train/')} {v:.4g}" for k, v in self.means().items()]
            parts += [f"val {k} {v:.4g}" for k, v in metrics.items() if k in ("psnr_hole", "ssim_hole", "l1_hole")]
            elapsed = time.perf_counter() - self.t0
            print(f"epoch {epoch}: " + ", ".join(parts) + f" ({elapsed:.0f}s)", flush=True)
        self.sums, self.count, self.t0 = {}, 0, time.perf_counter()
