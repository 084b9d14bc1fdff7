"""DeepFill v2 for inpaintzoo: "Free-Form Image Inpainting with Gated Convolution" (Yu et al., ICCV 2019)."""
