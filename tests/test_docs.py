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


def test_the_readme_tour_runs_as_written(tmp_path):
    """The README's tour block, line by line, in an empty folder with the installed `inpaintzoo` command: each
    exits 0 and leaves what the README says it writes."""
    import os
    import subprocess
    import sys

    readme = (ROOT / "README.md").read_text()
    block = readme.split("<!-- tour: run by tests/test_docs.py -->")[1].split("```bash")[1].split("```")[0]
    commands = [line.split("  #")[0].strip() for line in block.strip().splitlines() if line.strip()]
    assert len(commands) >= 10 and all(c.startswith("inpaintzoo ") for c in commands)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "INPAINTZOO_HOME": str(tmp_path / "home"),
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    work = tmp_path / "tour"
    work.mkdir()
    for cmd in commands:
        r = subprocess.run(["bash", "-c", cmd], cwd=work, env=env, capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, f"{cmd}\n{r.stdout[-1500:]}\n{r.stderr[-1500:]}"
    for made in ["my.toml", "m/model.safetensors", "m/config.json", "scene.png", "mask.png", "filled.png",
                 "do_light.png", "grid.png", "report.json"]:
        assert (work / made).is_file() and (work / made).stat().st_size > 0, made
    assert len(list((work / "masks" / "thick256").glob("*.png"))) == 8


def test_the_hd_figure_is_drawn_from_the_shipped_models(tmp_path, monkeypatch):
    """`inpaintzoo docs --hd-figure`: one row per model, input + three strategies; outside the holes every result
    tile is the input tile (the figure shows what the strategies change, nothing else)."""
    import numpy as np
    from PIL import Image

    from inpaintzoo import docs_figures

    import inpaintzoo.loader as loader

    shown = []
    load = loader.load

    def recording_load(name, *a, **k):
        model = load(name, *a, **k)
        inpaint = model.inpaint

        def checked(image, mask, **kw):
            out = inpaint(image, mask, **kw)
            keep = mask[0] == 0
            assert (out[:, keep] == image[:, keep]).all(), kw
            shown.append((name, kw["hd_strategy"]))
            return out
        model.inpaint = checked
        return model

    monkeypatch.setattr(loader, "load", recording_load)
    path = docs_figures.hd_strategies(tmp_path / "hd.png")
    assert shown == [(m, s) for m in docs_figures.FIGURE_MODELS for s in ("original", "resize", "crop")]
    w, h = Image.open(path).size
    assert w > 4 * docs_figures.SIDE and h > 2 * docs_figures.SIDE
    assert np.asarray(Image.open(path)).std() > 10  # a picture, not a blank canvas
