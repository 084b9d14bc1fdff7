"""Registers the LaMa components."""
from inpaintzoo.hookspecs import hookimpl

from .convert import BigLamaConverter
from .generator import FFCDecoder, FFCEncoder


@hookimpl
def register_components(register):
    register("encoder", "lama.ffc_encoder", FFCEncoder)
    register("decoder", "lama.ffc_decoder", FFCDecoder)
    register("converter", "lama.big_lama", BigLamaConverter)
