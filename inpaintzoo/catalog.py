"""What `inpaintzoo plugins` and `inpaintzoo components` list, kept between runs: listing needs every plugin
imported (torch, timm, torchvision: seconds), the list itself does not.

The cache (`INPAINTZOO_HOME/cache/catalog-KEY.json`) is keyed on everything that can change the list: the
inpaintzoo version, every entry point of the `inpaintzoo` group (name, target, distribution and version), the
plugin selection variables, and the size and modification time of every source file of the core and of each
plugin's package (found without importing it), so an edited plugin, a new install or an uninstall is a new key.
Anything unexpected (an unreadable cache, a package that cannot be located) falls back to importing the plugins.
"""
from __future__ import annotations

import functools
import hashlib
import importlib.util
import json
import os
from importlib import metadata
from pathlib import Path
from typing import Any

from .paths import home

ENV = ("INPAINTZOO_LOAD_PLUGINS", "INPAINTZOO_DISABLE_PLUGINS")


def _package_dir(module: str) -> Path | None:
    spec = importlib.util.find_spec(module.split(".")[0])  # a top-level name: located, not imported
    if spec is None or not spec.submodule_search_locations:
        return Path(spec.origin).parent if spec is not None and spec.origin else None
    return Path(list(spec.submodule_search_locations)[0])


def key() -> str | None:
    """The digest of what the listing depends on; None when a plugin's sources cannot be located."""
    h = hashlib.sha256()
    eps = sorted(metadata.entry_points(group="inpaintzoo"), key=lambda e: (e.name, e.value))
    dirs = {Path(__file__).resolve().parent}
    for ep in eps:
        h.update(f"{ep.name}={ep.value}@{ep.dist.name if ep.dist else ''}:{ep.dist.version if ep.dist else ''}\n".encode())
        where = _package_dir(ep.value.split(":")[0])
        if where is None:
            return None
        dirs.add(where.resolve())
    for var in ENV:
        h.update(f"{var}={os.environ.get(var)}\n".encode())
    for d in sorted(dirs):
        for f in sorted(d.rglob("*.py")):
            st = f.stat()
            h.update(f"{f}:{st.st_size}:{st.st_mtime_ns}\n".encode())
    from . import __version__

    h.update(__version__.encode())
    return h.hexdigest()[:24]


def _build() -> dict[str, Any]:
    from . import plugins

    host = plugins.host()
    infos = list(host.plugins.values())
    return {"plugins": [i.as_dict() for i in infos],
            "components": [{"name": e.name, "kind": e.kind, "plugin": e.plugin, "doc": e.doc,
                            "defaults": {k: f.default for k, f in e.config.model_fields.items()
                                         if k in BACKBONE_FIELDS and isinstance(f.default, str)},
                            **_samples(e)}
                           for e in host.registry]}


def draws_noise(samples: bool | str, cfg: Any, default: bool = False) -> bool:
    """A component's `samples` declaration (interfaces.Component.samples) evaluated on its config: a config object,
    or a spec's dict of the fields it sets (`default`, the field's own default, where it sets none)."""
    if isinstance(samples, bool):
        return samples
    return bool(cfg.get(samples, default) if isinstance(cfg, dict) else getattr(cfg, samples, default))


def spec_samples(spec: dict[str, Any]) -> bool:
    """Whether a model built from `spec` (a dict) draws random numbers at inference, from the catalog alone."""
    known = _components()
    for section in ("encoder", "prior", "decoder"):
        body = spec.get(section) if isinstance(spec.get(section), dict) else {}
        c = known.get(body.get("type", ""))
        if c is not None and draws_noise(c.get("samples", False), body, c.get("samples_default", False)):
            return True
    return False


@functools.lru_cache(maxsize=1)
def _components() -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in listing()["components"]}


def _samples(e: Any) -> dict[str, Any]:
    """The component's `samples` declaration, with its field's default when a config field decides."""
    samples = getattr(e.factory, "samples", False)
    if not isinstance(samples, (bool, str)):
        return {}
    field = e.config.model_fields.get(samples) if isinstance(samples, str) else None
    return {"samples": samples, **({"samples_default": bool(field.default)} if field is not None else {})}


BACKBONE_FIELDS = ("weights", "backbone")  # the setting a component hands `backbones.load_features` as `key`


def hub_backbones(spec: dict[str, Any], training: bool = True, complete: bool = False) -> list[tuple[str, str, str]]:
    """(section, component, field) of each component of a spec table that asks for a backbone's weights from the
    Hub (`weights`/`backbone` = 'timm', given or by the component's default). A raw TOML table leaves defaults out:
    they are read from the listing (no plugin imported when it is cached); `complete`: a validated spec's to_dict(),
    which holds every field, so the listing is not needed."""
    sections = [(k, spec.get(k)) for k in ("encoder", "prior", "decoder", "discriminator")]
    if training and isinstance(spec.get("losses"), dict):
        sections += [(f"losses.{k}", v) for k, v in spec["losses"].items()]
    sections = [(k, v) for k, v in sections if isinstance(v, dict) and isinstance(v.get("type"), str)]
    if not sections:
        return []
    defaults = {}
    if not complete and any(f not in v for _, v in sections for f in BACKBONE_FIELDS):
        defaults = {c["name"]: c.get("defaults", {}) for c in listing()["components"]}
    return [(k, v["type"], f) for k, v in sections for f in BACKBONE_FIELDS
            if v.get(f, defaults.get(v["type"], {}).get(f)) == "timm"]


def _valid(data: Any) -> bool:
    """A cache file as _build writes it (anything else, a hand edit or a damaged file, is rebuilt)."""
    fields = {"plugins": ("name", "package", "version", "components", "error"),
              "components": ("name", "kind", "plugin", "doc", "defaults")}
    return isinstance(data, dict) and all(
        isinstance(data.get(k), list) and all(isinstance(x, dict) and all(f in x for f in need) for x in data[k])
        for k, need in fields.items())


def listing() -> dict[str, Any]:
    """{"plugins": [...], "components": [...]}, from the cache when its key still holds. A process that has loaded
    its plugins already lists what it holds (a test or an application may have added one by hand)."""
    from . import plugins

    if plugins._HOST is not None:
        return _build()
    try:
        k = key()
    except OSError:
        k = None
    path = home() / "cache" / f"catalog-{k}.json" if k else None
    if path is not None and path.is_file():
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if _valid(data):
                return data
        except (OSError, ValueError):
            pass
    data = _build()
    if path is not None and not any(p.get("error") for p in data["plugins"]):  # a failure is re-tried next time
        try:
            from .artifact import atomic_write_text

            for old in path.parent.glob("catalog-*.json"):
                old.unlink(missing_ok=True)
            atomic_write_text(path, json.dumps(data))
        except OSError:
            pass  # a read-only home: list without caching
    return data
