"""The photo-grade models' training parts: each release's losses on closed forms, its discriminator's step order,
released discriminators carried through conversion into a fine-tune, and the recipe options of `train`."""
import json
import zipfile

import pytest
import safetensors.torch
import torch
import torch.nn.functional as F

from tests_support import private_zoo
from inpaintzoo.cli import main
from inpaintzoo.interfaces import Discriminator, LatentOutput, LossContext

TINY_LAMA = """
[model]
name = "tiny-lama"
image_size = [32, 32]
size_multiple = 8
resize = "pad"
pad_mode = "symmetric"
min_size = 16
[encoder]
type = "lama.ffc_encoder"
ngf = 8
n_downsampling = 2
[prior]
type = "core.identity"
[decoder]
type = "lama.ffc_decoder"
n_blocks = 1
[discriminator]
type = "lama.nlayer_discriminator"
ndf = 4
n_layers = 2
[losses.l1]
type = "lama.masked_l1"
[losses.adversarial]
type = "lama.adversarial"
weight = 10.0
[losses.feature_matching]
type = "lama.feature_matching"
weight = 100.0
[data.dataset]
type = "core.shapes"
size = 8
image_size = [32, 32]
[data.masks]
type = "core.lama"
preset = "train"
max_area = 1.0
[train]
steps = 2
batch_size = 2
eval_batches = 1
num_workers = 0
grad_clip = 1.0
discriminator_grad_clip = 1.0
"""


class Linear(Discriminator):
    """D(x) = Σ w·x per pixel (one channel map): its R1 gradient is w everywhere, so the penalty has a closed form."""

    def __init__(self, w: float):
        super().__init__(None)
        self.w = torch.nn.Parameter(torch.tensor(w))

    def forward(self, image, mask=None):
        return self.w * image.sum(1, keepdim=True)


def context(pred, target, mask, disc=None):
    return LossContext(target, mask, pred, pred, torch.where(mask.bool(), pred, target), LatentOutput(pred), [pred],
                       discriminator=disc)


def batch(n=2, size=8, seed=0):
    g = torch.Generator().manual_seed(seed)
    target = torch.rand(n, 3, size, size, generator=g)
    pred = torch.rand(n, 3, size, size, generator=g)
    mask = torch.zeros(n, 1, size, size)
    mask[..., 2:6, 3:7] = 1
    return pred, target, mask


def test_lama_losses_on_closed_forms(registry):
    pred, target, mask = batch()
    l1 = registry.get("lama.masked_l1").build({"weight_known": 10.0, "weight_missing": 2.0})
    expected = ((10 * (1 - mask) + 2 * mask) * (pred - target).abs()).mean()
    assert torch.allclose(l1(context(pred, target, mask)), expected)
    adv = registry.get("lama.adversarial").build({"gp_coef": 0.5})
    d = Linear(0.3)
    ctx = context(pred, target, mask, d)
    assert torch.allclose(adv(ctx), F.softplus(-0.3 * pred.sum(1, keepdim=True)).mean())
    # discriminator: softplus(−D(real)) + R1 (|∂D/∂x|² = 3·h·w·w² per image) + fake term with known pixels as real
    real, fake = 0.3 * target.sum(1, keepdim=True), 0.3 * pred.sum(1, keepdim=True)
    r1 = 3 * 8 * 8 * 0.3**2 * 0.5
    fake_term = F.softplus(fake) * mask + (1 - mask) * F.softplus(-fake)
    assert torch.allclose(adv.discriminator_loss(ctx, d), (F.softplus(-real) + r1 + fake_term).mean())


def test_feature_matching_is_zero_for_the_real_image_and_needs_activations(registry):
    from inpaintzoo_lama.discriminator import NLayerDiscriminator

    d = NLayerDiscriminator(NLayerDiscriminator.Config(ndf=4, n_layers=2)).eval()
    fm = registry.get("lama.feature_matching").build()
    pred, target, mask = batch(size=16)
    assert float(fm(context(target.clone(), target, mask, d))) == 0.0
    assert float(fm(context(pred, target, mask, d))) > 0
    with pytest.raises(ValueError, match="exposes no activations"):
        fm(context(pred, target, mask, Linear(1.0)))


