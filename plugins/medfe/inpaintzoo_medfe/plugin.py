"""Registers the MEDFE components."""
from inpaintzoo.hookspecs import hookimpl

from .convert import MEDFEReleaseConverter
from .discriminator import GlobalLocalPatchGAN
from .equalizer import Equalizer
from .losses import Intermediate, Perceptual, RaLSGAN, Style
from .networks import MEDFEDecoder, MEDFEEncoder


@hookimpl
def register_components(register):
    register("encoder", "medfe.encoder", MEDFEEncoder)
    register("prior", "medfe.equalizer", Equalizer)
    register("decoder", "medfe.decoder", MEDFEDecoder)
    register("discriminator", "medfe.patchgan", GlobalLocalPatchGAN)
    register("loss", "medfe.adversarial", RaLSGAN)
    register("loss", "medfe.perceptual", Perceptual)
    register("loss", "medfe.style", Style)
    register("loss", "medfe.intermediate", Intermediate)
    register("converter", "medfe.release", MEDFEReleaseConverter)
