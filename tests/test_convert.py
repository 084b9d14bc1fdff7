"""Converting released checkpoints: each release's exact layout (key/shape lists shipped with the plugins, facts
about the releases), written the way the release writes it, with random weights; converts strictly, inpaints
with pixels outside the hole bit-identical, and nothing unsafe is ever unpickled or executed."""
from __future__ import annotations

import json
import pickle
import pickletools
import sys
import types
import zipfile
from pathlib import Path

import numpy as np
import pytest
import safetensors.torch
import torch
from torch import nn

from inpaintzoo.cli import main
from tests_support import write_torchscript

LAMA_KEYS = Path(__import__("inpaintzoo_lama").__file__).parent / "big_lama_keys.json"
MEDFE_KEYS = Path(__import__("inpaintzoo_medfe").__file__).parent / "release_keys.json"


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
def lightning_classes():
    """Lightning 1.2.9's ModelCheckpoint, pickled by name as the key of `callbacks` (Lightning is not installed:
    a stand-in module of that name), removed again before reading."""
    names = ["pytorch_lightning", "pytorch_lightning.callbacks", "pytorch_lightning.callbacks.model_checkpoint"]
    mods = {n: types.ModuleType(n) for n in names}

    class ModelCheckpoint:
        pass

    ModelCheckpoint.__module__, ModelCheckpoint.__qualname__ = names[-1], "ModelCheckpoint"
    mods[names[-1]].ModelCheckpoint = ModelCheckpoint
    saved = {n: sys.modules.get(n) for n in names}
    sys.modules.update(mods)
    yield ModelCheckpoint
    for n, m in saved.items():
        if m is None:
            sys.modules.pop(n, None)
        else:
            sys.modules[n] = m


def write_big_lama_zip(path: Path, state: dict[str, torch.Tensor], checkpoint_cls=None) -> Path:
    """big-lama.zip as released: big-lama/config.yaml + big-lama/models/best.ckpt, a Lightning 1.2.9 checkpoint
    after make_checkpoint.py, saved by torch.save with pickle protocol 2 (builtins named `__builtin__.*`) and
    hyper-parameters as a real OmegaConf DictConfig."""
    from omegaconf import OmegaConf

    hparams = OmegaConf.create({"generator": {"kind": "ffc_resnet", "ngf": 64, "n_blocks": 18, "ratio": 0.75,
                                              "kwargs": [0, 1]}, "losses": {"l1": {"weight_known": 10}}})
    ckpt = {"epoch": 39, "global_step": 1_000_000, "pytorch-lightning_version": "1.2.9",
            "callbacks": {checkpoint_cls: {"best_model_score": torch.tensor(0.5), "best_model_path": "x"}} if checkpoint_cls else {},
            "lr_schedulers": [], "state_dict": state, "hparams_name": "kwargs", "hyper_parameters": hparams,
            "hparams_type": type(hparams)}
    raw = path.with_suffix(".ckpt")
    torch.save(ckpt, raw, pickle_protocol=2)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        z.write(raw, "big-lama/models/best.ckpt")
        z.writestr("big-lama/config.yaml", "generator:\n  kind: ffc_resnet\n")
    raw.unlink()
    return path


def globals_named(data: bytes) -> set[str]:
    return {arg for op, arg, _ in pickletools.genops(data) if op.name == "GLOBAL"}


def test_the_reader_handles_every_global_a_real_lightning_checkpoint_names(tmp_path, lightning_classes):
    keys = json.loads(LAMA_KEYS.read_text())
    zip_path = write_big_lama_zip(tmp_path / "big-lama.zip", synthetic(dict(list(keys.items())[:6]), 0), lightning_classes)
    with zipfile.ZipFile(zip_path) as z, zipfile.ZipFile(__import__("io").BytesIO(z.read("big-lama/models/best.ckpt"))) as ckpt:
        data = ckpt.read([n for n in ckpt.namelist() if n.endswith("data.pkl")][0])
    named = globals_named(data)
    # protocol 2 names Python 2's builtins: the reason the first reader refused the real file
    assert {"__builtin__ dict", "__builtin__ list", "__builtin__ long"} <= named
    assert {"omegaconf.dictconfig DictConfig", "typing Any", "collections defaultdict"} <= named
    from inpaintzoo.pickles import _Unpickler

    reader = _Unpickler(__import__("io").BytesIO(b""), storage=lambda k, d: torch.zeros(1))
    reader.proto = 2
    for g in sorted(named):
        reader.find_class(*g.split(" "))  # each is handled: none raises