def test_one_discriminator_call_per_image_in_the_generator_step(registry):
    """LaMa's adversarial term and feature matching share D(real) and D(fake), as the release calls D once each (its
    batch norms count the calls)."""
    from inpaintzoo_lama.discriminator import NLayerDiscriminator

    d = NLayerDiscriminator(NLayerDiscriminator.Config(ndf=4, n_layers=2))
    calls = []
    d.model0.register_forward_hook(lambda *a: calls.append(1))
    ctx = context(*batch(size=16), d)
    registry.get("lama.adversarial").build()(ctx)
    registry.get("lama.feature_matching").build()(ctx)
    assert len(calls) == 2


def test_smgan_release_mode_is_the_plain_mse_and_the_intended_one_weights_the_hole(registry):
    from inpaintzoo_aotgan.losses import gaussian_kernel, soft_labels

    k = gaussian_kernel(7, 2.0)
    assert torch.isclose(k.sum(), torch.tensor(1.0)) and torch.equal(k, k.T) and k[3, 3] == k.max()
    mask = torch.zeros(1, 1, 9, 9)
    mask[..., 4, 4] = 1
    assert torch.allclose(soft_labels(mask, 7, 2.0)[0, 0, 1:8, 1:8], k)  # a point's blur is the kernel
    pred, target, mask = batch(size=16)
    d = Linear(0.5)
    comp = torch.where(mask.bool(), pred, target)  # what the release's discriminator sees of the generator
    s = 0.5 * comp.sum(1, keepdim=True)
    release = registry.get("aotgan.smgan").build({"mode": "release", "kernel": 3, "sigma": 1.0})
    intended = registry.get("aotgan.smgan").build({"kernel": 3, "sigma": 1.0})
    assert torch.allclose(release(context(pred, target, mask, d)), F.mse_loss(s, torch.ones_like(s)))
    assert torch.allclose(intended(context(pred, target, mask, d)), ((s - 1) ** 2 * mask / mask.mean()).mean())
    d_loss = intended.discriminator_loss(context(pred, target, mask, d), d)
    expected = F.mse_loss(0.5 * comp.sum(1, keepdim=True), soft_labels(mask, 3, 1.0)) + (0.5 * target.sum(1, keepdim=True)).pow(2).mean()
    assert torch.allclose(d_loss, expected)


def test_deepfill_masked_l1_and_hinge(registry, tiny_spec):
    pred, target, mask = batch()
    coarse = torch.rand_like(pred)
    ctx = context(pred, target, mask)
    ctx.features = [None, coarse]
    hole = registry.get("deepfill.l1").build({"stage": 2, "region": "hole"})
    valid1 = registry.get("deepfill.l1").build({"stage": 1, "region": "valid"})
    m3 = mask.expand_as(pred)
    assert torch.allclose(hole(ctx), ((pred - target).abs() * m3).sum() / m3.sum())
    assert torch.allclose(valid1(ctx), ((coarse - target).abs() * (1 - m3)).sum() / (1 - m3).sum())

    class Const(Discriminator):
        def __init__(self):
            super().__init__(None)
            self.c = torch.nn.Parameter(torch.tensor(0.25))

        def forward(self, image, mask=None):
            return self.c.expand(image.shape[0], 1, 2, 2)

    hinge = registry.get("deepfill.hinge").build()
    d = Const()
    ctx.discriminator = d
    assert torch.allclose(hinge(ctx), torch.tensor(-0.25))
    assert torch.allclose(hinge.discriminator_loss(ctx, d), torch.tensor(1.25 + 0.75))


def test_the_spec_weight_scales_only_the_generator_term(registry, tiny_spec):
    from inpaintzoo.model import TrainingParts

    adv = registry.get("lama.adversarial").build()
    d = Linear(0.2)
    parts = TrainingParts({"adversarial": adv}, {"adversarial": 7.0}, d)
    ctx = context(*batch(), d)
    assert torch.allclose(parts.discriminator_loss(ctx), adv.discriminator_loss(ctx, d))
    assert torch.allclose(parts.generator_losses(ctx)["adversarial"], 7.0 * adv(ctx))


