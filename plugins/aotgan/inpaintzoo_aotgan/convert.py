"""AOT-GAN's released weights → an inpaintzoo model folder.

Two layouts: the authors' (researchmm/AOT-GAN-for-Inpainting, `G0000000.pt` in their Google Drive folders: a state
dict of `InpaintGenerator`, keys `encoder.N`, `middle.I.block0J.1`, `middle.I.fuse.1`, `middle.I.gate.1`,
`decoder.0.conv`, `decoder.2.conv`, `decoder.4`) and mmagic's (`AOT-GAN_512x512_4x12_places_*.pth`: a checkpoint
whose `state_dict` holds `generator.encoder.encoder.N.conv`, `generator.dilation_neck.model.I.blocks.J.1.conv`,
`…fuse.1.conv`, `…gate.1.conv`, `generator.decoder.decoder.K.conv`, beside its discriminator and loss networks).
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

#: the authors' layout: their module path → ours (inside `encoder.` / `decoder.`)
AUTHORS = [(r"encoder\.1\.", "encoder.layers.1."), (r"encoder\.3\.", "encoder.layers.3."), (r"encoder\.5\.", "encoder.layers.5."),
           (r"middle\.(\d+)\.block0(\d)\.1\.", r"decoder.middle.\1.blocks.\2.1."), (r"middle\.(\d+)\.fuse\.1\.", r"decoder.middle.\1.fuse.1."),
           (r"middle\.(\d+)\.gate\.1\.", r"decoder.middle.\1.gate.1."), (r"decoder\.0\.conv\.", "decoder.up1."),
           (r"decoder\.2\.conv\.", "decoder.up2."), (r"decoder\.4\.", "decoder.out.")]
#: mmagic's layout
MMAGIC = [(r"generator\.encoder\.encoder\.1\.conv\.", "encoder.layers.1."), (r"generator\.encoder\.encoder\.2\.conv\.", "encoder.layers.3."),
          (r"generator\.encoder\.encoder\.3\.conv\.", "encoder.layers.5."),
          (r"generator\.dilation_neck\.model\.(\d+)\.blocks\.(\d+)\.1\.conv\.", r"decoder.middle.\1.blocks.\2.1."),
          (r"generator\.dilation_neck\.model\.(\d+)\.fuse\.1\.conv\.", r"decoder.middle.\1.fuse.1."),
          (r"generator\.dilation_neck\.model\.(\d+)\.gate\.1\.conv\.", r"decoder.middle.\1.gate.1."),
          (r"generator\.decoder\.decoder\.0\.conv\.", "decoder.up1."), (r"generator\.decoder\.decoder\.1\.conv\.", "decoder.up2."),
          (r"generator\.decoder\.decoder\.2\.conv\.", "decoder.out.")]
TRAINING_ONLY = {"disc.": "the training discriminator (kept as discriminator.safetensors)", "loss_": "a loss network (training)",
                 "D:": "the training discriminator (kept as discriminator.safetensors)"}
AUTHORS_D = "D:"  # the authors' D*.pt keys, read beside G*.pt, carry this prefix


class AOTGANReleaseConfig(ComponentConfig):
    zoo: str = Field("aotgan-places2", description="the zoo entry whose spec the converted model takes")


class AOTGANConverter(Converter):
    """The authors' G*.pt or mmagic's AOT-GAN checkpoint → aotgan.encoder/decoder weights."""

    Config = AOTGANReleaseConfig
    source_help = "the authors' G0000000.pt, or mmagic's AOT-GAN_512x512_4x12_places_*.pth"
    file = "the release file"

    def spec(self) -> dict[str, Any]:
        from inpaintzoo import zoo

        return zoo.get(self.cfg.zoo).spec()

    layout = "authors"

    def where(self, key: str) -> str:
        return self.file

    def reference_keys(self) -> list[str]:
        return list(json.loads((Path(__file__).parent / "release_keys.json").read_text(encoding="utf-8"))[self.layout])

    def read(self, source: Path) -> dict[str, Tensor]:
        disc: dict[str, Tensor] = {}
        if source.is_dir():
            found = sorted(source.glob("G*.pt"))
            if not found:
                raise ConvertError(f"{source}: no G*.pt in the folder; expected the authors' experiment folder or the file")
            partner = source / ("D" + found[-1].name[1:])  # the authors save D{iteration}.pt beside G{iteration}.pt
            if partner.is_file():
                disc = {f"{AUTHORS_D}{k}": v for k, v in tensors(read_checkpoint(partner)).items()}
            source = found[-1]
        self.file = source.name
        ckpt = read_checkpoint(source)
        return {**tensors(ckpt.get("state_dict", ckpt) if isinstance(ckpt, dict) else {}), **disc}

    def discriminator_mapping(self, release_keys: list[str]) -> Mapping | None:
        """The authors' D*.pt (beside G*.pt in their folder) or mmagic's `disc.model.N`: spectral-norm convs 0–3 and the
        output conv, as `aotgan.discriminator`'s `layers.N`."""
        m = Mapping()
        for key in release_keys:
            hit = re.match(rf"{re.escape(AUTHORS_D)}conv\.(\d)\.(\w+)$", key) or re.match(r"disc\.model\.(\d)\.(?:conv\.)?(\w+)$", key)
            if hit:
                i = int(hit[1]) // 2 if key.startswith(AUTHORS_D) else int(hit[1])
                m.renamed[f"layers.{i}.{hit[2]}"] = key
        return m if m.renamed else None

    def mapping(self, release_keys: list[str]) -> Mapping:
        m = Mapping()
        if any(k.startswith("generator.") for k in release_keys):
            self.layout = "mmagic"
        rules = MMAGIC if self.layout == "mmagic" else AUTHORS
        for key in release_keys:
            for pat, repl in rules:
                if re.match(pat, key):
                    m.renamed[re.sub("^" + pat, repl, key)] = key
                    break
            else:
                why = next((w for p, w in TRAINING_ONLY.items() if key.startswith(p)), None)
                if why:
                    m.dropped[key] = why
        return m
