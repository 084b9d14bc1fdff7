"""Latent-diffusion inpainting (Rombach et al., CVPR 2022; CompVis/latent-diffusion `inpainting_big`), exact to its release."""
