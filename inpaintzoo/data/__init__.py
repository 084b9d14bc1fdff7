"""Datasets and mask generators that ship with the core."""
