"""HD strategies (inpaintzoo.hd): where the network runs on large images; outside the hole nothing changes."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from inpaintzoo import create_model
from inpaintzoo.hd import HDOptions, component_boxes, crop_windows


def test_component_boxes_match_scipy_labels_with_8_connectivity():
    from scipy import ndimage

    rng = np.random.default_rng(0)
    hole = rng.random((120, 90)) > 0.93
    hole[5, 5] = hole[6, 6] = True  # diagonal neighbours: one region
    labels, n = ndimage.label(hole, structure=np.ones((3, 3)))
    expected = sorted((s[0].start, s[1].start, s[0].stop, s[1].stop) for s in ndimage.find_objects(labels))
    assert sorted(component_boxes(hole)) == expected and len(expected) == n


def test_two_distant_holes_are_two_windows_and_close_ones_merge():
    mask = torch.zeros(400, 600)
    mask[20:60, 30:80] = 1
    mask[300:350, 500:560] = 1
    wins = crop_windows(mask, 16)
    assert wins == [(4, 14, 76, 96), (284, 484, 366, 576)]
    mask[60:90, 80:120] = 1  # touches the first region diagonally: still one region
    mask[70:80, 140:150] = 1  # a separate region whose window overlaps the first's: merged
    wins = crop_windows(mask, 16)
    assert len(wins) == 2 and wins[0] == (4, 14, 106, 166)
    for t, l, b, r in crop_windows(mask, 16, square=True):
        assert b - t == r - l  # fixed-size networks get square windows


@pytest.fixture
def model(tiny_spec):
    tiny_spec["model"].update(size_multiple=4, resize="pad", pad_mode="reflect")
    torch.manual_seed(0)
    return create_model(tiny_spec).eval()


@pytest.mark.parametrize("strategy", ["original", "resize", "crop", "auto"])
def test_every_strategy_keeps_the_outside_and_fills_every_hole_pixel(model, strategy):
    rng = np.random.default_rng(1)
    img = (rng.random((90, 130, 3)) * 255).astype(np.uint8)
    mask = np.zeros((90, 130), np.uint8)
    mask[5:15, 10:30] = 255
    mask[70:85, 100:125] = 255
    out = model.inpaint(img, mask, hd_strategy=strategy, hd_crop_margin=8, hd_crop_trigger=64, hd_resize_limit=48)
    assert np.array_equal(out[mask == 0], img[mask == 0])
    assert (out[mask > 0] != img[mask > 0]).any(axis=-1).mean() > 0.9


def test_crop_runs_the_network_on_the_windows_only(model):
    seen = []
    original = model.run

    def spy(x, m, *a, **k):
        seen.append(tuple(x.shape))
        return original(x, m, *a, **k)

    model.run = spy
    img = np.zeros((300, 400, 3), np.uint8)
    mask = np.zeros((300, 400), np.uint8)
    mask[10:20, 10:20] = 255
    mask[250:260, 350:362] = 255
    model.inpaint(img, mask, hd_strategy="crop", hd_crop_margin=4)
    assert seen == [(1, 3, 20, 20), (1, 3, 20, 20)]  # two 18×18 / 18×20 windows, padded to a multiple of 4
    seen.clear()
    model.inpaint(img, mask, hd_strategy="original")
    assert seen == [(1, 3, 300, 400)]


def test_bad_options_are_one_line_errors(model):
    from inpaintzoo.errors import InputError

    img = np.zeros((20, 20, 3), np.uint8)
    with pytest.raises(InputError, match="hd_strategy='tile': expected one of auto, original, resize, crop"):
        model.inpaint(img, img[..., 0], hd_strategy="tile")
    with pytest.raises(InputError, match="crop_margin=-1"):
        HDOptions("crop", crop_margin=-1)
    with pytest.raises(InputError, match="dtype='int8'"):
        model.inpaint(img, img[..., 0], dtype="int8")


def test_bfloat16_autocast_stays_close_to_float32(model):
    rng = np.random.default_rng(2)
    img = rng.random((32, 32, 3)).astype(np.float32)
    mask = np.zeros((32, 32), np.float32)
    mask[8:20, 8:20] = 1
    a = model.inpaint(img, mask)
    b = model.inpaint(img, mask, dtype="bfloat16")
    assert 0 < np.abs(a - b).max() < 0.05 and np.array_equal(a[mask == 0], b[mask == 0])


def test_a_half_model_takes_float_images(model):
    img = np.random.default_rng(3).random((24, 24, 3)).astype(np.float32)
    mask = np.zeros((24, 24), np.float32)
    mask[4:12, 4:12] = 1
    ref = model.inpaint(img, mask)
    out = model.to(torch.bfloat16).inpaint(img, mask)
    assert out.dtype == np.float32 and np.abs(out - ref).max() < 0.05
