"""Registers the DeepFill v2 components."""
from inpaintzoo.hookspecs import hookimpl

from .convert import DeepFillConverter
from .generator import CoarseNet, RefineNet


@hookimpl
def register_components(register):
    register("encoder", "deepfill.coarse", CoarseNet)
    register("decoder", "deepfill.refine", RefineNet)
    register("converter", "deepfill.mmagic", DeepFillConverter)
