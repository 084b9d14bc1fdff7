"""NVAE for inpaintzoo: cells, hierarchical encoder/prior/decoder and losses (arXiv 2007.03898)."""
