"""Models that sample at inference: `inpaint(seed=)` and `inpaint --seed` give each image its own reproducible noise,
the zoo says which models sample, and a model that does not sample ignores the seed."""
from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from PIL import Image

from inpaintzoo import create_model
from inpaintzoo.artifact import save_model
from inpaintzoo.catalog import spec_samples
from inpaintzoo.cli import main
from inpaintzoo.errors import InputError
from inpaintzoo.model import image_seed

SAMPLING = {
    "model": {"name": "nvae-sampling", "image_size": [16, 16], "mean": [0.5], "std": [0.5], "hole_fill": 0.5},
    "encoder": {"type": "nvae.encoder", "channels": 8, "groups_per_scale": [2, 1], "num_latent_per_group": 4},
    "prior": {"type": "nvae.hierarchical", "channels": 8, "groups_per_scale": [2, 1], "num_latent_per_group": 4,
              "num_cell_per_cond": 1, "sample_in_eval": True, "temperature": 3.0},
    "decoder": {"type": "nvae.decoder", "channels": 8},
    "losses": {"recon": {"type": "nvae.logistic_mixture"}},
}


@pytest.fixture(scope="module")
def sampler():
    torch.manual_seed(0)
    return create_model(SAMPLING).eval()


def images(n: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    img = (rng.random((n, 16, 16, 3)) * 255).astype(np.uint8)
    mask = np.zeros((n, 16, 16), np.uint8)
    mask[:, 4:12, 3:13] = 255
    return img, mask


def test_the_same_seed_gives_the_same_images_and_each_image_its_own_noise(sampler):
    img, mask = images(2)
    assert sampler.samples
    a = sampler.inpaint(img, mask, seed=7)
    assert np.array_equal(a, sampler.inpaint(img, mask, seed=7))
    assert not np.array_equal(a[:, 4:12, 3:13], sampler.inpaint(img, mask, seed=8)[:, 4:12, 3:13])
    # image i of a batch draws from image_seed(seed, i): alone, with that seed, it comes out the same
    assert np.array_equal(a[1], sampler.inpaint(img[1:], mask[1:], seed=[image_seed(7, 1)])[0])
    same = sampler.inpaint(np.stack([img[0], img[0]]), np.stack([mask[0], mask[0]]), seed=7)
    assert not np.array_equal(same[0], same[1])  # the same picture twice in a batch: two draws
    # the caller's generator is left as it was
    torch.manual_seed(3)
    sampler.inpaint(img, mask, seed=7)
    after = torch.rand(3)
    torch.manual_seed(3)
    assert torch.equal(after, torch.rand(3))


def test_a_model_that_does_not_sample_ignores_the_seed_and_bad_seeds_are_refused(sampler):
    spec = copy.deepcopy(SAMPLING)
    spec["prior"]["sample_in_eval"] = False
    torch.manual_seed(0)
    fixed = create_model(spec).eval()
    img, mask = images(2)
    assert not fixed.samples
    assert np.array_equal(fixed.inpaint(img, mask, seed=1), fixed.inpaint(img, mask, seed=2))
    assert np.array_equal(fixed.inpaint(img, mask), fixed.inpaint(img, mask, seed=2))
    for bad in (-1, 2**63, 1.5, True, [1], [1, "2"]):
        with pytest.raises(InputError, match="seed"):
            sampler.inpaint(img, mask, seed=bad)


def test_the_zoo_says_which_specs_sample():
    assert spec_samples(SAMPLING)
    assert not spec_samples({**SAMPLING, "prior": {**SAMPLING["prior"], "sample_in_eval": False}})
    assert not spec_samples({**SAMPLING, "prior": {k: v for k, v in SAMPLING["prior"].items() if k != "sample_in_eval"}})


def test_a_folder_run_gives_each_file_the_same_result_whatever_its_batch(sampler, tmp_path, capsys):
    folder = save_model(sampler, tmp_path / "model")
    img, mask = images(3)
    (tmp_path / "in" / "sub").mkdir(parents=True)
    names = ["a.png", "b.png", "sub/c.png"]
    for name, im in zip(names, img):
        Image.fromarray(im).save(tmp_path / "in" / name)
    Image.fromarray(mask[0]).save(tmp_path / "mask.png")
    outs = {}
    for batch in ("1", "3"):
        out = tmp_path / f"out{batch}"
        assert main(["inpaint", str(folder), str(tmp_path / "in"), str(tmp_path / "mask.png"), "-o", str(out),
                     "--batch-size", batch, "--workers", "0", "--seed", "5"]) == 0
        outs[batch] = {n: np.asarray(Image.open(out / n)) for n in names}
    assert all(np.array_equal(outs["1"][n], outs["3"][n]) for n in names)
    # one file on its own is image 0 of `inpaint(seed=5)`, as the API gives it
    single = tmp_path / "single.png"
    assert main(["inpaint", str(folder), str(tmp_path / "in" / "a.png"), str(tmp_path / "mask.png"), "-o", str(single),
                 "--seed", "5"]) == 0
    from inpaintzoo import load

    assert np.array_equal(np.asarray(Image.open(single)), load(folder).inpaint(img[0], mask[0], seed=5))
    capsys.readouterr()


def test_a_model_that_samples_is_not_exported(sampler, tmp_path):
    """ONNX Runtime cannot seed a graph's noise per call, so seed= could not hold: export refuses in one line."""
    pytest.importorskip("onnxscript")
    from inpaintzoo.export.onnx import export_onnx

    with pytest.raises(InputError, match="draws noise at inference") as err:
        export_onnx(sampler, tmp_path / "m.onnx", pipeline=False)
    assert "[prior] sample_in_eval = false" in str(err.value)  # the setting that turns it off, named
    assert not (tmp_path / "m.onnx").exists()
