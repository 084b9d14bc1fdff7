"""Photos as people have them: big-lama (random weights) on photo-sized inputs under each HD strategy; a folder of
mixed-size photos; LaMa's own predict.py pipeline beside ours; bfloat16 against float32.

Every (size, strategy) runs in its own subprocess, so its peak memory (ru_maxrss) is its own; one 256² call warms
it up first (oneDNN's first-call set-up is not the strategy's cost). `original` is skipped above `--original-max`
pixels (default: 4000×3000, which needs 10.4 GB on this 24 GB machine); the crop-against-original ratio is taken at
the largest size both run.

    python benchmarks/hd_photos.py --lama /tmp/lama            # predict.py side by side needs the checkout
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import kept_rows, write  # noqa: E402

WORKER = r'''
import json, resource, sys, time, warnings
warnings.filterwarnings("ignore")
import numpy as np, torch
from inpaintzoo import create_model
h, w, holes, strategy = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
torch.manual_seed(0)
model = create_model("lama-big").eval().to(memory_format=torch.channels_last)
rng = np.random.default_rng(0)
img = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)  # no float64 temporary in the process's peak
mask = np.zeros((h, w), np.uint8)
centres = [(h // 2, w // 2)] if holes == 1 else [(int(rng.integers(200, h - 200)), int(rng.integers(200, w - 200))) for _ in range(holes)]
side = 300 if holes == 1 else 120
for cy, cx in centres:
    mask[max(0, cy - side // 2): cy + side // 2, max(0, cx - side // 2): cx + side // 2] = 255
small = np.zeros((256, 256), np.uint8)
small[96:160, 96:160] = 255
model.inpaint(img[:256, :256], small, hd_strategy="original")  # warm-up: the first call's one-off set-up is not timed
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t = time.perf_counter()
out = model.inpaint(img, mask, hd_strategy=strategy, hd_resize_limit=1280, hd_crop_margin=128)
sec = time.perf_counter() - t
assert np.array_equal(out[mask == 0], img[mask == 0])
print(json.dumps({"seconds": sec, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "before_mb": base / 1024}))
'''


def measure(h: int, w: int, holes: int, strategy: str) -> dict:
    r = subprocess.run([sys.executable, "-c", WORKER, str(h), str(w), str(holes), strategy], capture_output=True,
                       text=True, timeout=3600)
    if r.returncode != 0:
        return {"error": r.stderr.strip().splitlines()[-1] if r.stderr.strip() else f"exit {r.returncode}"}
    return json.loads(r.stdout.strip().splitlines()[-1])


def strategies(original_max: int, inputs: list[str] | None = None) -> list[dict]:
    rows = []
    cases = [(512, 512, 1), (1024, 1024, 1), (2048, 2048, 1), (3000, 4000, 1), (3000, 4000, 5)]
    for h, w, holes in cases:
        if inputs and f"{w}x{h}" not in inputs:
            continue
        for strategy in ("original", "resize", "crop"):
            if strategy == "original" and h * w > original_max:
                rows.append({"input": f"{w}×{h}", "holes": holes, "strategy": strategy,
                             "note": f"not run: above --original-max {original_max:,} pixels (raise it to run this one)"})
                continue
            res = measure(h, w, holes, strategy)
            rows.append({"input": f"{w}×{h}", "holes": holes, "strategy": strategy, **res})
            print(rows[-1], flush=True)
    return rows


def folder(n: int, model_name: str) -> dict:
    """n JPEG photos of mixed sizes with one hole each, through the CLI's folder path; data share from its timers."""
    import numpy as np
    from PIL import Image

    from inpaintzoo import batch, create_model

    tmp = Path(tempfile.mkdtemp())
    (tmp / "in").mkdir()
    rng = np.random.default_rng(0)
    sizes = [(480, 640), (600, 800), (512, 512), (768, 1024)]
    for i in range(n):
        h, w = sizes[i % len(sizes)]
        Image.fromarray((rng.random((h, w, 3)) * 255).astype(np.uint8)).save(tmp / "in" / f"{i:04d}.jpg", quality=90)
    model = create_model(model_name).eval().to(memory_format=__import__("torch").channels_last)
    work = batch.plan(tmp / "in", None, tmp / "out", max_pixels=50_000_000)
    stats: dict = {}
    t = time.perf_counter()
    done, _, failed = batch.run(model, work.jobs, batch_size=4, workers=1, max_pixels=50_000_000,
                                rule=batch.BoxRule("100,100,96,96"), stats=stats)
    wall = time.perf_counter() - t
    return {"input": f"{n} JPEG photos, 640×480 to 1024×768", "holes": 1, "strategy": f"folder, {model_name}",
            "seconds": wall, "images_per_s": done / wall, "data_share": stats["data_wait"] / wall, "failed": len(failed)}