def _trainer(tmp_path, order, extra=""):
    from inpaintzoo import plugins
    from inpaintzoo.spec import validate
    from inpaintzoo.tomlfile import read_toml
    from inpaintzoo.train.loop import RunOptions, Trainer

    p = tmp_path / "spec.toml"
    p.write_text(TINY_LAMA.replace('type = "lama.adversarial"', f'type = "lama.adversarial"\nstep_order = "{order}"') + extra)
    return Trainer(validate(read_toml(p), plugins.registry(), str(p)), RunOptions(out=tmp_path / "run"))


@pytest.mark.parametrize("order,passes", [("g_first", 2), ("d_first", 1), ("joint", 1)])
def test_each_step_order_runs_the_release_order(tmp_path, order, passes):
    t = _trainer(tmp_path, order)
    calls, events = [], []
    t.model.decoder.register_forward_hook(lambda *a: calls.append(1))
    for name, opt in (("g", t.opt), ("d", t.opt_d)):
        step = opt.step
        opt.step = lambda *a, _s=step, _n=name, **k: (events.append(_n), _s(*a, **k))[1]
    t.sampler.set_epoch(0)
    b = next(iter(t.loader))
    g0 = [p.detach().clone() for p in t.model.parameters()]
    d0 = [p.detach().clone() for p in t.parts.discriminator.parameters()]
    logs = t.train_step(b)
    assert len(calls) == passes
    assert events == {"g_first": ["g", "d"], "d_first": ["d", "g"], "joint": ["g", "d"]}[order]
    assert any(not torch.equal(a, b) for a, b in zip(g0, t.model.parameters()))
    assert any(not torch.equal(a, b) for a, b in zip(d0, t.parts.discriminator.parameters()))
    assert {"d_loss", "l1", "adversarial", "feature_matching", "loss"} <= set(logs)


def test_losses_naming_different_orders_are_refused(tmp_path):
    from inpaintzoo.train.loop import TrainingError

    extra = '[losses.second]\ntype = "deepfill.hinge"\n'
    with pytest.raises(TrainingError, match="different step orders"):
        _trainer(tmp_path, "g_first", extra)


def _lama_release(tmp_path, with_disc: bool):
    """A tiny model in big-lama's release layout (Lightning checkpoint in a zip), with or without the discriminator."""
    from inpaintzoo import plugins
    from inpaintzoo.build import build_model
    from inpaintzoo.spec import validate
    from inpaintzoo.tomlfile import read_toml
    from inpaintzoo_lama.discriminator import NLayerDiscriminator

    spec_path = tmp_path / "tiny.toml"
    spec_path.write_text(TINY_LAMA)
    torch.manual_seed(1)
    model = build_model(validate(read_toml(spec_path), plugins.registry(), "tiny"), plugins.registry())
    disc = NLayerDiscriminator(NLayerDiscriminator.Config(ndf=4, n_layers=2))
    with torch.no_grad():
        for p in disc.parameters():
            p.add_(torch.randn_like(p))
    state = {}
    seq = {"encoder.stem.": "generator.model.1.", "encoder.downs.0.": "generator.model.2.",
           "encoder.downs.1.": "generator.model.3.", "decoder.blocks.0.": "generator.model.4.",
           "decoder.ups.0.0.": "generator.model.6.", "decoder.ups.0.1.": "generator.model.7.",
           "decoder.ups.1.0.": "generator.model.9.", "decoder.ups.1.1.": "generator.model.10.",
           "decoder.out.": "generator.model.13."}
    for k, v in model.state_dict().items():
        prefix = next(p for p in seq if k.startswith(p))
        state[seq[prefix] + k[len(prefix):]] = v
    if with_disc:
        state.update({f"discriminator.{k}": v for k, v in disc.state_dict().items()})
    ckpt = tmp_path / "best.ckpt"
    torch.save({"state_dict": state, "epoch": 1}, ckpt, pickle_protocol=2)
    zipped = tmp_path / ("with-discr.zip" if with_disc else "generator-only.zip")
    with zipfile.ZipFile(zipped, "w") as z:
        z.write(ckpt, "big-lama/models/best.ckpt")
    return zipped, model, disc


@pytest.fixture
def tiny_zoo(tmp_path, monkeypatch):
    """A private zoo entry whose spec is TINY_LAMA, converted by LaMa's converter."""
    return private_zoo(tmp_path, monkeypatch, "tiny-lama", TINY_LAMA, "lama.big_lama", "best.ckpt")


