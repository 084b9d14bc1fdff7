"""Registers the PConv components."""
from inpaintzoo.hookspecs import hookimpl

from .convert import PConvConverter
from .network import PConvDecoder, PConvEncoder


@hookimpl
def register_components(register):
    register("encoder", "pconv.encoder", PConvEncoder)
    register("decoder", "pconv.decoder", PConvDecoder)
    register("converter", "pconv.mmagic", PConvConverter)
