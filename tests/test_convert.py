"""Converting released checkpoints: each release's exact layout (from tests/data, facts about the releases),
with random weights, converts strictly, inpaints at two sizes, and nothing unsafe is ever unpickled."""
from __future__ import annotations

import json
import sys
import types
import zipfile
from pathlib import Path

import numpy as np
import pytest
import safetensors.torch
import torch

from inpaintzoo.cli import main

DATA = Path(__file__).parent / "data"


def synthetic(keys: dict[str, list[int]], seed: int) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    out = {}
    for k, shape in keys.items():
        if k.endswith("num_batches_tracked"):
            out[k] = torch.tensor(1000)
        elif k.endswith("running_var"):
            out[k] = torch.rand(shape, generator=g) + 0.5
        elif k.endswith(("bn_l.weight", "bn_g.weight", "bn.weight")) or ".1.weight" in k and len(shape) == 1:
            out[k] = 1 + 0.1 * torch.randn(shape, generator=g)
        else:
            out[k] = 0.05 * torch.randn(shape, generator=g)
    return out


@pytest.fixture
def fake_omegaconf():
    """A stand-in `omegaconf` module so a checkpoint pickles its classes by name, removed again before reading."""
    mod, sub = types.ModuleType("omegaconf"), types.ModuleType("omegaconf.dictconfig")

    class DictConfig(dict):
        pass

    DictConfig.__module__, DictConfig.__qualname__ = "omegaconf.dictconfig", "DictConfig"
    sub.DictConfig = DictConfig
    mod.dictconfig = sub
    sys.modules["omegaconf"], sys.modules["omegaconf.dictconfig"] = mod, sub
    yield DictConfig
    sys.modules.pop("omegaconf", None)
    sys.modules.pop("omegaconf.dictconfig", None)


def write_big_lama_zip(path: Path, state: dict[str, torch.Tensor], hparams) -> Path:
    ckpt = {"epoch": 39, "global_step": 1_000_000, "pytorch-lightning_version": "1.2.9", "state_dict": state,
            "hyper_parameters": hparams, "optimizer_states": [{"state": {0: {"exp_avg": torch.zeros(3)}}}]}
    raw = path.with_suffix(".ckpt")
    torch.save(ckpt, raw)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        z.write(raw, "big-lama/models/best.ckpt")
        z.writestr("big-lama/config.yaml", "generator:\n  kind: ffc_resnet\n")
    raw.unlink()
    return path


