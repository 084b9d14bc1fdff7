"""Plugin discovery on pluggy: entry points in the `inpaintzoo` group, loaded one at a time, each when first needed.

The core registers at once; a plugin is imported when a component of its family is first looked up (`lama.*` →
the plugin named `lama`; a name of no known family loads them all) or when anything lists the registry. So a
command that uses only core components imports no plugin, and `inpaint lama-big` imports LaMa's alone.
A plugin that fails to import, or whose registrations clash with another's, is recorded with its
error and the others still load. `INPAINTZOO_LOAD_PLUGINS=a,b` loads only those entry points (an empty
value loads none); `INPAINTZOO_DISABLE_PLUGINS=a,b` blocks some.
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

import pluggy

from . import hookspecs
from .errors import RegistryError
from .registry import Entry, Registry

GROUP = "inpaintzoo"
CORE = "inpaintzoo"


@dataclass
class PluginInfo:
    name: str
    package: str
    version: str
    components: list[str] = field(default_factory=list)
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "package": self.package,
            "version": self.version,
            "components": self.components,
            "error": self.error,
        }


class PluginHost:
    def __init__(self) -> None:
        self.pm = pluggy.PluginManager(GROUP)
        self.pm.add_hookspecs(hookspecs)
        self.registry = Registry(loader=self)
        self._plugins: dict[str, PluginInfo] = {}
        self.pending: dict[str, list[metadata.EntryPoint]] = {}  # found, not imported yet, by plugin name

    @property
    def plugins(self) -> dict[str, PluginInfo]:
        """Every plugin, each loaded (what `inpaintzoo plugins` lists)."""
        self.demand(None)
        return self._plugins

    def loaded(self, name: str) -> PluginInfo | None:
        """The plugin `name` if it is loaded already (a registered component's plugin always is): loads nothing."""
        return self._plugins.get(name)

    # -- loading -----------------------------------------------------------------------------------
    def load_all(self) -> None:
        """The core now; the entry points found, to be loaded on demand (`demand`)."""
        from . import builtin

        self.add_plugin(builtin, CORE, package="inpaintzoo", version=_version("inpaintzoo"))
        selected = _env_list("INPAINTZOO_LOAD_PLUGINS")
        blocked = set(_env_list("INPAINTZOO_DISABLE_PLUGINS") or [])
        for ep in _entry_points():
            if (selected is not None and ep.name not in selected) or ep.name in blocked:
                continue
            self.pending.setdefault(ep.name, []).append(ep)

    def demand(self, family: str | None) -> None:
        """Load the plugin named `family` if it is pending; every pending plugin for None or a family no plugin
        is named after (a third party may register under another family name)."""
        if not self.pending or family == CORE:
            return
        names = [family] if family in self.pending else list(self.pending)
        for name in names:
            for ep in self.pending.pop(name, []):
                self._load(ep)

    def failure(self, family: str) -> str | None:
        info = self._plugins.get(family)
        return f"plugin '{family}' ({info.package}) failed to load: {info.error}" if info and info.error else None

    def _load(self, ep: metadata.EntryPoint) -> None:
        package = ep.dist.name if ep.dist else ep.module
        version = ep.dist.version if ep.dist else "unknown"
        if ep.name in self._plugins:  # e.g. an old `inpaintzoo-lama` left beside the core that now bundles it
            first = self._plugins[ep.name].package
            self._plugins[f"{ep.name} ({package})"] = PluginInfo(
                ep.name, package, version,
                error=f"plugin '{ep.name}' is already provided by {first}; this copy is not loaded "
                      f"(`pip uninstall {package}` if it is a leftover of an older install)")
            return
        try:
            module = ep.load()
        except Exception as exc:  # a broken plugin must not take the others down
            self._plugins[ep.name] = PluginInfo(ep.name, package, version, error=_one_line(exc))
            return
        self.add_plugin(module, ep.name, package=package, version=version)

    def add_plugin(self, obj: Any, name: str, package: str | None = None, version: str = "unknown") -> PluginInfo:
        """Register one plugin object; its registrations land all together or not at all."""
        info = PluginInfo(name, package or name, version)
        self._plugins[name] = info
        try:
            self.pm.register(obj, name=name)
        except Exception as exc:
            info.error = _one_line(exc)
            return info
        unknown = [c.name for c in (self.pm.get_hookcallers(obj) or []) if c.spec is None]
        if unknown:  # validated per plugin, so a typo in one plugin does not stop every command (pluggy's check_pending)
            from .errors import did_you_mean

            specs = [n for n in dir(hookspecs) if not n.startswith("_") and hasattr(getattr(hookspecs, n), "inpaintzoo_spec")]
            info.error = (f"PluginValidationError: implements unknown hook '{unknown[0]}'"
                          f"{did_you_mean(unknown[0], specs)}; hooks: {', '.join(specs)}")
            self.pm.unregister(name=name)
            return info
        staged: list[Entry] = []

        def register(kind: str, name_: str, factory: Any, config_model: Any = None) -> None:
            config_model = config_model if config_model is not None else getattr(factory, "Config", None)
            staged.append(Entry(name_, kind, factory, config_model, name))

        impls = [i for i in self.pm.hook.register_components.get_hookimpls() if i.plugin_name == name]
        try:
            for impl in impls:
                impl.function(register=register)
            trial = Registry()
            for entry in staged:  # validate first, so a clash leaves nothing half-registered
                trial.add(entry)
                if entry.name in self.registry._entries:  # not `in registry`: that would load plugins
                    self.registry.add(entry)  # raises, naming both plugins
        except Exception as exc:
            info.error = _one_line(exc)
            self.pm.unregister(name=name)
            return info
        for entry in staged:
            self.registry.add(entry)
        info.components = [e.name for e in staged]
        return info

    def versions(self) -> dict[str, str]:
        return {i.package: i.version for i in self._plugins.values() if i.error is None}


def _entry_points() -> list[metadata.EntryPoint]:
    """By name; where two distributions name the same plugin, the core's own (bundled) copy first."""
    return sorted(metadata.entry_points(group=GROUP),
                  key=lambda ep: (ep.name, (ep.dist.name if ep.dist else "") != CORE))


def _env_list(var: str) -> list[str] | None:
    raw = os.environ.get(var)
    if raw is None:
        return None
    return [x.strip() for x in raw.split(",") if x.strip()]


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "unknown"


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")


_HOST: PluginHost | None = None


def host() -> PluginHost:
    global _HOST
    if _HOST is None:
        h = PluginHost()
        h.load_all()
        _HOST = h
    return _HOST


def registry() -> Registry:
    return host().registry


def reset() -> None:
    """Forget loaded plugins (tests change the environment variables and load again)."""
    global _HOST
    _HOST = None


def warn_failures(stream=sys.stderr) -> None:
    """The plugins loaded so far that failed (one needed later and failing is named where it is looked up)."""
    for info in host()._plugins.values():
        if info.error:
            print(f"inpaintzoo: plugin '{info.name}' ({info.package}) failed to load: {info.error}", file=stream)


__all__ = ["PluginHost", "PluginInfo", "host", "registry", "reset", "RegistryError"]