def test_a_released_discriminator_is_converted_and_starts_the_fine_tune(tiny_zoo, capsys):
    from inpaintzoo.convert import convert_release

    zipped, model, disc = _lama_release(tiny_zoo, with_disc=True)
    out, _ = convert_release("lama.big_lama", zipped, tiny_zoo / "converted", zoo_entry="tiny-lama")
    stored = safetensors.torch.load_file(str(out / "discriminator.safetensors"))
    assert all(torch.equal(stored[k], v) for k, v in disc.state_dict().items())
    assert json.loads((out / "config.json").read_text())["discriminator"]["type"] == "lama.nlayer_discriminator"
    from inpaintzoo import load

    load(out)  # the generator loads as ever; load() never reads the discriminator
    from inpaintzoo import plugins
    from inpaintzoo.spec import validate
    from inpaintzoo.tomlfile import read_toml
    from inpaintzoo.train.loop import RunOptions, Trainer

    t = Trainer(validate(read_toml(tiny_zoo / "tiny.toml"), plugins.registry(), "tiny"),
                RunOptions(out=tiny_zoo / "run", init=str(out)))
    assert all(torch.equal(t.parts.discriminator.state_dict()[k], v) for k, v in disc.state_dict().items())
    assert any("discriminator: from" in n for n in t.notes())


