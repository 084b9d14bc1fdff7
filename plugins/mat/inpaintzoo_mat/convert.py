"""MAT's generator weights (a state dict of the release's `networks.mat.Generator`) → an inpaintzoo model folder.

The authors publish StyleGAN-style pickles (`Places_512_FullData.pkl`, …) that carry the network's source code
and rebuild it by running that code: never read here. IOPaint re-exports the Places 512 generator as a plain
state dict (`Places_512_FullData_G.pth`), which is what this converter reads; a pickle converted to a state dict
with the release's own code (`torch.save(G_ema.state_dict(), path)`) reads the same way.
Keys: `mapping.*` and `synthesis.{first_stage,enc,to_square,to_style}.*` fill mat.encoder, `synthesis.dec.*`
mat.decoder; a file with the noise inputs (`noise_const`, `noise_strength`: saved from the authors' pickle, not
IOPaint's) converts into the same entry with `decoder.noise = "const"`. Two kinds of stored constants are checked
and dropped: every layer's `resample_filter` (the [1, 3, 3, 1] binomial) and the shifted windows' `attn_mask`,
which our layers compute.
"""
from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import torch
from pydantic import Field
from torch import Tensor

from inpaintzoo.convert import CheckpointConverter, ConvertError, Mapping
from inpaintzoo.interfaces import ComponentConfig

from .ops import binomial_filter
from .transformer import shift_mask

RULES = [
    (r"mapping\.(.+)$", lambda m: f"encoder.mapping.{m[1]}"),
    (r"synthesis\.(first_stage|enc|to_square|to_style)\.(.+)$", lambda m: f"encoder.{m[1]}.{m[2]}"),
    (r"synthesis\.dec\.(.+)$", lambda m: f"decoder.{m[1]}"),
]
#: the transformer's resolutions and windows, by layer (tran.N), for the shifted windows' attention masks
WINDOWS = {0: (64, 8), 1: (32, 16), 2: (16, 16), 3: (32, 16), 4: (64, 8)}


class MATReleaseConfig(ComponentConfig):
    zoo: str = Field("mat-places512", description="the zoo entry whose spec the converted model takes")


def expected_constant(key: str) -> Tensor | None:
    """The value a stored constant must have, or None when `key` is not one."""
    if key.endswith(".resample_filter"):
        return binomial_filter()
    hit = re.search(r"first_stage\.tran\.(\d)\.blocks\.\d+\.attn_mask$", key)
    if hit:
        res, window = WINDOWS[int(hit[1])]
        return shift_mask(res, res, window, window // 2)
    return None


class MATConverter(CheckpointConverter):
    """IOPaint's Places_512_FullData_G.pth (a state dict of MAT's generator) → mat.encoder/decoder weights."""

    Config = MATReleaseConfig
    source_help = "Places_512_FullData_G.pth (IOPaint's state dict of MAT's Places 512 generator)"
    rules = RULES
    noise = False  # whether the last file read has the noise inputs (the authors' network; IOPaint's has none)

    def spec(self) -> dict[str, Any]:
        """The zoo entry's spec, with the noise inputs (`noise = "const"`, generate_image.py's default) when the
        file holds them: a state dict saved from the authors' pickle."""
        spec = copy.deepcopy(super().spec())
        if self.noise:
            spec["decoder"]["noise"] = "const"
        return spec

    def read(self, source: Path) -> dict[str, Tensor]:
        if source.suffix.lower() == ".pkl":
            raise ConvertError(f"{source}: MAT's .pkl files rebuild the network by running the code stored in them, "
                               f"which is never done here; convert IOPaint's Places_512_FullData_G.pth, or save "
                               f"G_ema.state_dict() with the release's own code and convert that")
        state = super().read(source)
        if not any(k.startswith("synthesis.first_stage.") for k in state):
            raise ConvertError(f"{source}: not MAT's generator (no synthesis.first_stage.* tensors)")
        self.noise = any(k.endswith(".noise_strength") for k in state)
        for key, value in state.items():
            want = expected_constant(key)
            if want is not None and not (value.shape == want.shape and torch.allclose(value.float(), want, atol=1e-6)):
                raise ConvertError(f"{source}: {key} is not the constant MAT computes there; not one of MAT's files")
        return state

    def mapping(self, release_keys: list[str]) -> Mapping:
        m = super().mapping([k for k in release_keys if expected_constant(k) is None])
        m.dropped.update({k: "a stored constant (resampling filter or shifted-window mask), computed"
                          for k in release_keys if expected_constant(k) is not None})
        return m