def predict_py_side_by_side(checkout: Path) -> list[dict]:
    """LaMa's predict.py steps (its pad, forward, crop, clip, uint8; one thread, as predict.py sets OMP_NUM_THREADS=1)
    beside `inpaint()` (this machine's threads, channels_last), on the same big-lama weights: time and output."""
    import numpy as np
    import torch

    import parity_lama
    from inpaintzoo import load
    from inpaintzoo.cli import main as cli

    G, D, pad = parity_lama.release_modules(checkout)
    gen = G(**parity_lama.BIG_LAMA).eval()
    parity_lama.randomise(gen, 0, torch.rand(2, 4, 128, 128))
    module = parity_lama.TrainingModuleForward(gen).eval()
    tmp = Path(tempfile.mkdtemp())
    zip_path = parity_lama.save_lightning_zip(tmp / "big-lama.zip", gen, D(input_nc=3, ndf=64, n_layers=4))
    assert cli(["convert", "lama.big_lama", str(zip_path), "--out", str(tmp / "ours")]) == 0
    ours = load(tmp / "ours")
    threads = torch.get_num_threads()
    rows = []
    rng = np.random.default_rng(0)
    for size in (512, 1024):
        img = (rng.random((size, size, 3)) * 255).astype(np.uint8)
        mask = np.zeros((size, size), np.uint8)
        mask[size // 4: size // 2, size // 3: 2 * size // 3] = 255
        torch.set_num_threads(1)
        t = time.perf_counter()
        _, rel = parity_lama.release_predict(module, pad, img, mask)
        rel_s = time.perf_counter() - t
        torch.set_num_threads(threads)
        t = time.perf_counter()
        _, rel_same = parity_lama.release_predict(module, pad, img, mask)
        rel_same_s = time.perf_counter() - t
        t = time.perf_counter()
        res = ours.inpaint(img, mask, hd_strategy="original")  # the whole picture, as predict.py: equal output
        ours_s = time.perf_counter() - t
        h = mask > 0
        rows.append({"input": f"{size}²", "holes": 1, "strategy": "LaMa predict.py vs inpaint()",
                     "release_s_1_thread": rel_s, f"release_s_{threads}_threads": rel_same_s, "seconds": ours_s,
                     "speedup_vs_predict_py": rel_s / ours_s, "speedup_same_threads": rel_same_s / ours_s,
                     "max_levels_apart": int(np.abs(res.astype(int) - rel.astype(int))[h].max())})
        print(rows[-1], flush=True)
    return rows


def bf16(model_names: list[str]) -> list[dict]:
    import numpy as np
    import torch

    from inpaintzoo import create_model

    rows = []
    rng = np.random.default_rng(0)
    img = rng.random((512, 512, 3)).astype(np.float32)
    mask = np.zeros((512, 512), np.float32)
    mask[128:320, 160:352] = 1
    for name in model_names:
        torch.manual_seed(0)
        model = create_model(name).eval().to(memory_format=torch.channels_last)
        times = {}
        outs = {}
        for dtype in ("float32", "bfloat16"):
            model.inpaint(img, mask, dtype=dtype, hd_strategy="original")
            t = time.perf_counter()
            outs[dtype] = model.inpaint(img, mask, dtype=dtype, hd_strategy="original")
            times[dtype] = time.perf_counter() - t
        rows.append({"input": "512²", "holes": 1, "strategy": f"bf16 autocast, {name}", "seconds": times["bfloat16"],
                     "fp32_seconds": times["float32"], "bf16_speedup": times["float32"] / times["bfloat16"],
                     "bf16_max_abs_diff": float(np.abs(outs["float32"] - outs["bfloat16"]).max())})
        print(rows[-1], flush=True)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lama", type=Path, help="checkout of advimman/lama (predict.py side by side)")
    ap.add_argument("--original-max", type=int, default=4000 * 3000)
    ap.add_argument("--inputs", nargs="*", help="only these photo sizes, as WxH (e.g. 4000x3000)")
    ap.add_argument("--folder", type=int, default=256, help="photos in the folder run (0: skip)")
    ap.add_argument("--folder-model", default="migan-512-places2")
    ap.add_argument("--name", default="hd_photos")
    ap.add_argument("--only", nargs="*", default=["strategies", "folder", "predict", "bf16"])
    a = ap.parse_args()
    rows = []
    if "strategies" in a.only:
        rows += strategies(a.original_max, a.inputs)
    if "folder" in a.only and a.folder:
        rows.append(folder(a.folder, a.folder_model))
        print(rows[-1], flush=True)
    if "predict" in a.only and a.lama:
        rows += predict_py_side_by_side(a.lama)
    if "bf16" in a.only:
        rows += bf16(["lama-big", "migan-512-places2", "aotgan-places2"])
    if a.inputs or set(a.only) != {"strategies", "folder", "predict", "bf16"}:  # a part re-measured, the rest kept
        rows = kept_rows(a.name, rows, key=lambda r: (r["input"], r["holes"], r["strategy"]))
    cols = ["input", "holes", "strategy", "seconds", "peak_mb", "note", "images_per_s", "data_share",
            "speedup_vs_predict_py", "speedup_same_threads", "max_levels_apart", "fp32_seconds", "bf16_speedup",
            "bf16_max_abs_diff"]
    write(a.name, rows, cols, "Random big-lama weights (the cost does not depend on them); peak_mb: the process's "
          "peak resident memory (the model's 0.2 GB included). Command: python benchmarks/hd_photos.py"
          + (" --lama PATH" if a.lama else ""))


if __name__ == "__main__":
    main()
