"""Tiny untrained CAE model folders, for the conformance checks and tests."""
from __future__ import annotations

from pathlib import Path

import torch


def cae_spec(kind: str, size: int = 32, ngf: int = 8, cap: int = 32) -> dict:
    enc = {"type": f"cae.{kind}", "ngf": ngf, "max_channels": cap}
    return {
        "model": {"name": f"cae-{kind}-fixture", "image_size": [size, size], "mean": [0.5], "std": [0.5], "resize": "fixed"},
        "encoder": enc,
        "prior": {"type": "core.identity"},
        "decoder": {"type": "cae.decoder", "ngf": ngf, "max_channels": cap, "n_up": 3},
        "losses": {"l1": {"type": "core.l1", "weight": 10.0}},
    }


def write_tiny_caes(folder: Path, size: int = 32) -> tuple[Path, Path]:
    import warnings

    from inpaintzoo import UntrainedWarning, create_model
    from inpaintzoo.artifact import save_model

    out = []
    for i, kind in enumerate(("texture", "structure")):
        path = Path(folder) / f"cae-{kind}"
        if not path.exists():
            with torch.random.fork_rng(devices=[]), warnings.catch_warnings():
                warnings.simplefilter("ignore", UntrainedWarning)  # untrained on purpose: a fixture
                torch.manual_seed(10 + i)
                save_model(create_model(cae_spec(kind, size)), path)
        out.append(path)
    return out[0], out[1]
