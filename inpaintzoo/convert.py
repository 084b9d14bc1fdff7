"""Converting released checkpoints into model folders: the one place where pickle is read.

`read_checkpoint` tries `torch.load(weights_only=True)` first. Releases that pickle other objects beside their
tensors (a Lightning checkpoint's hyper-parameters are OmegaConf objects) are read with an unpickler that
refuses every global outside an allow-list: torch's tensor-rebuilding functions and plain containers are
allowed, the classes of a few known training frameworks (`INERT`) are replaced by an inert placeholder that
keeps nothing, and anything else stops the read with an error naming the global. Only tensors are kept.
`load()` never calls any of this.

A converter (a registered component of kind `converter`) supplies the spec of the converted model, where the
release's files are, and how its keys map onto the model's: every key of the release must be mapped or
dropped by a stated rule, and every parameter of the model must be filled; an error lists what is left.
"""
from __future__ import annotations

import hashlib
import io
import pickle
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from .errors import InpaintzooError

#: module prefixes whose classes a checkpoint may pickle beside its tensors; they are read as inert placeholders
INERT = ("omegaconf.", "pytorch_lightning.", "lightning.", "lightning_fabric.", "argparse", "typing", "pathlib",
         "numpy.core.multiarray", "numpy._core.multiarray", "numpy.dtype", "numpy.dtypes", "_codecs", "enum",
         "saicinpainting.", "torch.optim.lr_scheduler")
#: plain globals a checkpoint needs, allowed as themselves
ALLOWED = {
    ("collections", "OrderedDict"), ("collections", "defaultdict"), ("builtins", "dict"), ("builtins", "list"),
    ("builtins", "set"), ("builtins", "tuple"), ("builtins", "float"), ("builtins", "int"), ("builtins", "bool"),
    ("builtins", "str"), ("builtins", "slice"), ("builtins", "complex"),
    ("torch._utils", "_rebuild_tensor_v2"), ("torch._utils", "_rebuild_tensor"), ("torch._utils", "_rebuild_parameter"),
    ("torch._utils", "_rebuild_parameter_with_state"), ("torch", "Size"), ("torch", "device"), ("torch", "dtype"),
    ("torch", "float32"), ("torch", "float16"), ("torch", "bfloat16"), ("torch", "int64"),
    ("copyreg", "_reconstructor"),  # how protocol 0/1 pickles rebuild objects (then of inert classes)
}


class ConvertError(InpaintzooError):
    pass


class Inert:
    """Stands in for a refused-but-harmless class (hyper-parameter containers): accepts anything, keeps nothing."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def __setstate__(self, state: Any) -> None:
        pass

    def __setitem__(self, key: Any, value: Any) -> None:  # dict subclasses (OmegaConf) fill themselves item by item
        pass

    def append(self, value: Any) -> None:
        pass

    def extend(self, values: Any) -> None:
        pass

    def __call__(self, *args: Any, **kwargs: Any) -> "Inert":
        return Inert()

    def __getattr__(self, name: str) -> "Inert":
        if name.startswith("__"):
            raise AttributeError(name)
        return Inert()


class _Unpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in ALLOWED:
            return super().find_class(module, name)
        if module.startswith(("torch.", "torch")) and name.endswith("Storage"):
            return super().find_class(module, name)  # torch's loader resolves storages itself
        if any(module == p.rstrip(".") or module.startswith(p) for p in INERT):
            return Inert
        raise pickle.UnpicklingError(f"global '{module}.{name}' is not on the allow-list")


class _RestrictedPickle:
    """A pickle module for torch.load whose Unpickler refuses unknown globals."""

    Unpickler = _Unpickler
    __name__ = "inpaintzoo_restricted_pickle"

    @staticmethod
    def load(file: Any, **kw: Any) -> Any:
        return _Unpickler(file, **kw).load()


def read_checkpoint(path: Path) -> Any:
    """A checkpoint file's content: weights-only when possible, else through the allow-list unpickler."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        pass
    except (RuntimeError, EOFError, OSError, zipfile.BadZipFile) as exc:
        raise ConvertError(f"{path}: not a readable PyTorch checkpoint ({str(exc).splitlines()[0]})") from None
    try:
        return torch.load(path, map_location="cpu", weights_only=False, pickle_module=_RestrictedPickle)
    except pickle.UnpicklingError as exc:
        raise ConvertError(f"{path}: refused to read it: {exc}; only tensors and known training-framework objects "
                           f"are read from a checkpoint") from None


