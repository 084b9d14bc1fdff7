"""Child processes that end with their parent: a DataLoader worker of a run killed with SIGKILL must not live on
(each holds a copy of the data set and decoded images: hundreds of MB)."""
from __future__ import annotations

import os
import signal
import sys


def die_with_parent() -> None:
    """Ask the kernel to SIGKILL this process when its parent dies (Linux `prctl(PR_SET_PDEATHSIG)`); elsewhere,
    PyTorch's own worker watchdog, which notices within seconds once the worker is idle, remains."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() == 1:  # the parent died before the call: nothing would signal us
        os._exit(1)


def worker_init(_: int) -> None:
    """DataLoader `worker_init_fn` of the folder runs: die with the parent."""
    die_with_parent()
