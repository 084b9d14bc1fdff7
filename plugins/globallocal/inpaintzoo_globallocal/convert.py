"""mmagic's Global&Local checkpoints (`gl_256x256_8x12_{places,celeba}_*.pth`) → inpaintzoo model folders.

The checkpoint's `state_dict` holds the completion network under `generator.{encoder,dilation_neck,decoder}.*`
(mmcv's ConvModule: `.conv.weight`, `.bn.{weight,bias,running_mean,running_var,num_batches_tracked}`; SyncBN in
training, plain batch norm at inference) beside the global and local discriminators (`disc.*`, not ported: listed
as dropped).
"""
from __future__ import annotations

from pydantic import Field

from inpaintzoo.convert import CheckpointConverter
from inpaintzoo.interfaces import ComponentConfig

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


class GLConverter(CheckpointConverter):
    """mmagic's Global&Local checkpoint → globallocal.encoder/decoder weights."""

    Config = GLReleaseConfig
    source_help = "gl_256x256_8x12_places_20200619-52a040a8.pth (or the CelebA one)"
    rules = RULES
    dropped = DROPPED
