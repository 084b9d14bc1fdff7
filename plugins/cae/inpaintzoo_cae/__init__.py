"""CAE ground-truth encoders for inpaintzoo ("Non-Lossy Ground Truth Comparison via Convolutional Auto-Encoders")."""
