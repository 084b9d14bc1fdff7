"""Running a file `inpaintzoo export` wrote, through ONNX Runtime, with the same `.inpaint()` as a loaded model.

`load("m.onnx")` returns an `OnnxModel`: the contract is read from the file's metadata, the caller's images go
through the same conversions, HD strategies and compositing as `InpaintModel.inpaint` (`contract.py`, `hd.py`), and
only the network (or, for a pipeline file, the whole contract) runs in ONNX Runtime. So a user checks an export with
the call they already know, and `inpaintzoo inpaint m.onnx ...` works unchanged.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from .. import contract as C
from .. import hd
from ..errors import InputError, LoadError
from ..spec import Contract
from .onnx import META


class OnnxModel:
    """An exported inpaintzoo model in an ONNX Runtime session (CPU, or CUDA when asked and available)."""

    def __init__(self, path: Path, device: str = "cpu"):
        try:
            import onnxruntime as ort
        except ImportError:
            raise LoadError(f"{path}: running an ONNX file needs onnxruntime; pip install 'inpaintzoo[onnx]'") from None
        providers = ["CPUExecutionProvider"]
        if str(device).startswith("cuda"):
            if "CUDAExecutionProvider" not in ort.get_available_providers():
                raise LoadError(f"--device {device}: this onnxruntime has no CUDA provider; install onnxruntime-gpu "
                                f"or use --device cpu")
            providers.insert(0, "CUDAExecutionProvider")
        options = ort.SessionOptions()
        options.log_severity_level = 3  # the runtime's own warnings (unused initialisers...) are not the user's
        try:
            self.session = ort.InferenceSession(str(path), options, providers=providers)
        except Exception as exc:  # onnxruntime raises its own types for unreadable or invalid files
            first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
            raise LoadError(f"{path}: not an ONNX model ONNX Runtime can open ({first})") from None
        meta = self.session.get_modelmeta().custom_metadata_map
        if META + "contract" not in meta or meta.get(META + "graph") not in ("network", "pipeline"):
            raise LoadError(f"{path}: an ONNX file without inpaintzoo's metadata (inpaintzoo.contract, inpaintzoo.graph);"
                            f" export it with `inpaintzoo export`, or run it with onnxruntime directly")
        try:
            fields = json.loads(meta[META + "contract"])
            if not isinstance(fields, dict):
                raise TypeError(f"a JSON {type(fields).__name__}, not an object")
            self.contract = Contract(**fields)
        except (ValueError, TypeError) as exc:
            errors = getattr(exc, "errors", None)
            why = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in errors()) if callable(errors) \
                else str(exc).splitlines()[0]
            raise LoadError(f"{path}: its inpaintzoo.contract metadata is not a valid contract ({why}); export the "
                            f"model again") from None
        self.path = Path(path)
        self.graph = meta[META + "graph"]
        self.metadata = {k[len(META):]: v for k, v in meta.items() if k.startswith(META)}
        self.config = {"architecture": self.metadata.get("architecture", ""), "contract": self.contract.model_dump(),
                       "onnx": self.metadata}
        self._inputs = [i.name for i in self.session.get_inputs()]

    def __repr__(self) -> str:
        return f"OnnxModel({self.path.name}, {self.graph}, {self.metadata.get('name', '')})"

    def crop_trigger(self) -> int:
        return max(800, 2 * max(self.contract.image_size))

    def compile(self, *args: Any, **kwargs: Any) -> None:
        raise InputError("--compile: an ONNX file is already compiled by ONNX Runtime; drop --compile")

    def inpaint(self, image: Any, mask: Any, threshold: float | None = None, hd_strategy: str = "auto",
                hd_crop_margin: int = 128, hd_crop_trigger: int | None = None, hd_resize_limit: int = 1280,
                dtype: Any = None, seed: Any = None) -> Any:
        """As `InpaintModel.inpaint`; `dtype` is fixed when the file is exported (`--dtype`), so only None or
        float32 are accepted here. An exported file never samples (export refuses models that do), so `seed` is
        checked as `InpaintModel.inpaint` checks it and changes nothing."""
        if dtype not in (None, "float32", torch.float32):
            raise InputError(f"dtype={dtype!r}: an ONNX file computes in the dtype it was exported with "
                             f"({self.metadata.get('dtype', 'float32')}); export again with --dtype")
        batch = C.image_batch(image, self.contract.channels)
        x01 = batch.tensor
        if seed is not None:
            from ..model import image_seeds

            image_seeds(seed, x01.shape[0])
        grey = x01.shape[1] == 1 and self.contract.channels == 3
        if grey:
            x01 = x01.expand(-1, 3, -1, -1)
        if x01.shape[1] != self.contract.channels:
            raise InputError(f"image: has {x01.shape[1]} channels; this model takes {self.contract.channels}")
        m = C.mask_batch(mask, threshold)
        if m.shape[-2:] != x01.shape[-2:]:
            raise InputError(f"mask: size {m.shape[-1]}×{m.shape[-2]} differs from the image's "
                             f"{x01.shape[-1]}×{x01.shape[-2]} (width×height); resize the mask to the image")
        if m.shape[0] == 1 and x01.shape[0] > 1:
            m = m.expand(x01.shape[0], -1, -1, -1)
        if m.shape[0] != x01.shape[0]:
            raise InputError(f"mask: batch of {m.shape[0]} masks for {x01.shape[0]} images")
        trigger = hd_crop_trigger if hd_crop_trigger is not None else self.crop_trigger()
        opts = hd.HDOptions(hd_strategy, hd_crop_margin, trigger, hd_resize_limit)
        net = self._pipeline if self.graph == "pipeline" else self._network
        pred01 = hd.run(net, x01, m, opts, square=self.contract.resize == "fixed")
        if grey:
            pred01 = (0.299 * pred01[:, :1] + 0.587 * pred01[:, 1:2] + 0.114 * pred01[:, 2:3]).clamp(0, 1)
        return C.hand_back(pred01, m, batch)

    def _network(self, x01: Tensor, mask: Tensor) -> Tensor:
        """The network graph: the contract's resize or pad here (as inpaint() does), the network in the runtime
        (image by image when the file's batch is fixed at 1)."""
        xn, mn, how = C.to_network_size(x01, mask, self.contract)
        step = 1 if self.session.get_inputs()[0].shape[0] == 1 else len(xn)
        preds = []
        for i in range(0, len(xn), step):
            feed = dict(zip(self._inputs, (xn[i:i + step].float().contiguous().numpy(),
                                           mn[i:i + step].float().contiguous().numpy())))
            preds.append(torch.from_numpy(self.session.run(None, feed)[0]))
        return C.from_network_size(torch.cat(preds), how)

    def _pipeline(self, x01: Tensor, mask: Tensor) -> Tensor:
        """The pipeline graph, one image at a time (its inputs are H×W×C uint8): inputs here are [0, 1] values of
        8-bit images (or crops of them), so ×255 recovers their bytes exactly; the uint8 result comes back as
        [0, 1] values that `hand_back` turns into the same bytes again. A 16-bit image is rounded to 8 bits for the
        file (its pixels outside the hole still come back as given); a network file keeps its precision."""
        outs = []
        for x, m in zip(x01, mask):
            u8 = (x * 255).round().clamp(0, 255).to(torch.uint8).permute(1, 2, 0).contiguous().numpy()
            mu8 = (m[0] > 0).to(torch.uint8).mul(255).numpy()
            res = self.session.run(None, dict(zip(self._inputs, (u8, mu8))))[0]
            outs.append(torch.from_numpy(np.ascontiguousarray(res)).permute(2, 0, 1).float() / 255.0)
        return torch.stack(outs)


def load_onnx(path: Path, device: Any = "cpu") -> OnnxModel:
    if not path.is_file():
        raise LoadError(f"{path}: no such ONNX file")
    return OnnxModel(path, str(device))
