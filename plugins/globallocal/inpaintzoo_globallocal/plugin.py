"""Registers the Global&Local components."""
from inpaintzoo.hookspecs import hookimpl

from .convert import GLConverter
from .network import GLDecoder, GLEncoder


@hookimpl
def register_components(register):
    register("encoder", "globallocal.encoder", GLEncoder)
    register("decoder", "globallocal.decoder", GLDecoder)
    register("converter", "globallocal.mmagic", GLConverter)
