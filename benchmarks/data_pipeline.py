"""Does the data pipeline keep a model fed? Loader throughput and the data share of a training step, by workers.

Makes a folder of JPEGs (512×384, smooth random content, seeded), reads it as the training loop does
(`core.image_folder` at 256², LaMa's random_thick_256 masks drawn per sample, `TrainItems` + `EpochBatches` +
the loop's DataLoader), and reports for each worker count:
- loader_img_s: images per second from the loader alone (decode, resize, mask);
- step_img_s and data_share: a compute-bound 256² training step (the cae-texture-celeba256 generator, forward,
  backward and Adam) fed by that loader, and the fraction of the step spent waiting for the batch.

    python benchmarks/data_pipeline.py --images 256 --batch 8 --steps 12
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
from _common import write  # noqa: E402


def make_jpegs(folder: Path, n: int) -> None:
    from PIL import Image

    rng = np.random.default_rng(0)
    for i in range(n):
        small = rng.random((12, 16, 3))
        img = Image.fromarray((small * 255).astype(np.uint8)).resize((512, 384), Image.BICUBIC)
        noisy = np.asarray(img, dtype=np.float32) + rng.normal(0, 8, (384, 512, 3))
        Image.fromarray(noisy.clip(0, 255).astype(np.uint8)).save(folder / f"{i:05d}.jpg", quality=90)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", type=int, default=256)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--steps", type=int, default=12, help="timed training steps per worker count (after 2 warm-up)")
    ap.add_argument("--workers", type=int, nargs="*", default=[0, 1, 2])
    a = ap.parse_args()
    from inpaintzoo import create_model, plugins
    from inpaintzoo.commands.masks import mask_generator
    from inpaintzoo.contract import normalize
    from inpaintzoo.train.data import EpochBatches, TrainItems, make_loader

    reg = plugins.registry()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        make_jpegs(Path(tmp), a.images)
        ds = reg.get("core.image_folder", "dataset").build({"root": tmp, "image_size": [256, 256], "val_fraction": 0.0})
        items = TrainItems(ds, mask_generator("random_thick_256"), seed=0)
        model = create_model("cae-texture-celeba256").train()
        opt = torch.optim.Adam(model.parameters(), 1e-4)
        for workers in a.workers:
            sampler = EpochBatches(len(ds), a.batch, seed=0)
            loader = make_loader(items, sampler, workers, prefetch_factor=2, pin_memory=False, seed=0)
            sampler.set_epoch(0)
            t0, n = time.perf_counter(), 0
            for batch in loader:
                n += len(batch["image"])
            loader_img_s = n / (time.perf_counter() - t0)
            sampler.set_epoch(1)
            wait = step = 0.0
            it = iter(loader)
            for k in range(a.steps + 2):
                t0 = time.perf_counter()
                batch = next(it)
                t1 = time.perf_counter()
                _, pred, _, _ = model.run(batch["image"], batch["mask"])
                loss = (pred - normalize(batch["image"], model.contract)).abs().mean()
                opt.zero_grad()
                loss.backward()
                opt.step()
                if k >= 2:
                    wait, step = wait + t1 - t0, step + time.perf_counter() - t1
            rows.append({"workers": workers, "loader_img_s": loader_img_s, "step_img_s": a.steps * a.batch / (wait + step),
                         "data_share": wait / (wait + step)})
            print(rows[-1], flush=True)
            del it, loader
    path = write("data_pipeline", rows, ["workers", "loader_img_s", "step_img_s", "data_share"],
                 notes=f"Command: `python benchmarks/data_pipeline.py --images {a.images} --batch {a.batch} --steps {a.steps}`. "
                       "JPEG 512×384 → 256², random_thick_256 masks per sample; the step is cae-texture-celeba256's "
                       "generator (L1, Adam). On this 2-core CPU the workers share the cores with the step.")
    print(path.read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
