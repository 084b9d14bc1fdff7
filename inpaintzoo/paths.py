"""Where inpaintzoo keeps files between runs: `INPAINTZOO_HOME`, else `$XDG_CACHE_HOME/inpaintzoo`
(default `~/.cache/inpaintzoo`).

    models/NAME/      converted release weights (`inpaintzoo convert`), found by `load(NAME)` offline
    targets/KEY/      per-image data targets (e.g. MEDFE's RTV structure images), one .npy per image
    *.pt              downloaded FID Inception weights
"""
from __future__ import annotations

import os
from pathlib import Path


def home() -> Path:
    explicit = os.environ.get("INPAINTZOO_HOME") or os.environ.get("INPAINTZOO_CACHE")  # the latter: older name
    if explicit:
        return Path(explicit).expanduser()
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache").expanduser() / "inpaintzoo"


def models_dir() -> Path:
    return home() / "models"


def targets_dir() -> Path:
    return home() / "targets"


def umask() -> int:
    """The process's umask (files we create get 0666 & ~umask, as any tool's)."""
    current = os.umask(0)
    os.umask(current)
    return current


class naming:
    """Context manager: an OSError raised without a file name (a write() into a full disk) leaves naming `path`,
    so the CLI's one error line says which file could not be written."""

    def __init__(self, path: Path):
        self.path = path

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind, exc, tb) -> bool:
        if isinstance(exc, OSError) and not exc.filename and exc.errno:
            raise OSError(exc.errno, exc.strerror or str(exc), str(self.path)) from None
        return False