def test_big_lama_converts_strictly_and_inpaints_at_any_multiple_of_8(tmp_path, fake_omegaconf, monkeypatch, capsys):
    keys = json.loads((DATA / "big_lama_keys.json").read_text())
    state = synthetic(keys, 0)
    zip_path = write_big_lama_zip(tmp_path / "big-lama.zip", state, fake_omegaconf(generator={"ngf": 64}))
    sys.modules.pop("omegaconf", None), sys.modules.pop("omegaconf.dictconfig", None)  # the reader cannot import it
    monkeypatch.setenv("INPAINTZOO_HOME", str(tmp_path / "home"))
    from inpaintzoo import load
    from inpaintzoo.errors import LoadError

    with pytest.raises(LoadError, match=r"download big-lama.zip from https://huggingface.co/smartywu/big-lama.*inpaintzoo convert lama-big big-lama.zip"):
        load("lama-big")
    assert main(["convert", "lama-big", str(zip_path), "--verify"]) == 0
    out = capsys.readouterr().out
    assert "50,975,875 parameters" in out and "verify: {" in out
    folder = tmp_path / "home" / "models" / "lama-big"
    cfg = json.loads((folder / "config.json").read_text())
    assert cfg["converted_from"]["converter"] == "lama.big_lama" and "big-lama.zip" in cfg["converted_from"]["files"]
    w = safetensors.torch.load_file(str(folder / "model.safetensors"))
    assert torch.equal(w["encoder.stem.ffc.convl2l.weight"], state["generator.model.1.ffc.convl2l.weight"])
    assert torch.equal(w["decoder.blocks.17.conv2.ffc.convg2g.fu.conv_layer.weight"],
                       state["generator.model.22.conv2.ffc.convg2g.fu.conv_layer.weight"])
    assert torch.equal(w["decoder.out.weight"], state["generator.model.34.weight"])
    assert not any(k.startswith("discriminator") for k in w)
    model = load("lama-big")  # found offline, in INPAINTZOO_HOME
    rng = np.random.default_rng(0)
    for h, w_ in ((64, 96), (72, 40)):
        img = (rng.random((h, w_, 3)) * 255).astype(np.uint8)
        m = np.zeros((h, w_), np.uint8)
        m[h // 4 : h // 2, w_ // 4 : w_ // 2] = 255
        res = model.inpaint(img, m)
        assert res.shape == img.shape and np.array_equal(res[m == 0], img[m == 0])
    # the same input converts to the same numbers: --verify reproduces
    again = json.loads((folder / "config.json").read_text())["verify"]
    assert again == cfg["verify"]


def test_a_key_left_over_or_missing_fails_with_a_list(tmp_path, fake_omegaconf):
    keys = json.loads((DATA / "big_lama_keys.json").read_text())
    state = synthetic(keys, 1)
    state["generator.model.99.weight"] = torch.zeros(1)  # a key no rule covers
    del state["generator.model.3.bn_l.running_var"]  # and one the model needs
    zip_path = write_big_lama_zip(tmp_path / "big-lama.zip", state, {"lr": 1e-3})
    code = main(["convert", "lama.big_lama", str(zip_path), "--out", str(tmp_path / "m")])
    assert code == 2 and not (tmp_path / "m").exists()


def test_convert_errors_name_what_is_left(tmp_path, fake_omegaconf, capsys):
    keys = json.loads((DATA / "big_lama_keys.json").read_text())
    state = synthetic(keys, 1)
    state["generator.model.99.weight"] = torch.zeros(1)
    del state["generator.model.3.bn_l.running_var"]
    zip_path = write_big_lama_zip(tmp_path / "big-lama.zip", state, {"lr": 1e-3})
    capsys.readouterr()
    assert main(["convert", "lama.big_lama", str(zip_path), "--out", str(tmp_path / "m")]) == 2
    err = capsys.readouterr().err
    assert "neither mapped nor dropped: generator.model.99.weight" in err
    assert "parameter(s) of the model are not filled: encoder.downs.1.bn_l.running_var" in err


def test_an_unsafe_pickle_is_refused_and_never_run(tmp_path, capsys):
    import os
    import pickle

    marker = tmp_path / "ran"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    bad = tmp_path / "best.ckpt"
    with open(bad, "wb") as f:
        pickle.dump({"state_dict": {"x": Evil()}}, f)
    assert main(["convert", "lama.big_lama", str(bad), "--out", str(tmp_path / "m")]) == 2
    err = capsys.readouterr().err
    assert "refused to read it: global 'posix.system' is not on the allow-list" in err
    assert not marker.exists() and not (tmp_path / "m").exists()


def test_medfe_release_converts_with_the_release_computation(tmp_path, capsys):
    layout = json.loads((DATA / "medfe_release_keys.json").read_text())
    folder = tmp_path / "celeba"
    folder.mkdir()
    states = {}
    for i, (net, keys) in enumerate(layout.items()):
        states[net] = synthetic(keys, 10 + i)
        # saved from a GPU by the release's save_networks: {'net': …, 'optimize': …}
        torch.save({"net": states[net], "optimize": {"state": {0: {"exp_avg": torch.zeros(2)}}, "param_groups": [{"lr": 2e-4}]}},
                   folder / f"20_net_{net}.pth")
    torch.save({"net": {}}, folder / "5_net_EN.pth")  # an older, incomplete epoch is ignored
    out = tmp_path / "m"
    assert main(["convert", "medfe.release", str(folder), "--out", str(out)]) == 0
    assert "converted" in capsys.readouterr().out
    from inpaintzoo import load

    model = load(out)
    assert model.prior.cfg.partial_conv == "release" and model.prior.cfg.faithful_scramble
    assert torch.equal(model.prior.fill[0][2].convs[4].mask_weight, states["MEDFE"]["pc_block.cov_7.4.conv.mask_conv.weight"])
    assert torch.equal(model.encoder.middle[3].block[5].weight, states["EN"]["middle.3.conv_block.5.weight"])
    assert torch.equal(model.decoder.d6[1].weight, states["DE"]["Decoder_6.model.1.weight"])
    rng = np.random.default_rng(1)
    for h, w in ((256, 256), (200, 300)):
        img = (rng.random((h, w, 3)) * 255).astype(np.uint8)
        m = np.zeros((h, w), np.uint8)
        m[h // 4 : 3 * h // 4, w // 4 : 3 * w // 4] = 255
        res = model.inpaint(img, m)
        assert res.shape == img.shape and np.array_equal(res[m == 0], img[m == 0])