def test_big_lama_release_zip_converts_strictly_and_inpaints(tmp_path, lightning_classes, monkeypatch, capsys):
    state = synthetic(json.loads(LAMA_KEYS.read_text()), 0)
    state.update({"discriminator.model0.0.weight": torch.zeros(64, 3, 4, 4)})  # the release keeps its discriminator
    zip_path = write_big_lama_zip(tmp_path / "big-lama.zip", state, lightning_classes)
    for name in list(sys.modules):  # the reader must not need (or import) any of them
        if name.startswith(("omegaconf", "pytorch_lightning")):
            monkeypatch.delitem(sys.modules, name)
    monkeypatch.setenv("INPAINTZOO_HOME", str(tmp_path / "home"))
    from inpaintzoo import load
    from inpaintzoo.errors import LoadError

    with pytest.raises(LoadError, match=r"offline \(HF_HUB_OFFLINE=1\): download big-lama.pt from https://github.com/"
                                        r"Sanster/models/releases/download/add_big_lama/big-lama.pt, then run "
                                        r"`inpaintzoo fetch lama-big --source big-lama.pt`"):
        load("lama-big")
    assert main(["convert", "lama-big", str(zip_path), "--verify"]) == 0
    out = capsys.readouterr().out
    assert "50,975,875 parameters" in out and "verify: {" in out
    assert not any(m.startswith("omegaconf") for m in sys.modules)
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
    assert model.contract.pad_mode == "symmetric"
    rng = np.random.default_rng(0)
    for h, w_ in ((64, 96), (75, 41)):
        img = (rng.random((h, w_, 3)) * 255).astype(np.uint8)
        m = np.zeros((h, w_), np.uint8)
        m[h // 4: h // 2, w_ // 4: w_ // 2] = 255
        res = model.inpaint(img, m)
        assert res.shape == img.shape and np.array_equal(res[m == 0], img[m == 0])
    assert main(["convert", "lama-big", str(zip_path), "--verify", "--overwrite"]) == 0
    assert json.loads((folder / "config.json").read_text())["verify"] == cfg["verify"]  # the same numbers again

    # IOPaint's TorchScript file of the same weights converts to the same model, without running any of its code
    pt = write_torchscript(tmp_path / "big-lama.pt", {f"model.{k}": v for k, v in state.items() if k.startswith("generator.")})
    with zipfile.ZipFile(pt) as z:
        assert any("/code/" in n for n in z.namelist())
    assert main(["convert", "lama.big_lama", str(pt), "--out", str(tmp_path / "from-pt")]) == 0
    w2 = safetensors.torch.load_file(str(tmp_path / "from-pt" / "model.safetensors"))
    assert w2.keys() == w.keys() and all(torch.equal(w[k], w2[k]) for k in w)


def test_a_torchscript_archive_with_an_unknown_global_is_refused(tmp_path, capsys):
    pt = write_torchscript(tmp_path / "t.pt", {"model.generator.model.1.weight": torch.zeros(2)})
    with zipfile.ZipFile(pt) as z:
        members = {n: z.read(n) for n in z.namelist()}
    pkl = next(n for n in members if n.endswith("/data.pkl"))
    members[pkl] = members[pkl].replace(b"torch._utils\n_rebuild_tensor_v2", b"posix\nsystem\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n")[:len(members[pkl])]
    bad = tmp_path / "bad.pt"
    with zipfile.ZipFile(bad, "w") as z:
        for n, b in members.items():
            z.writestr(n, b)
    assert main(["convert", "lama.big_lama", str(bad), "--out", str(tmp_path / "m")]) == 2
    err = capsys.readouterr().err
    assert "refused to read it: global 'posix.system' is not on the allow-list" in err and "Traceback" not in err
    assert not (tmp_path / "m").exists()


def test_convert_errors_name_what_is_left_as_the_release_names_it(tmp_path, capsys):
    keys = json.loads(LAMA_KEYS.read_text())
    state = synthetic(keys, 1)
    state["generator.model.99.weight"] = torch.zeros(1)  # a key no rule covers
    del state["generator.model.3.bn_l.running_var"]  # and one the model needs
    pt = tmp_path / "best.ckpt"
    torch.save({"state_dict": state}, pt)
    capsys.readouterr()
    assert main(["convert", "lama.big_lama", str(pt), "--out", str(tmp_path / "m")]) == 2
    err = capsys.readouterr().err
    assert "neither mapped nor dropped: generator.model.99.weight" in err
    assert ("missing from the release: generator.model.3.bn_l.running_var in best.ckpt "
            "(for encoder.downs.1.bn_l.running_var)") in err
    assert not (tmp_path / "m").exists()


def test_an_unsafe_or_empty_file_is_refused_and_never_run(tmp_path, capsys):
    import os

    marker = tmp_path / "ran"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    bad = tmp_path / "best.ckpt"
    with open(bad, "wb") as f:
        pickle.dump({"state_dict": {"x": Evil()}}, f)
    assert main(["convert", "lama.big_lama", str(bad), "--out", str(tmp_path / "m")]) == 2
    assert "refused to read it: global 'posix.system' is not on the allow-list" in capsys.readouterr().err
    assert not marker.exists() and not (tmp_path / "m").exists()
    empty = tmp_path / "empty.ckpt"
    empty.write_bytes(b"")
    assert main(["convert", "lama.big_lama", str(empty), "--out", str(tmp_path / "m")]) == 2
    err = capsys.readouterr().err
    assert "empty.ckpt: empty file" in err and "Traceback" not in err


def write_medfe(folder: Path, states: dict, layout: str, epoch: str = "20") -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for net, state in states.items():
        if layout == "gpu":  # save_networks on a GPU: {'net': …, 'optimize': …}
            obj = {"net": state, "optimize": {"state": {0: {"exp_avg": torch.zeros(2)}}, "param_groups": [{"lr": 2e-4}]}}
        elif layout == "dataparallel":
            obj = {f"module.{k}": v for k, v in state.items()}
        else:
            obj = state
        torch.save(obj, folder / f"{epoch}_net_{net}.pth")


@pytest.mark.parametrize("layout", ["cpu", "gpu", "dataparallel"])
def test_medfe_release_converts_in_every_layout_with_the_release_computation(tmp_path, layout):
    release = json.loads(MEDFE_KEYS.read_text())
    states = {net: synthetic(keys, 10 + i) for i, (net, keys) in enumerate(release.items())}
    write_medfe(tmp_path / "celeba", states, layout)
    torch.save({"net": {}}, tmp_path / "celeba" / "5_net_EN.pth")  # an older, incomplete epoch is ignored
    out = tmp_path / "m"
    assert main(["convert", "medfe.release", str(tmp_path / "celeba"), "--out", str(out)]) == 0
    from inpaintzoo import load

    model = load(out)
    assert model.prior.cfg.partial_conv == "release" and model.prior.cfg.faithful_scramble
    assert model.encoder.cfg.activated_features  # the release's in-place activations
    assert torch.equal(model.prior.fill[0][2].convs[4].mask_weight, states["MEDFE"]["pc_block.cov_7.4.conv.mask_conv.weight"])
    assert torch.equal(model.encoder.middle[3].block[5].weight, states["EN"]["middle.3.conv_block.5.weight"])
    assert torch.equal(model.decoder.d6[1].weight, states["DE"]["Decoder_6.model.1.weight"])
    if layout != "cpu":
        return
    rng = np.random.default_rng(1)
    for h, w in ((256, 256), (200, 300)):
        img = (rng.random((h, w, 3)) * 255).astype(np.uint8)
        m = np.zeros((h, w), np.uint8)
        m[h // 4: 3 * h // 4, w // 4: 3 * w // 4] = 255
        res = model.inpaint(img, m)
        assert res.shape == img.shape and np.array_equal(res[m == 0], img[m == 0])


def test_medfe_messages_name_the_release_file_and_key(tmp_path, capsys):
    release = json.loads(MEDFE_KEYS.read_text())
    states = {net: synthetic(keys, i) for i, (net, keys) in enumerate(release.items())}
    del states["MEDFE"]["pc_block.cov_5.2.bn.weight"]
    write_medfe(tmp_path / "a", states, "cpu")
    assert main(["convert", "medfe.release", str(tmp_path / "a"), "--out", str(tmp_path / "m")]) == 2
    err = capsys.readouterr().err
    assert "MEDFE.pc_block.cov_5.2.bn.weight in 20_net_MEDFE.pth (for prior.fill.0.1.norms.2.weight)" in err
    write_medfe(tmp_path / "b", {k: v for k, v in states.items() if k != "MEDFE"}, "cpu")
    assert main(["convert", "medfe.release", str(tmp_path / "b"), "--out", str(tmp_path / "m")]) == 2
    err = capsys.readouterr().err
    assert "20_net_MEDFE.pth is missing" in err and "Traceback" not in err


def test_lama_fourier_with_9_blocks_maps_by_derived_offsets(tmp_path):
    """LaMa-Fourier's release has 9 blocks: the upsampling and output modules sit 9 positions earlier."""
    import re

    big = synthetic(json.loads(LAMA_KEYS.read_text()), 3)
    fourier = {}
    for k, v in big.items():
        if not k.startswith("generator."):
            continue
        i = int(re.match(r"generator\.model\.(\d+)\.", k)[1])
        if 14 <= i <= 22:
            continue  # blocks 10–18 do not exist
        fourier[re.sub(r"model\.\d+\.", f"model.{i - 9 if i > 22 else i}.", k, count=1)] = v
    torch.save({"state_dict": fourier}, tmp_path / "best.ckpt")
    assert main(["convert", "lama-fourier", str(tmp_path / "best.ckpt"), "--out", str(tmp_path / "m")]) == 0
    w = safetensors.torch.load_file(str(tmp_path / "m" / "model.safetensors"))
    assert torch.equal(w["decoder.out.weight"], fourier["generator.model.25.weight"])
    assert torch.equal(w["decoder.ups.0.0.weight"], fourier["generator.model.15.weight"])
    assert torch.equal(w["decoder.blocks.8.conv1.ffc.convl2l.weight"], fourier["generator.model.13.conv1.ffc.convl2l.weight"])
