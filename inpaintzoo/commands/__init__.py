"""Commands implemented outside cli.py, each module exporting COMMANDS = {name: (argparse adder, handler)}.

The argparse types below turn a bad number into argparse's one-line error naming the option.
"""
from __future__ import annotations

import argparse


def positive_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {v}")
    return v


def seed(text: str) -> int:
    """A random seed: 0 … 2⁶³ − 1 (what torch's generators and the spec's train.seed take)."""
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if not 0 <= v < 2**63:
        raise argparse.ArgumentTypeError(f"must lie in 0 … 2**63 − 1, got {text}")
    return v


def side(text: str) -> int:
    """An image side in pixels: 1 … 16384 (the bound every image-size field has)."""
    v = positive_int(text)
    if v > 16384:
        raise argparse.ArgumentTypeError(f"must be at most 16384 pixels, got {v}")
    return v


def positive_float(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not v > 0 or v == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return v


def quality(text: str) -> int:
    """A JPEG/WebP quality: 1 … 100 (PIL's scale; above 95 the files grow for little gain)."""
    v = positive_int(text)
    if v > 100:
        raise argparse.ArgumentTypeError(f"must lie in 1 … 100, got {v}")
    return v


def fraction(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1], got {text!r}") from None
    if not 0.0 <= v <= 1.0:
        raise argparse.ArgumentTypeError(f"must lie in [0, 1] (mask values are scaled to [0, 1] first), got {text}")
    return v


from . import convert, demo, docs, evaluate, example, export, infer, masks, precompute, publish, train  # noqa: E402

EXTRA_COMMANDS: dict = {**train.COMMANDS, **infer.COMMANDS, **masks.COMMANDS, **evaluate.COMMANDS, **publish.COMMANDS,
                        **docs.COMMANDS, **example.COMMANDS, **precompute.COMMANDS, **convert.COMMANDS,
                        **demo.COMMANDS, **export.COMMANDS}
