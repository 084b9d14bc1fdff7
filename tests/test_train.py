import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import safetensors.torch
import torch

from inpaintzoo import load
from inpaintzoo.cli import main
from inpaintzoo.components.losses import L1
from inpaintzoo.train import checkpoint as ckpt

SPEC = """
[model]
name = "t"
image_size = [16, 16]
mean = [0.5]
std = [0.5]
size_multiple = 4
resize = "pad"
[encoder]
type = "core.conv_encoder"
channels = [8, 16]
[prior]
type = "core.gaussian"
channels = 16
latent_channels = 4
[decoder]
type = "core.conv_decoder"
channels = [16, 8]
[losses.l1]
type = "core.l1"
[losses.kl]
type = "core.kl"
weight = 0.001
[data.dataset]
type = "core.shapes"
size = 48
image_size = [16, 16]
[data.masks]
type = "core.lama"
preset = "thick"
[train]
epochs = 2
batch_size = 8
eval_batches = 1
schedule = { name = "cosine", warmup_fraction = 0.2 }
optimizer = { name = "adam", lr = 3e-3 }
"""


@pytest.fixture
def spec(tmp_path):
    p = tmp_path / "spec.toml"
    p.write_text(SPEC)
    return p


def weights(folder: Path) -> dict[str, torch.Tensor]:
    return safetensors.torch.load_file(str(folder / "model.safetensors"))


def test_run_folder_and_loss_goes_down(spec, tmp_path):
    run = tmp_path / "run"
    assert main(["train", str(spec), "--out", str(run), "--epochs", "4", "--quiet"]) == 0
    rows = [json.loads(l) for l in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows] == [1, 2, 3, 4]
    assert rows[-1]["train/l1"] < 0.9 * rows[0]["train/l1"]
    assert json.loads((run / "overrides.json").read_text()) == {"train.epochs": 4}
    assert (run / "samples" / "step-00000024.png").is_file()
    model = load(run / "final")
    assert model.inpaint(torch.rand(3, 16, 16), torch.zeros(16, 16)).shape == (3, 16, 16)
    assert [p.name for p in ckpt.checkpoints(run)] == ["step-00000018", "step-00000024"]  # keep_last = 2
    assert (run / "checkpoints" / "best" / "state.safetensors").is_file()


