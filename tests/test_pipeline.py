"""The training data pipeline and step: workers, exact resume, the one-pass GAN step, budgets, logs, targets."""
import json

import pytest
import safetensors.torch
import torch

from inpaintzoo.cli import main
from inpaintzoo.train import checkpoint as ckpt
from test_train import SPEC

GAN_SPEC = """
[model]
name = "gan"
image_size = [32, 32]
mean = [0.5]
std = [0.5]
size_multiple = 4
resize = "pad"
[encoder]
type = "core.conv_encoder"
channels = [8, 16]
[prior]
type = "core.identity"
[decoder]
type = "core.conv_decoder"
channels = [16, 8]
[discriminator]
type = "medfe.patchgan"
ndf = 4
n_convs = 3
local_size = 16
[losses.l1]
type = "core.l1"
[losses.adversarial]
type = "medfe.adversarial"
weight = 0.2
[data.dataset]
type = "core.shapes"
size = 16
image_size = [32, 32]
[train]
steps = 3
batch_size = 4
eval_batches = 1
num_workers = 0
"""


def weights(folder):
    return safetensors.torch.load_file(str(folder / "model.safetensors"))


def same(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@pytest.fixture
def spec(tmp_path):
    p = tmp_path / "spec.toml"
    p.write_text(SPEC.replace('preset = "thick"', 'preset = "thick"\nresolution = 256'))
    return p


def test_workers_do_not_change_the_run_and_resume_with_workers_is_exact(spec, tmp_path):
    base, two, part = tmp_path / "w0", tmp_path / "w2", tmp_path / "part"
    assert main(["train", str(spec), "--out", str(base), "--quiet", "--set", "train.num_workers=0"]) == 0
    assert main(["train", str(spec), "--out", str(two), "--quiet", "--set", "train.num_workers=2"]) == 0
    assert same(weights(base / "final"), weights(two / "final"))
    assert main(["train", str(spec), "--out", str(part), "--quiet", "--set", "train.num_workers=2", "--stop-after", "4"]) == 0
    assert main(["train", "--resume", str(part), "--quiet"]) == 0
    assert same(weights(base / "final"), weights(part / "final"))


def _batches(epoch, skip=0, rank=0, world=1, n=48, batch_size=8):
    from inpaintzoo.train.data import EpochBatches

    s = EpochBatches(n, batch_size, seed=0, rank=rank, world=world)
    s.set_epoch(epoch, skip)
    return list(s)


def test_masks_come_from_per_sample_seeds_and_batches_from_the_epoch_order(spec):
    from inpaintzoo import plugins
    from inpaintzoo.spec import load_spec
    from inpaintzoo.train.data import TrainItems, build_dataset, build_masks

    s = load_spec(spec, plugins.registry())
    ds = build_dataset(s, plugins.registry(), "train")
    items = TrainItems(ds, build_masks(s, plugins.registry()), seed=0)
    batch = _batches(1)[0]
    forward = [items[k]["mask"] for k in batch]
    backward = [items[k]["mask"] for k in reversed(batch)][::-1]  # the order (or worker) of loading does not matter
    assert all(torch.equal(a, b) for a, b in zip(forward, backward))
    assert not torch.equal(forward[0], items[(batch[0][0], 2, batch[0][2])]["mask"])  # another epoch, another mask
    assert _batches(1, skip=2) == _batches(1)[2:]  # resume skips the batches already seen
    assert _batches(1) != _batches(2)
    # two ranks split each global batch between them, in order
    assert [a + b for a, b in zip(_batches(1, rank=0, world=2), _batches(1, rank=1, world=2))] == _batches(1)


def _trainer(tmp_path, text=GAN_SPEC, **opts):
    from inpaintzoo import plugins
    from inpaintzoo.spec import validate
    from inpaintzoo.train.loop import RunOptions, Trainer
    import tomllib

    spec = validate(tomllib.loads(text), plugins.registry(), "gan")
    return Trainer(spec, RunOptions(out=tmp_path / "run", quiet=True, **opts))


def test_one_generator_pass_per_adversarial_step_with_the_discriminator_frozen(tmp_path):
    t = _trainer(tmp_path)
    calls = []
    t.model.decoder.register_forward_hook(lambda *a: calls.append(1))
    disc = t.parts.discriminator
    crops = []
    original = disc.forward
    disc.forward = lambda image, mask=None, crop=None: (crops.append(crop), original(image, mask, crop))[1]
    seen_grads = []

    def watch(opt_step):
        def step(*a, **k):
            seen_grads.append([None if p.grad is None else p.grad.clone() for p in disc.parameters()])
            return opt_step(*a, **k)
        return step

    t.opt_d.step = watch(t.opt_d.step)
    t.sampler.set_epoch(0)
    batch = next(iter(t.loader))
    before = [p.detach().clone() for p in disc.parameters()]
    t.train_step(batch)
    assert len(calls) == 1  # one generator forward for the D step and the G step together
    assert len(set(crops)) == 1 and len(crops) == 4  # D: real+fake, G: real+fake, all on one local crop
    after_d = [p.detach().clone() for p in disc.parameters()]
    assert any(not torch.equal(a, b) for a, b in zip(before, after_d))  # the D step moved D
    # the G step left D's gradients as the D step made them (frozen: nothing accumulated after)
    assert all(g is None or torch.equal(g, p.grad) for g, p in zip(seen_grads[0], disc.parameters()))


def test_budget_plans_the_schedule_over_the_steps_it_allows(tmp_path, monkeypatch, capsys):
    from inpaintzoo.train import loop

    t = _trainer(tmp_path, GAN_SPEC.replace("steps = 3", "steps = 1000") + "schedule = { name = \"linear\" }\n",
                 max_minutes=1.0)
    monkeypatch.setattr(loop.time, "perf_counter", lambda: 30.0)  # 12 steps in the first 30 s of a 1-minute budget
    t.t_created, t.t_start = -10.0, 0.0  # 10 s of set-up (data, discovery) before the first step: in the budget
    t.eval_seconds = 5.0  # an evaluation costs 5 s: kept for the final one
    t.step = 12
    from inpaintzoo.train.progress import Progress

    progress = Progress(1000, 2, quiet=True)
    t._plan_budget(0, progress)
    assert t.plan == 18 and t.sched.total == 18  # 2.5 s per step: 60 − 10 − 30 − 5 = 15 s fit 6 more steps
    assert progress.total == 18  # the progress line's total and ETA follow the plan, not the 1000 steps
    assert "the learning-rate schedule (and any warm-up by progress) now spans" in capsys.readouterr().err
    assert not t.over_budget()
    t.step = 18
    monkeypatch.setattr(loop.time, "perf_counter", lambda: 45.0)  # 10 + 45 + 5 = 60 s: time to evaluate and finish
    assert t.over_budget()


def test_tensorboard_events_and_plain_progress_lines(spec, tmp_path):
    import subprocess
    import sys

    run = tmp_path / "run"
    r = subprocess.run([sys.executable, "-m", "inpaintzoo.cli", "train", str(spec), "--out", str(run), "--steps", "6",
                        "--progress-every", "0.001"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    lines = [l for l in r.stderr.splitlines() if l.startswith("step ")]
    assert lines and "/6 (" in lines[-1] and "img/s" in lines[-1] and "l1 " in lines[-1] and "ETA" in lines[-1]
    events = list((run / "tensorboard").glob("events.out.tfevents.*"))
    assert events
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(run / "tensorboard"))
    acc.Reload()
    tags = acc.Tags()
    assert {"train/l1", "train/kl", "train/lr", "train/img_per_s", "val/psnr_hole"} <= set(tags["scalars"])
    assert "samples" in tags["images"]


def test_per_image_targets_are_computed_in_the_pipeline_and_cached(tmp_path, monkeypatch):
    from inpaintzoo.interfaces import DataTarget
    from inpaintzoo.data.datasets import SyntheticShapes
    from inpaintzoo.data.masks import CenterMask, CenterConfig
    from inpaintzoo.train.data import TrainItems

    monkeypatch.setenv("INPAINTZOO_HOME", str(tmp_path / "home"))
    ds = SyntheticShapes(SyntheticShapes.Config(size=4, image_size=(16, 16)))
    calls = []
    target = DataTarget("mean", lambda im: (calls.append(1), im.mean(0, keepdim=True))[1], version="1")
    items = TrainItems(ds, CenterMask(CenterConfig()), 0, [target], cache_root=tmp_path / "home" / "targets")
    a = items[(2, 0, 5)]["target/mean"]
    b = items[(2, 3, 1)]["target/mean"]  # another epoch, another position: same image, read from the cache
    assert torch.equal(a, b) and torch.equal(a, ds[2]["image"].mean(0, keepdim=True)) and len(calls) == 1
    assert len(list((tmp_path / "home" / "targets").rglob("*.npy"))) == 1
