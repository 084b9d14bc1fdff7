import json
import sys
import types
from importlib import metadata

import pytest

from inpaintzoo import plugins
from inpaintzoo.errors import RegistryError
from inpaintzoo.hookspecs import hookimpl
from inpaintzoo.interfaces import ComponentConfig, Loss
from inpaintzoo.registry import Entry, Registry


class _Cfg(ComponentConfig):
    pass


class _Loss(Loss):
    Config = _Cfg

    def forward(self, ctx):
        return ctx.pred.abs().mean()


def test_duplicate_name_names_both_plugins():
    reg = Registry()
    reg.add(Entry("fam.x", "loss", _Loss, _Cfg, "first"))
    with pytest.raises(RegistryError, match="by plugin 'first' and by plugin 'second'"):
        reg.add(Entry("fam.x", "loss", _Loss, _Cfg, "second"))


def test_bad_names_and_kinds_are_refused():
    reg = Registry()
    with pytest.raises(RegistryError, match="family.name"):
        reg.add(Entry("NoDot", "loss", _Loss, _Cfg, "p"))
    with pytest.raises(RegistryError, match="unknown kind 'losss'"):
        reg.add(Entry("fam.y", "losss", _Loss, _Cfg, "p"))


def test_wildcard_listing(registry):
    names = registry.names("core.l*")
    assert names == ["core.l1", "core.l2", "core.lama", "core.lpips"]
    assert registry.names("core.*", kind="prior") == ["core.gaussian", "core.identity"]
    assert registry.names("core.l*", kind="metric") == ["core.lpips"]


def test_unknown_component_did_you_mean(registry):
    with pytest.raises(RegistryError, match="did you mean 'core.identity'"):
        registry.get("core.identiy", "prior")


def _write_plugin(tmp_path, modname, body):
    (tmp_path / f"{modname}.py").write_text(body)
    sys.path.insert(0, str(tmp_path))


GOOD = '''
from inpaintzoo.hookspecs import hookimpl
from inpaintzoo.components.losses import L1

@hookimpl
def register_components(register):
    register("loss", "good.l1", L1)
'''

CLASH = '''
from inpaintzoo.hookspecs import hookimpl
from inpaintzoo.components.losses import L1

@hookimpl
def register_components(register):
    register("loss", "clash.ok", L1)
    register("loss", "core.l1", L1)
'''


def test_broken_plugin_is_reported_and_others_load(tmp_path, monkeypatch, fresh_plugins):
    _write_plugin(tmp_path, "izgood_plugin", GOOD)
    _write_plugin(tmp_path, "izclash_plugin", CLASH)
    eps = [
        metadata.EntryPoint("broken", "iz_module_that_does_not_exist", "inpaintzoo"),
        metadata.EntryPoint("good", "izgood_plugin", "inpaintzoo"),
        metadata.EntryPoint("clash", "izclash_plugin", "inpaintzoo"),
    ]
    monkeypatch.setattr(plugins, "_entry_points", lambda: eps)
    host = plugins.host()
    assert "ModuleNotFoundError" in host.plugins["broken"].error
    assert host.plugins["good"].error is None and host.plugins["good"].components == ["good.l1"]
    # the clash names both plugins and leaves nothing of the clashing plugin registered
    assert "by plugin 'inpaintzoo' and by plugin 'clash'" in host.plugins["clash"].error
    assert "clash.ok" not in host.registry
    assert "good.l1" in host.registry and "core.l1" in host.registry


def test_env_selects_and_blocks(tmp_path, monkeypatch, fresh_plugins):
    _write_plugin(tmp_path, "izgood_plugin2", GOOD.replace("good.l1", "good2.l1"))
    eps = [metadata.EntryPoint("good2", "izgood_plugin2", "inpaintzoo"),
           metadata.EntryPoint("broken", "iz_module_that_does_not_exist", "inpaintzoo")]
    monkeypatch.setattr(plugins, "_entry_points", lambda: eps)
    monkeypatch.setenv("INPAINTZOO_LOAD_PLUGINS", "good2")
    assert set(plugins.host().plugins) == {"inpaintzoo", "good2"}
    plugins.reset()
    monkeypatch.delenv("INPAINTZOO_LOAD_PLUGINS")
    monkeypatch.setenv("INPAINTZOO_DISABLE_PLUGINS", "good2,broken")
    assert set(plugins.host().plugins) == {"inpaintzoo"}
    assert "good2.l1" not in plugins.registry()


