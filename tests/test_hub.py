"""Publishing and Hub loading against tests/hub_server.py, a local test server, with the real huggingface_hub client.

huggingface_hub reads HF_ENDPOINT, HF_HUB_OFFLINE and HF_HUB_DISABLE_XET at import time, so each scenario
runs in a fresh interpreter with its environment.
"""
import json
import os
import subprocess
import sys
import textwrap

import pytest
import torch

from hub_server import HubServer
from inpaintzoo import create_model
from inpaintzoo.artifact import save_model

TOKEN = "hf_test_alice_token_123"


@pytest.fixture
def hub():
    with HubServer({TOKEN: "alice"}) as server:
        yield server


@pytest.fixture
def models(tmp_path, tiny_spec):
    out = []
    for seed in (0, 1):
        torch.manual_seed(seed)
        out.append(save_model(create_model(tiny_spec), tmp_path / f"m{seed}"))
    return out


def run(code: str, hub, tmp_path, offline: bool = False, token: str | None = TOKEN) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    env.update(HF_ENDPOINT=hub.url, HF_HOME=str(tmp_path / "hf"), HF_HUB_DISABLE_XET="1",
               HF_HUB_OFFLINE="1" if offline else "0", HF_HUB_DISABLE_TELEMETRY="1", HF_HUB_ETAG_TIMEOUT="5")
    if token:
        env["HF_TOKEN"] = token
    prelude = textwrap.dedent("""
        import json, sys, torch
        from inpaintzoo import load
        from inpaintzoo.errors import InpaintzooError
        x = torch.rand(2, 3, 16, 16, generator=torch.Generator().manual_seed(0))
        m = torch.zeros(2, 1, 16, 16); m[..., 4:10, 4:10] = 1
        def out(src, **kw):
            return load(src, **kw).inpaint(x, m)
        def same(a, b):
            return bool(torch.equal(out(a), out(b)))
        result = {}
    """)
    r = subprocess.run([sys.executable, "-c", prelude + textwrap.dedent(code) + "\nprint(json.dumps(result))"],
                       capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 0, r.stderr[-3000:]
    return json.loads(r.stdout.strip().splitlines()[-1])


def load_message(ref: str) -> str:
    """Client code for run(): try to load `ref`, keep the error message ("loaded" if it loads)."""
    return f"""
        try:
            load({ref!r})
            result["msg"] = "loaded"
        except InpaintzooError as exc:
            result["msg"] = str(exc)
    """


def test_push_load_revisions_and_offline_cache(hub, models, tmp_path):
    a, b = models
    res = run(f"""
        from inpaintzoo.hub import push
        oid1 = push({str(a)!r}, "alice/tiny")
        result["first"] = same("hf-hub:alice/tiny", {str(a)!r})
        oid2 = push({str(b)!r}, "alice/tiny", message="second")
        result["second"] = same("hf-hub:alice/tiny", {str(b)!r})
        result["pinned"] = same(f"hf-hub:alice/tiny@{{oid1}}", {str(a)!r})
        result["oids"] = [oid1, oid2]
    """, hub, tmp_path)
    assert res["first"] and res["second"] and res["pinned"] and res["oids"][0] != res["oids"][1]
    files = hub.store.repos["alice/tiny"]["commits"][res["oids"][1]]
    assert set(files) == {"model.safetensors", "config.json", "README.md"}
    card = files["README.md"].decode()
    assert "library_name: inpaintzoo" in card and "mask_polarity" in card and TOKEN not in card
    # offline: the cache answers, and the server sees no request at all
    before = len(hub.store.requests)
    res = run(f"""result["offline"] = same("hf-hub:alice/tiny@{res['oids'][1]}", {str(b)!r}) and same("hf-hub:alice/tiny", {str(b)!r})""",
              hub, tmp_path, offline=True)
    assert res["offline"] and len(hub.store.requests) == before


def test_private_repo_refuses_a_wrong_token(hub, models, tmp_path):
    a, _ = models
    res = run(f"""
        from inpaintzoo.hub import push
        push({str(a)!r}, "alice/secret", private=True)
        result["owner"] = same("hf-hub:alice/secret", {str(a)!r})
    """, hub, tmp_path / "owner")
    assert res["owner"]
    # another machine (empty cache) with a wrong token, or none
    for token in ("hf_wrong", None):
        res = run(load_message("hf-hub:alice/secret"), hub, tmp_path / f"other-{token}", token=token)
        assert "not found, or private and the token does not grant access" in res["msg"]


def test_pickle_only_repo_is_refused(hub, models, tmp_path):
    hub.store.repos["alice/pickled"] = {"private": False, "owner": "alice", "branches": {"main": "c0"},
                                        "commits": {"c0": {"config.json": (models[0] / "config.json").read_bytes(),
                                                           "pytorch_model.bin": b"\x80\x04pickle"}}}
    res = run(load_message("hf-hub:alice/pickled"), hub, tmp_path)
    assert "pytorch_model.bin" in res["msg"] and "pickle weights are never loaded" in res["msg"]


def test_cli_push_never_prints_the_token(hub, models, tmp_path):
    a, _ = models
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    env.update(HF_ENDPOINT=hub.url, HF_HOME=str(tmp_path / "hf"), HF_HUB_DISABLE_XET="1", HF_HUB_OFFLINE="0")
    report = tmp_path / "r.json"
    report.write_text(json.dumps({"n": 12, "metrics": {"psnr_hole": 20.5}, "data": {"dataset": "core.shapes", "split": "test"},
                                  "masks": {"source": "thick", "seed": 0}, "sources": {"core.psnr": "inpaintzoo.metrics.psnr (data range 1)"},
                                  "metric_of": {"psnr_hole": "core.psnr"}}))
    r = subprocess.run([sys.executable, "-m", "inpaintzoo.cli", "push", str(a), "alice/cli", "--token", TOKEN,
                        "--branch", "dev", "--eval", str(report)], capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 0, r.stderr
    assert TOKEN not in r.stdout + r.stderr and "pushed" in r.stdout
    repo = hub.store.repos["alice/cli"]
    card = repo["commits"][repo["branches"]["dev"]]["README.md"].decode()
    assert "- type: psnr_hole" in card and "images: 12" in card and "mask_preset: thick" in card
    assert "inpaintzoo.metrics.psnr (data range 1)" in card  # each value carries its metric's source


def test_registry_ships_inside_the_wheel(tmp_path):
    import zipfile
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", str(root), "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    (wheel,) = tmp_path.glob("inpaintzoo-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "inpaintzoo/_zoo/registry.toml" in names and "inpaintzoo/_zoo/zoo/causal-nvae-pendulum.toml" in names


def test_push_demo_writes_a_space_that_serves_the_pushed_model(hub, models, tmp_path):
    """push --demo: app.py + requirements.txt in the same commit; app.py runs the package's own demo (serve) on the
    pushed model, which loads from the Hub with the same outputs as the local folder."""
    pytest.importorskip("gradio")
    a, _ = models
    res = run(f"""
        from inpaintzoo.hub import push
        import inpaintzoo.demo.app as A
        oid = push({str(a)!r}, "alice/space", demo=True)
        calls = []
        A.serve = lambda *args, **kw: calls.append((args, kw))  # the app's own call, not a server
        from huggingface_hub import hf_hub_download
        app_py = open(hf_hub_download("alice/space", "app.py", revision=oid)).read()
        exec(compile(app_py, "app.py", "exec"), {{"__name__": "__main__"}})
        (sources,), kw = calls[0]
        models = A.Models(sources, "cpu", **kw)
        result["choices"] = models.choices()
        result["same"] = bool(torch.equal(models.get(sources[0]).inpaint(x, m), out({str(a)!r})))
        result["requirements"] = open(hf_hub_download("alice/space", "requirements.txt", revision=oid)).read()
    """, hub, tmp_path)
    assert res["choices"] == ["hf-hub:alice/space"] and res["same"]  # this model only, and the pushed weights
    assert res["requirements"].splitlines()[0].startswith("inpaintzoo[demo]>=")
    repo = hub.store.repos["alice/space"]
    files = repo["commits"][repo["branches"]["main"]]
    assert set(files) == {"model.safetensors", "config.json", "README.md", "app.py", "requirements.txt"}
    assert "inpaintzoo demo hf-hub:alice/space" in files["README.md"].decode()


def test_cards_and_spaces_require_only_distributions_that_exist():
    """A model saved before 0.3.0 names its first-party plugin's old distribution (`inpaintzoo-lama`); the core now
    ships that plugin, so the card's pip line and a Space's requirements.txt fold it into `inpaintzoo` (a name on
    no index would make the Space fail to build); a third party's distribution and the core's version stay."""
    from inpaintzoo.hub import requirements

    saved = {"inpaintzoo": "0.2.0", "inpaintzoo-lama": "0.1.0", "inpaintzoo-example": "0.1.0", "torch": "2.14.1"}
    assert requirements(saved) == {"inpaintzoo": "0.2.0", "inpaintzoo-example": "0.1.0"}
    assert requirements("not a table") == {}