def test_resume_is_bit_identical(spec, tmp_path):
    full, part = tmp_path / "full", tmp_path / "part"
    assert main(["train", str(spec), "--out", str(full), "--quiet"]) == 0
    # stop mid-epoch (step 4 of 6 in epoch 1), then again after the epoch boundary
    assert main(["train", str(spec), "--out", str(part), "--quiet", "--stop-after", "4"]) == 0
    assert not (part / "final").exists()
    assert main(["train", "--resume", str(part), "--quiet", "--stop-after", "4"]) == 0
    assert main(["train", "--resume", str(part), "--quiet"]) == 0
    a, b = weights(full / "final"), weights(part / "final")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_resume_refuses_changed_architecture(spec, tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", str(spec), "--out", str(run), "--quiet", "--stop-after", "2"]) == 0
    s = json.loads((run / "spec.json").read_text())
    s["prior"]["latent_channels"] = 5
    (run / "spec.json").write_text(json.dumps(s))
    assert main(["train", "--resume", str(run), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "architecture differs from the spec: shape mismatch" in err
    assert "prior.to_params.weight (8, 16, 1, 1) vs (10, 16, 1, 1)" in err


def test_truncated_newest_checkpoint_falls_back_to_the_newest_intact_one(spec, tmp_path, capsys):
    full, run = tmp_path / "full", tmp_path / "run"
    assert main(["train", str(spec), "--out", str(full), "--quiet"]) == 0
    assert main(["train", str(spec), "--out", str(run), "--quiet", "--stop-after", "2"]) == 0
    assert main(["train", "--resume", str(run), "--quiet", "--stop-after", "2"]) == 0
    last = ckpt.checkpoints(run)[-1]
    assert last.name == "step-00000004"
    data = (last / "state.safetensors").read_bytes()
    (last / "state.safetensors").write_bytes(data[: len(data) // 2])  # killed mid-write by something else
    (run / ".checkpoints.stale.tmp").mkdir()  # and a temporary folder a killed write left behind
    capsys.readouterr()
    assert main(["train", "--resume", str(run), "--quiet"]) == 0
    err = capsys.readouterr().err
    assert "step-00000004: corrupt or incomplete checkpoint" in err and "resuming from step-00000002 (step 2)" in err
    assert "removed .checkpoints.stale.tmp" in err and not (run / ".checkpoints.stale.tmp").exists()
    a, b = weights(full / "final"), weights(run / "final")
    assert all(torch.equal(a[k], b[k]) for k in a)  # the redone steps give the same weights
    rows = [json.loads(l) for l in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows] == [1, 2]  # epoch 1, redone after the fallback, is not repeated


def test_resume_before_the_first_checkpoint_starts_again(spec, tmp_path, capsys):
    full, run = tmp_path / "full", tmp_path / "run"
    assert main(["train", str(spec), "--out", str(full), "--quiet"]) == 0
    assert main(["train", str(spec), "--out", str(run), "--quiet", "--stop-after", "1"]) == 0
    import shutil

    shutil.rmtree(run / "checkpoints")  # killed before its first checkpoint
    assert main(["train", "--resume", str(run), "--quiet"]) == 0
    assert "no checkpoint was written before the run stopped; starting again from step 0" in capsys.readouterr().err
    a, b = weights(full / "final"), weights(run / "final")
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_resume_of_a_finished_run_says_so(spec, tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", str(spec), "--out", str(run), "--quiet"]) == 0
    before = (run / "final" / "model.safetensors").stat().st_mtime_ns
    assert main(["train", "--resume", str(run), "--quiet"]) == 0
    assert "the run is finished (step 12 of 12)" in capsys.readouterr().out
    assert (run / "final" / "model.safetensors").stat().st_mtime_ns == before


def test_corrupt_spec_json_is_one_line(spec, tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", str(spec), "--out", str(run), "--quiet", "--stop-after", "1"]) == 0
    (run / "spec.json").write_text("{not json")
    capsys.readouterr()
    assert main(["train", "--resume", str(run), "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "spec.json or overrides.json is corrupt" in err[0]


def test_killed_write_leaves_last_checkpoint(tmp_path, monkeypatch):
    good = ckpt.save_checkpoint(tmp_path / "checkpoints" / "step-00000001", {"w": torch.ones(3), "step": 1})

    def boom(*a, **k):
        raise KeyboardInterrupt  # killed in the middle of writing the tensors

    monkeypatch.setattr(ckpt.safetensors.torch, "save_file", boom)
    with pytest.raises(KeyboardInterrupt):
        ckpt.save_checkpoint(tmp_path / "checkpoints" / "step-00000002", {"w": torch.zeros(3), "step": 2})
    assert ckpt.checkpoints(tmp_path) == [good]
    assert [p.name for p in (tmp_path / "checkpoints").iterdir()] == ["step-00000001"]  # no temp left
    assert torch.equal(ckpt.load_checkpoint(good)["w"], torch.ones(3))


def test_checkpoint_round_trips_nested_state(tmp_path):
    state = {"a": {"b": [torch.arange(3), (1, 2.5, "x", None)], 3: torch.zeros(2, 2)}, "flag": True}
    back = ckpt.load_checkpoint(ckpt.save_checkpoint(tmp_path / "c", state))
    assert torch.equal(back["a"]["b"][0], torch.arange(3)) and back["a"]["b"][1] == (1, 2.5, "x", None)
    assert torch.equal(back["a"][3], torch.zeros(2, 2)) and back["flag"] is True


def test_nan_stops_with_step_and_term(spec, tmp_path, monkeypatch, capsys):
    calls = {"n": 0}
    original = L1.forward

    def flaky(self, ctx):
        calls["n"] += 1
        value = original(self, ctx)
        return value * float("nan") if calls["n"] > 8 else value

    monkeypatch.setattr(L1, "forward", flaky)
    run = tmp_path / "run"
    assert main(["train", str(spec), "--out", str(run), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "loss term 'l1' is nan" in err and "the last good checkpoint is" in err and "step-00000006" in err
    assert not (run / "final").exists()


def test_data_errors(spec, tmp_path, capsys):
    assert main(["train", str(spec), "--out", str(tmp_path / "a"), "--batch-size", "100", "--quiet"]) == 2
    assert "larger than the training set (48 images)" in capsys.readouterr().err
    folder_spec = tmp_path / "f.toml"
    folder_spec.write_text(SPEC.replace('type = "core.shapes"\nsize = 48', 'type = "core.image_folder"\nsplit = "train"'))
    assert main(["train", str(folder_spec), "--data", str(tmp_path / "missing"), "--out", str(tmp_path / "b")]) == 2
    assert "no such folder" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert main(["train", str(folder_spec), "--data", str(tmp_path / "empty"), "--out", str(tmp_path / "b")]) == 2
    assert "no images found" in capsys.readouterr().err
    size_spec = tmp_path / "s.toml"
    size_spec.write_text(SPEC.replace("size = 48\nimage_size = [16, 16]", "size = 48\nimage_size = [20, 20]"))
    assert main(["train", str(size_spec), "--out", str(tmp_path / "c")]) == 2
    assert "gives 3×20×20 images but model 't' takes 3×16×16" in capsys.readouterr().err


def test_amp_bfloat16_on_cpu_trains(spec, tmp_path):
    assert main(["train", str(spec), "--out", str(tmp_path / "r"), "--quiet", "--amp", "--epochs", "1"]) == 0
    rows = [json.loads(l) for l in (tmp_path / "r" / "metrics.jsonl").read_text().splitlines()]
    assert all(v == v for v in rows[-1].values())  # no NaN


def test_two_process_gloo_matches_single_process(tmp_path):
    # A deterministic latent stage: a VAE's sampling noise is drawn per process, so it cannot match.
    spec = tmp_path / "det.toml"
    spec.write_text(SPEC.replace('type = "core.gaussian"\nchannels = 16\nlatent_channels = 4', 'type = "core.identity"')
                    .replace('[losses.kl]\ntype = "core.kl"\nweight = 0.001\n', ""))
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    ddp = tmp_path / "ddp"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", "29533",
           "-m", "inpaintzoo.cli", "train", str(spec), "--out", str(ddp), "--quiet", "--steps", "6"]
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=240)
    assert r.returncode == 0, r.stderr[-2000:]
    info = json.loads((ddp / "distributed.json").read_text())
    assert info["world_size"] == 2 and info["rank_checksums"][0] == info["rank_checksums"][1]
    single = tmp_path / "single"
    assert main(["train", str(spec), "--out", str(single), "--quiet", "--steps", "6"]) == 0
    a, b = weights(ddp / "final"), weights(single / "final")
    for k in a:
        assert torch.allclose(a[k], b[k], atol=1e-4, rtol=1e-3), k


def test_ctrl_c_then_resume_is_bit_identical_to_an_uninterrupted_run(tmp_path):
    """A real SIGINT mid-run: the step in flight finishes, a checkpoint is written, and --resume reaches the
    uninterrupted run's weights exactly (masks come from per-sample seeds, RNG states are saved at a step boundary)."""
    import signal

    spec = tmp_path / "long.toml"
    spec.write_text(SPEC.replace("epochs = 2", "epochs = 20\neval_every = 100\nnum_workers = 1"))
    full, run = tmp_path / "full", tmp_path / "run"
    # the reference runs as a process too: the same torch thread count as the interrupted one (conftest sets 2 here)
    subprocess.run([sys.executable, "-m", "inpaintzoo.cli", "train", str(spec), "--out", str(full), "--quiet"],
                   check=True, capture_output=True, timeout=300)
    # a background job inherits SIGINT as ignored: restore the default in the child
    p = subprocess.Popen([sys.executable, "-m", "inpaintzoo.cli", "train", str(spec), "--out", str(run),
                          "--progress-every", "0.01", "--no-tensorboard"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    for line in p.stderr:  # progress lines go to a pipe as plain text
        if line.startswith("step "):
            break
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=120)
    assert p.returncode == 130 and "interrupted at step" in err and "--resume" in err, err[-2000:]
    step = ckpt.load_checkpoint(ckpt.checkpoints(run)[-1])["step"]
    assert 0 < step < 120 and not (run / "final").exists()
    subprocess.run([sys.executable, "-m", "inpaintzoo.cli", "train", "--resume", str(run), "--quiet"], check=True,
                   capture_output=True, timeout=300)
    a, b = weights(full / "final"), weights(run / "final")
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_time_budget_stops_mid_epoch_with_a_loadable_model(spec, tmp_path, monkeypatch):
    from inpaintzoo.train.loop import Trainer
    # a clock that reads one minute per finished step, so the test does not depend on the machine's speed
    monkeypatch.setattr(Trainer, "elapsed_now", lambda self: 60.0 * self.step)
    run = tmp_path / "run"
    assert main(["train", str(spec), "--out", str(run), "--quiet", "--epochs", "50", "--max-minutes", "2"]) == 0
    rows = [json.loads(l) for l in (run / "metrics.jsonl").read_text().splitlines()]
    assert len(rows) == 1 and rows[0]["step"] == 2 and rows[0]["epoch"] == 0  # stopped inside the first epoch
    assert (run / "final" / "model.safetensors").is_file()


def test_a_budget_without_epochs_trains_until_it_ends_and_with_epochs_is_a_ceiling(spec, tmp_path, monkeypatch):
    """`train SPEC --max-minutes 30` runs for the budget (the spec's 2 epochs of 6 steps do not end it);
    `--epochs 2 --max-minutes 30` stops at the epochs, well inside the budget."""
    from inpaintzoo.train.loop import Trainer

    monkeypatch.setattr(Trainer, "elapsed_now", lambda self: 60.0 * self.step)  # one minute per step
    for extra, name in (([], "budget"), (["--epochs", "2"], "ceiling")):
        assert main(["train", str(spec), "--out", str(tmp_path / name), "--quiet", "--max-minutes", "30", *extra]) == 0
    steps = {name: json.loads((tmp_path / name / "metrics.jsonl").read_text().splitlines()[-1])["step"]
             for name in ("budget", "ceiling")}
    assert 25 <= steps["budget"] <= 30 and steps["ceiling"] == 12, steps
    assert (tmp_path / "budget" / "final" / "model.safetensors").is_file()


def test_a_data_set_with_its_own_masks_trains_and_evaluates_on_them(tmp_path):
    from PIL import Image

    root, msk = tmp_path / "img", tmp_path / "msk"
    root.mkdir(), msk.mkdir()
    for i in range(16):
        Image.fromarray((np.random.default_rng(i).random((16, 16, 3)) * 255).astype(np.uint8)).save(root / f"{i}.png")
        m = np.zeros((16, 16), np.uint8)
        m[4:12, 4:12] = 255
        Image.fromarray(m).save(msk / f"{i}.png")
    spec = tmp_path / "f.toml"
    spec.write_text(SPEC.replace('type = "core.shapes"\nsize = 48', f'type = "core.image_folder"\nval_fraction = 0.25\nmask_root = "{msk}"'))
    run = tmp_path / "run"
    assert main(["train", str(spec), "--data", str(root), "--out", str(run), "--quiet", "--epochs", "1", "--batch-size", "4"]) == 0
    out = tmp_path / "r.json"
    assert main(["eval", str(run / "final"), "--data", str(root), "--split", "val", "--masks", "dataset", "--json", str(out)]) == 0
    r = json.loads(out.read_text())
    assert [b["area"] for b in r["buckets"]] == ["20-30%"]  # every val image scored with its own 25 % hole


def test_a_batch_that_cannot_fit_is_refused_before_anything_is_written(spec, tmp_path, capsys, monkeypatch):
    """The memory estimate (one measured image at the contract's size) against what the machine has: one line naming
    the batch size that fits, exit 2, no run folder."""
    from inpaintzoo.train import memory

    fixed, per_image = None, None
    real = memory.measure

    def measure(tr):
        nonlocal fixed, per_image
        fixed, per_image = real(tr)
        return fixed, per_image

    monkeypatch.setattr(memory, "measure", measure)
    monkeypatch.setattr(memory, "available_bytes", lambda device: 10**12)
    assert main(["train", str(spec), "--out", str(tmp_path / "ok"), "--steps", "1", "--quiet"]) == 0
    assert fixed > 0 and per_image > 0  # weights and saved activations were measured
    room = fixed + memory.SLACK * 3 * per_image  # what batch 3 needs, and no more
    monkeypatch.setattr(memory, "available_bytes", lambda device: int(room / 0.9) + 1)
    capsys.readouterr()
    assert main(["train", str(spec), "--out", str(tmp_path / "big"), "--batch-size", "8"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "train.batch_size 8: needs about" in err and "--batch-size 3 fits" in err
    assert not (tmp_path / "big").exists()
    monkeypatch.setattr(memory, "available_bytes", lambda device: fixed)
    assert main(["train", str(spec), "--out", str(tmp_path / "none"), "--batch-size", "1"]) == 2
    assert "not even one" in capsys.readouterr().err


def test_resume_sees_the_held_out_folder_the_run_started_with(tmp_path, capsys):
    """--val-data is not part of the spec: the run records it (options.json), so `--resume RUN` alone validates on it."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    for folder, n in (("train", 8), ("held", 4)):
        (tmp_path / folder).mkdir()
        for i in range(n):
            Image.fromarray((rng.random((16, 16, 3)) * 255).astype(np.uint8)).save(tmp_path / folder / f"{i}.png")
    spec = tmp_path / "spec.toml"
    spec.write_text(SPEC.replace('type = "core.shapes"\nsize = 48', 'type = "core.image_folder"\nval_fraction = 0.0'))
    run = tmp_path / "run"
    args = ["--quiet", "--no-tensorboard", "--batch-size", "4"]
    assert main(["train", str(spec), "--data", str(tmp_path / "train"), "--val-data", str(tmp_path / "held"),
                 "--out", str(run), "--stop-after", "2", *args]) == 0
    assert json.loads((run / "options.json").read_text())["val_data"] == str(tmp_path / "held")
    assert main(["train", "--resume", str(run), *args]) == 0  # the 'val' split of --data is empty: it must not be used
    assert (run / "final" / "model.safetensors").is_file()


def test_a_small_own_folder_trains_and_evaluates_with_the_default_splits(tmp_path, capsys):
    """20 photos with the folder's default fractions (10 % validation, no test): the validation split is never empty,
    and `eval` on the trained model picks that split, saying so, instead of failing on an empty test split."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(3)
    (tmp_path / "own").mkdir()
    for i in range(20):
        Image.fromarray((rng.random((20, 20, 3)) * 255).astype(np.uint8)).save(tmp_path / "own" / f"IMG_{i:04d}.jpg")
    spec = tmp_path / "spec.toml"
    spec.write_text(SPEC.replace('type = "core.shapes"\nsize = 48', 'type = "core.image_folder"'))
    run = tmp_path / "run"
    assert main(["train", str(spec), "--data", str(tmp_path / "own"), "--out", str(run), "--epochs", "1", "--quiet",
                 "--batch-size", "4", "--no-tensorboard"]) == 0
    capsys.readouterr()
    assert main(["eval", str(run / "final"), "--data", str(tmp_path / "own"), "--n", "4", "--json", str(tmp_path / "r.json")]) == 0
    assert "evaluating the 'val' split" in capsys.readouterr().err
    assert json.loads((tmp_path / "r.json").read_text())["data"]["split"] == "val"


def test_the_largest_seed_trains(spec, tmp_path):
    """train.seed takes 0 … 2⁶³ − 1; the seeds derived from it (epoch orders, evaluation) stay in range."""
    assert main(["train", str(spec), "--out", str(tmp_path / "r"), "--seed", str(2**63 - 1), "--quiet", "--epochs", "1",
                 "--no-tensorboard"]) == 0


def test_resume_with_another_learning_rate_applies_it_and_says_so(spec, tmp_path, capsys):
    """The optimizer state would restore the checkpoint's rate silently while spec.json recorded the new one."""
    from inpaintzoo.train import checkpoint as ck

    run = tmp_path / "run"
    assert main(["train", str(spec), "--out", str(run), "--quiet", "--epochs", "1"]) == 0
    old_lr = json.loads((run / "spec.json").read_text())["train"]["optimizer"]["lr"]
    capsys.readouterr()
    assert main(["train", "--resume", str(run), "--quiet", "--epochs", "2", "--lr", "0.05"]) == 0
    assert f"train.optimizer.lr is 0.05 from step 6 on (the run used {old_lr:g})" in capsys.readouterr().err
    state = ck.load_checkpoint(ck.checkpoints(run)[-1])
    assert state["sched"]["base_lrs"] == [0.05]  # the rate the schedule's shape is applied to
