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
        data = tomllib.loads(p.read_text(encoding="utf-8"))
        if too_deep(data):
            raise RecursionError
        return data
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(str(p), [f"malformed TOML: {exc}"]) from None
    except UnicodeDecodeError:
        raise SpecError(str(p), ["not a UTF-8 text file"]) from None
    except RecursionError:  # tomllib recurses per nesting level: [a.a.a…] or [[[…]]] thousands deep
        raise SpecError(str(p), ["tables or arrays nested too deep to be a spec"]) from None


#: deeper than any spec is (a spec is 4 levels; a component's options add a few)
MAX_DEPTH = 64


def too_deep(value: Any, limit: int = MAX_DEPTH) -> bool:
    """Whether tables and arrays nest deeper than `limit` (walked without recursion: later steps copy and validate
    the spec recursively, which a [a.a.a…] header thousands deep would exhaust)."""
    stack = [(value, 0)]
    while stack:
        v, depth = stack.pop()
        if depth > limit:
            return True
        if isinstance(v, dict):
            stack.extend((x, depth + 1) for x in v.values())
        elif isinstance(v, list):
            stack.extend((x, depth + 1) for x in v)
    return False