def test_hookimpl_without_spec_is_caught():
    host = plugins.PluginHost()

    class Typo:
        @hookimpl
        def register_component(self, register):  # note the missing 's'
            pass

    host.pm.register(Typo(), name="typo")
    with pytest.raises(Exception, match="register_component"):
        host.pm.check_pending()


def test_plugins_command_json(capsys):
    from inpaintzoo.cli import main

    assert main(["plugins", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    core = next(p for p in data if p["name"] == "inpaintzoo")
    assert "core.l1" in core["components"] and core["version"]


def test_a_plugin_installed_twice_loads_once_and_names_the_leftover(tmp_path, monkeypatch, fresh_plugins):
    """An old `inpaintzoo-NAME` distribution left beside the core that now bundles NAME: the core's copy loads, the
    leftover is reported with the command that removes it, and the plugin's components are registered once."""
    _write_plugin(tmp_path, "izgood_plugin3", GOOD.replace("good.l1", "good3.l1"))

    class Dist:
        def __init__(self, name):
            self.name, self.version = name, "9"

    def ep(dist):
        e = metadata.EntryPoint("good3", "izgood_plugin3", "inpaintzoo")
        return types.SimpleNamespace(name=e.name, load=e.load, module=e.module, dist=Dist(dist))

    monkeypatch.setattr(metadata, "entry_points", lambda group: [ep("inpaintzoo-good3"), ep("inpaintzoo")])
    host = plugins.host()
    assert host.plugins["good3"].package == "inpaintzoo" and host.plugins["good3"].error is None
    leftover = host.plugins["good3 (inpaintzoo-good3)"].error
    assert "already provided by inpaintzoo" in leftover and "pip uninstall inpaintzoo-good3" in leftover
    assert "good3.l1" in host.registry


def test_plugins_load_when_their_family_is_first_needed():
    """A core-only model imports no plugin; looking up `lama.*` imports LaMa's plugin alone; listing imports all."""
    import subprocess

    code = """
import sys, numpy as np
from inpaintzoo import load, plugins
ours = lambda: sorted(m for m in sys.modules if m.startswith("inpaintzoo_") and "." not in m)
model = load("core-shapes-tiny")
model.inpaint(np.zeros((16, 16, 3), np.uint8), np.pad(np.ones((4, 4), np.uint8), 6))
import tempfile, pathlib
from inpaintzoo.artifact import save_model
save_model(model, pathlib.Path(tempfile.mkdtemp()) / "m")  # its config records the versions of its plugins only
print(ours())
plugins.registry().get("lama.ffc_encoder")
print(ours())
print(len(plugins.host().plugins), len(ours()))
"""
    r = subprocess.run([sys.executable, "-W", "ignore", "-c", code], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    none, lama, (listed, imported) = [eval(line) if line.startswith("[") else tuple(map(int, line.split()))
                                      for line in r.stdout.strip().splitlines()[-3:]]
    assert none == [] and lama == ["inpaintzoo_lama"]
    assert listed >= 9 and imported >= 8  # the core and every first-party plugin, once listed


def test_the_listing_is_kept_between_runs_and_renewed_when_what_it_lists_changes(tmp_path, monkeypatch, fresh_plugins):
    """`plugins`/`components` read a cache keyed on the installed plugins and their sources; a change in what would
    be listed (here: the plugin selection) makes a new key, so the plugins are imported and listed again."""
    from inpaintzoo import catalog

    monkeypatch.setenv("INPAINTZOO_HOME", str(tmp_path))
    fresh = catalog.listing()  # a new process: nothing loaded yet
    assert list((tmp_path / "cache").glob("catalog-*.json"))
    plugins.reset()
    assert {c["name"] for c in fresh["components"]} >= {"core.l1", "lama.ffc_encoder", "nvae.kl"}

    def must_not_import():
        raise AssertionError("imported the plugins although the cache holds")

    monkeypatch.setattr(catalog, "_build", must_not_import)
    assert catalog.listing() == fresh
    cached = next((tmp_path / "cache").glob("catalog-*.json"))
    for damaged in ('{"plugins": 3, "components": 4}', "[1, 2", '{"plugins": [{}], "components": []}'):
        cached.write_text(damaged)  # a damaged or hand-edited cache is rebuilt, never trusted
        with pytest.raises(AssertionError, match="imported the plugins"):
            catalog.listing()
    cached.write_text(json.dumps(fresh))
    monkeypatch.setenv("INPAINTZOO_DISABLE_PLUGINS", "nvae")
    with pytest.raises(AssertionError, match="imported the plugins"):
        catalog.listing()
