"""Install as a user: the core and plugins build as wheels, install into a fresh environment by name with their
extras (`inpaintzoo[lama]`), and work from there: `inpaintzoo list` and an inpaint with the weights the wheel
ships. The environment reuses this one's third-party packages (torch & co.) but not its editable installs."""
from __future__ import annotations

import os
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


def test_wheels_install_and_run_outside_the_source_tree(tmp_path):
    dist = tmp_path / "dist"
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(dist),
         str(ROOT), str(ROOT / "plugins" / "lama"), str(ROOT / "plugins" / "migan"),
         str(ROOT / "docs" / "examples" / "inpaintzoo-example")])  # docs/writing-a-plugin.md's pyproject, as pip takes it
    wheels = sorted(p.name for p in dist.glob("*.whl"))
    assert [w.split("-")[0] for w in wheels] == ["inpaintzoo", "inpaintzoo_example", "inpaintzoo_lama", "inpaintzoo_migan"], wheels
    import zipfile

    with zipfile.ZipFile(dist / wheels[0]) as z:  # `pip install "inpaintzoo[lama]"` brings the plugin by name
        meta = z.read(next(n for n in z.namelist() if n.endswith(".dist-info/METADATA"))).decode()
        assert "inpaintzoo/_zoo/registry.toml" in z.namelist()  # the zoo index and shipped weights travel along
    assert "Provides-Extra: lama" in meta and "Requires-Dist: inpaintzoo-lama; extra == 'lama'" in meta
    assert "pytest" not in meta.split("Provides-Extra: dev")[0]  # the core never needs the test tools
    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)])
    py, cli = venv / "bin" / "python", venv / "bin" / "inpaintzoo"
    # by name, with an extra, from the built wheels only: the plugin comes with the core's extra
    run([str(py), "-m", "pip", "install", "-q", "--no-index", "--find-links", str(dist), "--no-deps", "--ignore-installed",
         "inpaintzoo", "inpaintzoo-lama", "inpaintzoo-migan", "inpaintzoo-example"])
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
    plugins = run([str(cli), "plugins", "--json"], env=env, cwd=tmp_path).stdout
    assert '"lama"' in plugins and '"migan"' in plugins and '"example.patch_encoder"' in plugins  # a third party's too
