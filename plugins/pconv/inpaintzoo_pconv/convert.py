"""mmagic's PConv checkpoints (`pconv_256x256_stage2_4x2_{places,celeba}_*.pth`) → inpaintzoo model folders.

The checkpoint's `state_dict` holds the U-Net under `generator.{encoder,decoder}.{enc,dec}N.{conv,bn}.*` (mmcv's
MaskConvModule; SyncBN in training, plain batch norm at inference). Each partial convolution also stores its
all-ones mask kernel (`conv.weight_mask_updater`): a constant our layer computes, so those keys are checked to be
ones and dropped. PConv has no discriminator.
"""
from __future__ import annotations

from pathlib import Path

import torch
from pydantic import Field
from torch import Tensor

from inpaintzoo.convert import CheckpointConverter, ConvertError, Mapping
from inpaintzoo.interfaces import ComponentConfig

UPDATER = ".conv.weight_mask_updater"
RULES = [(r"generator\.(encoder|decoder)\.((?:enc|dec)\d+)\.(conv|bn)\.(\w+)$", lambda m: f"{m[1]}.{m[2]}.{m[3]}.{m[4]}")]


class PConvReleaseConfig(ComponentConfig):
    zoo: str = Field("pconv-places", description="the zoo entry whose spec the converted model takes")


class PConvConverter(CheckpointConverter):
    """mmagic's PConv checkpoint → pconv.encoder/decoder weights."""

    Config = PConvReleaseConfig
    source_help = "pconv_256x256_stage2_4x2_places_20200619-1ffed0e8.pth (or the CelebA one)"
    rules = RULES

    def read(self, source: Path) -> dict[str, Tensor]:
        state = super().read(source)
        for key, value in state.items():
            if key.endswith(UPDATER) and not (value.is_floating_point() and torch.equal(value, torch.ones_like(value))):
                raise ConvertError(f"{source}: {key} is not all ones (a partial convolution's mask kernel is a "
                                   f"constant in PConv); this is not one of PConv's checkpoints")
        return state

    def mapping(self, release_keys: list[str]) -> Mapping:
        m = super().mapping([k for k in release_keys if not k.endswith(UPDATER)])
        m.dropped.update({k: "a partial convolution's all-ones mask kernel (a constant, computed)"
                          for k in release_keys if k.endswith(UPDATER)})
        return m
