"""`inpaintzoo export` checked: ONNX Runtime against `inpaint()` on real photos, and the speed of each.

Per model: the zoo entry built from its spec with random weights (nothing to download; scaled so outputs are not
saturated: the `saturated` column is the share of predicted hole values at 0 or 1), saved and loaded back with
`load()` as users do, exported as the network alone and as the pipeline, and run by ONNX Runtime (CPU) on three
ImageNet sample photos at three sizes (one not a multiple of the network's):

- `net_max`: max |ONNX − PyTorch| of the network graph's float output in [0, 1], at the size the network runs
  (the photo padded or resized as the contract does);
- `pipe_levels`: max grey-level difference of the pipeline file's uint8 output against `inpaint()`'s;
- `outside_identical`: pixels outside the hole are the input's bytes in the pipeline's output.

Speed (`--speed`): one 512² photo, batch 1, median of `--repeats` after a warm-up, on this CPU: `inpaint()` in
PyTorch (the layout `load()` gives) against `load("file.onnx").inpaint()` on the pipeline file, and the network
alone in each runtime; with the files' sizes. The files write Fourier layers as DFT-matrix products (the default);
for a model that has them, `onnx_net_dft_operator_s` times its network written with ONNX's DFT operator instead.

    git -C /work/.mirror/EliSchwartz+imagenet-sample-images/repo archive HEAD | (mkdir -p /tmp/in1k && tar x -C /tmp/in1k)
    python benchmarks/export_onnx.py --photos /tmp/in1k --speed
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw

sys.path.insert(0, str(Path(__file__).parent))
from _common import kept_rows, median_seconds, write  # noqa: E402

PHOTO_GRADE = ["lama-big", "lama-fourier", "migan-256-places2", "migan-512-places2", "aotgan-places2",
               "deepfillv2-places", "medfe-celeba256"]
SHIPPED = ["core-shapes-tiny", "nvae-pendulum", "causal-nvae-pendulum", "medfe-tiny", "medfe-cae-tiny"]
SIZES = [(256, 256), (512, 512), (333, 517)]
PHOTOS = ["n01440764_tench.JPEG", "n02099601_golden_retriever.JPEG", "n09472597_volcano.JPEG"]
COLUMNS = ["model", "size", "weights", "saturated", "net_max", "pipe_levels", "outside_identical", "error"]
SPEED = ["model", "params", "onnx_MB", "torch_inpaint_s", "onnx_inpaint_s", "speedup", "torch_net_s", "onnx_net_s",
         "net_speedup", "onnx_net_dft_operator_s"]


def photo(folder: Path, name: str, h: int, w: int) -> np.ndarray:
    im = Image.open(folder / name).convert("RGB")
    s = max(h / im.height, w / im.width)
    im = im.resize((max(w, round(im.width * s)), max(h, round(im.height * s))), Image.BICUBIC)
    left, top = (im.width - w) // 2, (im.height - h) // 2
    return np.asarray(im.crop((left, top, left + w, top + h)))


def hole(h: int, w: int, seed: int) -> np.ndarray:
    """A thick brush stroke and a box, as LaMa's thick masks look."""
    rng = np.random.default_rng(seed)
    m = Image.new("L", (w, h), 0)
    d = ImageDraw.Draw(m)
    pts = [(int(rng.integers(0, w)), int(rng.integers(0, h))) for _ in range(5)]
    d.line(pts, fill=255, width=max(8, min(h, w) // 12))
    x, y = int(rng.integers(0, w // 2)), int(rng.integers(0, h // 2))
    d.rectangle([x, y, x + w // 4, y + h // 5], fill=255)
    return np.asarray(m)


def model_folder(name: str, tmp: Path) -> Path:
    from inpaintzoo import create_model, load
    from inpaintzoo.artifact import save_model

    if name in SHIPPED:
        from inpaintzoo.loader import resolve_folder

        return resolve_folder(name)
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = create_model(name).eval()
    folder = save_model(model, tmp / name)
    del model, load
    return folder


def accuracy(name: str, folder: Path, photos: Path, tmp: Path) -> tuple[list[dict], dict]:
    import onnxruntime as ort

    from inpaintzoo import contract as C
    from inpaintzoo import load
    from inpaintzoo.export.graphs import NetworkGraph
    from inpaintzoo.export.onnx import export_onnx, model_metadata

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = load(str(folder))
    files = {}
    for graph in ("network", "pipeline"):
        t = time.perf_counter()
        files[graph] = export_onnx(model, tmp / f"{name}-{graph}.onnx", pipeline=graph == "pipeline",
                                   metadata=model_metadata(model, name, folder)).path
        print(f"  {name}: exported {graph} in {time.perf_counter() - t:.0f} s", flush=True)
    net_session = ort.InferenceSession(str(files["network"]))
    pipe_session = ort.InferenceSession(str(files["pipeline"]))
    reference = NetworkGraph(model).eval()
    rows = []
    for h, w in SIZES:
        worst = {"net": 0.0, "levels": 0, "outside": True, "sat": []}
        for i, p in enumerate(PHOTOS):
            img, m = photo(photos, p, h, w), hole(h, w, i)
            x = torch.from_numpy(img).permute(2, 0, 1)[None].float() / 255
            mk = torch.from_numpy(m > 0).float()[None, None]
            xn, mn, _ = C.to_network_size(x, mk, model.contract)
            with torch.inference_mode():
                want = reference(xn.contiguous(memory_format=model.memory_format()), mn)
            got = net_session.run(None, {"image": xn.numpy(), "mask": mn.numpy()})[0]
            worst["net"] = max(worst["net"], float(np.abs(got - want.numpy()).max()))
            inside = want.expand_as(xn)[mn.expand_as(xn) > 0]
            worst["sat"].append(float(((inside <= 0) | (inside >= 1)).float().mean()))
            ref = model.inpaint(img, m, hd_strategy="original")
            out = pipe_session.run(None, {"image": img, "mask": m})[0]
            worst["levels"] = max(worst["levels"], int(np.abs(out.astype(int) - ref.astype(int)).max()))
            worst["outside"] &= bool(np.array_equal(out[m == 0], img[m == 0]))
        rows.append({"model": name, "size": f"{h}×{w}", "weights": "shipped" if name in SHIPPED else "random",
                     "saturated": round(max(worst["sat"]), 3), "net_max": worst["net"],
                     "pipe_levels": worst["levels"], "outside_identical": worst["outside"]})
        print("  ", rows[-1], flush=True)
    return rows, files


def speed(name: str, folder: Path, files: dict, photos: Path, repeats: int, tmp: Path) -> dict:
    import onnx
    import onnxruntime as ort

    from inpaintzoo import contract as C
    from inpaintzoo import load
    from inpaintzoo.export.onnx import export_onnx

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = load(str(folder))
    onnx_model = load(str(files["pipeline"]))
    img, m = photo(photos, PHOTOS[0], 512, 512), hole(512, 512, 0)
    x = torch.from_numpy(img).permute(2, 0, 1)[None].float() / 255
    mk = torch.from_numpy(m > 0).float()[None, None]
    xn, mn, _ = C.to_network_size(x, mk, model.contract)
    layout = model.memory_format()
    xl, ml = xn.contiguous(memory_format=layout), mn.contiguous(memory_format=layout)
    session = ort.InferenceSession(str(files["network"]))
    feed = {"image": xn.numpy(), "mask": mn.numpy()}

    def torch_net():
        with torch.inference_mode():
            model.run(xl, ml)

    row = {"model": name, "params": sum(p.numel() for p in model.parameters()),
           "onnx_MB": round(files["pipeline"].stat().st_size / 1e6, 1),
           "torch_inpaint_s": median_seconds(lambda: model.inpaint(img, m, hd_strategy="original"), repeats),
           "onnx_inpaint_s": median_seconds(lambda: onnx_model.inpaint(img, m, hd_strategy="original"), repeats),
           "torch_net_s": median_seconds(torch_net, repeats),
           "onnx_net_s": median_seconds(lambda: session.run(None, feed), repeats)}
    row["speedup"] = round(row["torch_inpaint_s"] / row["onnx_inpaint_s"], 2)
    row["net_speedup"] = round(row["torch_net_s"] / row["onnx_net_s"], 2)
    operator = export_onnx(model, tmp / f"{name}-dft-operator.onnx", pipeline=False, dft="operator").path
    if "DFT" in {n.op_type for n in onnx.load(str(operator)).graph.node}:
        dft_session = ort.InferenceSession(str(operator))
        row["onnx_net_dft_operator_s"] = round(median_seconds(lambda: dft_session.run(None, feed), repeats), 3)
    operator.unlink()
    for k in ("torch_inpaint_s", "onnx_inpaint_s", "torch_net_s", "onnx_net_s"):
        row[k] = round(row[k], 3)
    print("  ", row, flush=True)
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--photos", type=Path, required=True, help="folder of the ImageNet sample photos")
    ap.add_argument("--only", nargs="*", help="these models only")
    ap.add_argument("--speed", action="store_true", help="also time batch 1 at 512²")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--name", default="export_onnx")
    a = ap.parse_args()
    import onnxruntime

    rows, speed_rows = [], []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        for name in a.only or PHOTO_GRADE + SHIPPED:
            folder = model_folder(name, tmp)
            try:
                got, files = accuracy(name, folder, a.photos, tmp)
            except Exception as exc:  # a model that does not export is a row that says so, not a lost run
                rows.append({"model": name, "size": "—", "weights": "", "net_max": None, "pipe_levels": None,
                             "outside_identical": None, "saturated": None, "error": str(exc).splitlines()[0][:200]})
                print("  ", rows[-1], flush=True)
                continue
            rows += got
            if a.speed and name in PHOTO_GRADE:
                speed_rows.append(speed(name, folder, files, a.photos, a.repeats, tmp))
            for f in files.values():
                f.unlink()
    if a.only:  # a partial run replaces its models' rows and keeps the others
        rows = kept_rows(a.name, rows, lambda r: r["model"])
        if speed_rows:
            speed_rows = kept_rows(a.name + "_speed", speed_rows, lambda r: r["model"])
    notes = (f"ONNX Runtime {onnxruntime.__version__} (CPUExecutionProvider, default threads), opset 18, float32, "
             f"Fourier layers as DFT-matrix products (--dft matmul, the default). "
             f"Photos: {', '.join(PHOTOS)} (EliSchwartz/imagenet-sample-images), centre-cropped; holes: a thick "
             f"stroke and a box. Command: python benchmarks/export_onnx.py --photos /tmp/in1k"
             + (" --speed" if a.speed else ""))
    write(a.name, rows, COLUMNS, notes, extra={"speed": speed_rows} if speed_rows else None)
    if speed_rows:
        write(a.name + "_speed", speed_rows, SPEED, notes)


if __name__ == "__main__":
    main()
