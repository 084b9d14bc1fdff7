"""Padding to the size multiple: image and mask extended alike, exactly as numpy.pad (LaMa's predict.py uses its
'symmetric' mode), so no pixel from inside the hole ever reaches the network."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from inpaintzoo import create_model
from inpaintzoo.contract import pad_to


@pytest.mark.parametrize("mode", ["symmetric", "reflect", "replicate"])
@pytest.mark.parametrize("n,extra", [(5, 3), (5, 12), (3, 7), (401, 7), (2, 5)])
def test_padding_equals_numpy(mode, n, extra):
    a = np.random.default_rng(n).random((2, n))
    ref = np.pad(a, ((0, 0), (0, extra)), mode={"replicate": "edge"}.get(mode, mode))
    ours = pad_to(torch.from_numpy(a).view(1, 2, 1, n), 0, extra, mode).view(2, -1).numpy()
    assert np.array_equal(ours, ref)
    ours_h = pad_to(torch.from_numpy(a.T.copy()).view(1, 1, n, 2), extra, 0, mode).view(-1, 2).numpy()
    assert np.array_equal(ours_h, np.pad(a.T, ((0, extra), (0, 0)), mode={"replicate": "edge"}.get(mode, mode)))


@pytest.fixture
def fully_convolutional(tiny_spec):
    tiny_spec["model"].update(size_multiple=8, resize="pad", pad_mode="symmetric", hole_fill=0.0)
    torch.manual_seed(0)
    return create_model(tiny_spec).eval()


@pytest.mark.parametrize("corner", [False, True])
def test_the_hole_content_never_reaches_the_network(fully_convolutional, corner):
    """Recolouring the hole changes nothing, also for a hole touching the bottom-right corner, whose mirror lands
    in the padded strip (with the mask padded with zeros, it did: up to 88 grey levels for LaMa)."""
    h, w = 43, 29  # padded to 48 × 32
    rng = np.random.default_rng(0)
    img = (rng.random((h, w, 3)) * 255).astype(np.uint8)
    mask = np.zeros((h, w), np.uint8)
    if corner:
        mask[h - 6:, w - 5:] = 255
    else:
        mask[10:20, 8:15] = 255
    red = img.copy()
    red[mask > 0] = (255, 0, 0)
    a, b = fully_convolutional.inpaint(img, mask), fully_convolutional.inpaint(red, mask)
    assert np.array_equal(a, b)
    assert np.array_equal(a[mask == 0], img[mask == 0])


def test_padding_is_part_of_the_stored_contract(fully_convolutional, tmp_path):
    from inpaintzoo import load
    from inpaintzoo.artifact import save_model

    save_model(fully_convolutional, tmp_path / "m")
    assert load(tmp_path / "m").contract.pad_mode == "symmetric"


def test_a_bgr_network_sees_bgr_and_the_caller_gets_rgb(tiny_spec):
    """channel_order = 'BGR' (mmagic's DeepFill checkpoints): the network's input and output are in BGR, the
    caller's image and result in RGB: the same weights as an RGB model given the channel-swapped image."""
    import copy

    torch.manual_seed(0)
    rgb = create_model(copy.deepcopy(tiny_spec)).eval()
    tiny_spec["model"]["channel_order"] = "BGR"
    bgr = create_model(tiny_spec).eval()
    bgr.load_state_dict(rgb.state_dict())
    rng = np.random.default_rng(1)
    img = (rng.random((16, 16, 3)) * 255).astype(np.uint8)
    mask = np.zeros((16, 16), np.uint8)
    mask[4:10, 3:12] = 255
    expected = rgb.inpaint(img[..., ::-1].copy(), mask)[..., ::-1]
    assert np.array_equal(bgr.inpaint(img, mask), expected)
    assert not np.array_equal(rgb.inpaint(img, mask), expected)


def test_levels_normalisation_is_mmagics_arithmetic_to_the_bit():
    """mmagic normalises uint8 images as (u8 − 127.5) / 127.5; (u8/255 − 0.5) / 0.5 differs in the last bit for half
    of the 256 levels, which a network amplifies (2.45e-4 through DeepFill v2 with random weights). 'levels' is
    mmagic's arithmetic for every level; 'unit' stays the default."""
    import torch

    from inpaintzoo.contract import normalize
    from inpaintzoo.spec import Contract

    u8 = torch.arange(256, dtype=torch.float32).view(1, 1, 16, 16).expand(1, 3, 16, 16)
    mmagic = (u8 - 127.5) / 127.5
    assert torch.equal(normalize(u8 / 255, Contract(mean=[0.5], std=[0.5], normalize_in="levels")), mmagic)
    assert not torch.equal(normalize(u8 / 255, Contract(mean=[0.5], std=[0.5])), mmagic)