def tensors(obj: Any, prefix: str = "") -> dict[str, Tensor]:
    """Every tensor inside nested dicts (by dotted key); other values are ignored."""
    out: dict[str, Tensor] = {}
    if isinstance(obj, Tensor):
        out[prefix] = obj
    elif isinstance(obj, dict):
        for k, v in obj.items():
            if isinstance(k, str):
                out.update(tensors(v, f"{prefix}.{k}" if prefix else k))
    return out


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@dataclass
class Mapping:
    """How a release's keys become the model's: renamed keys, and keys dropped with the reason."""

    renamed: dict[str, str] = field(default_factory=dict)  # ours → theirs
    dropped: dict[str, str] = field(default_factory=dict)  # theirs → why it is not needed for inference


def apply_mapping(mapping: Mapping, release: dict[str, Tensor], expected: dict[str, Tensor], source: str) -> dict[str, Tensor]:
    """The model's state dict from the release's tensors; every key accounted for on both sides, shapes equal."""
    from .artifact import _keys

    missing = [k for k in expected if k not in mapping.renamed or mapping.renamed[k] not in release]
    used = set(mapping.renamed.values()) | set(mapping.dropped)
    left = [k for k in release if k not in used]
    shapes = [f"{ours} {tuple(expected[ours].shape)} ← {theirs} {tuple(release[theirs].shape)}"
              for ours, theirs in mapping.renamed.items()
              if ours in expected and theirs in release and tuple(expected[ours].shape) != tuple(release[theirs].shape)]
    problems = []
    if left:
        problems.append(f"{len(left)} key(s) of the release are neither mapped nor dropped: {_keys(left)}")
    if missing:
        problems.append(f"{len(missing)} parameter(s) of the model are not filled: "
                        f"{_keys([f'{k} (from {mapping.renamed[k]})' if k in mapping.renamed else k for k in missing])}")
    if shapes:
        problems.append(f"shapes differ: {_keys(shapes, 3)}")
    if problems:
        raise ConvertError(f"{source}: " + "; ".join(problems))
    return {ours: release[theirs].to(expected[ours].dtype).clone() for ours, theirs in mapping.renamed.items() if ours in expected}


def verify_output(model) -> dict[str, Any]:
    """The converted model on one fixed input (seeded image, centre hole): numbers to compare across machines."""
    h, w = model.contract.image_size
    g = torch.Generator().manual_seed(0)
    image = torch.rand(1, model.contract.channels, h, w, generator=g)
    mask = torch.zeros(1, 1, h, w)
    mask[..., h // 4 : 3 * h // 4, w // 4 : 3 * w // 4] = 1
    out = model.inpaint(image, mask)
    hole = out[:, :, h // 4 : 3 * h // 4, w // 4 : 3 * w // 4]
    q = (hole.clamp(0, 1) * 255).round().to(torch.uint8)
    return {"input": f"torch.rand(1, {model.contract.channels}, {h}, {w}) seed 0, centre hole {h // 2}×{w // 2}",
            "hole_mean": round(float(hole.mean()), 6), "hole_std": round(float(hole.std()), 6),
            "hole_sha256_uint8": hashlib.sha256(q.numpy().tobytes()).hexdigest()[:16]}


def zip_member(path: Path, suffix: str) -> bytes | None:
    """The bytes of the first member of zip `path` whose name ends with `suffix` (a release archive)."""
    if not zipfile.is_zipfile(path) or _is_torch_zip(path):
        return None
    with zipfile.ZipFile(path) as z:
        names = [n for n in z.namelist() if n.endswith(suffix)]
        return z.read(names[0]) if names else None


def _is_torch_zip(path: Path) -> bool:
    with zipfile.ZipFile(path) as z:
        return any(n.endswith("data.pkl") for n in z.namelist())


def read_bytes_checkpoint(data: bytes, where: str) -> Any:
    """`read_checkpoint` for a checkpoint held in memory (a member of a release archive)."""
    buf = io.BytesIO(data)
    try:
        return torch.load(buf, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        buf.seek(0)
    try:
        return torch.load(buf, map_location="cpu", weights_only=False, pickle_module=_RestrictedPickle)
    except pickle.UnpicklingError as exc:
        raise ConvertError(f"{where}: refused to read it: {exc}") from None


__all__ = ["ConvertError", "Mapping", "apply_mapping", "read_checkpoint", "tensors", "sha256", "verify_output"]
