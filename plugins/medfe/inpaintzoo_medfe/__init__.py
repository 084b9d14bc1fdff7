"""MEDFE for inpaintzoo: "Rethinking Image Inpainting via a Mutual Encoder-Decoder with Feature Equalizations" (arXiv 2007.06929)."""
