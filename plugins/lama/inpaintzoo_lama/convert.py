"""big-lama's released checkpoint → an inpaintzoo model folder.

The release (advimman/lama, `big-lama.zip` from huggingface.co/smartywu/big-lama) is a PyTorch Lightning
checkpoint, `big-lama/models/best.ckpt`, whose `state_dict` holds the whole training module: the generator
under `generator.model.N` (an nn.Sequential: 0 reflection pad, 1 stem FFC, 2–4 downsampling FFCs, 5–22 the 18
residual blocks, 23 the concatenation, 24–32 three ConvTranspose/BN/ReLU levels, 33 pad, 34 output conv, 35
sigmoid), and training-only modules beside it (discriminator, the ResNet perceptual loss, evaluators). Its
hyper-parameters are pickled OmegaConf objects, read as inert placeholders.

The release's `make_checkpoint.py` strips the discriminator from big-lama.zip; the authors' `big-lama-with-discr`
keeps it (`discriminator.modelN.*`, pix2pixHD's N-layer PatchGAN): converted from such a file, the model folder also
holds discriminator.safetensors, where `inpaintzoo train --init` starts a fine-tune's discriminator.

IOPaint's `big-lama.pt` (what most LaMa users hold) is a TorchScript trace of the release's training module made
as the release's `bin/to_jit.py`: the same 989 generator tensors under `model.generator.model.N.*`. It is read
as an archive of tensors (inpaintzoo.pickles), never executed. Accepted sources: the zip, the unpacked folder,
best.ckpt itself, or the TorchScript file.
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from pydantic import Field
from torch import Tensor

from inpaintzoo.convert import ConvertError, Mapping, read_bytes_checkpoint, read_checkpoint, tensors, zip_member
from inpaintzoo.interfaces import ComponentConfig, Converter

#: what the release holds beside the generator, and why none of it is needed to inpaint
TRAINING_ONLY = {
    "discriminator.": "the training discriminator (kept as discriminator.safetensors for fine-tuning)",
    "loss_resnet_pl.": "the ResNet perceptual loss network (training)",
    "loss_pl.": "the perceptual loss network (training)",
    "val_evaluator.": "an evaluator of the training run",
    "test_evaluator.": "an evaluator of the training run",
    "extra_evaluators.": "an evaluator of the training run",
    "evaluator.": "an evaluator of the training run",
    "generator_average.": "a weight average big-lama does not use",
}


class BigLamaConfig(ComponentConfig):
    zoo: str = Field("lama-big", description="the zoo entry whose spec the converted model takes")


class BigLamaConverter(Converter):
    """LaMa's big-lama Lightning checkpoint (zip, folder or best.ckpt) → lama.ffc_encoder/decoder weights."""

    Config = BigLamaConfig
    source_help = "big-lama.zip, the big-lama/ folder, big-lama/models/best.ckpt or IOPaint's big-lama.pt"

    def spec(self) -> dict[str, Any]:
        from inpaintzoo import zoo

        return zoo.get(self.cfg.zoo).spec()

    file = "best.ckpt"

    def reference_keys(self) -> list[str]:
        return list(json.loads((Path(__file__).parent / "big_lama_keys.json").read_text(encoding="utf-8")))

    def where(self, key: str) -> str:
        return self.file

    def read(self, source: Path) -> dict[str, Tensor]:
        self.file = source.name
        if source.is_dir():
            found = sorted(source.rglob("best.ckpt")) or sorted(source.rglob("*.ckpt"))
            if not found:
                raise ConvertError(f"{source}: no models/best.ckpt inside; expected the unpacked big-lama folder")
            ckpt = read_checkpoint(found[0])
        else:
            member = zip_member(source, "best.ckpt")
            ckpt = read_bytes_checkpoint(member, f"{source}:best.ckpt") if member is not None else read_checkpoint(source)
        state = ckpt.get("state_dict", ckpt) if isinstance(ckpt, dict) else None
        if not isinstance(state, dict):
            raise ConvertError(f"{source}: not a LaMa checkpoint (no state_dict)")
        return tensors(state)

    def mapping(self, release_keys: list[str]) -> Mapping:
        spec = self.spec()
        n_blocks = int(spec["decoder"].get("n_blocks", 18))
        n_down = int(spec["encoder"].get("n_downsampling", 3))
        # nn.Sequential positions: 0 pad, 1 stem, 2… the downsamplings, then the blocks, the concatenation,
        # three modules per upsampling level (ConvTranspose, BN, ReLU), a pad and the output conv
        first_block = 2 + n_down
        first_up = first_block + n_blocks + 1
        out_conv = first_up + 3 * n_down + 1
        m = Mapping()
        for key in release_keys:
            hit = re.match(r"(?:model\.)?generator\.model\.(\d+)\.(.+)$", key)  # model.: the TorchScript trace
            if hit is None:
                why = next((w for p, w in TRAINING_ONLY.items() if key.startswith(p)), None)
                if why is not None:
                    m.dropped[key] = why
                continue
            i, rest = int(hit[1]), hit[2]
            if i == 1:
                ours = f"encoder.stem.{rest}"
            elif 2 <= i < 2 + n_down:
                ours = f"encoder.downs.{i - 2}.{rest}"
            elif first_block <= i < first_block + n_blocks:
                ours = f"decoder.blocks.{i - first_block}.{rest}"
            elif first_up <= i < first_up + 3 * n_down and (i - first_up) % 3 in (0, 1):
                ours = f"decoder.ups.{(i - first_up) // 3}.{(i - first_up) % 3}.{rest}"
            elif i == out_conv:
                ours = f"decoder.out.{rest}"
            else:
                continue  # left unmapped: reported as an unconsumed key
            m.renamed[ours] = key
        return m

    def discriminator_mapping(self, release_keys: list[str]) -> Mapping | None:
        m = Mapping()
        for key in release_keys:
            hit = re.match(r"(?:model\.)?discriminator\.(model\d+\..+)$", key)
            if hit:
                m.renamed[hit[1]] = key
        return m if m.renamed else None
