"""MI-GAN's released weights → an inpaintzoo model folder.

Two layouts hold the same network: the authors' files (`migan_256_places2.pt`, `migan_512_places2.pt`,
`migan_256_ffhq.pt`: a state dict of `lib/model_zoo/migan_inference.Generator`, keys `encoder.*` and
`synthesis.*`) and IOPaint's `migan_traced.pt` (a TorchScript trace of that generator at 512², read as an archive
of tensors, never executed). The synthesis network is our decoder; every other name is the release's.
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from pydantic import Field
from torch import Tensor

from inpaintzoo.convert import ConvertError, Mapping, read_checkpoint, tensors
from inpaintzoo.interfaces import ComponentConfig, Converter


class MIGANReleaseConfig(ComponentConfig):
    zoo: str = Field("migan-512-places2", description="the zoo entry whose spec the converted model takes")


class MIGANConverter(Converter):
    """migan_*.pt (the authors' state dict) or IOPaint's migan_traced.pt → migan.encoder/synthesis weights."""

    Config = MIGANReleaseConfig
    source_help = "migan_512_places2.pt (or another of the authors' files), or IOPaint's migan_traced.pt"
    file = "the release file"

    def spec(self) -> dict[str, Any]:
        from inpaintzoo import zoo

        return zoo.get(self.cfg.zoo).spec()

    def where(self, key: str) -> str:
        return self.file

    def reference_keys(self) -> list[str]:
        res = self.spec()["model"]["image_size"][0]
        path = Path(__file__).parent / f"release_keys_{res}.json"
        return list(json.loads(path.read_text(encoding="utf-8"))) if path.is_file() else []

    def read(self, source: Path) -> dict[str, Tensor]:
        if source.is_dir():
            raise ConvertError(f"{source}: expected the .pt file itself (e.g. migan_512_places2.pt or migan_traced.pt)")
        self.file = source.name
        ckpt = read_checkpoint(source)
        state = tensors(ckpt.get("state_dict", ckpt) if isinstance(ckpt, dict) else {})
        if not any(re.search(r"(^|\.)(encoder|synthesis)\.b\d+\.", k) for k in state):
            raise ConvertError(f"{source}: not a MI-GAN generator (no encoder.b*/synthesis.b* tensors)")
        return state

    def variant(self, release: dict[str, Tensor]) -> str | None:
        """256 or 512 from the generator's deepest block (`encoder.b512.*` exists only at 512); FFHQ when the file
        name says so (the two 256 generators share one architecture)."""
        from inpaintzoo import zoo

        blocks = [int(m[1]) for k in release if (m := re.search(r"(?:^|\.)encoder\.b(\d+)\.", k))]
        if not blocks:
            return None
        name = f"migan-{max(blocks)}-{'ffhq' if 'ffhq' in self.file.lower() else 'places2'}"
        return name if name in zoo.index() else None

    def mapping(self, release_keys: list[str]) -> Mapping:
        m = Mapping()
        for key in release_keys:
            hit = re.match(r"(?:.*?\.)?(encoder|synthesis)\.(b\d+\..+)$", key)  # any wrapper prefix of a trace
            if hit:
                m.renamed[f"{'decoder' if hit[1] == 'synthesis' else 'encoder'}.{hit[2]}"] = key
        return m
