"""Registers the AOT-GAN components."""
from inpaintzoo.hookspecs import hookimpl

from .convert import AOTGANConverter
from .generator import AOTDecoder, AOTEncoder


@hookimpl
def register_components(register):
    register("encoder", "aotgan.encoder", AOTEncoder)
    register("decoder", "aotgan.decoder", AOTDecoder)
    register("converter", "aotgan.release", AOTGANConverter)
