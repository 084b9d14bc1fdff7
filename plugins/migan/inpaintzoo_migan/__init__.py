"""MI-GAN for inpaintzoo: "MI-GAN: A Simple Baseline for Image Inpainting on Mobile Devices" (ICCV 2023)."""
