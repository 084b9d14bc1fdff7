"""Trained models against classical inpainting on the same held-out images and fixed mask sets.

Baselines: OpenCV Telea and Navier-Stokes (`opencv-python-headless`) and scikit-image's biharmonic
(when installed). Reports masked L1/PSNR/SSIM and seconds per image.

    python benchmarks/baselines.py --model runs/cnp/final --presets boxes thick --n 64
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
from _common import write  # noqa: E402


def classical(name: str):
    if name in ("telea", "ns"):
        import cv2

        flag = cv2.INPAINT_TELEA if name == "telea" else cv2.INPAINT_NS

        def run(img8: np.ndarray, mask8: np.ndarray) -> np.ndarray:
            return cv2.inpaint(img8, mask8, 3, flag)

        return run
    if name == "biharmonic":
        from skimage.restoration import inpaint_biharmonic

        def run(img8: np.ndarray, mask8: np.ndarray) -> np.ndarray:
            if mask8.all():  # nothing known (a thick mask on a tiny image): biharmonic is undefined; mid-grey
                return np.full_like(img8, 128)
            out = inpaint_biharmonic(img8 / 255.0, mask8 > 0, channel_axis=-1)
            return (out * 255).round().astype(np.uint8)

        return run
    raise ValueError(name)


def available() -> list[str]:
    out = []
    try:
        import cv2  # noqa: F401

        out += ["telea", "ns"]
    except ImportError:
        pass
    try:
        import skimage.restoration  # noqa: F401

        out.append("biharmonic")
    except ImportError:
        pass
    return out


def _training(model_dir: Path) -> str:
    """'N epochs, M steps, T min' from the run's metrics.jsonl next to final/, when there is one."""
    log = (model_dir.parent if model_dir.name == "final" else model_dir) / "metrics.jsonl"
    if not log.is_file():
        return "training log not found"
    last = json.loads(log.read_text().splitlines()[-1])
    return f"{last['epoch']} epochs, {last['step']} steps, {last.get('elapsed_s', 0) / 60:.1f} min"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", action="append", required=True, help="trained model folder(s); images come from the first one's data")
    ap.add_argument("--presets", nargs="+", default=["boxes", "thick"])
    ap.add_argument("--n", type=int, default=64)
    ap.add_argument("--name", default="baselines", help="results file name")
    a = ap.parse_args()
    from inpaintzoo import plugins
    from inpaintzoo.commands.masks import mask_generator
    from inpaintzoo.loader import load
    from inpaintzoo.evaluation import build_metrics
    from inpaintzoo.spec import validate
    from inpaintzoo.train.data import build_dataset

    models = {Path(m).parent.name if Path(m).name == "final" else Path(m).name: load(m) for m in a.model}
    first = next(iter(models.values()))
    # a published folder holds the generator only: its data section comes from config.json's full spec
    data_spec = validate(first.config.get("spec", first.spec.to_dict()), plugins.registry(), a.model[0], scope="data")
    ds = build_dataset(data_spec, plugins.registry(), "test")
    n = min(a.n, len(ds))
    h, w = first.contract.image_size
    images = torch.stack([ds[i]["image"][:3] for i in range(n)])
    rows = []
    for preset in a.presets:
        masks = mask_generator(preset)(n, h, w, torch.Generator().manual_seed(0))
        methods = {**{name: ("model", m) for name, m in models.items()}, **{b: ("classical", classical(b)) for b in available()}}
        for name, (kind, method) in methods.items():
            t = time.perf_counter()
            if kind == "model":
                if method.contract.channels != 3 or tuple(method.contract.image_size) != (h, w):
                    continue
                out = method.inpaint(images, masks)
            else:
                outs = []
                for img, m in zip(images, masks):
                    i8 = (img.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
                    m8 = (m[0].numpy() * 255).astype(np.uint8)
                    outs.append(torch.from_numpy(method(i8, m8)).permute(2, 0, 1).float() / 255)
                out = torch.where(masks.bool(), torch.stack(outs), images)
            sec = (time.perf_counter() - t) / n
            per = {k: v for m in build_metrics().values() for k, v in m.update(out, images, masks).items()}
            met = {k: float(v[torch.isfinite(v)].mean()) for k, v in per.items()}
            rows.append({"method": name, "masks": preset, "images": n, "l1_hole": met["l1_hole"], "psnr_hole": met["psnr_hole"],
                         "ssim_hole": met["ssim_hole"], "sec_per_image": sec})
            print(rows[-1], flush=True)
    trained = {name: _training(Path(m)) for name, m in zip(models, a.model)}
    path = write(a.name, rows, ["method", "masks", "images", "l1_hole", "psnr_hole", "ssim_hole", "sec_per_image"],
                 notes=f"Held-out images of {data_spec.data['dataset'].type} at {h}×{w}; fixed masks (seed 0); composited. "
                       "Models as trained: " + "; ".join(f"{k}: {v}" for k, v in trained.items()) + ".",
                 extra={"command": " ".join(sys.argv)})
    print(path.read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
