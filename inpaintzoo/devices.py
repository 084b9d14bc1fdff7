"""Choosing the device: `auto` takes the best one present (CUDA, then Apple's MPS, then the CPU), as diffusers and
IOPaint users expect, and commands say which they use."""
from __future__ import annotations

import torch

from .errors import InputError

CHOICES = "auto, cpu, cuda, cuda:N or mps"


def best() -> torch.device:
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def resolve_device(name: str | torch.device | None) -> torch.device:
    if name is None or str(name) == "auto":
        return best()
    try:
        device = torch.device(name)
    except (RuntimeError, TypeError):
        raise InputError(f"--device {name}: not a device; use {CHOICES}") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise InputError(f"--device {name}: no CUDA device is available here; use --device cpu (or auto)")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise InputError(f"--device {name}: only {torch.cuda.device_count()} CUDA device(s) here")
    elif device.type == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise InputError(f"--device {name}: Apple's MPS is not available here; use --device cpu (or auto)")
    elif device.type != "cpu":
        raise InputError(f"--device {name}: unsupported device type '{device.type}'; use {CHOICES}")
    return device
