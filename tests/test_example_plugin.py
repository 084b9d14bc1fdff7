"""The documented example third-party plugin loads through its entry point and passes the conformance checks."""
import sys
import tomllib
from importlib import metadata
from pathlib import Path

from inpaintzoo import plugins
from inpaintzoo.cli import main

EXAMPLE = Path(__file__).resolve().parents[1] / "docs" / "examples" / "inpaintzoo-example"


def test_example_plugin_conforms(monkeypatch, fresh_plugins, capsys):
    project = tomllib.loads((EXAMPLE / "pyproject.toml").read_text())
    (name, target), = project["project"]["entry-points"]["inpaintzoo"].items()
    monkeypatch.syspath_prepend(str(EXAMPLE))
    real = plugins._entry_points()
    monkeypatch.setattr(plugins, "_entry_points", lambda: real + [metadata.EntryPoint(name, target, "inpaintzoo")])
    info = plugins.host().plugins[name]
    assert info.error is None and info.components == ["example.patch_encoder", "example.tv"]
    assert main(["check", name]) == 0
    assert "2 passed, 0 failed" in capsys.readouterr().out
    sys.modules.pop(target, None)
