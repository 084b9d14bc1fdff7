"""Latent-diffusion inpainting: the DDIM step and schedule in closed form, the codebook lookup, sampling with seed=
and steps=, and the release checkpoint's layout (EMA weights read, duplicates and schedule checked)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from inpaintzoo.cli import main
from inpaintzoo_ldm.network import DDIMConfig, DDIMPrior, schedule
from inpaintzoo_ldm.vq import Quantizer
from tests_support import private_zoo

TINY = """
[model]
name = "tiny-ldm"
image_size = [64, 64]
mean = [0.5]
std = [0.5]
hole_fill = 0.0
size_multiple = 16
resize = "pad"
pad_mode = "symmetric"
layout = "contiguous"
[encoder]
type = "ldm.vq_encoder"
ch = 32
ch_mult = [1, 2]
num_res_blocks = 1
[prior]
type = "ldm.ddim"
steps = 4
model_channels = 32
channel_mult = [1, 2]
num_res_blocks = 1
attention_resolutions = [2]
num_heads = 2
[decoder]
type = "ldm.vq_decoder"
ch = 32
ch_mult = [1, 2]
num_res_blocks = 1
n_embed = 16
[losses.l1]
type = "core.l1"
"""


def test_the_ddim_schedule_is_the_releases():
    steps, (alphas, prev, root) = schedule(DDIMConfig(steps=50))
    assert steps.tolist() == list(range(1, 1000, 20))
    betas = np.linspace(0.0015 ** 0.5, 0.0205 ** 0.5, 1000) ** 2
    cum = np.cumprod(1 - betas).astype(np.float32)
    assert np.allclose(alphas.numpy(), cum[steps.numpy()], rtol=0, atol=1e-7)
    assert prev[0] == alphas.new_tensor(cum[0]) and torch.equal(prev[1:], alphas[:-1])
    assert torch.allclose(root, (1 - alphas).sqrt(), rtol=0, atol=6e-8)


def test_a_ddim_step_with_the_true_noise_lands_on_the_previous_marginal():
    """x_t = √ᾱ_t x0 + √(1−ᾱ_t) ε and ε̂ = ε: η = 0 gives exactly √ᾱ_prev x0 + √(1−ᾱ_prev) ε."""
    prior = DDIMPrior(DDIMPrior.example_config(None))
    g = torch.Generator().manual_seed(0)
    x0, eps = torch.randn(2, 3, 4, 4, generator=g), torch.randn(2, 3, 4, 4, generator=g)
    a, ap = torch.tensor(0.3), torch.tensor(0.8)
    xt = a.sqrt() * x0 + (1 - a).sqrt() * eps
    assert torch.allclose(prior.ddim_step(xt, eps, a, ap, (1 - a).sqrt()), ap.sqrt() * x0 + (1 - ap).sqrt() * eps, atol=1e-5)


def test_the_quantiser_returns_the_nearest_codebook_entry():
    q = Quantizer(10, 3)
    z = torch.randn(2, 3, 5, 4, generator=torch.Generator().manual_seed(1))
    flat = z.permute(0, 2, 3, 1).reshape(-1, 3)
    want = q.embedding.weight[torch.cdist(flat, q.embedding.weight).argmin(1)]
    got = q(z).permute(0, 2, 3, 1).reshape(-1, 3)
    assert torch.allclose(got, want, atol=1e-6)


@pytest.fixture
def tiny_zoo(tmp_path, monkeypatch):
    return private_zoo(tmp_path, monkeypatch, "tiny-ldm", TINY, "ldm.release", "last.ckpt")


def release_state(tmp_path: Path) -> dict[str, torch.Tensor]:
    """A tiny model's weights in last.ckpt's layout: a U-Net, its EMA (different values, names without dots), the
    first stage twice, the schedule."""
    from inpaintzoo import load

    assert main(["build", str(tmp_path / "zoo" / "tiny-ldm.toml"), "--out", str(tmp_path / "built")]) == 0
    m = load(tmp_path / "built")
    sd = {}
    for k, v in m.prior.diffusion_model.state_dict().items():
        sd[f"model.diffusion_model.{k}"] = v
        sd["model_ema.diffusion_model" + k.replace(".", "")] = v + 1.0
    for prefix in ("first_stage_model.", "cond_stage_model."):
        sd.update({f"{prefix}{k}": v.clone() for k, v in m.encoder.state_dict().items()})
        sd.update({f"{prefix}{k}": v.clone() for k, v in m.decoder.state_dict().items()})
    betas = np.linspace(0.0015 ** 0.5, 0.0205 ** 0.5, 1000) ** 2
    sd["alphas_cumprod"] = torch.tensor(np.cumprod(1 - betas), dtype=torch.float32)
    sd["model_ema.num_updates"] = torch.tensor(3, dtype=torch.int)
    return sd


def test_the_release_layout_converts_with_its_ema_weights_and_samples(tiny_zoo, capsys):
    from inpaintzoo import load
    from inpaintzoo.convert import convert_release

    sd = release_state(tiny_zoo)
    torch.save({"epoch": 0, "state_dict": sd}, tiny_zoo / "last.ckpt")
    out, _ = convert_release("ldm.release", tiny_zoo / "last.ckpt", tiny_zoo / "converted", zoo_entry="tiny-ldm")
    model = load(out)
    w = model.prior.diffusion_model.state_dict()
    assert all(torch.equal(w[k], sd["model_ema.diffusion_model" + k.replace(".", "")]) for k in w)
    assert model.samples and model.sampler_steps == 4
    img = (np.random.default_rng(0).random((50, 70, 3)) * 255).astype(np.uint8)
    hole = np.zeros((50, 70), np.uint8)
    hole[10:30, 20:50] = 255
    a, b, c = (model.inpaint(img, hole, seed=s) for s in (1, 1, 2))
    one = model.inpaint(img, hole, seed=1, steps=1)
    assert np.array_equal(a, b) and not np.array_equal(a, c) and not np.array_equal(a, one)
    assert np.array_equal(a[hole == 0], img[hole == 0]) and model.sampler_steps == 4
    # a conditioning encoder that is not the first stage, or another noise schedule: refused
    bad = dict(sd)
    key = next(k for k in sd if k.startswith("cond_stage_model."))
    bad[key] = sd[key] + 1
    torch.save({"state_dict": bad}, tiny_zoo / "bad.ckpt")
    capsys.readouterr()
    assert main(["convert", "ldm.release", str(tiny_zoo / "bad.ckpt"), "--out", str(tiny_zoo / "x")]) == 2
    assert f"{key} differs from first_stage_model." in capsys.readouterr().err
    torch.save({"state_dict": {**sd, "alphas_cumprod": sd["alphas_cumprod"] ** 2}}, tiny_zoo / "sched.ckpt")
    assert main(["convert", "ldm.release", str(tiny_zoo / "sched.ckpt"), "--out", str(tiny_zoo / "x")]) == 2
    assert "not the spec's noise schedule" in capsys.readouterr().err and not (tiny_zoo / "x").exists()


def test_steps_is_refused_where_there_is_no_sampler_or_out_of_range(tiny_zoo, capsys):
    from inpaintzoo import load
    from inpaintzoo.errors import InputError

    assert main(["build", str(tiny_zoo / "zoo" / "tiny-ldm.toml"), "--out", str(tiny_zoo / "m")]) == 0
    model = load(tiny_zoo / "m")
    img = np.zeros((32, 32, 3), np.uint8)
    hole = np.zeros((32, 32), np.uint8)
    hole[8:16, 8:16] = 255
    for bad in (0, 5000, 2.5, True):
        with pytest.raises(InputError, match="steps="):
            model.inpaint(img, hole, steps=bad)
    assert model.prior.cfg.steps == 4
    other = load("core-shapes-tiny")
    with pytest.raises(InputError, match="no iterative sampler"):
        other.inpaint(img, hole, steps=3)
    from PIL import Image

    Image.fromarray(img).save(tiny_zoo / "a.png")
    Image.fromarray(hole).save(tiny_zoo / "m.png")
    capsys.readouterr()
    assert main(["inpaint", "core-shapes-tiny", str(tiny_zoo / "a.png"), str(tiny_zoo / "m.png"), "-o",
                 str(tiny_zoo / "o.png"), "--steps", "3"]) == 2
    assert "has no iterative sampler" in capsys.readouterr().err and not (tiny_zoo / "o.png").exists()
    assert main(["inpaint", str(tiny_zoo / "m"), str(tiny_zoo / "a.png"), str(tiny_zoo / "m.png"), "-o",
                 str(tiny_zoo / "o.png"), "--steps", "2", "--seed", "5"]) == 0
    assert np.array_equal(np.asarray(Image.open(tiny_zoo / "o.png")), model.inpaint(img, hole, seed=5, steps=2))
