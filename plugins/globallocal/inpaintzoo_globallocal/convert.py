"""mmagic's Global&Local checkpoints (`gl_256x256_8x12_{places,celeba}_*.pth`) → inpaintzoo model folders.

The checkpoint's `state_dict` holds the completion network under `generator.{encoder,dilation_neck,decoder}.*`
(mmcv's ConvModule: `.conv.weight`, `.bn.{weight,bias,running_mean,running_var,num_batches_tracked}`; SyncBN in
training, plain batch norm at inference) beside the global and local discriminators (`disc.*`, not ported: listed
as dropped).
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from pydantic import Field
from torch import Tensor

from inpaintzoo.convert import Mapping, read_checkpoint, tensors
from inpaintzoo.interfaces import ComponentConfig, Converter

from .network import DECODER

RULES = [
    (r"generator\.encoder\.enc(\d)\.(conv|bn)\.(\w+)$", lambda m: f"encoder.encoder.{int(m[1]) - 1}.{m[2]}.{m[3]}"),
    (r"generator\.dilation_neck\.dilation_convs\.(\d)\.(conv|bn)\.(\w+)$", lambda m: f"encoder.dilation.{m[1]}.{m[2]}.{m[3]}"),
    (r"generator\.decoder\.dec(\d)\.(conv|bn)\.(\w+)$",
     lambda m: f"decoder.layers.{int(m[1]) - 1}.{m[2]}.{m[3]}" if int(m[1]) <= len(DECODER) else f"decoder.out.{m[3]}"),
]
DROPPED = {"disc.": "Global&Local's global and local discriminators (training is not ported)"}


class GLReleaseConfig(ComponentConfig):
    zoo: str = Field("gl-places", description="the zoo entry whose spec the converted model takes")


class GLConverter(Converter):
    """mmagic's Global&Local checkpoint → globallocal.encoder/decoder weights."""

    Config = GLReleaseConfig
    source_help = "gl_256x256_8x12_places_20200619-52a040a8.pth (or the CelebA one)"
    file = "the checkpoint"

    def spec(self) -> dict[str, Any]:
        from inpaintzoo import zoo

        return zoo.get(self.cfg.zoo).spec()

    def where(self, key: str) -> str:
        return self.file

    def reference_keys(self) -> list[str]:
        return list(json.loads((Path(__file__).parent / "release_keys.json").read_text(encoding="utf-8")))

    def read(self, source: Path) -> dict[str, Tensor]:
        self.file = source.name
        ckpt = read_checkpoint(source)
        return tensors(ckpt.get("state_dict", ckpt) if isinstance(ckpt, dict) else {})

    def mapping(self, release_keys: list[str]) -> Mapping:
        m = Mapping()
        for key in release_keys:
            why = next((w for p, w in DROPPED.items() if key.startswith(p)), None)
            if why:
                m.dropped[key] = why
                continue
            for pat, fn in RULES:
                hit = re.match(pat, key)
                if hit:
                    m.renamed[fn(hit)] = key
                    break
        return m
