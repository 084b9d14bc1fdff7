"""Registers the MI-GAN components."""
from inpaintzoo.hookspecs import hookimpl

from .convert import MIGANConverter
from .generator import MIGANEncoder, MIGANSynthesis


@hookimpl
def register_components(register):
    register("encoder", "migan.encoder", MIGANEncoder)
    register("decoder", "migan.synthesis", MIGANSynthesis)
    register("converter", "migan.release", MIGANConverter)
