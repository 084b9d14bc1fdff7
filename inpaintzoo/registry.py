"""The component registry: `family.name` → (kind, factory, pydantic config model, owning plugin)."""
from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from .errors import RegistryError, choices_text, did_you_mean

#: Component kinds, with the spec section (or key) that names them.
KINDS: dict[str, str] = {
    "encoder": "Encoder: image + mask → feature maps",
    "prior": "LatentPrior: features → decoder input, KL terms",
    "decoder": "Decoder: latent → image",
    "loss": "Loss: a named, weighted objective",
    "block": "Block: a reusable cell that encoders and decoders name",
    "discriminator": "Discriminator: scores images for adversarial losses",
    "dataset": "Dataset: yields {'image', 'labels'?} samples",
    "masks": "Mask generator: draws 1 = hole masks",
    "metric": "Metric: scores composited outputs against the ground truth",
    "converter": "Converter: turns an authors' released checkpoint into a model folder",
}

_NAME = re.compile(r"^[a-z][a-z0-9_\-]*\.[a-z0-9_\-.]+$")


@dataclass(frozen=True)
class Entry:
    name: str
    kind: str
    factory: Callable[..., Any]
    config: type[BaseModel]
    plugin: str

    @property
    def doc(self) -> str:
        text = (getattr(self.factory, "__doc__", None) or "").strip()
        return text.splitlines()[0] if text else ""

    def build(self, cfg: BaseModel | dict | None = None) -> Any:
        if cfg is None or isinstance(cfg, dict):
            cfg = self.config(**(cfg or {}))
        return self.factory(cfg)


class Registry:
    """Components by name. With a `loader` (the plugin host), a name not registered yet makes the host load the
    plugin of its family first (`lama.ffc_encoder` → plugin `lama`), and listing loads every plugin: a command
    that needs two components imports two plugins, not nine."""

    def __init__(self, loader: Any = None) -> None:
        self._entries: dict[str, Entry] = {}
        self._loader = loader

    def _demand(self, name: str | None) -> None:
        if self._loader is not None:
            self._loader.demand(None if name is None else name.split(".")[0])

    def add(self, entry: Entry) -> None:
        if entry.kind not in KINDS:
            raise RegistryError(
                f"plugin '{entry.plugin}' registers '{entry.name}' as unknown kind '{entry.kind}'; "
                f"expected one of {choices_text(KINDS)}"
            )
        if not _NAME.match(entry.name):
            raise RegistryError(
                f"plugin '{entry.plugin}' registers '{entry.name}': names are 'family.name' in lower case"
            )
        if not (isinstance(entry.config, type) and issubclass(entry.config, BaseModel)):
            raise RegistryError(f"plugin '{entry.plugin}' registers '{entry.name}' without a pydantic config model")
        old = self._entries.get(entry.name)
        if old is not None:
            raise RegistryError(
                f"'{entry.name}' is registered twice: by plugin '{old.plugin}' and by plugin '{entry.plugin}'; "
                f"disable one of them with INPAINTZOO_DISABLE_PLUGINS"
            )
        self._entries[entry.name] = entry

    def get(self, name: str, kind: str | None = None) -> Entry:
        if name not in self._entries:
            self._demand(name)
        entry = self._entries.get(name)
        if entry is None and self._loader is not None and self._loader.failure(name.split(".")[0]):
            raise RegistryError(f"unknown component '{name}': {self._loader.failure(name.split('.')[0])}")
        if entry is None or (kind is not None and entry.kind != kind):
            pool = [e.name for e in self if kind is None or e.kind == kind]
            what = f"{kind} " if kind else "component "
            raise RegistryError(
                f"unknown {what}'{name}'{did_you_mean(name, pool)}; registered: {choices_text(pool) or 'none'}"
            )
        return entry

    def names(self, pattern: str = "*", kind: str | None = None) -> list[str]:
        return sorted(
            e.name for e in self if fnmatch.fnmatchcase(e.name, pattern) and (kind is None or e.kind == kind)
        )

    def __contains__(self, name: str) -> bool:
        if name not in self._entries and isinstance(name, str):
            self._demand(name)
        return name in self._entries

    def __iter__(self) -> Iterator[Entry]:
        self._demand(None)
        return iter(sorted(self._entries.values(), key=lambda e: e.name))

    def __len__(self) -> int:
        self._demand(None)
        return len(self._entries)
