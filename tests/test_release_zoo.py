"""MI-GAN, AOT-GAN, DeepFill v1/v2, Global&Local and PConv from their releases' layouts (key/shape lists shipped with the plugins, read off the releases'
own code): each layout converts strictly, inpaints at two sizes with pixels outside the hole bit-identical, and a
missing or extra key fails with the list."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from inpaintzoo.cli import main
from tests_support import write_torchscript

MIGAN = Path(__import__("inpaintzoo_migan").__file__).parent
AOTGAN = Path(__import__("inpaintzoo_aotgan").__file__).parent
DEEPFILL = Path(__import__("inpaintzoo_deepfill").__file__).parent
GL = Path(__import__("inpaintzoo_globallocal").__file__).parent
PCONV = Path(__import__("inpaintzoo_pconv").__file__).parent


def random_state(shapes: dict[str, list[int]], seed: int) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return {k: 0.05 * torch.randn(s, generator=g) for k, s in shapes.items()}


def layouts(tmp_path: Path) -> dict[str, tuple[str, Path, dict]]:
    """(zoo name, file, state) per release layout."""
    out = {}
    migan = random_state(json.loads((MIGAN / "release_keys_256.json").read_text()), 0)
    torch.save(migan, tmp_path / "migan_256_places2.pt")
    out["migan authors"] = ("migan-256-places2", tmp_path / "migan_256_places2.pt", migan)
    out["migan torchscript"] = ("migan-256-places2", write_torchscript(tmp_path / "migan_traced.pt", migan), migan)
    keys = json.loads((AOTGAN / "release_keys.json").read_text())
    authors = random_state(keys["authors"], 1)
    torch.save(authors, tmp_path / "G0000000.pt")
    out["aotgan authors"] = ("aotgan-places2", tmp_path / "G0000000.pt", authors)
    mm = random_state(keys["mmagic"], 2)
    torch.save({"meta": {"epoch": 1}, "state_dict": {**mm, "disc.conv.0.weight": torch.zeros(4, 3, 4, 4)}}, tmp_path / "aot.pth")
    out["aotgan mmagic"] = ("aotgan-places2", tmp_path / "aot.pth", mm)
    df = random_state(json.loads((DEEPFILL / "release_keys.json").read_text()), 3)
    torch.save({"meta": {}, "state_dict": {**df, "disc.model.conv1.conv.weight": torch.zeros(8, 4, 5, 5)}}, tmp_path / "df.pth")
    out["deepfill mmagic"] = ("deepfillv2-places", tmp_path / "df.pth",
                              {k: v for k, v in df.items() if not k.endswith("fuse_kernel")})
    v1 = random_state(json.loads((DEEPFILL / "release_keys_v1.json").read_text()), 4)
    critics = {"disc.global_disc.conv1.conv.weight": torch.zeros(64, 3, 5, 5),
               "disc.local_disc.fc.fc.weight": torch.zeros(1, 8)}
    torch.save({"meta": {}, "state_dict": {**v1, **critics}}, tmp_path / "df1.pth")
    out["deepfill v1 mmagic"] = ("deepfillv1-places", tmp_path / "df1.pth",
                                 {k: v for k, v in v1.items() if not k.endswith("fuse_kernel")})
    gl = random_state(json.loads((GL / "release_keys.json").read_text()), 5)
    gl = {k: (v.abs() + 0.5 if k.endswith("running_var") else torch.zeros((), dtype=torch.long) if k.endswith("num_batches_tracked") else v)
          for k, v in gl.items()}
    torch.save({"meta": {}, "state_dict": {**gl, "disc.global_disc.conv1.conv.weight": torch.zeros(4, 3, 5, 5)}},
               tmp_path / "gl.pth")
    out["gl mmagic"] = ("gl-places", tmp_path / "gl.pth", {k: v for k, v in gl.items()})
    pc = random_state(json.loads((PCONV / "release_keys.json").read_text()), 6)
    pc = {k: (torch.ones_like(v) if k.endswith("weight_mask_updater") else v.abs() + 0.5 if k.endswith("running_var")
              else torch.zeros((), dtype=torch.long) if k.endswith("num_batches_tracked") else v) for k, v in pc.items()}
    torch.save({"meta": {}, "state_dict": pc}, tmp_path / "pconv.pth")
    out["pconv mmagic"] = ("pconv-places", tmp_path / "pconv.pth",
                           {k: v for k, v in pc.items() if not k.endswith("weight_mask_updater")})
    return out


@pytest.fixture(scope="module")
def release_files(tmp_path_factory):
    return layouts(tmp_path_factory.mktemp("releases"))


@pytest.mark.parametrize("layout", ["migan authors", "migan torchscript", "aotgan authors", "aotgan mmagic",
                                    "deepfill mmagic", "deepfill v1 mmagic", "gl mmagic", "pconv mmagic"])
def test_release_layouts_convert_strictly_and_inpaint(release_files, tmp_path, layout):
    from inpaintzoo import load

    name, path, state = release_files[layout]
    out = tmp_path / "m"
    assert main(["convert", name, str(path), "--out", str(out)]) == 0
    model = load(out)
    assert sum(v.numel() for v in model.state_dict().values()) == sum(v.numel() for v in state.values())
    rng = np.random.default_rng(0)
    for h, w in ((96, 128), (37, 50)):
        img = (rng.random((h, w, 3)) * 255).astype(np.uint8)
        m = np.zeros((h, w), np.uint8)
        m[h // 4: h // 2, w // 4: w // 2] = 255
        res = model.inpaint(img, m)
        assert res.shape == img.shape and np.array_equal(res[m == 0], img[m == 0])
        assert not np.array_equal(res[m > 0], img[m > 0])


def test_a_key_missing_from_a_release_is_named_with_its_file(release_files, tmp_path, capsys):
    _, _, state = release_files["aotgan authors"]
    broken = {k: v for k, v in state.items() if k != "middle.3.gate.1.bias"}
    broken["middle.3.extra.weight"] = torch.zeros(1)
    torch.save(broken, tmp_path / "G0000001.pt")
    capsys.readouterr()
    assert main(["convert", "aotgan-places2", str(tmp_path / "G0000001.pt"), "--out", str(tmp_path / "m")]) == 2
    err = capsys.readouterr().err
    assert "neither mapped nor dropped: middle.3.extra.weight" in err
    assert "middle.3.gate.1.bias in G0000001.pt (for decoder.middle.3.gate.1.bias)" in err
    assert not (tmp_path / "m").exists()


def test_the_release_zoo_is_listed_with_its_sources():
    from inpaintzoo import zoo

    assert zoo.get("migan-512-places2").weights_status() in ("fetched on first use", "cached")
    assert zoo.get("aotgan-places2").release.sources[0].sha256 == "6641441b"  # OpenMMLab's name carries it
    assert zoo.get("migan-256-ffhq").weights_status().startswith(("download by hand", "cached"))


def test_the_migan_converter_tells_the_variant_from_the_file(release_files, tmp_path):
    """`convert migan.release FILE` (the converter, no zoo entry named) takes the 256 generator as a 256 model: its
    deepest block says so, where it used to build the 512 default and fail."""
    _, path, _ = release_files["migan authors"]
    assert main(["convert", "migan.release", str(path), "--out", str(tmp_path / "m")]) == 0
    cfg = json.loads((tmp_path / "m" / "config.json").read_text())
    assert cfg["spec"]["model"]["image_size"] == [256, 256] and cfg["spec"]["model"]["name"] == "migan-256-places2"


def test_the_deepfill_converter_tells_v1_from_v2(release_files, tmp_path):
    """`convert deepfill.mmagic FILE`: a DeepFill v1 checkpoint (plain convolutions, its critics not ported and
    dropped) becomes a v1 model, a v2 one a v2 model."""
    for layout, name, conv in (("deepfill v1 mmagic", "deepfillv1-places", "plain"),
                               ("deepfill mmagic", "deepfillv2-places", "gated")):
        _, path, _ = release_files[layout]
        out = tmp_path / name
        assert main(["convert", "deepfill.mmagic", str(path), "--out", str(out)]) == 0
        cfg = json.loads((out / "config.json").read_text())
        assert cfg["spec"]["model"]["name"] == name and cfg["spec"]["encoder"]["conv"] == conv
        if conv == "plain":  # v1's critics are listed as dropped, not converted
            assert not (out / "discriminator.safetensors").exists()


def test_pconv_checks_its_mask_kernels_and_names_a_missing_one(release_files, tmp_path, capsys):
    """The all-ones mask kernels are dropped only when they are ones; a missing layer is named as mmagic names it."""
    full = torch.load(release_files["pconv mmagic"][1], weights_only=True)["state_dict"]
    bad = dict(full)
    bad["generator.encoder.enc3.conv.weight_mask_updater"] = torch.zeros_like(bad["generator.encoder.enc3.conv.weight_mask_updater"])
    torch.save({"state_dict": bad}, tmp_path / "bad.pth")
    capsys.readouterr()
    assert main(["convert", "pconv-places", str(tmp_path / "bad.pth"), "--out", str(tmp_path / "m")]) == 2
    assert "enc3.conv.weight_mask_updater is not all ones" in capsys.readouterr().err
    missing = {k: v for k, v in full.items() if k != "generator.decoder.dec4.bn.running_var"}
    torch.save({"state_dict": missing}, tmp_path / "missing.pth")
    assert main(["convert", "pconv-places", str(tmp_path / "missing.pth"), "--out", str(tmp_path / "m")]) == 2
    assert "generator.decoder.dec4.bn.running_var in missing.pth (for decoder.dec4.bn.running_var)" in capsys.readouterr().err
    assert not (tmp_path / "m").exists()
