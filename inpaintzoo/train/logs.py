"""Where a run's numbers and pictures go: `metrics.jsonl` always, TensorBoard event files when installed.

TensorBoard (`pip install tensorboard`) gets every loss term, the learning rate and img/s per step, the
validation metrics per evaluation, and the sample grids and plots as images, in RUN/tensorboard.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np


def tensorboard_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("tensorboard") is not None


class RunLog:
    def __init__(self, run: Path, tensorboard: bool = True, enabled: bool = True):
        self.run, self.enabled = run, enabled
        self.use_tensorboard = enabled and tensorboard and tensorboard_available()
        self._writer = None

    @property
    def writer(self):
        """The TensorBoard writer, created at first use (after the run folder is checked and made)."""
        if self._writer is None and self.use_tensorboard:
            from torch.utils.tensorboard import SummaryWriter

            self._writer = SummaryWriter(str(self.run / "tensorboard"))
        return self._writer

    def truncate(self, step: int) -> int:
        """Drop metrics.jsonl rows past `step` (a resumed run redoes them); returns how many were dropped."""
        path = self.run / "metrics.jsonl"
        if not self.enabled or not path.is_file():
            return 0
        rows = path.read_text(encoding="utf-8").splitlines()
        keep = []
        for line in rows:
            try:
                if json.loads(line).get("step", 0) <= step:
                    keep.append(line)
            except (ValueError, AttributeError, RecursionError):
                pass  # a line cut by a kill mid-write
        path.write_text("".join(f"{line}\n" for line in keep), encoding="utf-8")
        return len(rows) - len(keep)

    def step(self, step: int, logs: dict[str, float], lr: float, images_per_second: float) -> None:
        if self.writer is not None:
            for k, v in logs.items():
                self.writer.add_scalar(f"train/{k}", v, step)
            self.writer.add_scalar("train/lr", lr, step)
            self.writer.add_scalar("train/img_per_s", images_per_second, step)

    def evaluation(self, row: dict[str, Any]) -> None:
        if not self.enabled:
            return
        with open(self.run / "metrics.jsonl", "a", encoding="utf-8") as f:
            f.write(json.dumps(row) + "\n")
        if self.writer is not None:
            for k, v in row.items():
                if k.startswith("val/") and isinstance(v, (int, float)):
                    self.writer.add_scalar(k, v, row["step"])

    def image(self, tag: str, path: Path, step: int) -> None:
        if self.writer is not None and path.is_file():
            from PIL import Image

            with Image.open(path) as im:
                arr = np.asarray(im.convert("RGB"))
            self.writer.add_image(tag, arr, step, dataformats="HWC")

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
