"""The second sweep's classes of bad input (issue 27), each with the cases it named and new ones of the same class:
outputs never over inputs or model files, atomic exists-checks, nothing left after a failure, numbers finite and in
range, one-line errors instead of tracebacks, and a resume that cannot corrupt its run.

The error-line cases run through the same check as tests/test_bad_input.py's matrix (exit 2, one `error:` line,
no traceback, nothing written, inputs unchanged); the rest are behaviours a line cannot show.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from inpaintzoo.cli import main
from test_bad_input import assert_one_error_line_and_nothing_left, base, listing  # noqa: F401  (base: a fixture)


@pytest.fixture(scope="session")
def more(base, tmp_path_factory) -> Path:  # noqa: F811
    """Inputs the classes need beyond the matrix's: reports, pickles, broken runs and models, a truncated image."""
    x = tmp_path_factory.mktemp("more")
    (x / "list.json").write_text("[1, 2]")
    (x / "textmetric.json").write_text('{"metrics": {"psnr": "high"}}')
    (x / "p.pkl").write_bytes(b"\x80\x04\x95\x0b\x00\x00\x00\x00\x00\x00\x00}\x94\x8c\x01a\x94K\x01s.")  # {'a': 1}
    (x / "empty.ckpt").write_bytes(b"")
    (x / "empty.toml").write_text("")
    nanmean = x / "nanmean"
    shutil.copytree(base / "model", nanmean)
    cfg = json.loads((nanmean / "config.json").read_text())
    cfg["contract"]["mean"] = [float("nan")]
    (nanmean / "config.json").write_text(json.dumps(cfg))  # json writes NaN, as a hand edit would
    (x / "trunc").mkdir()
    rng = np.random.default_rng(1)
    for i in range(6):
        Image.fromarray((rng.random((16, 16, 3)) * 255).astype(np.uint8)).save(x / "trunc" / f"t{i}.png")
    data = (x / "trunc" / "t0.png").read_bytes()
    (x / "trunc" / "t0.png").write_bytes(data[: len(data) // 2])
    shutil.copytree(base / "run", x / "badoverrides")
    (x / "badoverrides" / "overrides.json").write_text("{bad")
    import safetensors.torch
    import torch

    hostile_checkpoints(x)
    with Image.open(base / "img.png") as im:
        Image.new("L", im.size, 0).save(x / "black.png")
    bignum = x / "bignum"  # a 5,000-digit number: json refuses it with a ValueError of its own
    shutil.copytree(base / "model", bignum)
    (bignum / "config.json").write_text((bignum / "config.json").read_text().replace("{", '{"n": 1' + "0" * 5000 + ",", 1))
    (x / "deep.toml").write_text("[" + ".".join(["a"] * 5000) + "]\nx = 1")
    (x / "deeparray.toml").write_text("x = " + "[" * 20000 + "]" * 20000)
    relabelled = x / "relabelled"  # a float tensor's bytes relabelled as int32: same size, garbage numbers
    shutil.copytree(base / "model", relabelled)
    weights = safetensors.torch.load_file(str(relabelled / "model.safetensors"))
    key = next(k for k, v in weights.items() if v.dtype == torch.float32)
    weights[key] = weights[key].view(torch.int32)
    safetensors.torch.save_file(weights, str(relabelled / "model.safetensors"))
    return x


def _torch_zip(path: Path, data_pkl: bytes, members: dict | None = None, compress: bool = False) -> None:
    """A file in torch.save's zip layout around a hand-made data.pkl (and extra members)."""
    import zipfile

    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED) as z:
        z.writestr("archive/data.pkl", data_pkl)
        z.writestr("archive/byteorder", "little")
        for name, data in (members or {}).items():
            z.writestr(name, data)


def hostile_checkpoints(x: Path) -> None:
    """Checkpoints an attacker or a broken tool writes: each must end in one line, quickly and in little memory."""
    import os
    import zipfile

    n = 100_000  # dicts nested 100,000 deep: EMPTY_DICT and a key per level, then one SETITEM per level
    _torch_zip(x / "nested.ckpt", b"\x80\x02" + (b"}X\x01\x00\x00\x00k") * n + b"}" + b"s" * n + b".")
    _torch_zip(x / "selfref.ckpt", b"\x80\x02}q\x00X\x01\x00\x00\x00ah\x00s.")  # d = {}; d["a"] = d
    _torch_zip(x / "bytesbomb.ckpt", b"\x80\x02cbuiltins\nbytes\n(L18446744073709551616L\ntR.")
    _torch_zip(x / "codec.ckpt", b"\x80\x04cbuiltins\nstr\n(C\x01x\x8c\x0dno-such-codectR.")  # str(b"x", codec)
    _torch_zip(x / "buildlist.ckpt", b"\x80\x02]}b.")  # BUILD with a state on a list
    _torch_zip(x / "rebuild.ckpt", b"\x80\x02ctorch._utils\n_rebuild_nothing_such\n)R.")
    with zipfile.ZipFile(x / "bomb.zip", "w", zipfile.ZIP_DEFLATED) as z:  # 200 MB of zeros in a few hundred kB
        with z.open("big-lama/models/best.ckpt", "w", force_zip64=True) as f:
            for _ in range(200):
                f.write(bytes(1 << 20))
    os.mkfifo(x / "fifo.ckpt")
    (x / "zero.ckpt").symlink_to("/dev/zero")
    deep = x / "deepconfig"
    deep.mkdir()
    (deep / "config.json").write_text("[" * 100_000 + "]" * 100_000)
    (deep / "model.safetensors").write_bytes(b"")


# (id, argv with {b} the matrix's inputs, {x} this file's and {w} an empty work folder, text the error line must hold)
CLASSES = {
    "1 outputs never over inputs, model files or outside the chosen folder": [
        ("eval-json-over-config", "eval {b}/model --json {b}/model/config.json", "is a file of the model folder"),
        ("eval-json-over-weights", "eval {b}/model --json {b}/model/model.safetensors", "never written over"),
        ("train-name-with-dots", "train {b}/tiny.toml --set model.name=../../x --stop-after 1", "must be a plain name"),
        ("build-name-absolute", "build {b}/tiny.toml --set model.name=/tmp/x --out {w}/m", "must be a plain name"),
        ("inpaint-out-is-mask-folder", "inpaint {b}/model {b}/imgs {b}/masks -o {b}/masks", "is one of the inputs"),
        ("intervene-out-is-mask", "intervene {b}/causal {b}/img.png --mask {b}/mask.png --set light=100 -o {b}/mask.png",
         "is one of the inputs"),
        ("build-overwrite-non-model", "build {b}/tiny.toml --out {b}/imgs --overwrite", "holds other files"),
        ("build-overwrite-dot", "build {b}/tiny.toml --out {b} --overwrite", "holds other files"),
        ("train-out-model-folder", "train {b}/tiny.toml --out {b}/model", "not empty"),
    ],
    "3 a failure after the output exists leaves nothing": [
        ("train-lr-inf", "train {b}/tiny.toml --set train.optimizer.lr=inf --out {w}/r", "train.optimizer.lr"),
        ("train-loss-weight-nan", "train {b}/tiny.toml --set losses.l1.weight=nan --out {w}/r", "losses.l1.weight"),
        ("train-seed-overflow", "train {b}/tiny.toml --set train.seed=18446744073709551616 --out {w}/r", "train.seed"),
        ("train-truncated-image", "train {b}/folder.toml --data {x}/trunc --out {w}/r", "t0.png: unreadable image"),
    ],
    "4 numbers finite and in range, at the config layer": [
        ("build-mean-nan", "build {b}/tiny.toml --set model.mean=[nan] --out {w}/m", "model.mean.0: Input should be a finite"),
        ("build-std-inf", "build {b}/tiny.toml --set model.std=[inf] --out {w}/m", "model.std.0"),
        ("build-hole-fill-nan", "build {b}/tiny.toml --set model.hole_fill=nan --out {w}/m", "model.hole_fill: Input should be a finite"),
        ("build-hole-fill-out-of-range", "build {b}/tiny.toml --set model.hole_fill=7.5 --out {w}/m", "must lie in [0, 1]"),
        ("build-loss-weight-negative", "build {b}/tiny.toml --set losses.l1.weight=-1 --out {w}/m", "≥ 0"),
        ("train-betas", "train {b}/tiny.toml --set train.optimizer.betas=[0.9,3] --out {w}/r", "betas.1: Input should be less than 1"),
        ("train-eps-negative", "train {b}/tiny.toml --set train.optimizer.eps=-1 --out {w}/r", "train.optimizer.eps"),
        ("train-weight-decay-negative", "train {b}/tiny.toml --set train.optimizer.weight_decay=-1 --out {w}/r", "weight_decay"),
        ("train-grad-clip-nan", "train {b}/tiny.toml --set train.grad_clip=nan --out {w}/r", "train.grad_clip"),
        ("train-seed-negative", "train {b}/tiny.toml --set train.seed=-1 --out {w}/r", "train.seed"),
        ("eval-config-mean-nan", "eval {x}/nanmean", "mean"),
        ("inpaint-config-mean-nan", "inpaint {x}/nanmean {b}/img.png {b}/mask.png -o {w}/o.png", "mean"),
        ("intervene-overflowing-number", "intervene {b}/causal {b}/img.png --set light=1e400 -o {w}/o.png", "not a finite number"),
        ("inpaint-threshold-nan", "inpaint {b}/model {b}/img.png {b}/mask.png -o {w}/o.png --threshold nan", "--threshold"),
        ("inpaint-resize-limit-zero", "inpaint {b}/model {b}/img.png {b}/mask.png -o {w}/o.png --hd-resize-limit 0",
         "--hd-resize-limit"),
    ],
    "6 errors that escaped as tracebacks": [
        ("push-id-bad-chars", "push {b}/model org/na@me", "not a valid Hub repo id"),
        ("push-id-double-dot", "push {b}/model org/bad..name", "not a valid Hub repo id"),
        ("push-to-slash", "push {b}/model /", "expected ORG/NAME"),
        ("eval-hf-hub-bad-id", "eval hf-hub:org/bad..name", "not a valid Hub repo id"),
        ("push-eval-list", "push {b}/model org/name --eval {x}/list.json", "no \"metrics\" table"),
        ("push-eval-text-metric", "push {b}/model org/name --eval {x}/textmetric.json", "not a number"),
        ("resume-corrupt-overrides", "train --resume {x}/badoverrides", "is corrupt"),
        ("eval-lpips-backbone-pickle", "eval {b}/model --lpips-backbone {x}/p.pkl", "never read"),
        ("eval-fid-weights-png", "eval {b}/model --fid-weights {b}/img.png --allow-few-fid", "not a TorchScript"),
        ("eval-fid-few-images", "eval {b}/model --fid", "refused"),
        ("example-broken-config", "example {b}/badjson -o {w}/e.png", "not valid JSON"),
        ("masks-size-absurd", "masks --preset thin --size 100000000 -o {w}/m", "at most 16384"),
        ("convert-empty-file", "convert lama.big_lama {x}/empty.ckpt --out {w}/c", "empty file"),
        ("build-empty-spec", "build {x}/empty.toml --out {w}/m", "empty: a spec needs"),
        ("build-option-of-an-option-less-component", "build {b}/tiny.toml --set prior.intervention=latent --out {w}/m",
         "prior.intervention: unknown key; this table takes no options"),
        ("resume-incompatible-set", "train --resume {b}/run --set encoder.channels=[8,32]", "decoder.channels[0]"),
    ],
    "7 silent results (issue 39)": [
        ("eval-metrics-matching-nothing", "eval {b}/model --metrics zzz*", "matches no registered metric"),
        ("eval-metrics-only-commas", "eval {b}/model --metrics ,", "names no metric"),
        ("inpaint-all-black-mask", "inpaint {b}/model {b}/img.png {x}/black.png -o {w}/o.png", "no hole to inpaint"),
        ("inpaint-mask-box-outside", "inpaint {b}/model {b}/img.png --mask-box 5000,5000,10,10 -o {w}/o.png",
         "mask box lies outside"),
        ("intervene-concept-twice", "intervene {b}/causal {b}/img.png --set light=100 --set light=120 -o {w}/o.png",
         "set twice"),
        ("resume-with-another-out", "train --resume {b}/run --out {w}/elsewhere", "writes into its own folder"),
        ("masks-seed-overflow", "masks --preset thin --size 64 -n 2 -o {w}/m --seed 1180591620717411303424", "must lie in 0"),
        ("eval-seed-negative", "eval {b}/model --seed -5", "must lie in 0"),
        ("build-out-dot-over-a-model", "build {b}/tiny.toml --out . --overwrite", "is the current folder"),
        ("demo-unknown-model", "demo no-such-model-here", "is not a zoo model"),
        ("demo-missing-folder", "demo {w}/nothing/here", "no such model folder"),
        ("demo-bad-host", "demo --host 999.1.1.1", "--host 999.1.1.1: not an address"),
        ("inpaint-weights-relabelled-int", "inpaint {x}/relabelled {b}/img.png {b}/mask.png -o {w}/o.png", "dtype mismatch"),
    ],
    "8 hostile checkpoint files (issue 39)": [
        ("convert-nested-100k", "convert lama.big_lama {x}/nested.ckpt --out {w}/c", "nested"),
        ("convert-self-referencing", "convert lama.big_lama {x}/selfref.ckpt --out {w}/c", "selfref.ckpt"),
        ("convert-bytes-2-64", "convert lama.big_lama {x}/bytesbomb.ckpt --out {w}/c", "bytesbomb.ckpt"),
        ("convert-unknown-codec", "convert lama.big_lama {x}/codec.ckpt --out {w}/c", "LookupError"),
        ("convert-build-on-a-list", "convert lama.big_lama {x}/buildlist.ckpt --out {w}/c", "buildlist.ckpt"),
        ("convert-missing-rebuild", "convert lama.big_lama {x}/rebuild.ckpt --out {w}/c", "_rebuild_nothing_such"),
        ("convert-zip-bomb", "convert lama.big_lama {x}/bomb.zip --out {w}/c", "would inflate"),
        ("convert-fifo", "convert lama.big_lama {x}/fifo.ckpt --out {w}/c", "not a regular file"),
        ("convert-dev-zero", "convert lama.big_lama {x}/zero.ckpt --out {w}/c", "not a regular file"),
        ("inpaint-config-nested-100k", "inpaint {x}/deepconfig {b}/img.png {b}/mask.png -o {w}/o.png", "nested too deep"),
    ],
}
CLASSES["9 the fourth sweep (benchmarks/hostile_sweep.py)"] = [
    ("inpaint-config-5000-digit-number", "inpaint {x}/bignum {b}/img.png {b}/mask.png -o {w}/o.png", "not valid JSON"),
    ("build-tables-nested-5000-deep", "build {x}/deep.toml --out {w}/m", "nested too deep"),
    ("build-arrays-nested-20000-deep", "build {x}/deeparray.toml --out {w}/m", "nested too deep"),
    ("train-set-nested-arrays", "train {b}/tiny.toml --set x=" + "[" * 5000 + "]" * 5000 + " --out {w}/r", "nested too deep"),
    ("build-boxes-min-over-max", "build {b}/tiny.toml --set data.masks.type=core.boxes --set data.masks.min_size=50 "
     "--set data.masks.max_size=10 --out {w}/m", "min_size = 50 exceeds max_size = 10"),
    ("eval-metrics-empty", "eval {b}/model --metrics=", "names no metric"),
    ("build-four-sections-missing", "build {x}/empty.toml --out {w}/m", "empty"),
    ("build-channels-beyond-memory", "build {b}/tiny.toml --set encoder.channels=[200000,200000] --out {w}/m",
     "more than half of this machine's"),
]
CASES = [(f"{cls.split()[0]}-{case}", argv, expect) for cls, cases in CLASSES.items() for case, argv, expect in cases]


@pytest.mark.parametrize("case, argv, expect", CASES, ids=[c[0] for c in CASES])
def test_each_class_is_one_error_line_and_leaves_nothing(case, argv, expect, base, more, tmp_path, capsys, monkeypatch):  # noqa: F811
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.chdir(tmp_path)  # a default run folder (runs/NAME) would land here, and be seen
    work = tmp_path / "work"
    work.mkdir()
    args = argv.format(b=base, x=more, w=work).split()
    assert_one_error_line_and_nothing_left(case, args, expect, work, capsys, (base, more))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["work"], case


def test_a_refused_resume_leaves_the_run_resumable(base, tmp_path, capsys):  # noqa: F811
    run = tmp_path / "run"
    shutil.copytree(base / "run", run)
    spec = (run / "spec.json").read_bytes()
    assert main(["train", "--resume", str(run), "--set", "encoder.channels=[8,32]"]) == 2
    assert (run / "spec.json").read_bytes() == spec  # not rewritten by the refused invocation
    assert main(["train", "--resume", str(run), "--quiet"]) == 0
    assert (run / "final" / "model.safetensors").is_file()


def test_a_second_trainer_on_the_same_run_stops_and_duplicates_nothing(base, tmp_path, capsys):  # noqa: F811
    from filelock import FileLock

    run = tmp_path / "run"
    shutil.copytree(base / "run", run)
    rows = (run / "metrics.jsonl").read_text() if (run / "metrics.jsonl").exists() else ""
    with FileLock(str(tmp_path / ".run.lock")):  # what the first `train --resume run` holds while it trains
        capsys.readouterr()
        assert main(["train", "--resume", str(run), "--quiet"]) == 2
        err = capsys.readouterr().err
    assert "another process is training this run" in err and err.count("\n") == 1
    assert ((run / "metrics.jsonl").read_text() if (run / "metrics.jsonl").exists() else "") == rows
    assert not (run / "final").exists()


def test_the_rename_is_the_exists_check_when_another_writer_finishes_first(tmp_path):
    """Two writers of one output folder: the one that renames second keeps the first's folder and leaves nothing."""
    from inpaintzoo.artifact import atomic_dir
    from inpaintzoo.errors import LoadError

    out = tmp_path / "m1"

    def write(tmp: Path) -> None:
        (tmp / "mine.txt").write_text("second writer")
        out.mkdir()  # meanwhile, another process finished writing the same folder
        (out / "theirs.txt").write_text("first writer")

    with pytest.raises(LoadError, match="another process wrote this folder meanwhile"):
        atomic_dir(out, write)
    assert listing(tmp_path) == ["m1", "m1/theirs.txt"]  # theirs kept whole, no temporary folder of ours


def test_two_masks_commands_on_one_folder_one_wins_whole(tmp_path, capsys, monkeypatch):
    """The masks command goes through the same rename: the writer that finishes second fails with one line."""
    import inpaintzoo.artifact as artifact

    first = tmp_path / "m1"
    real = artifact.atomic_dir
    argv = ["masks", "--preset", "thin", "-n", "3", "--size", "16", "-o", str(first)]

    def racing(out, write, *args, **kwargs):
        def write_then_lose(tmp):
            write(tmp)
            monkeypatch.setattr(artifact, "atomic_dir", real)
            assert main(argv) == 0  # the other invocation, finishing while this one writes
        return real(out, write_then_lose, *args, **kwargs)

    monkeypatch.setattr(artifact, "atomic_dir", racing)
    capsys.readouterr()
    code = main(argv)
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and err[-1].startswith("error:") and "another process wrote this folder" in err[-1]
    assert len([p for p in first.iterdir() if p.suffix == ".png"]) == 3
    assert [p.name for p in tmp_path.iterdir()] == ["m1"]


def test_an_absurd_intervention_is_clamped_with_a_warning_not_silent(base, tmp_path, capsys):  # noqa: F811
    capsys.readouterr()
    assert main(["intervene", str(base / "causal"), str(base / "img.png"), "--set", "light=1e30",
                 "-o", str(tmp_path / "o.png")]) == 0
    err = capsys.readouterr().err
    assert "light" in err and "range" in err


def test_an_intervention_with_an_empty_mask_says_so(base, tmp_path, capsys):  # noqa: F811
    empty = tmp_path / "empty_mask.png"
    Image.fromarray(np.zeros((20, 24), np.uint8)).save(empty)
    capsys.readouterr()
    assert main(["intervene", str(base / "causal"), str(base / "img.png"), "--mask", str(empty), "--set", "light=100",
                 "-o", str(tmp_path / "o.png")]) == 0
    assert "no hole" in capsys.readouterr().err


def test_ctrl_c_during_the_final_evaluation_stops_with_a_checkpoint(base, tmp_path, capsys, monkeypatch):  # noqa: F811
    """Class 7: the first Ctrl-C during the last evaluation is not ignored: exit 130, a checkpoint, no final model."""
    import os
    import signal

    from inpaintzoo.train.loop import Trainer

    real = Trainer.end_epoch

    def interrupted(self, progress):
        os.kill(os.getpid(), signal.SIGINT)  # handled by the loop's StopRequest: a request, not an exception
        return real(self, progress)

    monkeypatch.setattr(Trainer, "end_epoch", interrupted)
    run = tmp_path / "r"
    assert main(["train", str(base / "tiny.toml"), "--out", str(run), "--quiet"]) == 130
    assert "during the evaluation" in capsys.readouterr().err
    assert (run / "checkpoints" / "step-00000002").is_dir() and not (run / "final").exists()
