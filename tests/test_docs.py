"""Generated docs must match the code; the README's commands must be the ones CI runs."""
from pathlib import Path

from inpaintzoo.docs_gen import DOCS, PAGES

ROOT = Path(__file__).resolve().parents[1]


def test_generated_pages_are_current():
    for name, fn in PAGES.items():
        committed = (DOCS / name).read_text(encoding="utf-8")
        assert committed == fn(), f"docs/{name} is stale: run `inpaintzoo docs --write`"


def test_every_component_is_in_the_spec_reference():
    from inpaintzoo import plugins

    page = (DOCS / "spec-reference.md").read_text()
    assert all(f"### `{e.name}`" in page for e in plugins.registry())


def test_ci_runs_exactly_the_readme_commands():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    block = readme.split("## Install and test")[1].split("```bash")[1].split("```")[0].strip().splitlines()
    assert block == ["python -m pip install -r requirements-dev.txt", "python -m pytest -q"]
    assert all(cmd in ci.splitlines() for cmd in block)
