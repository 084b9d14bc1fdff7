"""Install as a user: the core (with its first-party plugins) and a third-party plugin build as wheels, install into
a fresh venv by path with an extra and their dependencies checked, and work from there: `inpaintzoo list`, an
inpaint with the weights the wheel ships, every plugin loaded. The venv reuses this interpreter's third-party
packages (torch & co.) but not its editable installs."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent


def run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=600, **kw)
    assert r.returncode == 0, f"{' '.join(map(str, cmd))}\n{r.stdout[-2000:]}\n{r.stderr[-3000:]}"
    return r


def parent_packages_only(venv: Path) -> None:
    """Let a fresh venv import this interpreter's third-party packages (torch & co., not copied: gigabytes) the way a
    plain directory on sys.path does: no .pth file in it runs, so this environment's editable installs stay out.
    Unlike `--system-site-packages`, this works when the tests themselves run inside a venv (the base interpreter
    there lacks what the venv installed)."""
    import site

    lib = next((venv / "lib").glob("python3*")) / "site-packages"
    for old in lib.glob("setuptools*"):  # the venv's bundled setuptools would shadow the newer one torch requires
        shutil.rmtree(old) if old.is_dir() else old.unlink()
    (lib / "_parent_site.pth").write_text("\n".join(site.getsitepackages()) + "\n")


def test_wheels_install_and_run_outside_the_source_tree(tmp_path):
    dist = tmp_path / "dist"
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(dist),
         str(ROOT), str(ROOT / "docs" / "examples" / "inpaintzoo-example")])  # docs/writing-a-plugin.md's pyproject
    wheels = sorted(dist.glob("*.whl"))
    assert [w.name.split("-")[0] for w in wheels] == ["inpaintzoo", "inpaintzoo_example"], wheels
    import zipfile

    with zipfile.ZipFile(wheels[0]) as z:  # one distribution: the core with its first-party plugins
        names = z.namelist()
        meta = z.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
        eps = z.read(next(n for n in names if n.endswith(".dist-info/entry_points.txt"))).decode()
    assert "inpaintzoo/_zoo/registry.toml" in names  # the zoo index and shipped weights travel along
    assert "inpaintzoo_lama/plugin.py" in names and "inpaintzoo_lama/big_lama_keys.json" in names
    assert "lama = inpaintzoo_lama.plugin" in eps and "deepfill = inpaintzoo_deepfill.plugin" in eps
    assert "Requires-Dist: inpaintzoo-" not in meta  # no extra names a distribution that exists nowhere
    assert "pytest" not in meta.split("Provides-Extra: dev")[0]  # the core never needs the test tools
    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", str(venv)])
    parent_packages_only(venv)
    py, cli = venv / "bin" / "python", venv / "bin" / "inpaintzoo"
    # as a user installs a built wheel: by its path, dependencies resolved (here: all present, so no index needed)
    run([str(py), "-m", "pip", "install", "-q", "--no-index", f"{wheels[0]}[classical]", str(wheels[1])])
    env = {**{k: v for k, v in os.environ.items() if k != "PYTHONPATH"}, "HF_HUB_OFFLINE": "1",
           "INPAINTZOO_HOME": str(tmp_path / "home")}
    where = run([str(py), "-c", "import inpaintzoo, inpaintzoo_lama; print(inpaintzoo.__file__, inpaintzoo_lama.__file__)"],
                env=env, cwd=tmp_path).stdout
    assert str(ROOT) not in where and str(venv) in where  # the installed copies, not the source tree
    listing = run([str(cli), "list", "--json"], env=env, cwd=tmp_path).stdout
    assert '"name": "lama-big"' in listing and '"name": "core-shapes-tiny"' in listing
    img = (np.random.default_rng(0).random((32, 40, 3)) * 255).astype(np.uint8)
    mask = np.zeros((32, 40), np.uint8)
    mask[8:20, 10:30] = 255
    Image.fromarray(img).save(tmp_path / "photo.png")
    Image.fromarray(mask).save(tmp_path / "mask.png")
    run([str(cli), "inpaint", "core-shapes-tiny", "photo.png", "mask.png", "-o", "out.png"], env=env, cwd=tmp_path)
    out = np.asarray(Image.open(tmp_path / "out.png"))
    assert np.array_equal(out[mask == 0], img[mask == 0])
    import json

    loaded = {p["name"]: p for p in json.loads(run([str(cli), "plugins", "--json"], env=env, cwd=tmp_path).stdout)}
    first_party = sorted(p.name for p in (ROOT / "plugins").iterdir() if p.is_dir())
    assert all(loaded[n]["error"] is None and loaded[n]["package"] == "inpaintzoo" for n in first_party), loaded
    assert "example.patch_encoder" in loaded["example"]["components"]  # a third party's plugin, its own wheel
