"""Registers the CausalVAE components and data sets."""
from inpaintzoo.hookspecs import hookimpl

from .causal_layer import CausalLayer
from .do_consistency import DoConsistency
from .losses import BernoulliNLL, CausalKL, DagPenalty, LabelLoss
from .mlp import MLPEncoder, PerConceptMLPDecoder
from .faces import ConceptFaces
from .pendulum import Pendulum


@hookimpl
def register_components(register):
    register("prior", "causalvae.causal_layer", CausalLayer)
    register("encoder", "causalvae.mlp_encoder", MLPEncoder)
    register("decoder", "causalvae.mlp_decoder", PerConceptMLPDecoder)
    register("loss", "causalvae.kl", CausalKL)
    register("loss", "causalvae.label", LabelLoss)
    register("loss", "causalvae.dag", DagPenalty)
    register("loss", "causalvae.bernoulli", BernoulliNLL)
    register("loss", "causalvae.do_consistency", DoConsistency)
    register("dataset", "causalvae.pendulum", Pendulum)
    register("dataset", "causalvae.concept_faces", ConceptFaces)
