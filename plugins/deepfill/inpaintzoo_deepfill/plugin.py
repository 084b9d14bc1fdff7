"""Registers the DeepFill v2 components."""
from inpaintzoo.hookspecs import hookimpl

from .convert import DeepFillConverter
from .discriminator import SNPatchDiscriminator
from .generator import CoarseNet, RefineNet
from .losses import Hinge, StageL1


@hookimpl
def register_components(register):
    register("encoder", "deepfill.coarse", CoarseNet)
    register("decoder", "deepfill.refine", RefineNet)
    register("converter", "deepfill.mmagic", DeepFillConverter)
    register("discriminator", "deepfill.sn_patchgan", SNPatchDiscriminator)
    register("loss", "deepfill.l1", StageL1)
    register("loss", "deepfill.hinge", Hinge)
