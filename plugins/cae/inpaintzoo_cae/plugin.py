"""Registers the CAE components."""
from inpaintzoo.hookspecs import hookimpl

from .autoencoders import CAEDecoder, StructureEncoder, TextureEncoder
from .loss import GroundTruthCodes


@hookimpl
def register_components(register):
    register("encoder", "cae.texture", TextureEncoder)
    register("encoder", "cae.structure", StructureEncoder)
    register("decoder", "cae.decoder", CAEDecoder)
    register("loss", "cae.ground_truth", GroundTruthCodes)
