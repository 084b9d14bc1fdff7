"""Registers the MAT components."""
from inpaintzoo.hookspecs import hookimpl

from .convert import MATConverter
from .network import MATDecoder, MATEncoder


@hookimpl
def register_components(register):
    register("encoder", "mat.encoder", MATEncoder)
    register("decoder", "mat.decoder", MATDecoder)
    register("converter", "mat.release", MATConverter)
