"""The zoo index, `registry.toml`: named models with their specs, data set, licence, paper, hub repo."""
from __future__ import annotations

import fnmatch
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from .errors import LoadError, SpecError, did_you_mean
from .spec import read_toml

INDEX = "registry.toml"


@dataclass(frozen=True)
class ZooEntry:
    name: str
    spec_path: Path
    description: str = ""
    dataset: str = ""
    license: str = ""
    paper: str = ""
    hub: str | None = None
    revision: str | None = None
    metrics: dict[str, Any] = field(default_factory=dict)

    def spec(self) -> dict[str, Any]:
        return read_toml(self.spec_path)


def index_path() -> Path:
    """The installed copy (wheel) first, else the source checkout's top-level file."""
    packaged = resources.files("inpaintzoo") / "_zoo" / INDEX
    if packaged.is_file():
        return Path(str(packaged))
    return Path(__file__).resolve().parent.parent / INDEX


@lru_cache(maxsize=1)
def index() -> dict[str, ZooEntry]:
    path = index_path()
    if not path.is_file():
        return {}
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(str(path), [f"malformed TOML: {exc}"]) from None
    out = {}
    for name, body in (raw.get("models") or {}).items():
        out[name] = ZooEntry(
            name=name,
            spec_path=path.parent / body["spec"],
            description=body.get("description", ""),
            dataset=body.get("dataset", ""),
            license=body.get("license", ""),
            paper=body.get("paper", ""),
            hub=body.get("hub"),
            revision=body.get("revision"),
            metrics=body.get("metrics", {}),
        )
    return out


def list_zoo(pattern: str = "*") -> list[ZooEntry]:
    return [e for n, e in sorted(index().items()) if fnmatch.fnmatchcase(n, pattern)]


def get(name: str) -> ZooEntry:
    zoo = index()
    if name not in zoo:
        raise LoadError(f"'{name}' is not a zoo model{did_you_mean(name, zoo)}; see `inpaintzoo list`")
    return zoo[name]


def resolve_spec(arg: str) -> tuple[dict[str, Any], str]:
    """A spec from a TOML path or a zoo name; never guesses between the two."""
    p = Path(arg)
    if p.suffix == ".toml" or p.exists():
        return read_toml(p), str(p)
    zoo = index()
    if arg in zoo:
        return zoo[arg].spec(), f"{arg} ({zoo[arg].spec_path.name})"
    raise SpecError(arg, [f"no such spec file or zoo model{did_you_mean(arg, zoo)}; see `inpaintzoo list`"])
