"""Registers the NVAE components."""
from inpaintzoo.hookspecs import hookimpl

from .cells import MBConvCell, ResidualCell
from .hierarchy import CellDecoder, HierarchicalDecoder, HierarchicalEncoder, HierarchicalPrior
from .losses import LogisticMixtureNLL, SpectralRegularizer, WarmupKL


@hookimpl
def register_components(register):
    register("block", "nvae.residual_cell", ResidualCell)
    register("block", "nvae.mbconv_cell", MBConvCell)
    register("encoder", "nvae.encoder", HierarchicalEncoder)
    register("prior", "nvae.hierarchical", HierarchicalPrior)
    register("decoder", "nvae.decoder", HierarchicalDecoder)
    register("decoder", "nvae.cell_decoder", CellDecoder)
    register("loss", "nvae.logistic_mixture", LogisticMixtureNLL)
    register("loss", "nvae.kl", WarmupKL)
    register("loss", "nvae.spectral", SpectralRegularizer)
