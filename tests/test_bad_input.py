"""Bad input, tried as a new user would: every case exits with status 2 and one `error:` line (no traceback),
and leaves no file or folder behind. Shared inputs live in a session folder whose listing must not change."""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from inpaintzoo.cli import main

TINY = """
[model]
name = "tiny"
image_size = [16, 16]
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
[losses.l1]
type = "core.l1"
[data.dataset]
type = "core.shapes"
size = 16
[train]
steps = 2
batch_size = 4
eval_batches = 1
num_workers = 0
"""


def _png(path: Path, arr: np.ndarray) -> Path:
    Image.fromarray(arr).save(path)
    return path


@pytest.fixture(scope="session")
def base(tmp_path_factory) -> Path:
    """Shared, never-written inputs: specs, model folders (tiny, causal, broken ones), images and masks."""
    b = tmp_path_factory.mktemp("inputs")
    (b / "tiny.toml").write_text(TINY)
    (b / "folder.toml").write_text(TINY.replace('type = "core.shapes"\nsize = 16', 'type = "core.image_folder"'))
    (b / "gan.toml").write_text(TINY + '[losses.adversarial]\ntype = "medfe.adversarial"\n')
    (b / "bad.toml").write_text("[model\nname = 1")
    (b / "latin1.toml").write_bytes("[model]\nname = \"caf\xe9\"\n".encode("latin-1"))
    (b / "markup.toml").write_text(TINY.replace("[train]", '[train]\n"[/oops]" = 1'))
    (b / "afile").write_text("x")
    assert main(["build", str(b / "tiny.toml"), "--out", str(b / "model")]) == 0
    assert main(["build", "causal-nvae-pendulum", "--out", str(b / "causal"), "--inference-only"]) == 0
    for name, change in {"tampered": "contract", "nan": "weights", "pickle": "pickle", "badjson": "json"}.items():
        d = b / name
        d.mkdir()
        for f in ("model.safetensors", "config.json"):
            (d / f).write_bytes((b / "model" / f).read_bytes())
        if change == "contract":
            cfg = json.loads((d / "config.json").read_text())
            cfg["contract"]["mean"] = [0.25]
            (d / "config.json").write_text(json.dumps(cfg))
        elif change == "weights":
            import safetensors.torch

            w = safetensors.torch.load_file(str(d / "model.safetensors"))
            safetensors.torch.save_file({k: v * float("nan") if v.is_floating_point() else v for k, v in w.items()},
                                        str(d / "model.safetensors"))
        elif change == "pickle":
            (d / "model.safetensors").unlink()
            (d / "pytorch_model.bin").write_bytes(b"not loaded")
        else:
            (d / "config.json").write_text("{oops")
    rng = np.random.default_rng(0)
    _png(b / "img.png", (rng.random((20, 24, 3)) * 255).astype(np.uint8))
    mask = np.zeros((20, 24), np.uint8)
    mask[5:12, 6:14] = 255
    _png(b / "mask.png", mask)
    _png(b / "small_mask.png", mask[:10, :10])
    _png(b / "grey_mask.png", (mask // 2).astype(np.uint8))
    _png(b / "img16.png", (rng.random((20, 24)) * 65535).astype(np.uint16))
    _png(b / "rgba.png", (rng.random((20, 24, 4)) * 255).astype(np.uint8))
    (b / "garbage.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    # a PNG whose header claims 20000×20000 (IHDR only): refused before decoding
    import struct
    import zlib

    ihdr = struct.pack(">IIBBBBB", 20000, 20000, 8, 0, 0, 0, 0)
    chunk = lambda t, d: struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)  # noqa: E731
    (b / "bomb.png").write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b""))
    (b / "imgs").mkdir()
    (b / "masks").mkdir()
    for i in range(3):
        _png(b / "imgs" / f"a{i}.png", (rng.random((16, 16, 3)) * 255).astype(np.uint8))
    for i in range(2):  # a2 has no mask
        _png(b / "masks" / f"a{i}.png", mask[:16, :16])
    (b / "empty").mkdir()
    (b / "report.txt").write_text("not json")
    run = b / "run"
    assert main(["train", str(b / "tiny.toml"), "--out", str(run), "--quiet", "--stop-after", "1"]) == 0
    (b / "badrun").mkdir()
    (b / "badrun" / "spec.json").write_text("{nope")
    return b


