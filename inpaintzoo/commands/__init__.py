"""Commands implemented outside cli.py, each module exporting COMMANDS = {name: (argparse adder, handler)}."""
from __future__ import annotations

from . import docs, evaluate, infer, masks, publish, train

EXTRA_COMMANDS: dict = {**train.COMMANDS, **infer.COMMANDS, **masks.COMMANDS, **evaluate.COMMANDS, **publish.COMMANDS, **docs.COMMANDS}
