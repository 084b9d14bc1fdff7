"""CausalVAE for inpaintzoo (Yang et al., CVPR 2021, arXiv 2004.08697): causal layer, losses, data."""
