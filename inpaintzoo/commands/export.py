"""`inpaintzoo export`: a model as an ONNX file, the network alone or the whole pipeline, checked by ONNX Runtime.

    inpaintzoo export lama-big -o lama.onnx                 # float image + mask in, prediction out (any size)
    inpaintzoo export migan-512-places2 -o migan.onnx --pipeline   # uint8 image + mask in, uint8 result out
    inpaintzoo inpaint lama.onnx photo.jpg --mask m.png -o out.jpg # run it back through ONNX Runtime
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

from . import positive_int


def _add(sub: argparse._SubParsersAction) -> None:
    from ..export import DEFAULT_OPSET, DTYPE_NAMES

    p = sub.add_parser("export", help="write a model as an ONNX file (the network, or with --pipeline the whole "
                                      "usage contract), checked against PyTorch with ONNX Runtime")
    p.add_argument("model", help="model folder, local-dir:PATH, hf-hub:ORG/NAME[@REV] or zoo name with weights")
    p.add_argument("-o", "--out", required=True, help="the .onnx file to write")
    p.add_argument("--pipeline", action="store_true",
                   help="the whole contract inside: uint8 H×W×C image and H×W mask (non-zero = hole) in, uint8 "
                        "H×W×C out (normalisation, hole fill, padding or resizing, compositing); default: the "
                        "network alone, float N×C×H×W in [0, 1] and N×1×H×W mask in, prediction in [0, 1] out")
    p.add_argument("--opset", type=positive_int, default=DEFAULT_OPSET, help=f"ONNX opset (default {DEFAULT_OPSET})")
    p.add_argument("--dtype", choices=DTYPE_NAMES, default="float32",
                   help="weights and computation (float16 for GPU runtimes; inputs and outputs stay as above)")
    p.add_argument("--size", type=positive_int, help="the side of the example input traced (default: the trained "
                                                     "size); the file takes any size the network does")
    p.add_argument("--dft", choices=("matmul", "operator"), default="matmul",
                   help="Fourier layers (LaMa's FFC) as DFT-matrix products (default: faster in ONNX Runtime on CPU) "
                        "or as ONNX's DFT operator")
    p.add_argument("--no-check", action="store_true", help="skip the ONNX Runtime check against PyTorch")
    p.add_argument("--overwrite", action="store_true", help="replace -o if it exists")


def cmd_export(a: argparse.Namespace) -> int:
    from ..errors import InputError
    from ..export.onnx import check_opset

    out = Path(a.out)
    if out.suffix.lower() != ".onnx":
        raise InputError(f"-o {out}: give a file name ending in .onnx")
    if out.is_dir():
        raise InputError(f"-o {out}: is a folder; give a .onnx file name")
    if out.exists() and not a.overwrite:
        raise InputError(f"-o {out}: exists; choose another name or pass --overwrite")
    from ..images import check_parent

    check_parent(out)  # a parent that is a file or not writable: said before a model is loaded
    check_opset(a.opset)  # said before a model is loaded
    _need_onnx()
    from ..fetch import precheck

    precheck(a.model)
    from ..export.onnx import export_onnx, model_metadata
    from ..loader import load_dir, resolve_folder

    if str(a.model).lower().endswith(".onnx"):
        raise InputError(f"{a.model}: is an ONNX file already; give a model folder or zoo name")
    folder = resolve_folder(a.model)
    model = load_dir(folder, "cpu")
    started = time.perf_counter()
    done = export_onnx(model, out, pipeline=a.pipeline, opset=a.opset, dtype=a.dtype, size=a.size,
                       metadata={**model_metadata(model, str(a.model), folder), "dtype": a.dtype},
                       overwrite=a.overwrite, dft=a.dft)
    line = (f"wrote {out} ({done.bytes / 1e6:.1f} MB, {done.graph}, opset {done.opset}, {a.dtype}, "
            f"{time.perf_counter() - started:.0f} s)")
    if not a.no_check:
        line += "; " + _check(model, out, done.graph, done.example, a.dtype)
    print(line)
    return 0


def _need_onnx() -> None:
    from ..errors import InputError

    missing = []
    for module in ("onnx", "onnxscript", "onnxruntime"):
        try:
            __import__(module)
        except ImportError:
            missing.append(module)
    if missing:
        raise InputError(f"export needs {', '.join(missing)}; pip install 'inpaintzoo[onnx]'")


def _check(model, out: Path, graph: str, example: tuple, dtype: str) -> str:
    """The written file run by ONNX Runtime on a fixed input beside PyTorch: the largest difference, said."""
    import numpy as np
    import torch

    from ..errors import InputError
    from ..export.onnx import check_inputs
    from ..export.runtime import load_onnx

    onnx_model = load_onnx(out)
    image, mask = check_inputs(model.contract, graph, example)
    with torch.inference_mode():
        ref = model.inpaint(image, mask, hd_strategy="original")
        got = onnx_model.inpaint(image, mask, hd_strategy="original")
    diff = int(np.abs(ref.astype(np.int16) - got.astype(np.int16)).max())
    limit = 1 if dtype == "float32" else 8
    if diff > limit:
        out.unlink()
        raise InputError(f"-o {out}: ONNX Runtime's result differs from PyTorch's by {diff} grey levels (more than "
                         f"{limit}); the file was removed. Report it with the model's name")
    return f"ONNX Runtime beside PyTorch: max {diff} grey level{'s' if diff != 1 else ''}"


COMMANDS = {"export": (_add, cmd_export)}
