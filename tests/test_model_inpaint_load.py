import json

import numpy as np
import pytest
import torch
from PIL import Image

from inpaintzoo import create_model, load
from inpaintzoo.artifact import save_model
from inpaintzoo.errors import InputError, LoadError


@pytest.fixture
def model(tiny_spec):
    torch.manual_seed(0)
    return create_model(tiny_spec).eval()


def _mask(h, w):
    m = np.zeros((h, w), np.uint8)
    m[h // 4 : h // 2, w // 3 : w // 2 + 2] = 255
    return m


def test_forward_and_every_loss_term(model):
    image, mask = model.dummy_batch(2)
    out = model.train()(image, mask)
    losses = model.train_components().generator_losses(out.context)
    assert set(losses) == {"l1"} and losses["l1"].ndim == 0
    assert out.pred.shape == image.shape
    # the composite keeps the (normalised) known pixels
    target = (image - 0.5) / 0.5
    assert torch.equal(out.composite[~mask.bool().expand_as(image)], target[~mask.bool().expand_as(image)])


@pytest.mark.parametrize("h, w", [(16, 16), (23, 37)])
def test_inpaint_keeps_known_pixels_bit_identical_for_every_input_type(model, h, w):
    rng = np.random.default_rng(0)
    arr = (rng.random((h, w, 3)) * 255).astype(np.uint8)
    m = _mask(h, w)
    keep = m == 0
    # numpy uint8
    out = model.inpaint(arr, m)
    assert out.dtype == np.uint8 and out.shape == arr.shape
    assert np.array_equal(out[keep], arr[keep]) and not np.array_equal(out[~keep], arr[~keep])
    # PIL in, PIL out
    pil = model.inpaint(Image.fromarray(arr), Image.fromarray(m))
    assert isinstance(pil, Image.Image) and pil.size == (w, h)
    assert np.array_equal(np.asarray(pil)[keep], arr[keep])
    # float tensor, single and batched
    t = torch.from_numpy(arr).permute(2, 0, 1).float() / 255
    mt = torch.from_numpy(m / 255.0).float()
    single = model.inpaint(t, mt)
    assert single.shape == t.shape and torch.equal(single[:, torch.from_numpy(keep)], t[:, torch.from_numpy(keep)])
    batched = model.inpaint(torch.stack([t, t.flip(-1)]), mt)
    assert batched.shape == (2, 3, h, w)
    assert torch.allclose(batched[0], single, atol=1e-5)


def test_fixed_size_model_resizes_and_restores(tiny_spec):
    tiny_spec["model"]["resize"] = "fixed"
    model = create_model(tiny_spec).eval()
    arr = (np.random.default_rng(1).random((40, 30, 3)) * 255).astype(np.uint8)
    m = _mask(40, 30)
    out = model.inpaint(arr, m)
    assert out.shape == arr.shape and np.array_equal(out[m == 0], arr[m == 0])


def test_mask_errors(model):
    img = torch.rand(3, 16, 16)
    with pytest.raises(InputError, match=r"mask: size 8×8 differs from the image's 16×16"):
        model.inpaint(img, torch.zeros(8, 8))
    soft = torch.full((16, 16), 0.3)
    soft[:4] = 0.9
    with pytest.raises(InputError, match="pass threshold=0.5"):
        model.inpaint(img, soft)
    out = model.inpaint(img, soft, threshold=0.5)
    assert torch.equal(out[:, 4:], img[:, 4:]) and not torch.equal(out[:, :4], img[:, :4])
    with pytest.raises(InputError, match=r"must lie in \[0, 1\]"):
        model.inpaint(img * 3, torch.zeros(16, 16))
    with pytest.raises(InputError, match="expected a PIL image"):
        model.inpaint("img.png", torch.zeros(16, 16))


def test_save_load_identical_outputs(model, tmp_path):
    save_model(model, tmp_path / "m")
    loaded = load(tmp_path / "m")
    assert not loaded.training
    img, mask = torch.rand(2, 3, 16, 16), torch.zeros(2, 1, 16, 16)
    mask[..., 4:9, 4:9] = 1
    # load() puts the weights in channels_last (the fast layout); the same layout gives the same numbers
    assert torch.equal(model.to(memory_format=torch.channels_last).inpaint(img, mask), loaded.inpaint(img, mask))
    assert torch.equal(load(f"local-dir:{tmp_path / 'm'}").inpaint(img, mask), loaded.inpaint(img, mask))


def test_strict_loading_lists_keys(model, tmp_path, tiny_spec):
    save_model(model, tmp_path / "m")
    cfg = json.loads((tmp_path / "m" / "config.json").read_text())
    cfg["spec"]["encoder"]["channels"] = [8, 16, 32]
    cfg["spec"]["decoder"]["channels"] = [32, 16, 8]
    (tmp_path / "m" / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(LoadError, match=r"missing keys .*encoder\.stages\.2"):
        load(tmp_path / "m")


def test_config_is_validated_and_pickles_refused(model, tmp_path):
    save_model(model, tmp_path / "m")
    cfg_path = tmp_path / "m" / "config.json"
    cfg = json.loads(cfg_path.read_text())
    cfg["spec"]["encoder"]["type"] = "core.conv_encodr"
    cfg_path.write_text(json.dumps(cfg))
    with pytest.raises(LoadError, match="needs components core.conv_encodr, which no installed plugin provides"):
        load(tmp_path / "m")
    pk = tmp_path / "p"
    pk.mkdir()
    (pk / "config.json").write_text(json.dumps({"format": "inpaintzoo/1", "spec": {}}))
    (pk / "pytorch_model.bin").write_bytes(b"\x80\x04not really")
    with pytest.raises(LoadError, match="pickle weights are never loaded"):
        load(pk)


def test_unknown_names_are_never_guessed():
    with pytest.raises(LoadError, match="did you mean 'core-shapes-tiny'"):
        load("core-shapes-tin")
    with pytest.raises(LoadError, match="has no weights yet; train it with `inpaintzoo train nvae-celeba64`"):
        load("nvae-celeba64")
    with pytest.raises(LoadError, match="no such model folder"):
        load("./nowhere/model")


def test_image_modes_come_back_in_the_callers_form(model):
    """16-bit grey is scaled, not clipped to white; alpha passes through; grey stays grey; known pixels identical."""
    rng = np.random.default_rng(1)
    m = _mask(20, 24)
    keep = m == 0
    g16 = (rng.random((20, 24)) * 65535).astype(np.uint16)
    out = model.inpaint(Image.fromarray(g16), Image.fromarray(m))
    o = np.asarray(out)
    assert out.mode == "I;16" and np.array_equal(o[keep], g16[keep])
    assert o[~keep].max() < 65535 and len(np.unique(o[~keep])) > 10  # the filled pixels are real values
    arr16 = model.inpaint(g16, m)
    assert arr16.dtype == np.uint16 and np.array_equal(arr16[keep], g16[keep])
    rgba = np.dstack([(rng.random((20, 24, 3)) * 255).astype(np.uint8), (rng.random((20, 24)) * 255).astype(np.uint8)])
    out = model.inpaint(Image.fromarray(rgba), Image.fromarray(m))
    assert out.mode == "RGBA" and np.array_equal(np.asarray(out)[..., 3], rgba[..., 3])  # alpha kept
    assert np.array_equal(np.asarray(out)[keep], rgba[keep])
    grey = (rng.random((20, 24)) * 255).astype(np.uint8)
    out = model.inpaint(Image.fromarray(grey), Image.fromarray(m))
    assert out.mode == "L" and np.array_equal(np.asarray(out)[keep], grey[keep])


def test_mask_encodings_and_threshold_range(model):
    img = torch.rand(3, 16, 16)
    m255 = _mask(16, 16)
    a = model.inpaint(img, m255)
    assert torch.equal(model.inpaint(img, (m255 // 255).astype(np.uint8)), a)  # 0/1 uint8: accepted, same hole
    assert torch.equal(model.inpaint(img, Image.fromarray((m255 // 255).astype(np.uint8))), a)
    assert torch.equal(model.inpaint(img, m255 > 0), a)  # booleans
    with pytest.raises(InputError, match="threshold=5: must lie in"):
        model.inpaint(img, m255 * 0.5, threshold=5)
    with pytest.raises(InputError, match="NaN"):
        model.inpaint(img * float("nan"), m255)


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_a_model_cast_to_half_precision_inpaints_and_intervenes(dtype):
    """diffusers' users cast models with .to(dtype): the causal layer's solve, which has no half-precision LU kernel,
    runs in float32 and hands its result back in the model's dtype."""
    import warnings

    from inpaintzoo import load

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = load("causal-nvae-pendulum").to(dtype)
    h, w = model.contract.image_size
    image = torch.rand(model.contract.channels, h, w, generator=torch.Generator().manual_seed(0))
    mask = torch.zeros(h, w)
    mask[h // 4: h // 2, w // 4: w // 2] = 1
    out = model.inpaint(image, mask)
    assert out.dtype == torch.float32 and torch.isfinite(out).all() and torch.equal(out[:, mask == 0], image[:, mask == 0])
    assert torch.isfinite(model.intervene(image, {"light": 100.0})).all()


def test_an_intervention_far_outside_its_range_is_said_in_the_python_api_too(capsys):
    import warnings

    from inpaintzoo import load
    from inpaintzoo.model import ExtrapolationWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = load("causal-nvae-pendulum")
    lo, hi = model.prior.concept_ranges()["light"]
    image = torch.rand(model.contract.channels, *model.contract.image_size)
    with pytest.warns(ExtrapolationWarning, match="far outside the concept's range"):
        model.intervene(image, {"light": hi + 10 * (hi - lo)})
    with warnings.catch_warnings():
        warnings.simplefilter("error", ExtrapolationWarning)
        model.intervene(image, {"light": (lo + hi) / 2})  # inside the range: nothing said


def test_load_puts_the_network_in_the_contracts_layout(tiny_spec, tmp_path):
    """channels_last by default (fastest on CPUs); `layout = "contiguous"` (the NCHW releases' entries) loads NCHW, so
    inpaint() computes as the release does, to the bit; the zoo's LaMa, AOT-GAN and DeepFill entries ask for it."""
    from inpaintzoo import zoo

    x = torch.rand(1, 3, 16, 16)
    m = torch.zeros(1, 1, 16, 16)
    m[..., 4:10, 4:10] = 1
    outs = {}
    for layout in ("channels_last", "contiguous"):
        spec = json.loads(json.dumps(tiny_spec))
        spec["model"]["layout"] = layout
        torch.manual_seed(0)
        folder = save_model(create_model(spec), tmp_path / layout)
        model = load(folder)
        assert model.memory_format() == (torch.channels_last if layout == "channels_last" else torch.contiguous_format)
        outs[layout] = model.inpaint(x, m)
    assert torch.allclose(outs["channels_last"], outs["contiguous"], atol=1e-5)
    for name in ("lama-big", "lama-fourier", "aotgan-places2", "deepfillv2-celeba"):
        assert zoo.get(name).spec()["model"]["layout"] == "contiguous"
