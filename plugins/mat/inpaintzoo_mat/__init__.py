"""MAT (Li et al., CVPR 2022: "Mask-Aware Transformer for Large Hole Image Inpainting"), exact to its release."""