def test_a_generator_only_release_gives_a_fresh_discriminator_or_one_line(tiny_zoo, capsys):
    from inpaintzoo.convert import convert_release

    zipped, _, _ = _lama_release(tiny_zoo, with_disc=False)
    out, _ = convert_release("lama.big_lama", zipped, tiny_zoo / "converted", zoo_entry="tiny-lama")
    assert not (out / "discriminator.safetensors").exists()
    spec = tiny_zoo / "tiny.toml"
    code = main(["train", str(spec), "--init", str(out), "--out", str(tiny_zoo / "run"),
                 "--set", 'train.discriminator_init="required"', "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1 and "holds no discriminator.safetensors" in err
    assert not (tiny_zoo / "run").exists()


def test_train_losses_keeps_only_the_named_terms(tmp_path, capsys):
    spec = tmp_path / "spec.toml"
    spec.write_text(TINY_LAMA)
    assert main(["train", str(spec), "--losses", "l1", "--out", str(tmp_path / "run"), "--quiet", "--no-tensorboard"]) == 0
    saved = json.loads((tmp_path / "run" / "spec.json").read_text())
    assert list(saved["losses"]) == ["l1"] and "discriminator" not in saved
    capsys.readouterr()
    assert main(["train", str(spec), "--losses", "l1,perceptual", "--out", str(tmp_path / "r2")]) == 2
    err = capsys.readouterr().err
    assert "no loss term 'perceptual'" in err and "l1" in err and len(err.strip().splitlines()) == 1


def test_training_a_release_entry_offline_fine_tunes_and_says_what_to_download(tiny_zoo, capsys, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert main(["train", "tiny-lama", "--out", str(tiny_zoo / "run"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "fine-tuning tiny-lama from its released weights" in err
    assert "inpaintzoo fetch tiny-lama --source best.ckpt" in err.splitlines()[-1]
    assert not (tiny_zoo / "run").exists()
    assert main(["train", str(tiny_zoo / "zoo" / "tiny-lama.toml"), "--from-scratch", "--out", str(tiny_zoo / "r")]) == 2
    assert "--from-scratch: only for a zoo model" in capsys.readouterr().err


def test_resnet_pl_reads_the_release_file_and_fetches_it_once(tmp_path, monkeypatch):
    """The ADE20k encoder in the release's file layout (a torch.save'd state dict), read without unpickling code, and
    fetched over HTTP once (its size and sha256 recorded); offline without it: one line naming the file."""
    from file_server import FileServer
    from inpaintzoo.errors import InpaintzooError
    from inpaintzoo_lama.resnet_pl import DilatedResNet50, ResNetPL

    torch.manual_seed(3)
    net = DilatedResNet50()
    pth = tmp_path / "encoder_epoch_20.pth"
    torch.save({k: v for k, v in net.state_dict().items() if not k.endswith("num_batches_tracked")}, pth)
    loss = ResNetPL(ResNetPL.Config(weights=str(pth)))
    assert all(torch.equal(loss._net.state_dict()[k], v) for k, v in net.state_dict().items() if "num_batches" not in k)
    feats = loss._net(torch.rand(1, 3, 64, 64))
    assert [f.shape[-1] for f in feats] == [16, 8, 8, 8] and [f.shape[1] for f in feats] == [256, 512, 1024, 2048]
    monkeypatch.setenv("INPAINTZOO_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    with FileServer({"encoder_epoch_20.pth": pth.read_bytes()}) as server:
        url = f"{server.url}/encoder_epoch_20.pth"
        ResNetPL(ResNetPL.Config(url=url))
        ResNetPL(ResNetPL.Config(url=url))
        assert len(server.gets("encoder_epoch_20.pth")) == 1
    pins = json.loads((tmp_path / "home" / "pins" / "ade20k-resnet50dilated.json").read_text())
    assert pins[url]["size"] == pth.stat().st_size
    monkeypatch.setenv("INPAINTZOO_HOME", str(tmp_path / "other"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(InpaintzooError, match="offline .*encoder_epoch_20.pth"):
        ResNetPL(ResNetPL.Config(url=url))


def test_a_cross_family_composition_trains(tmp_path):
    """docs/examples/compositions: LaMa's generator against AOT-GAN's discriminator and loss, with LaMa's feature
    matching on that discriminator's activations (shrunk here to run in seconds)."""
    from pathlib import Path

    spec = Path(__file__).parent.parent / "docs" / "examples" / "compositions" / "lama-smpatchgan.toml"
    sets = ["model.image_size=[48, 48]", "encoder.ngf=8", "encoder.n_downsampling=2", "decoder.n_blocks=1",
            "discriminator.channels=4", "losses.adversarial.kernel=7", "losses.adversarial.sigma=2.0",
            'data.dataset={type = "core.shapes", size = 8}', "train.batch_size=2", "train.steps=2", "train.eval_batches=1",
            "train.num_workers=0"]
    args = ["train", str(spec), "--out", str(tmp_path / "run"), "--quiet", "--no-tensorboard"]
    for s in sets:
        args += ["--set", s]
    assert main(args) == 0
    rows = [json.loads(x) for x in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert {"train/feature_matching", "train/adversarial", "train/d_loss"} <= set(rows[-1])


def test_data_parallel_training_steps_the_discriminator_in_step_on_every_rank(tmp_path):
    """torchrun, two processes (gloo): LaMa's G and D steps with gradients all-reduced in Lightning's order; both
    ranks end with the same generator and the same discriminator."""
    import os
    import subprocess
    import sys

    spec = tmp_path / "tiny.toml"
    spec.write_text(TINY_LAMA)
    run = tmp_path / "ddp"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", "29541",
           "-m", "inpaintzoo.cli", "train", str(spec), "--out", str(run), "--quiet", "--steps", "3"]
    r = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"}, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    info = json.loads((run / "distributed.json").read_text())
    g, d = info["rank_checksums"], info["discriminator_checksums"]
    assert info["world_size"] == 2 and g[0] == g[1] and d[0] == d[1]
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert "train/d_loss" in rows[-1]  # the discriminator's step ran on every rank (its loss is logged)


def test_deepfill_hinge_gives_mmagics_two_terms_fake_then_real():
    """mmagic backpropagates the discriminator's fake term, then its real term: the loss hands the step both, in
    that order, and their sum is the hinge loss (relu(1 + D(fake)) + relu(1 − D(real)), means)."""
    import torch.nn.functional as F

    from inpaintzoo_deepfill.losses import Hinge

    loss = Hinge(Hinge.Config())
    (ctx,) = loss.example_inputs()
    d = ctx.discriminator.eval()  # eval: no power iteration, so every call scores alike
    fake, real = loss.discriminator_terms(ctx, d)
    with torch.no_grad():
        assert torch.equal(fake, F.relu(1 + d(ctx.composite, ctx.mask)).mean())
        assert torch.equal(real, F.relu(1 - d(ctx.target, ctx.mask)).mean())
    assert torch.equal(loss.discriminator_loss(ctx, d), fake + real)
