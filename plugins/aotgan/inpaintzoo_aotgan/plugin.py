"""Registers the AOT-GAN components."""
from inpaintzoo.hookspecs import hookimpl

from .convert import AOTGANConverter
from .discriminator import SMPatchDiscriminator
from .generator import AOTDecoder, AOTEncoder
from .losses import SMGAN, Perceptual, Style


@hookimpl
def register_components(register):
    register("encoder", "aotgan.encoder", AOTEncoder)
    register("decoder", "aotgan.decoder", AOTDecoder)
    register("converter", "aotgan.release", AOTGANConverter)
    register("discriminator", "aotgan.discriminator", SMPatchDiscriminator)
    register("loss", "aotgan.smgan", SMGAN)
    register("loss", "aotgan.perceptual", Perceptual)
    register("loss", "aotgan.style", Style)
