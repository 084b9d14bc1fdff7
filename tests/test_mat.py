"""MAT's layers against their definitions, its sampling, and its release layout (IOPaint's state dict)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from inpaintzoo.cli import main
from inpaintzoo_mat.layers import PartialConv
from inpaintzoo_mat.ops import binomial_filter, conv2d_resample, upsample2d
from inpaintzoo_mat.transformer import WindowAttention, shift_mask

MAT = Path(__import__("inpaintzoo_mat").__file__).parent


def test_upsampling_is_zero_insertion_then_the_binomial_with_gain_four():
    """Against the definition written with numpy: insert zeros, pad (2, 1), correlate with [1,3,3,1]ᵀ[1,3,3,1]/64·4."""
    x = torch.randn(1, 2, 5, 4, generator=torch.Generator().manual_seed(0))
    up = np.zeros((2, 10, 8))
    up[:, ::2, ::2] = x[0].numpy()
    padded = np.pad(up, ((0, 0), (2, 1), (2, 1)))
    f = np.outer([1, 3, 3, 1], [1, 3, 3, 1]) / 64 * 4
    want = np.array([[[np.sum(padded[c, i:i + 4, j:j + 4] * f) for j in range(8)] for i in range(10)] for c in range(2)])
    assert np.allclose(upsample2d(x, binomial_filter())[0].numpy(), want, atol=1e-6)


def test_the_resampling_convolutions_with_a_centre_tap_are_pure_resampling():
    """A 3×3 kernel that is 1 at its centre: the 2×-up convolution (transposed, then blurred) is upsample2d, and the
    2×-down one keeps every other pixel of the blurred map (pad 2, 4×4 binomial)."""
    g = torch.Generator().manual_seed(1)
    x = torch.randn(1, 3, 6, 8, generator=g)
    w = torch.zeros(3, 3, 3, 3)
    for c in range(3):
        w[c, c, 1, 1] = 1
    f = binomial_filter()
    assert torch.allclose(conv2d_resample(x, w, f, up=2), upsample2d(x, f), atol=1e-6)
    blurred = F.conv2d(F.pad(x, [2, 2, 2, 2]), f[None, None].repeat(3, 1, 1, 1), groups=3)  # 9×11
    assert torch.allclose(conv2d_resample(x, w, f, down=2), blurred[..., 1:-1:2, 1:-1:2], atol=1e-6)


def test_the_partial_convolution_rescales_by_valid_pixels_and_zeroes_empty_windows():
    g = torch.Generator().manual_seed(2)
    layer = PartialConv(2, 3, 3)
    x = torch.randn(1, 2, 8, 8, generator=g)
    valid = torch.ones(1, 1, 8, 8)
    valid[..., 1:7, 1:7] = 0  # a 4×4 block of windows sees no valid pixel
    with torch.no_grad():
        out, new = layer(x, valid)
        count = F.conv2d(valid, torch.ones(1, 1, 3, 3), padding=1)
        want = layer.conv(x) * torch.where(count > 0, 9 / count.clamp(min=1), torch.zeros(()))
    assert torch.allclose(out, want, atol=1e-6) and torch.equal(new, (count > 0).float())
    assert float(out[..., 2:6, 2:6].abs().max()) == 0.0 and float(new[..., 2:6, 2:6].max()) == 0.0


def test_shifted_windows_keep_regions_apart():
    """Swin's mask for an 8×8 map, windows of 4 shifted by 2: the first window is one region (no −100); the last
    holds four regions (2×2 blocks), so a token attends to the 4 of its own block only."""
    m = shift_mask(8, 8, 4, 2)
    assert m.shape == (4, 16, 16) and torch.equal(m, m.transpose(1, 2))
    assert float(m[0].abs().max()) == 0.0
    assert int((m[3] == 0).sum(dim=1).max()) == 4 and set(m.unique().tolist()) == {-100.0, 0.0}


def test_attention_ignores_invalid_tokens_and_validates_windows_that_had_any():
    g = torch.Generator().manual_seed(3)
    attn = WindowAttention(12, 6).eval()
    x = torch.randn(2, 16, 12, generator=g)
    valid = torch.zeros(2, 16, 1)
    valid[0, :5] = 1  # window 0: five valid tokens; window 1: none
    with torch.no_grad():
        out, new = attn(x, valid, None)
        x2 = x.clone()
        x2[0, 5:] = torch.randn(11, 12, generator=g)  # change only invalid tokens' content
        out2, _ = attn(x2, valid, None)
    assert torch.allclose(out[0, :5], out2[0, :5], atol=1e-6)
    assert torch.equal(new[0], torch.ones(16, 1)) and torch.equal(new[1], torch.zeros(16, 1))


TINY = """
[model]
name = "mat-tiny"
image_size = [128, 128]
mean = [0.5]
std = [0.5]
hole_fill = 0.5
resize = "fixed"
normalize_in = "scaled"
layout = "contiguous"
[encoder]
type = "mat.encoder"
w_dim = 16
z_dim = 16
dim = 12
channel_max = 16
[prior]
type = "core.identity"
[decoder]
type = "mat.decoder"
w_dim = 16
channel_max = 16
noise = "{noise}"
random_noise = {random}
[losses.l1]
type = "core.l1"
"""


def tiny(tmp_path: Path, noise: str = "const", random: str = "false"):
    from inpaintzoo import load

    (tmp_path / "mat.toml").write_text(TINY.format(noise=noise, random=random))
    assert main(["build", str(tmp_path / "mat.toml"), "--out", str(tmp_path / "m")]) == 0
    return load(tmp_path / "m")


def test_mat_samples_and_a_seed_makes_it_reproducible(tmp_path):
    model = tiny(tmp_path)
    assert model.samples
    rng = np.random.default_rng(0)
    img = (rng.random((80, 72, 3)) * 255).astype(np.uint8)
    hole = np.zeros((80, 72), np.uint8)
    hole[20:60, 10:50] = 255
    a, b, c = (model.inpaint(img, hole, seed=s) for s in (3, 3, 4))
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert np.array_equal(a[hole == 0], img[hole == 0])
    # channels_last (its 5-D modulated weights stay as they are) draws the same noise: the same image but for rounding
    d = model.to(memory_format=torch.channels_last).inpaint(img, hole, seed=3)
    assert model.memory_format() == torch.channels_last and np.abs(d.astype(int) - a.astype(int)).max() <= 2
    both = model.inpaint(np.stack([img, img]), np.stack([hole, hole]))  # a channels-last batch through one forward
    assert both.shape == (2, *img.shape) and np.array_equal(both[:, hole == 0], np.stack([img, img])[:, hole == 0])


def test_random_noise_needs_the_noise_inputs(tmp_path, capsys):
    (tmp_path / "mat.toml").write_text(TINY.format(noise="none", random="true"))
    assert main(["build", str(tmp_path / "mat.toml"), "--out", str(tmp_path / "m")]) == 2
    assert "random_noise needs noise = 'const'" in capsys.readouterr().err


@pytest.fixture(scope="module")
def iopaint_file(tmp_path_factory):
    """A state dict in IOPaint's layout (its key list, read off the release's code), random weights, the stored
    constants as the release computes them."""
    from inpaintzoo_mat.convert import expected_constant

    shapes = json.loads((MAT / "release_keys.json").read_text())
    g = torch.Generator().manual_seed(0)
    state = {k: expected_constant(k) if expected_constant(k) is not None else 0.05 * torch.randn(s, generator=g)
             for k, s in shapes.items()}
    path = tmp_path_factory.mktemp("mat") / "mat_places.pth"
    torch.save(state, path)
    return path, state


def test_iopaint_s_layout_converts_strictly(iopaint_file):
    """Every key of IOPaint's file mapped or dropped by a stated rule, every tensor of the zoo entry filled with its
    shape (built on the meta device: the 62 M-parameter model costs nothing to lay out; the tiny model above runs)."""
    from inpaintzoo import plugins
    from inpaintzoo.build import build_model
    from inpaintzoo.convert import apply_mapping
    from inpaintzoo.spec import validate

    path, state = iopaint_file
    reg = plugins.registry()
    conv = reg.get("mat.release", "converter").build(None)
    release = conv.read(path)
    spec = validate(conv.spec(), reg, "mat-places512")
    with torch.device("meta"):
        model = build_model(spec, reg, check=False)
    filled = apply_mapping(conv.mapping(list(release)), release, model.state_dict(), str(path), conv)
    assert set(filled) == set(model.state_dict())
    constants = sum(v.numel() for k, v in state.items() if k.endswith(("resample_filter", "attn_mask")))
    assert sum(v.numel() for v in filled.values()) == sum(v.numel() for v in state.values()) - constants
    assert spec.decoder.config.noise == "none" and spec.model.normalize_in == "scaled"
    broken = {k: v for k, v in release.items() if k != "synthesis.dec.Dec_64x64.conv1.bias"}
    with pytest.raises(Exception, match="synthesis.dec.Dec_64x64.conv1.bias"):
        apply_mapping(conv.mapping(list(broken)), broken, model.state_dict(), str(path), conv)


def test_a_wrong_constant_or_a_pickle_is_refused(iopaint_file, tmp_path, capsys):
    path, state = iopaint_file
    key = "synthesis.first_stage.tran.0.blocks.1.attn_mask"
    torch.save({**state, key: torch.zeros_like(state[key])}, tmp_path / "bad.pth")
    capsys.readouterr()
    assert main(["convert", "mat.release", str(tmp_path / "bad.pth"), "--out", str(tmp_path / "m")]) == 2
    assert f"{key} is not the constant MAT computes there" in capsys.readouterr().err
    (tmp_path / "Places_512_CelebA.pkl").write_bytes(b"\x80\x04N.")
    assert main(["convert", "mat.release", str(tmp_path / "Places_512_CelebA.pkl"), "--out", str(tmp_path / "m")]) == 2
    assert "never done here" in capsys.readouterr().err and not (tmp_path / "m").exists()
