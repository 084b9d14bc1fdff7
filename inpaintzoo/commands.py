"""Commands implemented outside cli.py: name → (argparse adder, handler)."""
from __future__ import annotations

EXTRA_COMMANDS: dict = {}
