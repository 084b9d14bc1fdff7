"""Registers the latent-diffusion inpainting components."""
from inpaintzoo.hookspecs import hookimpl

from .convert import LDMConverter
from .network import DDIMPrior, LDMDecoder, LDMEncoder


@hookimpl
def register_components(register):
    register("encoder", "ldm.vq_encoder", LDMEncoder)
    register("prior", "ldm.ddim", DDIMPrior)
    register("decoder", "ldm.vq_decoder", LDMDecoder)
    register("converter", "ldm.release", LDMConverter)
