"""One fine-tune end to end, as a user runs it: LaMa-Fourier from a checkpoint in the release's layout, with LaMa's
recipe, killed with SIGKILL mid-run and resumed, evaluated, pushed to a Hub-compatible server and loaded back.

    python benchmarks/finetune_e2e.py --lama /tmp/lama --aotgan /tmp/aotgan

The release's own code builds the checkpoint (LaMa-Fourier's FFC-ResNet generator and its N-layer discriminator,
random weights with calibrated batch norms, a `lama-fourier/` folder with `config.yaml` and `models/best.ckpt`, as in
`lama-models.zip`), and a random ADE20k encoder file stands in for the perceptual network (neither can be downloaded
here). Photos: crops of AOT-GAN's example photographs. Every step is the CLI (`fetch --source`, `train`, `eval`,
`push`) or `load()`; the Hub is tests/hub_server.py on 127.0.0.1.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))
from _common import random_square_crop, write  # noqa: E402


def crops(aotgan: Path, folder: Path, n: int, size: int, seed: int) -> None:
    """n random crops (side 0.4–1 of the shorter side, flipped at random) of the release's example photos."""
    folder.mkdir(parents=True)
    files = sorted((aotgan / "examples").glob("*/image/*"))
    rng = np.random.default_rng(seed)
    for i in range(n):
        im = Image.open(files[i % len(files)]).convert("RGB")
        random_square_crop(im, rng, 0.4, size).save(folder / f"crop{i:03d}.png")


def release_folder(lama: Path, work: Path, size: int) -> tuple[Path, Path]:
    """lama-fourier/ (config.yaml + models/best.ckpt with generator and discriminator) and an ADE20k encoder file."""
    from parity_lama import randomise
    from train_parity import LAMA_FOURIER, ade20k_file, lama_modules

    rm = lama_modules(lama)
    import models.ade20k.resnet as ade_resnet

    ade_resnet.load_url = lambda *a, **k: {}
    ade = ade20k_file(rm, work)
    from saicinpainting.training.modules.ffc import FFCResNetGenerator

    torch.manual_seed(0)
    gen = FFCResNetGenerator(**LAMA_FOURIER)
    randomise(gen, 0, torch.rand(2, 4, size, size))
    disc = rm.NLayerDiscriminator(input_nc=3, ndf=64, n_layers=4)
    state = {f"generator.{k}": v for k, v in gen.state_dict().items()}
    state.update({f"discriminator.{k}": v for k, v in disc.state_dict().items()})
    folder = work / "lama-fourier"
    (folder / "models").mkdir(parents=True)
    torch.save({"epoch": 39, "global_step": 1, "pytorch-lightning_version": "1.2.9", "state_dict": state},
               folder / "models" / "best.ckpt", pickle_protocol=2)
    (folder / "config.yaml").write_text("generator:\n  kind: ffc_resnet\n")
    return folder, ade


def cli(args: list[str], env: dict, timeout: int = 3600) -> subprocess.CompletedProcess:
    r = subprocess.run([sys.executable, "-m", "inpaintzoo.cli", *args], env=env, capture_output=True, text=True,
                       timeout=timeout)
    print("$ inpaintzoo " + " ".join(args), f"→ {r.returncode}", flush=True)
    if r.returncode != 0:
        print(r.stderr[-3000:], flush=True)
    return r


