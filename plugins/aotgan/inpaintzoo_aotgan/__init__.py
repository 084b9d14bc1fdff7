"""AOT-GAN for inpaintzoo: "Aggregated Contextual Transformations for High-Resolution Image Inpainting" (TVCG 2022)."""
