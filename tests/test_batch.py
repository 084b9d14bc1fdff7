"""Folders at scale (inpaintzoo.batch): relative layout, masks by relative path, collisions, bad files reported and
skipped, existing outputs skipped, resumable after kill -9, mask rules, torchrun shards."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from inpaintzoo import create_model
from inpaintzoo.artifact import save_model
from inpaintzoo.cli import main


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    from conftest import TINY_SPEC

    torch.manual_seed(0)
    return save_model(create_model(dict(TINY_SPEC)), tmp_path_factory.mktemp("m") / "tiny")


def _img(path: Path, size=(24, 32), seed=0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray((np.random.default_rng(seed).random((*size, 3)) * 255).astype(np.uint8)).save(path)
    return path


def _mask(path: Path, size=(24, 32), box=(4, 4, 12, 20)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    m = np.zeros(size, np.uint8)
    m[box[0]:box[2], box[1]:box[3]] = 255
    Image.fromarray(m).save(path)
    return path


def test_a_folder_run_keeps_its_layout_and_reports_what_it_could_not_do(model_dir, tmp_path, capsys):
    imgs, masks, out = tmp_path / "imgs", tmp_path / "masks", tmp_path / "out"
    _img(imgs / "x" / "p.png", seed=1)
    _img(imgs / "y" / "p.png", seed=2)  # the same stem in two folders: each gets its own mask
    _mask(masks / "x" / "p.png", box=(2, 2, 8, 8))
    _mask(masks / "y" / "p.png", box=(12, 12, 20, 28))
    _img(imgs / "a.png", seed=3)
    _img(imgs / "a.jpg", seed=4)  # would land on out/a.png too: keeps its suffix
    _mask(masks / "a.png")
    _img(imgs / "nomask.png", seed=5)
    good = _img(imgs / "trunc.png", seed=6)
    good.write_bytes(good.read_bytes()[:60])  # a header that reads, pixels that do not
    _mask(masks / "trunc.png")
    _img(imgs / "done.png", seed=7)
    _mask(masks / "done.png")
    (out).mkdir()
    (out / "done.png").write_bytes(b"finished earlier")
    code = main(["inpaint", str(model_dir), str(imgs), str(masks), "-o", str(out), "--workers", "1"])
    res = capsys.readouterr().out
    assert code == 2
    assert "done 4, skipped 1, failed 2" in res
    assert f"failed {imgs / 'nomask.png'}: no mask at" in res and f"failed {imgs / 'trunc.png'}:" in res
    assert (out / "done.png").read_bytes() == b"finished earlier"  # never redone without --overwrite
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*.png")) == ["a.jpg.png", "a.png", "done.png", "x/p.png", "y/p.png"]
    for sub, box in (("x", (2, 2, 8, 8)), ("y", (12, 12, 20, 28))):
        src = np.asarray(Image.open(imgs / sub / "p.png"))
        got = np.asarray(Image.open(out / sub / "p.png"))
        hole = np.zeros(src.shape[:2], bool)
        hole[box[0]:box[2], box[1]:box[3]] = True
        assert np.array_equal(got[~hole], src[~hole]) and not np.array_equal(got[hole], src[hole])
    assert not list(out.rglob(".*.tmp"))
    assert main(["inpaint", str(model_dir), str(imgs), str(masks), "-o", str(out), "--skip-bad"]) == 0
    assert "done 0, skipped 5, failed 2" in capsys.readouterr().out


def test_mask_rules_for_dataset_work(model_dir, tmp_path, capsys):
    for i in range(3):
        _img(tmp_path / "imgs" / f"{i}.png", seed=i)
    assert main(["inpaint", str(model_dir), str(tmp_path / "imgs"), "-o", str(tmp_path / "box"), "--mask-box", "2,3,8,5"]) == 0
    src = np.asarray(Image.open(tmp_path / "imgs" / "1.png"))
    got = np.asarray(Image.open(tmp_path / "box" / "1.png"))
    changed = (got != src).any(-1)
    assert changed[3:8, 2:10].any() and not changed[:3].any() and not changed[8:].any() and not changed[:, 10:].any()
    assert main(["inpaint", str(model_dir), str(tmp_path / "imgs"), "-o", str(tmp_path / "p1"), "--mask-preset", "thick"]) == 0
    assert main(["inpaint", str(model_dir), str(tmp_path / "imgs"), "-o", str(tmp_path / "p2"), "--mask-preset", "thick"]) == 0
    for i in range(3):  # seeded: the same masks and results again
        assert (tmp_path / "p1" / f"{i}.png").read_bytes() == (tmp_path / "p2" / f"{i}.png").read_bytes()


def test_a_killed_folder_run_resumes_with_finished_files_intact(model_dir, tmp_path):
    imgs, out = tmp_path / "imgs", tmp_path / "out"
    for i in range(60):
        _img(imgs / f"{i:03d}.png", size=(48, 48), seed=i)
    cmd = [sys.executable, "-m", "inpaintzoo.cli", "inpaint", str(model_dir), str(imgs), "-o", str(out),
           "--mask-box", "5,5,20,20", "--batch-size", "1", "--workers", "0"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 120
    while time.time() < deadline and len(list(out.glob("*.png"))) < 5:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    finished = sorted(out.glob("*.png"))
    assert 5 <= len(finished) < 60
    for f in finished:
        with Image.open(f) as im:
            im.load()  # complete
    before = {f.name: f.read_bytes() for f in finished}
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert f"done {60 - len(before)}, skipped {len(before)}, failed 0" in r.stdout
    assert all((out / n).read_bytes() == b for n, b in before.items())
    assert len(list(out.glob("*.png"))) == 60 and not list(out.glob(".*.tmp"))


def test_torchrun_shards_the_folder_and_gathers_the_summary(model_dir, tmp_path):
    imgs = tmp_path / "imgs"
    for i in range(6):
        _img(imgs / f"{i}.png", seed=i)
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_addr", "127.0.0.1",
           "--master_port", str(port), "-m",
           "inpaintzoo.cli", "inpaint", str(model_dir), str(imgs), "-o", str(tmp_path / "out"), "--mask-box", "1,1,6,6"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert r.returncode == 0, r.stderr[-3000:]
    assert "done 6, skipped 0, failed 0" in r.stdout and "2 processes" in r.stdout
    assert r.stdout.count("done 6") == 1  # rank 0 alone reports
    assert len(list((tmp_path / "out").glob("*.png"))) == 6


def test_a_worker_dies_with_its_parent_killed_by_sigkill(tmp_path):
    """DataLoader workers of folder runs and training ask the kernel to end them with their parent (prctl): a run
    killed with SIGKILL leaves no worker holding hundreds of MB."""
    import os
    import signal
    import subprocess
    import sys
    import time

    if not sys.platform.startswith("linux"):
        pytest.skip("PR_SET_PDEATHSIG is Linux's")
    code = ("import subprocess, sys, time; "
            "c = subprocess.Popen([sys.executable, '-c', 'from inpaintzoo.procs import die_with_parent; "
            "die_with_parent(); import time; time.sleep(60)']); print(c.pid, flush=True); time.sleep(60)")
    parent = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    child = int(parent.stdout.readline())
    time.sleep(1.0)  # the child has made its prctl call
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait()
    for _ in range(50):
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    os.kill(child, signal.SIGKILL)
    raise AssertionError("the child outlived its parent")
