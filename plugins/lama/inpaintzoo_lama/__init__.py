"""LaMa for inpaintzoo: "Resolution-robust Large Mask Inpainting with Fourier Convolutions" (arXiv 2109.07161)."""
