"""The zoo index, `registry.toml`: named models with their specs, data set, licence, paper and weights.

An entry's weights come from one of:
- `weights = "shipped"`: trained here and shipped inside the package (`zoo/weights/NAME/`), loaded offline;
- `[models.NAME.release]`: a checkpoint its authors released, which `inpaintzoo convert` turns into a model
  folder under `INPAINTZOO_HOME/models/NAME` (the file's name, size, sha256, licence, page and command are
  recorded in the entry);
- `hub = "org/name"`: published on the Hugging Face Hub;
- none: an architecture to train.
"""
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
LEGEND = ("weights: shipped = inside the package, loads offline; converted here = converted from the authors' release "
          "into INPAINTZOO_HOME; convert from … = run the entry's convert command on the released file; "
          "hub = on the Hugging Face Hub; none = an untrained architecture (train it)")


@dataclass(frozen=True)
class Release:
    """A checkpoint released by a model's authors, and how to convert it."""

    file: str
    url: str
    converter: str  # the registered converter that reads it
    convert: str  # the command that converts it
    license: str = ""
    size: int | None = None
    sha256: str | None = None
    note: str = ""


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
    shipped: bool = False
    release: Release | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    overrides: dict[str, Any] = field(default_factory=dict)  # dotted keys applied to the spec file (shared specs)

    def spec(self) -> dict[str, Any]:
        from .overrides import apply

        raw = read_toml(self.spec_path)
        return apply(raw, self.overrides) if self.overrides else raw

    @property
    def shipped_dir(self) -> Path:
        return self.spec_path.parent / "weights" / self.name

    @property
    def converted_dir(self) -> Path:
        from .paths import models_dir

        return models_dir() / self.name

    def weights_status(self) -> str:
        if self.shipped and (self.shipped_dir / "model.safetensors").is_file():
            return "shipped"
        if self.release is not None:
            return "converted here" if (self.converted_dir / "model.safetensors").is_file() else f"convert from {self.release.file}"
        if self.hub:
            return f"hub {self.hub}"
        return "none"

    def has_weights(self) -> bool:
        status = self.weights_status()
        return status in ("shipped", "converted here") or status.startswith("hub ")

    def as_dict(self) -> dict[str, Any]:
        d = {"name": self.name, "description": self.description, "dataset": self.dataset, "license": self.license,
             "paper": self.paper, "weights": self.weights_status(), "hub": self.hub, "revision": self.revision,
             "metrics": self.metrics}
        if self.release is not None:
            d["release"] = self.release.__dict__
        return d


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
        rel = body.get("release")
        out[name] = ZooEntry(
            name=name,
            spec_path=path.parent / body["spec"],
            description=body.get("description", ""),
            dataset=body.get("dataset", ""),
            license=body.get("license", ""),
            paper=body.get("paper", ""),
            hub=body.get("hub"),
            revision=body.get("revision"),
            shipped=body.get("weights") == "shipped",
            release=Release(**rel) if rel else None,
            metrics=body.get("metrics", {}),
            overrides=body.get("overrides", {}),
        )
    return out


def list_zoo(pattern: str = "*", pretrained: bool = False) -> list[ZooEntry]:
    return [e for n, e in sorted(index().items()) if fnmatch.fnmatchcase(n, pattern) and (not pretrained or e.has_weights())]


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