def weights(folder: Path) -> dict[str, torch.Tensor]:
    import safetensors.torch

    return safetensors.torch.load_file(str(folder / "model.safetensors"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--lama", type=Path, required=True)
    ap.add_argument("--aotgan", type=Path, required=True)
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--epochs", type=int, default=4)
    a = ap.parse_args()
    rows: list[dict] = []
    with tempfile.TemporaryDirectory() as d:
        work = Path(d)
        env = {**os.environ, "INPAINTZOO_HOME": str(work / "home"), "HF_HUB_OFFLINE": "1"}
        crops(a.aotgan, work / "photos", 16, a.size, 0)
        crops(a.aotgan, work / "held-out", 8, a.size, 1)
        release, ade = release_folder(a.lama, work, a.size)
        assert cli(["fetch", "lama-fourier", "--source", str(release)], env).returncode == 0
        converted = work / "home" / "models" / "lama-fourier"
        rows.append({"step": "fetch --source lama-fourier/ (the release's layout)",
                     "result": "discriminator kept" if (converted / "discriminator.safetensors").is_file() else "no discriminator"})
        train = ["train", "lama-fourier", "--data", str(work / "photos"), "--val-data", str(work / "held-out"),
                 "--epochs", str(a.epochs), "--batch-size", "2", "--set", f"model.image_size=[{a.size}, {a.size}]",
                 "--set", f"losses.resnet_pl.weights='{ade}'", "--set", "train.eval_batches=2", "--set", "train.num_workers=0",
                 "--set", "data.dataset.val_fraction=0.0", "--no-tensorboard", "--quiet"]
        t = time.perf_counter()
        r = cli(train + ["--out", str(work / "straight")], env)
        straight_s = time.perf_counter() - t
        assert r.returncode == 0
        rows.append({"step": f"train lama-fourier, {a.epochs} epochs of 8 steps at batch 2, {a.size}², uninterrupted",
                     "result": f"{straight_s:.0f} s", "note": r.stderr.strip().splitlines()[0][:120]})
        # the same run, killed with SIGKILL once its second epoch's checkpoint is written, then resumed
        p = subprocess.Popen([sys.executable, "-m", "inpaintzoo.cli", *train, "--out", str(work / "killed")], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        target = work / "killed" / "checkpoints" / "step-00000016"
        while p.poll() is None and not (target / "state.json").is_file():
            time.sleep(0.2)
        time.sleep(1.0)  # into the third epoch
        os.kill(p.pid, signal.SIGKILL)
        p.wait()
        assert cli(["train", "--resume", str(work / "killed"), "--quiet", "--no-tensorboard"], env).returncode == 0
        a_w, b_w = weights(work / "straight" / "final"), weights(work / "killed" / "final")
        same = a_w.keys() == b_w.keys() and all(torch.equal(a_w[k], b_w[k]) for k in a_w)
        rows.append({"step": "SIGKILL in epoch 3, then train --resume", "result": "bit-identical to the uninterrupted run"
                     if same else "DIFFERS"})
        base = weights(converted)
        learned = [k for k in base if base[k].is_floating_point() and "running_" not in k]
        moved = max(float((a_w[k] - base[k]).abs().max() / base[k].abs().max().clamp_min(1e-12)) for k in learned)
        rows.append({"step": "the fine-tune moved the released weights by (largest change / the tensor's largest value)",
                     "result": f"{moved:.3g}"})
        r = cli(["eval", str(work / "killed" / "final"), "--data", str(work / "held-out"), "--split", "all", "--n", "8",
                 "--masks", "thick", "--json", str(work / "report.json")], env)
        assert r.returncode == 0
        report = json.loads((work / "report.json").read_text())
        rows.append({"step": "eval on the held-out crops (thick masks)",
                     "result": ", ".join(f"{k} {v:.3f}" for k, v in report["metrics"].items() if k.endswith("_hole"))})
        from hub_server import HubServer

        with HubServer({"hf_e2e_token": "me"}) as hub:
            henv = {k: v for k, v in env.items() if not k.startswith("HF_")}
            henv.update(HF_ENDPOINT=hub.url, HF_HOME=str(work / "hf"), HF_HUB_DISABLE_XET="1", HF_HUB_OFFLINE="0")
            assert cli(["push", str(work / "killed" / "final"), "me/lama-fourier-photos", "--token", "hf_e2e_token",
                        "--eval", str(work / "report.json")], henv).returncode == 0
            code = ("import json, sys, torch; from inpaintzoo import load; "
                    "m = load('hf-hub:me/lama-fourier-photos'); "
                    "print(json.dumps({k: float(v.double().sum()) for k, v in m.state_dict().items()}))")
            r = subprocess.run([sys.executable, "-c", code], env={**henv, "HF_TOKEN": "hf_e2e_token"}, capture_output=True,
                               text=True, timeout=600)
            assert r.returncode == 0, r.stderr[-2000:]
            sums = json.loads(r.stdout.strip().splitlines()[-1])
            ok = all(abs(sums[k] - float(v.double().sum())) == 0 for k, v in b_w.items())
            rows.append({"step": "push to a Hub-compatible server, load('hf-hub:…') back", "result": "same weights" if ok else "DIFFERS"})
    for r in rows:
        print(r)
    write("finetune_e2e", rows, ["step", "result", "note"],
          notes="Command: python benchmarks/finetune_e2e.py --lama /tmp/lama --aotgan /tmp/aotgan (random release "
                "weights; crops of AOT-GAN's example photographs)")


if __name__ == "__main__":
    main()
