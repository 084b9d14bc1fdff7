"""Writing a loaded model as an ONNX file, with its name, revision and contract in the file's metadata.

torch's own exporter (`torch.onnx.export(dynamo=True)`: torch.export, then onnxscript's translation) is used, not
code of ours; LaMa's Fourier units become DFT-matrix products (`inpaintzoo.fourier`; ONNX Runtime's `DFT` operator
is ~20× slower than PyTorch's FFT on CPU) or, with `dft="operator"`, the ONNX `DFT` operator (opset 17+). The
file is written beside its destination and renamed into place, so a failed export leaves nothing behind.
"""
from __future__ import annotations

import contextlib
import copy
import hashlib
import io
import json
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ..errors import InputError
from ..fourier import DFT_MODES, exporting_dft
from .graphs import NetworkGraph, PipelineGraph
from .norms import two_stage_norms

from . import DEFAULT_OPSET, MIN_OPSET

DTYPES = {"float32": torch.float32, "float16": torch.float16}
META = "inpaintzoo."


@dataclass
class Exported:
    path: Path
    bytes: int
    graph: str
    opset: int
    example: tuple[int, ...]


def check_opset(opset: int) -> None:
    newest = torch.onnx._constants.ONNX_MAX_OPSET
    if opset < MIN_OPSET:
        raise InputError(f"--opset {opset}: too old; torch's ONNX exporter writes opset {MIN_OPSET}…{newest} "
                         f"(LaMa's Fourier units need DFT, opset 17+); give --opset {MIN_OPSET} or newer")
    if opset > newest:
        raise InputError(f"--opset {opset}: newer than this torch's exporter knows ({newest}); give {newest} or older")


def example_size(model: Any, size: int | None) -> tuple[int, int]:
    """The size the example input has: `size`, else the trained size (a fixed-size network's only one)."""
    c = model.contract
    if size is None:
        return tuple(c.image_size)
    if c.resize == "fixed":
        if size != c.image_size[0] or size != c.image_size[1]:
            raise InputError(f"--size {size}: this model runs at {c.image_size[0]}×{c.image_size[1]} only (its "
                             f"contract resizes every image to that); drop --size")
        return tuple(c.image_size)
    if size < c.min_size:
        raise InputError(f"--size {size}: below the model's minimum side {c.min_size}; give {c.min_size} or more")
    return size, size


