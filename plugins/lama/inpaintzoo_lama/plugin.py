"""Registers the LaMa components."""
from inpaintzoo.hookspecs import hookimpl

from .convert import BigLamaConverter
from .discriminator import NLayerDiscriminator
from .generator import FFCDecoder, FFCEncoder
from .losses import Adversarial, FeatureMatching, MaskedL1
from .resnet_pl import ResNetPL


@hookimpl
def register_components(register):
    register("encoder", "lama.ffc_encoder", FFCEncoder)
    register("decoder", "lama.ffc_decoder", FFCDecoder)
    register("converter", "lama.big_lama", BigLamaConverter)
    register("discriminator", "lama.nlayer_discriminator", NLayerDiscriminator)
    register("loss", "lama.adversarial", Adversarial)
    register("loss", "lama.feature_matching", FeatureMatching)
    register("loss", "lama.masked_l1", MaskedL1)
    register("loss", "lama.resnet_pl", ResNetPL)
