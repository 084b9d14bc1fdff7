"""Joining and leaving a torchrun process group, the one place the CLI's commands do it.

A rank that leaves gloo's process group and then runs the interpreter's normal shutdown can abort in a C++
destructor ("terminate called without an active exception", SIGABRT; about one run in ten on this 2-core CPU,
with the Python stack empty): torchrun then reports the whole job failed although every file was written. So a
rank that joined a group here leaves it with the others (a barrier), destroys it, and the CLI ends the process
with `os._exit` once its output is flushed (see `exit_code`).
"""
from __future__ import annotations

import os
import sys

_joined = False


def world_size() -> int:
    return int(os.environ.get("WORLD_SIZE", "1"))


def join(backend: str = "gloo") -> tuple[int, int]:
    """(rank, world size); under torchrun, initialise the process group once (`backend`: gloo, or nccl on CUDA)."""
    global _joined
    world = world_size()
    if world <= 1:
        return 0, 1
    import torch.distributed as dist

    if not dist.is_initialized():
        dist.init_process_group(backend)
        _joined = True
    return dist.get_rank(), world


def leave(ok: bool = True) -> None:
    """Destroy the group `join` made; when `ok`, after a barrier, so no rank tears its connections down while another
    still uses them (after a failure a barrier could wait for a rank that is gone, so there is none)."""
    if world_size() <= 1:
        return
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        if ok:
            dist.barrier()
        dist.destroy_process_group()


def exit_code(code: int) -> int:
    """`code`, or, in a process that joined a group, the end of the process with `code` once stdout and stderr are
    flushed: the interpreter's shutdown (where the abort happens) is skipped. Every file the command writes is
    closed before it returns; atexit handlers of this package have nothing left to do by then."""
    if not _joined:
        return code
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)