def export_onnx(model: Any, out: Path, *, pipeline: bool, opset: int = DEFAULT_OPSET, dtype: str = "float32",
                size: int | None = None, metadata: dict[str, str] | None = None, overwrite: bool = True,
                dft: str = "matmul") -> Exported:
    """Write `model` (an InpaintModel) to `out` as the network alone or, with `pipeline`, the whole contract;
    without `overwrite`, a file at `out` is never replaced. `dft`: Fourier layers as DFT-matrix products
    ("matmul") or ONNX's DFT operator ("operator"); see `inpaintzoo.fourier`."""
    check_opset(opset)
    if getattr(model, "samples", False):
        from ..catalog import draws_noise

        parts = {p: getattr(model, p) for p in ("encoder", "prior", "decoder")}
        drawing = [p for p, c in parts.items() if draws_noise(type(c).samples, c.cfg)]
        which = [f"{p} '{getattr(model.spec, p).type}'" for p in drawing]
        if all(isinstance(type(parts[p]).samples, str) for p in drawing):  # each switched on by a setting
            how = "export it configured not to sample (" + ", ".join(
                f"[{p}] {type(parts[p]).samples} = false" for p in drawing) + ")"
        else:
            how = "it samples by design, so it cannot be exported"
        raise InputError(f"{model.spec.model.name}: draws noise at inference ({', '.join(which)}), and an ONNX file's "
                         f"noise cannot be seeded per call (inpaint(seed=) could not hold); {how}")
    if dtype not in DTYPES:
        raise InputError(f"--dtype {dtype}: expected one of {', '.join(DTYPES)}")
    if dft not in DFT_MODES:
        raise InputError(f"--dft {dft}: expected one of {', '.join(DFT_MODES)}")
    h, w = example_size(model, size)
    c = model.contract
    # a copy: the caller's model keeps its dtype and layout
    model = copy.deepcopy(model).eval().to(memory_format=torch.contiguous_format, dtype=DTYPES[dtype])
    two_stage_norms(model)  # ONNX Runtime's one-pass normalisation drifts on large maps (export/norms.py)
    if pipeline:
        graph: torch.nn.Module = PipelineGraph(model, DTYPES[dtype])
        if c.resize == "fixed":  # an example at the network's own size lets the exporter tie the output to it
            h, w = h + 5, w + 3
        g = torch.Generator().manual_seed(0)
        example = (torch.randint(0, 256, (h, w, c.channels), dtype=torch.uint8, generator=g),
                   _box_mask(h, w).to(torch.uint8) * 255)
        side_h, side_w = torch.export.Dim("height", min=1), torch.export.Dim("width", min=1)
        dynamic = {"image": {0: side_h, 1: side_w}, "mask": {0: side_h, 1: side_w}}
        names = (["image", "mask"], ["result"])
    else:
        graph = NetworkGraph(model, DTYPES[dtype])
        hp, wp = (h, w) if c.resize == "fixed" else tuple(-(-max(s, c.min_size) // c.size_multiple) * c.size_multiple
                                                           for s in (h, w))
        g = torch.Generator().manual_seed(0)
        # batch 2: torch.export specialises a dimension its example gives as 1
        example = (torch.rand(2, c.channels, hp, wp, generator=g), _box_mask(hp, wp)[None, None].expand(2, 1, -1, -1))
        batch = torch.export.Dim("batch", min=1)
        spatial = {} if c.resize == "fixed" else {2: torch.export.Dim.AUTO, 3: torch.export.Dim.AUTO}
        dynamic = {"image": {0: batch, **spatial}, "mask": {0: batch, **spatial}}
        names = (["image", "mask"], ["prediction"])
    metadata = {**model_metadata(model, model.spec.model.name, None), "dtype": dtype, "dft": dft,
                **(metadata or {})}
    name = metadata["name"]
    try:
        program = _export(graph.eval(), example, dynamic, opset, names, name, dft)
    except InputError:
        if pipeline:
            raise
        # a network whose batch cannot be symbolic (DeepFill's contextual attention convolves each image with its own
        # patches as one grouped convolution, and ONNX's `group` is a constant): batch 1, run image by image
        dynamic = {k: {d: v for d, v in dims.items() if d != 0} for k, dims in dynamic.items()}
        example = tuple(t[:1] for t in example)
        program = _export(graph.eval(), example, dynamic, opset, names, name, dft)
    return _write(program, out, metadata, "pipeline" if pipeline else "network", opset, tuple(example[0].shape),
                  overwrite)


def check_inputs(c: Any, graph: str, example: tuple) -> tuple[Any, Any]:
    """A fixed photo-like uint8 image and box mask to check a written file with: 5 rows and 3 columns more than the
    traced example (so the file's padding or resizing is exercised at a size it was not traced at)."""
    import numpy as np

    h, w = (example[0], example[1]) if graph == "pipeline" else (example[2], example[3])
    h, w = h + 5, w + 3
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:h, 0:w]
    smooth = np.stack([(xx * 255 // max(w - 1, 1)), (yy * 255 // max(h - 1, 1)), ((xx + yy) * 127 // max(h + w - 2, 1))], -1)
    image = np.clip(smooth + rng.integers(-20, 21, smooth.shape), 0, 255).astype(np.uint8)[..., :c.channels]
    if c.channels == 4:
        image = np.concatenate([image, np.full((h, w, 1), 255, np.uint8)], -1)
    if c.channels == 1:
        image = image[..., :1]
    mask = (_box_mask(h, w).numpy() * 255).astype(np.uint8)
    return image, mask


def _box_mask(h: int, w: int) -> torch.Tensor:
    m = torch.zeros(h, w)
    m[h // 4: 3 * h // 4, w // 4: 3 * w // 4] = 1
    return m


def _export(graph: torch.nn.Module, example: tuple, dynamic: dict, opset: int, names: tuple, name: str,
            dft: str = "matmul") -> Any:
    """torch.onnx.export (Fourier layers written as `dft` says), its progress lines kept off the user's terminal; a
    failure is one line naming the operator the exporter could not translate."""
    chatter = io.StringIO()
    try:
        with torch.no_grad(), contextlib.redirect_stdout(chatter), warnings_off(), exporting_dft(dft):
            return torch.onnx.export(graph, example, dynamo=True, opset_version=opset, input_names=names[0],
                                     output_names=names[1], dynamic_shapes=dynamic, verbose=False,
                                     external_data=False, optimize=True)
    except Exception as exc:  # the exporter's errors are many types; each becomes one line
        text = f"{exc}\n{chatter.getvalue()}"
        op = re.search(r"(aten[.:]{1,2}[A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)?)", text)
        what = f"the ONNX exporter has no translation for {op.group(1)}" if op else \
            f"the ONNX exporter failed ({type(exc).__name__}: {str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ''})"
        raise InputError(f"{name}: cannot export to ONNX: {what}") from None


@contextlib.contextmanager
def warnings_off():
    """The exporter's own warnings and log records (it logs the guards it tries and drops, as errors with
    tracebacks, on the way to a file it then writes) are not the user's: silenced while it runs."""
    import logging
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        logging.disable(logging.ERROR)
        try:
            yield
        finally:
            logging.disable(logging.NOTSET)


def _write(program: Any, out: Path, metadata: dict[str, str], graph: str, opset: int, example: tuple,
           overwrite: bool = True) -> Exported:
    import onnx

    proto = program.model_proto
    for key, value in {**metadata, "graph": graph, "opset": str(opset)}.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = META + key, value
    out.parent.mkdir(parents=True, exist_ok=True)
    from ..paths import umask

    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".part", dir=out.parent)
    os.close(fd)
    try:
        onnx.save_model(proto, tmp)
        os.chmod(tmp, 0o666 & ~umask())  # mkstemp's 0600 is not what the user's umask asks for
        if overwrite:
            os.replace(tmp, out)
        else:  # as save_image's exclusive write: a file another run wrote meanwhile is never replaced
            try:
                os.link(tmp, out)
            except FileExistsError:
                raise InputError(f"-o {out}: appeared while exporting (another run wrote it); choose another name "
                                 f"or pass --overwrite") from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return Exported(out, out.stat().st_size, graph, opset, example)


def model_metadata(model: Any, name: str, folder: Path | None) -> dict[str, str]:
    """What an exported file records: the name given, the architecture, the weights' sha256 (the revision), where
    they were converted from, the contract, and the versions that wrote it."""
    from .. import __version__

    meta = {"name": name, "architecture": str(model.config.get("architecture", model.spec.model.name)),
            "contract": json.dumps(model.contract.model_dump(mode="json"), sort_keys=True),
            "version": __version__, "torch": torch.__version__}
    weights = folder / "model.safetensors" if folder is not None else None
    if weights is not None and weights.is_file():
        digest = hashlib.sha256()
        with open(weights, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
        meta["revision"] = "sha256:" + digest.hexdigest()
    if "converted_from" in model.config:
        meta["converted_from"] = json.dumps(model.config["converted_from"], sort_keys=True)
    return meta
