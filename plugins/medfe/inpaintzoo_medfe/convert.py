"""MEDFE's released generators (CelebA, Places2, Paris StreetView) → inpaintzoo model folders.

The release saves one file per network, `{epoch}_net_EN.pth`, `{epoch}_net_DE.pth`, `{epoch}_net_MEDFE.pth`
(`models/base_model.py` `save_networks`: a state dict, or {'net': state dict, 'optimize': optimiser state}
when saved from a GPU). The converted model uses the release's computation (`faithful_scramble`,
`partial_conv = "release"`), which its weights were trained with: the stored random mask kernels of the
partial convolutions fill `mask_weight`. Accepted source: the folder holding the three files (the newest
epoch, or `latest`, is used when there are several).
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

NETS = ("EN", "DE", "MEDFE")
#: PCconv module → our equalizer module (prefix rewrites on the key after `MEDFE.pc_block.`)
EQUALIZER = [
    (r"down_128\.model\.0\.", "de1.0.0."), (r"down_128\.model\.3\.", "de1.1.0."), (r"down_64\.model\.0\.", "de2.0."),
    (r"down_32\.model\.0\.", "de3.0."), (r"up\.conv\.", "st_up.0."), (r"down\.model\.0\.", "down.0."),
    (r"down_tanh\.model\.0\.", "cae_head.0."), (r"fuse\.model\.0\.", "fuse.0."), (r"base\.model\.0\.fc\.0\.", "se.1."),
    (r"base\.model\.0\.fc\.2\.", "se.3."), (r"base\.down\.0\.", "spatial_out.0."), (r"up_128\.conv\.", "to_e1.0."),
    (r"up_64\.conv\.", "to_e2.0."), (r"up_32\.conv\.", "to_e3.0."), (r"down_16\.model\.0\.", "to_e4.0."),
    (r"down_8\.model\.0\.", "to_e5.0.0."), (r"down_8\.model\.3\.", "to_e5.1.0."), (r"down_4\.model\.0\.", "to_e6.0.0."),
    (r"down_4\.model\.3\.", "to_e6.1.0."), (r"down_4\.model\.6\.", "to_e6.2.0."),
]
KERNELS = {"3": 0, "5": 1, "7": 2}


class MEDFEReleaseConfig(ComponentConfig):
    zoo: str = Field("medfe-celeba256-release", description="the zoo entry whose spec the converted model takes")


class MEDFEReleaseConverter(Converter):
    """The released MEDFE networks (EN, DE, MEDFE .pth files in one folder) → medfe.encoder/equalizer/decoder."""

    Config = MEDFEReleaseConfig
    source_help = "the folder holding {epoch}_net_EN.pth, {epoch}_net_DE.pth and {epoch}_net_MEDFE.pth"

    def spec(self) -> dict[str, Any]:
        from inpaintzoo import zoo

        return zoo.get(self.cfg.zoo).spec()

    files: dict[str, Path] = {}

    def read(self, source: Path) -> dict[str, Tensor]:
        if not source.is_dir():
            raise ConvertError(f"{source}: expected the folder holding {{epoch}}_net_EN.pth, _net_DE.pth and _net_MEDFE.pth")
        found: dict[str, dict[str, Path]] = {}
        for p in source.glob("*_net_*.pth"):
            hit = re.match(r"(.+)_net_(EN|DE|MEDFE)\.pth$", p.name)
            if hit:
                found.setdefault(hit[1], {})[hit[2]] = p
        complete = [e for e, nets in found.items() if set(nets) >= set(NETS)]
        if not complete:
            if not found:
                raise ConvertError(f"{source}: no {{epoch}}_net_EN.pth, _net_DE.pth or _net_MEDFE.pth in the folder; "
                                   f"expected the three files of one MEDFE release folder")
            epoch = max(found, key=lambda e: len(found[e]))
            lacking = ", ".join(f"{epoch}_net_{n}.pth" for n in NETS if n not in found[epoch])
            raise ConvertError(f"{source}: {lacking} is missing (the folder has {', '.join(sorted(p.name for p in found[epoch].values()))}); "
                               f"download the release folder's three files")
        epoch = "latest" if "latest" in complete else max(complete, key=lambda e: (e.isdigit(), int(e) if e.isdigit() else 0, e))
        self.files = {net: found[epoch][net] for net in NETS}
        out: dict[str, Tensor] = {}
        for net in NETS:
            ckpt = read_checkpoint(found[epoch][net])
            state = ckpt.get("net", ckpt) if isinstance(ckpt, dict) else None
            if not isinstance(state, dict):
                raise ConvertError(f"{found[epoch][net]}: not a state dict")
            for k, v in tensors(state).items():
                out[f"{net}.{k.removeprefix('module.')}"] = v
            if isinstance(ckpt, dict) and "optimize" in ckpt:
                out.update({f"{net}.optimize.{k}": v for k, v in tensors(ckpt["optimize"]).items()})
        return out

    def reference_keys(self) -> list[str]:
        layout = json.loads((Path(__file__).parent / "release_keys.json").read_text(encoding="utf-8"))
        return [f"{net}.{k}" for net, keys in layout.items() for k in keys]

    def where(self, key: str) -> str:
        net = key.partition(".")[0]
        return self.files[net].name if net in self.files else f"*_net_{net}.pth"

    def mapping(self, release_keys: list[str]) -> Mapping:
        m = Mapping()
        for key in release_keys:
            net, _, rest = key.partition(".")
            ours = None
            if rest.startswith("optimize."):
                m.dropped[key] = "optimiser state (training)"
                continue
            if net == "EN":
                hit = re.match(r"Encoder_(\d)\.model\.(\d)\.(.+)$", rest)
                if hit:
                    ours = f"encoder.e{hit[1]}.{hit[2]}.{hit[3]}"
                elif rest.startswith("middle."):
                    ours = "encoder.middle." + rest.removeprefix("middle.").replace("conv_block.", "block.")
            elif net == "DE":
                hit = re.match(r"Decoder_(\d)\.model\.(\d)\.(.+)$", rest)
                if hit:
                    ours = f"decoder.d{hit[1]}.{hit[2]}.{hit[3]}"
            elif net == "MEDFE":
                if rest.startswith("loss."):
                    m.dropped[key] = "the intermediate loss's RGB head (training)"
                    continue
                body = rest.removeprefix("pc_block.")
                hit = re.match(r"cov_(\d)\.(\d)\.(conv\.input_conv|conv\.mask_conv|bn)\.(.+)$", body)
                if hit:
                    kind = {"conv.input_conv": "convs", "conv.mask_conv": "convs", "bn": "norms"}[hit[3]]
                    name = "mask_weight" if hit[3] == "conv.mask_conv" else hit[4]
                    ours = f"prior.fill.0.{KERNELS[hit[1]]}.{kind}.{hit[2]}.{name}"
                else:
                    for pat, repl in EQUALIZER:
                        if re.match(pat, body):
                            ours = "prior." + re.sub("^" + pat, repl, body)
                            break
            if ours is not None:
                m.renamed[ours] = key
        return m
