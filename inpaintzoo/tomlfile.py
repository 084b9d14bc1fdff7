"""Reading TOML files (specs, the zoo index) with one-line errors; no heavy imports, so `inpaintzoo list` and
`--help` start fast."""
from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from .errors import SpecError


def read_toml(path: str | Path) -> dict[str, Any]:
    p = Path(path)
    if not p.is_file():
        raise SpecError(str(p), ["no such spec file; pass a path to a .toml spec or a zoo name (see `inpaintzoo list`)"])
    try:
        return tomllib.loads(p.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(str(p), [f"malformed TOML: {exc}"]) from None
    except UnicodeDecodeError:
        raise SpecError(str(p), ["not a UTF-8 text file"]) from None
