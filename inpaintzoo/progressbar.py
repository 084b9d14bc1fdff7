"""Progress of a command that takes more than a few seconds: a rich bar on a terminal, plain lines on the
`inpaintzoo` logger when stderr is not one (every 10 %, at most every 100 items, at least every 30 s), so a piped
or logged run is never silent and a library user can silence it with `logging`."""
from __future__ import annotations

import logging
import math
import sys
import time

log = logging.getLogger("inpaintzoo")


class steps:
    """with steps(total, "evaluating") as advance: … advance(n) …"""

    def __init__(self, total: int, what: str, unit: str = ""):
        self.total, self.what, self.unit = total, what, unit
        self.done, self.shown, self.last, self.bar = 0, 0, time.monotonic(), None

    def __enter__(self):
        if self.total > 1 and sys.stderr.isatty():
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

            self.bar = Progress("[bold]{task.description}", BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                                transient=True)
            self.bar.start()
            self.task = self.bar.add_task(self.what, total=self.total)
        return self.advance

    def advance(self, n: int = 1) -> None:
        self.done += n
        if self.bar is not None:
            self.bar.advance(self.task, n)
            return
        due = self.done - self.shown >= max(1, min(100, math.ceil(self.total / 10))) or time.monotonic() - self.last > 30
        if self.total > 1 and (due or self.done == self.total):
            self.shown, self.last = self.done, time.monotonic()
            log.info("%s: %d of %d%s", self.what, self.done, self.total, f" {self.unit}" if self.unit else "")

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            self.bar.stop()
