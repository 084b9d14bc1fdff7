"""Released weights fetched on first use: download (HTTPS with resume, or the Hub), verify, convert once, cache, load.

Releases are served by local test servers (tests/file_server.py, tests/hub_server.py) from files in the release's
layout: a small FFC-ResNet as a TorchScript trace with the release's key names (the lama.big_lama converter reads
it), named in a private zoo index (`INPAINTZOO_INDEX`).
"""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from file_server import FileServer
from inpaintzoo.cli import main
from inpaintzoo.errors import LoadError
from tests_support import write_torchscript

SPEC = """
[model]
name = "lama-tiny"
image_size = [32, 32]
mean = [0.0]
std = [1.0]
hole_fill = 0.0
size_multiple = 4
resize = "pad"
pad_mode = "symmetric"

[encoder]
type = "lama.ffc_encoder"
ngf = 8
n_downsampling = 2

[prior]
type = "core.identity"

[decoder]
type = "lama.ffc_decoder"
n_blocks = 1

[losses.l1]
type = "core.l1"
"""


def release_keys(ours: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Our FFC-ResNet's tensors under the release's names (model.generator.model.N.*, as IOPaint's trace)."""
    out = {}
    for k, v in ours.items():
        if k.startswith("encoder.stem."):
            n, rest = 1, k.removeprefix("encoder.stem.")
        elif k.startswith("encoder.downs."):
            i, rest = k.removeprefix("encoder.downs.").split(".", 1)
            n = 2 + int(i)
        elif k.startswith("decoder.blocks."):
            i, rest = k.removeprefix("decoder.blocks.").split(".", 1)
            n = 4 + int(i)
        elif k.startswith("decoder.ups."):
            lvl, j, rest = k.removeprefix("decoder.ups.").split(".", 2)
            n = 6 + 3 * int(lvl) + int(j)
        else:
            n, rest = 13, k.removeprefix("decoder.out.")
        out[f"model.generator.model.{n}.{rest}"] = v
    return out


@pytest.fixture
def release(tmp_path):
    """A tiny LaMa's release file (TorchScript) and its bytes."""
    from inpaintzoo import create_model
    from inpaintzoo.spec import read_toml

    (tmp_path / "zoo").mkdir()
    (tmp_path / "zoo" / "lama-tiny.toml").write_text(SPEC)
    torch.manual_seed(0)
    model = create_model(read_toml(tmp_path / "zoo" / "lama-tiny.toml"))
    path = write_torchscript(tmp_path / "lama-tiny.pt", release_keys(model.state_dict()))
    return model, path.read_bytes()


def index(tmp_path: Path, server_url: str, data: bytes, **pins) -> Path:
    """A private zoo index naming the served file; pins: extra fields of the source (md5=…, sha256=…, size=…)."""
    fields = "".join(f'{k} = {json.dumps(v)}\n' for k, v in pins.items())
    text = f"""
[models.lama-tiny]
spec = "zoo/lama-tiny.toml"
description = "a tiny FFC-ResNet served by the test"

[models.lama-tiny.release]
converter = "lama.big_lama"

[[models.lama-tiny.release.sources]]
file = "lama-tiny.pt"
url = "{server_url}/lama-tiny.pt"
{fields}
"""
    path = tmp_path / "registry.toml"
    path.write_text(text)
    return path


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("INPAINTZOO_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    return tmp_path / "home"


def inpaint_check(model) -> None:
    rng = np.random.default_rng(0)
    for h, w in ((32, 32), (37, 29)):
        img = (rng.random((h, w, 3)) * 255).astype(np.uint8)
        m = np.zeros((h, w), np.uint8)
        m[h // 4: h // 2, w // 3: 2 * w // 3] = 255
        out = model.inpaint(img, m)
        assert np.array_equal(out[m == 0], img[m == 0]) and not np.array_equal(out[m > 0], img[m > 0])


def test_fetch_verify_convert_load_and_then_offline(tmp_path, release, env, monkeypatch, capsys):
    model, data = release
    with FileServer({"lama-tiny.pt": data}) as server:
        monkeypatch.setenv("INPAINTZOO_INDEX", str(index(tmp_path, server.url, data, md5=hashlib.md5(data).hexdigest(),
                                                         size=len(data))))
        from inpaintzoo import create_model, list_models, load

        assert "lama-tiny" in list_models(pretrained=True)  # fetchable counts as available, as timm
        loaded = load("lama-tiny")
        assert all(torch.equal(loaded.state_dict()[k], v) for k, v in model.state_dict().items())
        inpaint_check(loaded)
        assert len(server.gets("lama-tiny.pt")) == 1
        assert create_model("lama-tiny", pretrained=True).state_dict().keys() == model.state_dict().keys()
        assert main(["fetch", "lama-tiny"]) == 0
        assert len(server.gets("lama-tiny.pt")) == 1  # cached: converted once, never downloaded again
        out = capsys.readouterr().out
        assert f"already converted in {env / 'models' / 'lama-tiny'}" in out and "lama-tiny.pt" in out
        cfg = json.loads((env / "models" / "lama-tiny" / "config.json").read_text())
        assert cfg["converted_from"]["fetched_from"] == f"{server.url}/lama-tiny.pt"
        assert cfg["converted_from"]["files"]["lama-tiny.pt"]["sha256"] == hashlib.sha256(data).hexdigest()
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # the server is gone: the cache still loads
    inpaint_check(load("lama-tiny"))


def test_a_wrong_checksum_caches_nothing(tmp_path, release, env, monkeypatch, capsys):
    _, data = release
    with FileServer({"lama-tiny.pt": data}) as server:
        monkeypatch.setenv("INPAINTZOO_INDEX", str(index(tmp_path, server.url, data, sha256="0" * 64)))
        assert main(["fetch", "lama-tiny"]) == 2
    err = capsys.readouterr().err
    assert "lama-tiny.pt from" in err and "is not the release: sha256" in err and "nothing was cached" in err
    assert [line.startswith("error:") for line in err.splitlines()].count(True) == 1 and "Traceback" not in err
    assert "downloading lama-tiny.pt" in err  # progress as plain lines when stderr is not a terminal
    leftovers = [p for p in env.rglob("*") if p.is_file() and "locks" not in p.parts]
    assert leftovers == [] and not (env / "models" / "lama-tiny").exists()


def test_a_cut_download_resumes_and_a_changed_unpinned_file_is_refused(tmp_path, release, env, monkeypatch, capsys):
    _, data = release
    with FileServer({"lama-tiny.pt": data}) as server:
        monkeypatch.setenv("INPAINTZOO_INDEX", str(index(tmp_path, server.url, data)))  # unpinned
        from inpaintzoo import zoo

        assert zoo.get("lama-tiny").weights_status() == "fetched on first use (unpinned)"
        server.cut_after = len(data) // 2
        assert main(["fetch", "lama-tiny"]) == 2
        assert "connection closed after" in capsys.readouterr().err
        part = env / "downloads" / "lama-tiny" / "lama-tiny.pt.part"
        assert part.stat().st_size == len(data) // 2 and not (env / "models" / "lama-tiny").exists()
        assert main(["fetch", "lama-tiny"]) == 0
        assert server.gets("lama-tiny.pt")[-1] == f"bytes={len(data) // 2}-"  # resumed, not restarted
        assert (env / "downloads" / "lama-tiny" / "lama-tiny.pt").read_bytes() == data and not part.exists()
        pins = json.loads((env / "pins" / "lama-tiny.json").read_text())
        assert pins[f"{server.url}/lama-tiny.pt"]["sha256"] == hashlib.sha256(data).hexdigest()
        # upstream replaces the file: the recorded first download refuses it
        server.files["lama-tiny.pt"] = data[:-8] + b"changed!"
        assert main(["fetch", "lama-tiny", "--force"]) == 0  # the verified download in the cache is reused
        (env / "downloads" / "lama-tiny" / "lama-tiny.pt").unlink()
        assert main(["fetch", "lama-tiny", "--force"]) == 2
        assert "but the first download (recorded" in capsys.readouterr().err


def test_two_processes_fetching_at_once_download_once(tmp_path, release, env):
    _, data = release
    with FileServer({"lama-tiny.pt": data}) as server:
        server.delay = 0.05  # slow enough that the two overlap
        reg = index(tmp_path, server.url, data, md5=hashlib.md5(data).hexdigest())
        e = {**os.environ, "INPAINTZOO_INDEX": str(reg), "INPAINTZOO_HOME": str(env), "HF_HUB_OFFLINE": "0"}
        cmd = [sys.executable, "-m", "inpaintzoo.cli", "fetch", "lama-tiny"]
        procs = [subprocess.Popen(cmd, env=e, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
        results = [p.communicate(timeout=180) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], results
    assert len(server.gets("lama-tiny.pt")) == 1
    assert any("waiting for another process" in err for _, err in results)


def test_offline_without_a_cache_says_what_to_download(tmp_path, release, env, monkeypatch, capsys):
    _, data = release
    monkeypatch.setenv("INPAINTZOO_INDEX", str(index(tmp_path, "https://example.invalid", data)))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert main(["inpaint", "lama-tiny", str(tmp_path / "zoo" / "lama-tiny.toml"), "x.png", "-o", "y.png"]) == 2
    capsys.readouterr()
    img = tmp_path / "a.png"
    from PIL import Image

    Image.new("RGB", (8, 8)).save(img)
    hole = Image.new("L", (8, 8))
    hole.paste(255, (2, 2, 5, 5))
    hole.save(tmp_path / "m.png")
    assert main(["inpaint", "lama-tiny", str(img), str(tmp_path / "m.png"), "-o", str(tmp_path / "o.png")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "offline (HF_HUB_OFFLINE=1): download lama-tiny.pt from https://example.invalid" in err
    assert "`inpaintzoo fetch lama-tiny --source lama-tiny.pt`" in err and not (tmp_path / "o.png").exists()
    # the file downloaded by hand: checked (here against nothing pinned) and converted
    (tmp_path / "lama-tiny.pt").write_bytes(data)
    assert main(["fetch", "lama-tiny", "--source", str(tmp_path / "lama-tiny.pt")]) == 0
    assert main(["inpaint", "lama-tiny", str(img), str(tmp_path / "m.png"), "-o", str(tmp_path / "o.png")]) == 0


HUB_TOKEN = "hf_secret_fetch_token_987"


def test_a_hub_source_goes_through_huggingface_hub_and_no_token_is_written(tmp_path, release, env):
    """hf_hub_download with the endpoint, token and revision; the resolved commit pins an unpinned revision."""
    from hub_server import HubServer

    _, data = release
    with HubServer({HUB_TOKEN: "alice"}) as hub:
        hub.store.repos["alice/lama-tiny"] = {"private": True, "owner": "alice", "branches": {"main": "c0ffee" * 6 + "abcd"},
                                             "commits": {"c0ffee" * 6 + "abcd": {"lama-tiny.pt": data}}}
        reg = tmp_path / "registry.toml"
        reg.write_text(textwrap.dedent("""
            [models.lama-tiny]
            spec = "zoo/lama-tiny.toml"
            [models.lama-tiny.release]
            converter = "lama.big_lama"
            [[models.lama-tiny.release.sources]]
            file = "lama-tiny.pt"
            hub = "alice/lama-tiny"
            revision = "main"
        """))
        e = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
        e.update(INPAINTZOO_INDEX=str(reg), INPAINTZOO_HOME=str(env), HF_ENDPOINT=hub.url, HF_HOME=str(tmp_path / "hf"),
                 HF_HUB_DISABLE_XET="1", HF_HUB_OFFLINE="0", HF_HUB_DISABLE_TELEMETRY="1")
        cmd = [sys.executable, "-m", "inpaintzoo.cli", "fetch", "lama-tiny"]
        denied = subprocess.run(cmd, env=e, capture_output=True, text=True, timeout=120)
        assert denied.returncode == 2 and "repository not found, or private" in denied.stderr
        ok = subprocess.run(cmd + ["--token", HUB_TOKEN], env=e, capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stderr
    assert "converted lama-tiny.pt" in ok.stdout
    pins = json.loads((env / "pins" / "lama-tiny.json").read_text())
    assert pins["hf://alice/lama-tiny/lama-tiny.pt"]["revision"] == "c0ffee" * 6 + "abcd"
    for text in (denied.stdout, denied.stderr, ok.stdout, ok.stderr):
        assert HUB_TOKEN not in text
    for root in (env, tmp_path / "hf"):
        for p in root.rglob("*"):
            if p.is_file() and not p.is_symlink():
                assert HUB_TOKEN.encode() not in p.read_bytes(), p


def test_a_host_that_does_not_resolve_is_one_line_with_the_offline_hint(tmp_path, release, env, monkeypatch, capsys):
    """No network (or a wrong host): said at once from the name lookup, not after a client's retries, with the way to
    work offline; the same for a loss backbone that timm would fetch from the Hub."""
    _, data = release
    monkeypatch.setenv("INPAINTZOO_INDEX", str(index(tmp_path, "https://no-such-host.invalid", data)))
    assert main(["fetch", "lama-tiny"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot resolve no-such-host.invalid" in err and "HF_HUB_OFFLINE=1" in err
    assert not (env / "downloads").exists()  # nothing left behind
    img = tmp_path / "x.png"  # the commands that run a model refuse the same way before they import torch or build
    Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(img)
    from inpaintzoo.fetch import precheck

    with pytest.raises(LoadError, match="no source could be reached .*cannot resolve no-such-host.invalid"):
        precheck("lama-tiny")
    precheck("core-shapes-tiny")  # shipped: nothing to fetch
    precheck("no-such-model")  # not a zoo name: the loader says what it is
    assert main(["inpaint", "lama-tiny", str(img), "--mask-box", "2,2,4,4", "-o", str(tmp_path / "o.png")]) == 2
    assert "cannot resolve no-such-host.invalid" in capsys.readouterr().err and not (tmp_path / "o.png").exists()
    from inpaintzoo import network

    assert network.unreachable("https://no-such-host.invalid/x") and network.unreachable("http://127.0.0.1:1/x") == ""
    monkeypatch.setattr(network, "hub_endpoint", lambda: "https://no-such-host.invalid")
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)  # read once at import; the suite runs offline
    from inpaintzoo.backbones import load_features
    from inpaintzoo.errors import InpaintzooError

    with pytest.raises(InpaintzooError, match="cannot resolve no-such-host.invalid .*HF_HUB_OFFLINE=1"):
        load_features("vgg16", "timm", "weights")
    # the same refusal before a model is built: `build`/`train` of a spec whose loss asks for timm's VGG
    from inpaintzoo import plugins, zoo
    from inpaintzoo.backbones import precheck
    from inpaintzoo.spec import validate

    raw, source = zoo.resolve_spec("medfe-celeba256")
    spec = validate(raw, plugins.registry(), source)
    with pytest.raises(InpaintzooError, match=r"^losses\.perceptual \('medfe.perceptual'\): weights = 'timm': .*"
                                              r"cannot resolve no-such-host.invalid"):
        precheck(spec)
    precheck(spec, training=False)  # inference alone needs no loss backbone
    from inpaintzoo.catalog import hub_backbones  # and from the raw TOML, the defaults read from the listing

    assert ("losses.perceptual", "medfe.perceptual", "weights") in hub_backbones(raw)
    assert hub_backbones(raw, training=False) == [] and hub_backbones({**raw, "losses": {}}) == []
