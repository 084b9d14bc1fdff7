"""Small specs shared by several test files."""
import copy

CAUSAL_TINY = {
    "model": {"name": "cv-tiny", "image_size": [16, 16], "channels": 3, "resize": "fixed"},
    "encoder": {"type": "causalvae.mlp_encoder", "in_channels": 3, "image_size": [16, 16], "hidden": [64, 32]},
    "prior": {"type": "causalvae.causal_layer", "in_features": 32, "dims_per_concept": 2},
    "decoder": {"type": "causalvae.mlp_decoder", "dims_per_concept": 2, "hidden": [32], "out_channels": 3, "image_size": [16, 16]},
    "losses": {"recon": {"type": "causalvae.bernoulli"}, "kl": {"type": "causalvae.kl"},
               "label": {"type": "causalvae.label"}, "dag": {"type": "causalvae.dag"}},
}


def tiny_causal_spec() -> dict:
    return copy.deepcopy(CAUSAL_TINY)