def listing(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


# (id, argv with {b} for the inputs folder and {w} for an empty work folder, text the error line must hold)
CASES = [
    # build
    ("build-missing-spec", "build {b}/nope.toml --out {w}/m", "no such spec file"),
    ("build-malformed-toml", "build {b}/bad.toml --out {w}/m", "malformed TOML"),
    ("build-not-utf8", "build {b}/latin1.toml --out {w}/m", "not a UTF-8 text file"),
    ("build-spec-is-folder", "build {b}/imgs --out {w}/m", "no such spec file"),
    ("build-unknown-zoo", "build core-shapes-tinyy --out {w}/m", "did you mean 'core-shapes-tiny'"),
    ("build-unknown-type", "build {b}/tiny.toml --set encoder.type=core.conv_encodr --out {w}/m", "did you mean 'core.conv_encoder'"),
    ("build-unknown-section", "build {b}/tiny.toml --set trian.steps=3 --out {w}/m", "did you mean 'train'"),
    ("build-unknown-key", "build {b}/tiny.toml --set train.batch_sise=3 --out {w}/m", "did you mean 'batch_size'"),
    ("build-set-no-equals", "build {b}/tiny.toml --set train.batch_size --out {w}/m", "expected KEY=VALUE"),
    ("build-set-empty-key", "build {b}/tiny.toml --set =3 --out {w}/m", "expected KEY=VALUE"),
    ("build-set-value-type", "build {b}/tiny.toml --set train.batch_size=abc --out {w}/m", "train.batch_size"),
    ("build-set-into-value", "build {b}/tiny.toml --set model.name.x=1 --out {w}/m", "is a value, not a table"),
    ("build-image-size-negative", "build {b}/tiny.toml --set model.image_size=[-16,16] --out {w}/m", "model.image_size"),
    ("build-image-size-huge", "build {b}/tiny.toml --set model.image_size=[1000000,1000000] --out {w}/m", "1…16384"),
    ("build-channels-zero", "build {b}/tiny.toml --set model.channels=0 --out {w}/m", "model.channels"),
    ("build-std-zero", "build {b}/tiny.toml --set model.std=[0.0] --out {w}/m", "std must not contain 0"),
    ("build-missing-decoder", "build {b}/tiny.toml --set decoder=1 --out {w}/m", "decoder: expected a table"),
    ("build-markup-key", "build {b}/markup.toml --out {w}/m", "train.[/oops]"),
    ("build-out-is-file", "build {b}/tiny.toml --out {b}/afile", "is a file"),
    ("build-out-exists", "build {b}/tiny.toml --out {b}/model", "output folder exists"),
    ("build-out-below-file", "build {b}/tiny.toml --out {b}/afile/sub", "afile"),
    ("build-size-mismatch", "build causal-nvae-pendulum --set decoder.start_size=[3,3] --out {w}/m",
     "set decoder.start_size = [8, 8]"),
    ("build-kind-choices", "components --kind bogus", "invalid choice"),
    ("check-unknown-plugin", "check nvea", "did you mean 'nvae'"),
    ("spec-unknown", "spec nvae-pendulm", "did you mean 'nvae-pendulum'"),
    # train
    ("train-nothing", "train", "give a spec or zoo name"),
    ("train-spec-and-resume", "train {b}/tiny.toml --resume {b}/run", "not both"),
    ("train-resume-not-a-run", "train --resume {b}/imgs", "not a run folder"),
    ("train-resume-corrupt-spec", "train --resume {b}/badrun", "is corrupt"),
    ("train-steps-zero", "train {b}/tiny.toml --steps 0 --out {w}/r", "--steps: must be at least 1"),
    ("train-epochs-zero", "train {b}/tiny.toml --epochs 0 --out {w}/r", "--epochs: must be at least 1"),
    ("train-batch-zero", "train {b}/tiny.toml --batch-size 0 --out {w}/r", "--batch-size: must be at least 1"),
    ("train-lr-negative", "train {b}/tiny.toml --lr -1 --out {w}/r", "--lr: must be a positive number"),
    ("train-lr-text", "train {b}/tiny.toml --lr fast --out {w}/r", "--lr: expected a number"),
    ("train-lr-set-zero", "train {b}/tiny.toml --set train.optimizer.lr=0 --out {w}/r", "train.optimizer.lr"),
    ("train-max-minutes-zero", "train {b}/tiny.toml --max-minutes 0 --out {w}/r", "--max-minutes"),
    ("train-stop-after-zero", "train {b}/tiny.toml --stop-after 0 --out {w}/r", "--stop-after"),
    ("train-progress-negative", "train {b}/tiny.toml --progress-every -1 --out {w}/r", "--progress-every"),
    ("train-workers-negative", "train {b}/tiny.toml --set train.num_workers=-1 --out {w}/r", "train.num_workers"),
    ("train-device-cuda", "train {b}/tiny.toml --device cuda --out {w}/r", "no CUDA device"),
    ("train-device-bogus", "train {b}/tiny.toml --device bogus --out {w}/r", "--device bogus"),
    ("train-out-is-file", "train {b}/tiny.toml --out {b}/afile", "is a file"),
    ("train-out-not-empty", "train {b}/tiny.toml --out {b}/imgs", "not empty"),
    ("train-data-procedural", "train {b}/tiny.toml --data {b}/imgs --out {w}/r", "generated, not read from a folder"),
    ("train-data-missing", "train {b}/folder.toml --data {w}/nowhere --out {w}/r", "no such folder"),
    ("train-data-empty", "train {b}/folder.toml --data {b}/empty --out {w}/r", "no images found"),
    ("train-batch-too-big", "train {b}/tiny.toml --batch-size 64 --out {w}/r", "larger than the training set"),
    ("train-val-data-missing", "train {b}/tiny.toml --val-data {w}/nowhere --out {w}/r", "generated, not read"),
    ("train-init-missing", "train {b}/tiny.toml --init {w}/nomodel --out {w}/r", "no such model folder"),
    ("train-gan-without-d", "train {b}/gan.toml --out {w}/r", "has no [discriminator]"),
    ("train-discovery-no-labels", "train causal-nvae-pendulum --set data.dataset.type=core.shapes --out {w}/r",
     "needs concept labels"),
    ("train-no-dataset", "train {b}/tiny.toml --set data.dataset.type=core.shapez --out {w}/r", "did you mean 'core.shapes'"),
    # eval
    ("eval-no-model", "eval {w}/nomodel", "no such model folder"),
    ("eval-n-zero", "eval {b}/model --n 0", "--n: must be at least 1"),
    ("eval-n-negative", "eval {b}/model --n -5", "--n: must be at least 1"),
    ("eval-batch-zero", "eval {b}/model --batch-size 0", "--batch-size: must be at least 1"),
    ("eval-unknown-preset", "eval {b}/model --masks thik", "did you mean 'thick'"),
    ("eval-masks-file", "eval {b}/model --masks {b}/afile", "expected a preset name or a folder"),
    ("eval-masks-dataset", "eval {b}/model --masks dataset", "no masks of its own"),
    ("eval-json-folder", "eval {b}/model --json {b}/imgs", "is a folder"),
    ("eval-json-below-file", "eval {b}/model --json {b}/afile/r.json", "is a file, not a folder"),
    ("eval-device-bogus", "eval {b}/model --device bogus", "--device bogus"),
    ("eval-device-cuda", "eval {b}/model --device cuda", "no CUDA device"),
    ("eval-data-procedural", "eval {b}/model --data {b}/imgs", "generated, not read from a folder"),
    ("eval-split-bogus", "eval {b}/model --split dev", "invalid choice"),
    ("eval-unknown-metric", "eval {b}/model --metrics core.psrn", "did you mean 'core.psnr'"),
    ("eval-tampered-contract", "eval {b}/tampered", "disagrees with the spec's [model] on mean"),
    ("eval-nan-weights", "eval {b}/nan", "NaN or Inf"),
    ("eval-pickle-only", "eval {b}/pickle", "pickle weights are never loaded"),
    ("eval-bad-config", "eval {b}/badjson", "not valid JSON"),
    ("eval-set-bad-key", "eval {b}/model --set data.dataset.sise=3", "did you mean 'size'"),
    ("eval-zoo-without-weights", "eval nvae-celeba64", "has no weights yet"),
    ("eval-lpips-net", "eval {b}/model --lpips-net resnet", "invalid choice"),
    # inpaint
    ("inpaint-no-model", "inpaint {w}/nomodel {b}/img.png {b}/mask.png -o {w}/o.png", "no such model folder"),
    ("inpaint-no-input", "inpaint {b}/model {w}/none.png {b}/mask.png -o {w}/o.png", "no such file or folder"),
    ("inpaint-no-mask", "inpaint {b}/model {b}/img.png {w}/none.png -o {w}/o.png", "no such file or folder"),
    ("inpaint-out-no-extension", "inpaint {b}/model {b}/img.png {b}/mask.png -o {w}/result", "expected an image file name"),
    ("inpaint-out-xyz", "inpaint {b}/model {b}/img.png {b}/mask.png -o {w}/o.xyz", "expected an image file name"),
    ("inpaint-out-below-file", "inpaint {b}/model {b}/img.png {b}/mask.png -o {b}/afile/o.png", "is a file, not a folder"),
    ("inpaint-garbage-image", "inpaint {b}/model {b}/garbage.png {b}/mask.png -o {w}/o.png", "unreadable image"),
    ("inpaint-bomb-header", "inpaint {b}/model {b}/bomb.png {b}/mask.png -o {w}/o.png", "--max-pixels"),
    ("inpaint-over-pixel-limit", "inpaint {b}/model {b}/img.png {b}/mask.png -o {w}/o.png --max-pixels 100", "more than --max-pixels 100"),
    ("inpaint-max-pixels-zero", "inpaint {b}/model {b}/img.png {b}/mask.png -o {w}/o.png --max-pixels 0", "--max-pixels"),
    ("inpaint-mask-size", "inpaint {b}/model {b}/img.png {b}/small_mask.png -o {w}/o.png", "pass --resize-mask"),
    ("inpaint-missing-mask-for-file", "inpaint {b}/model {b}/imgs/a2.png {b}/masks -o {w}/o.png", "no mask at"),
    ("inpaint-out-is-input", "inpaint {b}/model {b}/img.png {b}/mask.png -o {b}/img.png", "is one of the inputs"),
    ("inpaint-out-is-mask", "inpaint {b}/model {b}/img.png {b}/mask.png -o {b}/mask.png", "is one of the inputs"),
    ("inpaint-out-inside-input", "inpaint {b}/model {b}/imgs {b}/masks -o {b}/imgs/out", "inside the input folder"),
    ("inpaint-out-is-input-folder", "inpaint {b}/model {b}/imgs {b}/masks -o {b}/imgs", "inside the input folder"),
    ("inpaint-two-mask-sources", "inpaint {b}/model {b}/img.png {b}/mask.png -o {w}/o.png --mask-box 1,1,4,4", "exactly one of"),
    ("inpaint-no-mask-source", "inpaint {b}/model {b}/img.png -o {w}/o.png", "exactly one of"),
    ("inpaint-bad-box", "inpaint {b}/model {b}/img.png -o {w}/o.png --mask-box 1,2,3", "--mask-box 1,2,3: expected x,y,w,h"),
    ("inpaint-bad-preset", "inpaint {b}/model {b}/img.png -o {w}/o.png --mask-preset thik", "did you mean 'thick'"),
    ("inpaint-negative-margin", "inpaint {b}/model {b}/img.png {b}/mask.png -o {w}/o.png --hd-crop-margin -3", "--hd-crop-margin -3"),
    ("inpaint-bad-strategy", "inpaint {b}/model {b}/img.png {b}/mask.png -o {w}/o.png --hd-strategy tile", "--hd-strategy"),
    ("inpaint-negative-workers", "inpaint {b}/model {b}/imgs {b}/masks -o {w}/out --workers -1", "--workers -1"),
    ("intervene-out-is-input", "intervene {b}/causal {b}/img.png --set light=100 -o {b}/img.png", "is one of the inputs"),
    ("intervene-nan", "intervene {b}/causal {b}/img.png --set light=nan -o {w}/o.png", "not a finite number"),
    ("intervene-inf", "intervene {b}/causal {b}/img.png --set light=inf -o {w}/o.png", "not a finite number"),
    ("inpaint-folder-to-file", "inpaint {b}/model {b}/imgs {b}/masks -o {b}/afile", "is a file"),
    ("inpaint-empty-folder", "inpaint {b}/model {b}/empty {b}/masks -o {w}/out", "no images found"),
    ("inpaint-threshold-big", "inpaint {b}/model {b}/img.png {b}/mask.png -o {w}/o.png --threshold 5", "--threshold: must lie in [0, 1]"),
    ("inpaint-threshold-negative", "inpaint {b}/model {b}/img.png {b}/mask.png -o {w}/o.png --threshold -1", "--threshold"),
    ("inpaint-device-bogus", "inpaint {b}/model {b}/img.png {b}/mask.png -o {w}/o.png --device bogus", "--device bogus"),
    ("inpaint-device-cuda", "inpaint {b}/model {b}/img.png {b}/mask.png -o {w}/o.png --device cuda:3", "no CUDA device"),
    ("inpaint-non-binary-mask", "inpaint {b}/model {b}/img.png {b}/grey_mask.png -o {w}/o.png", "pass threshold=0.5"),
    ("inpaint-16bit-to-jpeg", "inpaint {b}/model {b}/img16.png {b}/mask.png -o {w}/o.jpg", "cannot hold the 16-bit result"),
    ("inpaint-alpha-to-jpeg", "inpaint {b}/model {b}/rgba.png {b}/mask.png -o {w}/o.jpg", "cannot hold the alpha channel"),
    ("inpaint-tampered-model", "inpaint {b}/tampered {b}/img.png {b}/mask.png -o {w}/o.png", "disagrees with the spec"),
    # intervene
    ("intervene-no-concepts", "intervene {b}/model {b}/img.png --set light=1 -o {w}/o.png", "no named concepts"),
    ("intervene-unknown-concept", "intervene {b}/causal {b}/img.png --set lihgt=100 -o {w}/o.png", "did you mean 'light'"),
    ("intervene-set-no-equals", "intervene {b}/causal {b}/img.png --set light -o {w}/o.png", "expected CONCEPT=NUMBER"),
    ("intervene-set-not-number", "intervene {b}/causal {b}/img.png --set light=bright -o {w}/o.png", "expected CONCEPT=NUMBER"),
    ("intervene-nothing", "intervene {b}/causal {b}/img.png -o {w}/o.png", "give at least one --set"),
    ("intervene-grid-and-set", "intervene {b}/causal {b}/img.png --grid --set light=100 -o {w}/o.png", "drop --set, or drop --grid"),
    ("intervene-out-folder", "intervene {b}/causal {b}/img.png --set light=100 -o {b}/imgs", "is a folder"),
    ("intervene-out-xyz", "intervene {b}/causal {b}/img.png --set light=100 -o {w}/o.xyz", "expected an image file name"),
    ("intervene-no-image", "intervene {b}/causal {w}/none.png --set light=100 -o {w}/o.png", "no such image"),
    ("intervene-mask-size", "intervene {b}/causal {b}/img.png --mask {b}/small_mask.png --set light=100 -o {w}/o.png", "--mask"),
    ("intervene-device-bogus", "intervene {b}/causal {b}/img.png --set light=100 -o {w}/o.png --device bogus", "--device bogus"),
    # masks
    ("masks-n-zero", "masks --preset thin -n 0 -o {w}/m", "-n: must be at least 1"),
    ("masks-n-negative", "masks --preset thin -n -3 -o {w}/m", "-n: must be at least 1"),
    ("masks-size-zero", "masks --preset thin --size 0 -o {w}/m", "--size: must be at least 1"),
    ("masks-size-negative", "masks --preset thin --size -16 -o {w}/m", "--size: must be at least 1"),
    ("masks-unknown-preset", "masks --preset thik -o {w}/m", "did you mean 'thick'"),
    ("masks-out-exists", "masks --preset thin -o {b}/imgs", "exists"),
    ("masks-out-below-file", "masks --preset thin -o {b}/afile/m", "is a file, not a folder"),
    ("masks-seed-text", "masks --preset thin --seed abc -o {w}/m", "expected a whole number"),
    # push (offline: nothing is sent)
    ("push-no-folder", "push {w}/nomodel org/name", "no config.json"),
    ("push-bad-repo-id", "push {b}/model orgname", "expected ORG/NAME"),
    ("push-bad-report", "push {b}/model org/name --eval {b}/report.txt", "not a readable JSON report"),
    ("push-pickle-folder", "push {b}/pickle org/name", "no model.safetensors to push"),
    # unknown command / option
    ("unknown-command", "trian x", "invalid choice"),
    ("unknown-option", "build {b}/tiny.toml --out {w}/m --bogus", "unrecognized arguments"),
]


def assert_one_error_line_and_nothing_left(case: str, args: list[str], expect: str, work: Path, capsys,
                                           unchanged: tuple[Path, ...] = ()) -> None:
    """Exit 2, one `error:` line holding `expect`, no traceback, nothing in `work`, no listing in `unchanged` changed."""
    before = {folder: listing(folder) for folder in unchanged}
    capsys.readouterr()
    try:
        code = main(args)
    except SystemExit as exc:  # argparse usage errors
        code = exc.code
    out, err = capsys.readouterr()
    lines = [l for l in err.splitlines() if l.strip()]
    assert code == 2, (case, code, err)
    assert len(lines) == 1 and lines[0].startswith("error:"), (case, err)
    assert "Traceback" not in err + out
    assert expect in lines[0], (case, lines[0])
    assert listing(work) == [], (case, listing(work))  # no half-written output, no temporary file
    for folder, names in before.items():
        assert listing(folder) == names, case


@pytest.mark.parametrize("case, argv, expect", CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_one_error_line_and_leaves_nothing(case, argv, expect, base, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    work = tmp_path / "work"
    work.mkdir()
    assert_one_error_line_and_nothing_left(case, argv.format(b=base, w=work).split(), expect, work, capsys, (base,))


def test_the_matrix_covers_every_command():
    assert len(CASES) >= 100
    assert {c[1].split()[0] for c in CASES} >= {"build", "train", "eval", "inpaint", "intervene", "masks", "push"}


def test_load_refuses_what_the_cli_refuses(base):
    from inpaintzoo import load
    from inpaintzoo.errors import LoadError

    for folder, text in (("tampered", "disagrees"), ("nan", "NaN"), ("pickle", "never loaded"), ("badjson", "JSON")):
        with pytest.raises(LoadError, match=text):
            load(base / folder)


def test_load_of_a_config_naming_local_paths_in_losses_never_opens_them(base, tmp_path, monkeypatch):
    """A config.json from anywhere may name paths in its losses: load() builds no loss, so it opens none."""
    import builtins

    d = tmp_path / "m"
    d.mkdir()
    (d / "model.safetensors").write_bytes((base / "model" / "model.safetensors").read_bytes())
    cfg = json.loads((base / "model" / "config.json").read_text())
    secret = tmp_path / "secret.safetensors"
    cfg["spec"]["losses"]["perceptual"] = {"type": "medfe.perceptual", "weights": str(secret)}
    cfg["spec"]["losses"]["cae"] = {"type": "cae.ground_truth", "texture": str(secret), "structure": str(secret)}
    (d / "config.json").write_text(json.dumps(cfg))
    opened = []
    real_open = builtins.open
    monkeypatch.setattr(builtins, "open", lambda f, *a, **k: (opened.append(str(f)), real_open(f, *a, **k))[1])
    real_exists, real_is_file = Path.exists, Path.is_file
    monkeypatch.setattr(Path, "exists", lambda self: (opened.append(str(self)), real_exists(self))[1])
    monkeypatch.setattr(Path, "is_file", lambda self: (opened.append(str(self)), real_is_file(self))[1])
    from inpaintzoo import load

    model = load(d)
    assert model.inpaint(torch.rand(3, 16, 16), torch.zeros(16, 16)).shape == (3, 16, 16)
    assert not any(str(secret) in o for o in opened)


def test_a_misspelt_hook_in_one_plugin_leaves_the_others_working(fresh_plugins, capsys):
    from inpaintzoo.hookspecs import hookimpl

    class Typo:
        @hookimpl(specname=None)
        def register_component(register):  # noqa: N805 - the misspelt hook
            pass

    host = fresh_plugins.host()
    info = host.add_plugin(Typo(), "typo")
    assert "unknown hook 'register_component'" in info.error and "did you mean 'register_components'" in info.error
    assert "nvae.encoder" in host.registry  # the others still load
    assert main(["plugins"]) == 0 and "typo" in capsys.readouterr().out
    assert main(["list"]) == 0


def test_two_processes_writing_the_same_folder_leave_only_complete_images(base, tmp_path):
    import subprocess
    import sys

    imgs, masks = tmp_path / "imgs", tmp_path / "masks"
    imgs.mkdir(), masks.mkdir()
    rng = np.random.default_rng(1)
    for i in range(12):
        _png(imgs / f"i{i}.png", (rng.random((64, 64, 3)) * 255).astype(np.uint8))
        m = np.zeros((64, 64), np.uint8)
        m[10:40, 10 + i:30 + i] = 255
        _png(masks / f"i{i}.png", m)
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "inpaintzoo.cli", "inpaint", str(base / "model"), str(imgs), str(masks), "-o", str(out)]
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err[-2000:]
    files = sorted(out.iterdir())
    assert [f.name for f in files] == sorted(f"i{i}.png" for i in range(12))  # no temporary file left
    for f in files:
        with Image.open(f) as im:
            im.load()  # complete and readable
            assert im.size == (64, 64)


def test_written_files_follow_the_umask(base, tmp_path):
    old = os.umask(0o022)
    try:
        assert main(["build", str(base / "tiny.toml"), "--out", str(tmp_path / "m")]) == 0
        assert main(["masks", "--preset", "thin", "-n", "2", "--size", "16", "-o", str(tmp_path / "k")]) == 0
        assert main(["inpaint", str(tmp_path / "m"), str(base / "img.png"), str(base / "mask.png"), "-o", str(tmp_path / "o.png")]) == 0
    finally:
        os.umask(old)
    assert oct((tmp_path / "m").stat().st_mode & 0o777) == "0o755"
    assert oct((tmp_path / "m" / "config.json").stat().st_mode & 0o777) == "0o644"
    assert oct((tmp_path / "m" / "model.safetensors").stat().st_mode & 0o777) == "0o644"
    assert oct((tmp_path / "k").stat().st_mode & 0o777) == "0o755"
    assert oct((tmp_path / "o.png").stat().st_mode & 0o777) == "0o644"
