"""Reading released checkpoints: the one place where pickle is read, and only through an allow-list.

Zip archives (everything `torch.save` wrote since PyTorch 1.6, and TorchScript files such as IOPaint's
`big-lama.pt`) are read by our own loader: `data.pkl` goes through an unpickler that refuses every global
outside an allow-list, and tensors are rebuilt here from the archive's raw storage bytes, so neither torch's
deserialiser nor any code stored in a TorchScript archive ever runs. Older (pre-zip) files go through
`torch.load(weights_only=True)`, then `torch.load` with the same allow-list unpickler.

What the allow-list admits:
- plain containers and scalars (`builtins.*`), named under protocol 2 as `__builtin__.dict/list/long`
  (`torch.save` writes protocol 2, so a Lightning checkpoint's pickled OmegaConf hyper-parameters name
  builtins that way: they are mapped as pickle's own `fix_imports` does);
- torch's tensor-rebuilding functions, replaced by ours, and storage types, read as dtypes;
- classes of a few known training frameworks (`INERT`: OmegaConf, Lightning, …), replaced by an inert
  placeholder that keeps nothing;
- in TorchScript archives, the scripted module classes (`__torch__.*`), read as records of their attributes.
Anything else stops the read with an error naming the global. Only tensors are kept by the converters.
"""
from __future__ import annotations

import _compat_pickle
import io
import pickle
import zipfile
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from .errors import InpaintzooError


class ConvertError(InpaintzooError):
    pass


#: module prefixes whose classes a checkpoint may pickle beside its tensors; they are read as inert placeholders
INERT = ("omegaconf.", "pytorch_lightning.", "lightning.", "lightning_fabric.", "argparse", "typing", "pathlib",
         "numpy.core.multiarray", "numpy._core.multiarray", "numpy.dtype", "numpy.dtypes", "numpy", "_codecs",
         "enum", "saicinpainting.", "torch.optim.lr_scheduler", "easydict", "functools")
#: plain globals a checkpoint needs, allowed as themselves
ALLOWED = {
    ("collections", "OrderedDict"), ("collections", "defaultdict"), ("builtins", "dict"), ("builtins", "list"),
    ("builtins", "set"), ("builtins", "frozenset"), ("builtins", "tuple"), ("builtins", "float"), ("builtins", "int"),
    ("builtins", "bool"), ("builtins", "str"), ("builtins", "bytes"), ("builtins", "slice"), ("builtins", "complex"),
    ("torch", "Size"), ("torch", "device"), ("torch", "dtype"),
}
#: storage classes by name → the dtype of their elements
STORAGES = {"FloatStorage": torch.float32, "DoubleStorage": torch.float64, "HalfStorage": torch.float16,
            "BFloat16Storage": torch.bfloat16, "LongStorage": torch.int64, "IntStorage": torch.int32,
            "ShortStorage": torch.int16, "CharStorage": torch.int8, "ByteStorage": torch.uint8,
            "BoolStorage": torch.bool, "UntypedStorage": torch.uint8}
DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16, "float64": torch.float64,
          "int64": torch.int64, "int32": torch.int32, "uint8": torch.uint8, "bool": torch.bool}


MAX_MEMBER = 8 << 30  # no release's file or archive member is near 8 GiB
MAX_RATIO = 50  # weights barely compress: a member inflating more than 50× its stored size is a bomb
MAX_DEPTH = 64  # containers nested deeper than any checkpoint's


def _bounded_bytes(*args: Any) -> bytes:
    """`bytes(...)` as a checkpoint may call it, refusing a size argument that would allocate gigabytes."""
    if args and isinstance(args[0], int) and not isinstance(args[0], bool) and not 0 <= args[0] <= MAX_MEMBER:
        raise pickle.UnpicklingError(f"bytes({args[0]}) asks for more memory than any checkpoint holds")
    return bytes(*args)


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


class ScriptRecord:
    """A TorchScript module object from an archive's data.pkl: only its attributes are kept."""

    state: dict = {}

    def __setstate__(self, state: Any) -> None:
        self.state = state if isinstance(state, dict) else {}


@dataclass(frozen=True)
class _StorageRef:
    dtype: torch.dtype


def _canonical(module: str, name: str, proto: int) -> tuple[str, str]:
    """Protocol 0–2 pickles name Python 2's modules (`__builtin__.long`): map them as `fix_imports` does."""
    if proto < 3:
        if (module, name) in _compat_pickle.NAME_MAPPING:
            return _compat_pickle.NAME_MAPPING[(module, name)]
        module = _compat_pickle.IMPORT_MAPPING.get(module, module)
    return module, name


class _Unpickler(pickle.Unpickler):
    """The allow-list unpickler. With `storage`, tensors are rebuilt from an archive's raw bytes (zip reader)."""

    def __init__(self, file: Any, storage: Any = None, torchscript: bool = False, **kw: Any):
        super().__init__(file, **kw)
        self._storage = storage
        self._torchscript = torchscript

    def find_class(self, module: str, name: str) -> Any:
        module, name = _canonical(module, name, getattr(self, "proto", 2))
        if (module, name) == ("builtins", "bytes"):
            return _bounded_bytes
        if (module, name) in ALLOWED:
            return super().find_class(module, name)
        if module == "torch._utils" and name.startswith("_rebuild_"):
            if self._storage is None:  # torch.load's own path rebuilds its tensors
                if not hasattr(torch._utils, name):
                    raise pickle.UnpicklingError(f"global '{module}.{name}' does not exist")
                return super().find_class(module, name)
            rebuild = _REBUILD.get(name)
            if rebuild is None:
                raise pickle.UnpicklingError(f"global '{module}.{name}' (a tensor kind no release uses) is not supported")
            return rebuild
        if module in ("torch", "torch.storage") and name in STORAGES:
            return _StorageRef(STORAGES[name]) if self._storage is not None else super().find_class(module, name)
        if module == "torch" and name in DTYPES:
            return DTYPES[name]
        if self._torchscript and module.startswith("__torch__"):
            return ScriptRecord
        if any(module == p.rstrip(".") or module.startswith(p) for p in INERT):
            return Inert
        raise pickle.UnpicklingError(f"global '{module}.{name}' is not on the allow-list")

    def persistent_load(self, pid: Any) -> Any:
        if self._storage is None:
            raise pickle.UnpicklingError("persistent ids are only read from zip checkpoints")
        if not (isinstance(pid, tuple) and len(pid) >= 3 and pid[0] == "storage"):
            raise pickle.UnpicklingError(f"unexpected persistent id {pid!r:.60}")
        kind, key = pid[1], str(pid[2])
        dtype = kind.dtype if isinstance(kind, _StorageRef) else None
        if dtype is None:
            raise pickle.UnpicklingError(f"unexpected storage type {kind!r:.60}")
        return self._storage(key, dtype)


def _rebuild_tensor(storage: Tensor, offset: int, size: tuple, stride: tuple, *_: Any) -> Tensor:
    return torch.as_strided(storage, tuple(size), tuple(stride), int(offset))


def _rebuild_parameter(data: Tensor, *_: Any) -> Tensor:
    return data


_REBUILD = {"_rebuild_tensor_v2": _rebuild_tensor, "_rebuild_tensor": _rebuild_tensor,
            "_rebuild_parameter": _rebuild_parameter, "_rebuild_parameter_with_state": _rebuild_parameter}


class _RestrictedPickle:
    """A pickle module for torch.load (pre-zip files) whose Unpickler refuses unknown globals."""

    Unpickler = _Unpickler
    __name__ = "inpaintzoo_restricted_pickle"

    @staticmethod
    def load(file: Any, **kw: Any) -> Any:
        return _Unpickler(file, **kw).load()


def is_torchscript(z: zipfile.ZipFile) -> bool:
    return any(n.endswith("/constants.pkl") for n in z.namelist()) and any("/code/" in n for n in z.namelist())


def _read_zip(z: zipfile.ZipFile, where: str) -> Any:
    """A torch zip archive (torch.save or TorchScript) read with our unpickler and our storage loader."""
    pkls = [n for n in z.namelist() if n.endswith("/data.pkl") or n == "data.pkl"]
    if not pkls:
        raise ConvertError(f"{where}: a zip file, but not a PyTorch archive (no data.pkl)")
    prefix = pkls[0][: -len("data.pkl")]
    if z.namelist().count(prefix + "byteorder") and z.read(prefix + "byteorder").strip() == b"big":
        raise ConvertError(f"{where}: saved on a big-endian machine; re-save it on a little-endian one")
    cache: dict[str, Tensor] = {}

    def storage(key: str, dtype: torch.dtype) -> Tensor:
        if key not in cache:
            try:
                raw = bytearray(member(z, f"{prefix}data/{key}", where))
            except KeyError:
                raise pickle.UnpicklingError(f"storage {key} is missing from the archive") from None
            size = torch.tensor([], dtype=dtype).element_size()
            cache[key] = torch.frombuffer(raw, dtype=dtype) if len(raw) >= size else torch.empty(0, dtype=dtype)
        return cache[key]

    data = _Unpickler(io.BytesIO(member(z, pkls[0], where)), storage=storage, torchscript=is_torchscript(z)).load()
    return script_tensors(data) if isinstance(data, ScriptRecord) else data


def member(z: zipfile.ZipFile, name: str, where: str) -> bytes:
    """An archive member's bytes, its declared size checked before anything is inflated: a member above MAX_MEMBER, or
    one that inflates more than MAX_RATIO× (a zip bomb), is refused."""
    info = z.getinfo(name)
    if info.file_size > MAX_MEMBER or (info.file_size > 64 << 20 and info.file_size > MAX_RATIO * max(1, info.compress_size)):
        raise ConvertError(f"{where}: member {name} would inflate to {info.file_size:,} bytes from {info.compress_size:,} "
                           f"stored; refused (no release holds such a member: a damaged or hostile archive)")
    return z.read(name)


def script_tensors(record: ScriptRecord, prefix: str = "") -> "OrderedDict[str, Tensor]":
    """Every tensor attribute of a TorchScript module tree, by dotted path (its state_dict keys); walked without
    recursion, records seen once (a tree that contains itself ends)."""
    out: OrderedDict[str, Tensor] = OrderedDict()
    stack, seen = [(record, prefix, 0)], set()
    while stack:
        rec, pre, depth = stack.pop()
        if id(rec) in seen or depth > MAX_DEPTH:
            continue
        seen.add(id(rec))
        children = []
        for name, value in rec.state.items():
            if isinstance(value, Tensor):
                out[f"{pre}{name}"] = value
            elif isinstance(value, ScriptRecord):
                children.append((value, f"{pre}{name}.", depth + 1))
        stack.extend(reversed(children))
    return out


def read_checkpoint(path: Path) -> Any:
    """A checkpoint file's content: tensors and plain containers only, whatever else it pickles."""
    path = Path(path)
    if not path.is_file():  # a FIFO would block, /dev/zero never end
        raise ConvertError(f"{path}: not a regular file; give the released checkpoint file")
    if path.stat().st_size > MAX_MEMBER:
        raise ConvertError(f"{path}: {path.stat().st_size:,} bytes; no released checkpoint is that large")
    return _guarded(lambda: _read_path(path), str(path))


def _read_path(path: Path) -> Any:
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as z:
            return _read_zip(z, str(path))
    return _read_legacy(path.read_bytes(), str(path))


def read_bytes_checkpoint(data: bytes, where: str) -> Any:
    """`read_checkpoint` for a checkpoint held in memory (a member of a release archive)."""
    def read() -> Any:
        buf = io.BytesIO(data)
        if zipfile.is_zipfile(buf):
            with zipfile.ZipFile(buf) as z:
                return _read_zip(z, where)
        return _read_legacy(data, where)

    return _guarded(read, where)


def _guarded(read: Any, where: str) -> Any:
    """Every way a hostile or damaged file can make the reader fail, as one line naming it (nothing in it runs)."""
    try:
        return read()
    except ConvertError:
        raise
    except pickle.UnpicklingError as exc:
        raise ConvertError(f"{where}: refused to read it: {exc}; only tensors and known training-framework objects "
                           f"are read from a checkpoint") from None
    except RecursionError:
        raise ConvertError(f"{where}: containers nested too deep to be a checkpoint; refused") from None
    except MemoryError:
        raise ConvertError(f"{where}: asks for more memory than this machine has; not a usable checkpoint") from None
    except Exception as exc:  # allow-listed builtins given hostile arguments (codecs, sizes), BUILD on a list, …
        raise ConvertError(f"{where}: not a readable PyTorch checkpoint ({type(exc).__name__}: {_first_line(exc)[:100]})") from None


def _read_legacy(data: bytes, where: str) -> Any:
    """Pre-1.6 (non-zip) torch files: torch's own legacy reader, weights-only first, else our allow-list."""
    import warnings

    if not data:
        raise ConvertError(f"{where}: empty file")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
        except pickle.UnpicklingError:
            pass
        return torch.load(io.BytesIO(data), map_location="cpu", weights_only=False, pickle_module=_RestrictedPickle)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def zip_member(path: Path, suffix: str) -> bytes | None:
    """The bytes of the first member of release archive `path` whose name ends with `suffix`; None when `path`
    is not such an archive (a plain file, or itself a PyTorch zip)."""
    if not zipfile.is_zipfile(path):
        return None
    with zipfile.ZipFile(path) as z:
        if any(n.endswith("data.pkl") for n in z.namelist()):
            return None
        names = [n for n in z.namelist() if n.endswith(suffix)]
        return member(z, names[0], str(path)) if names else None


def tensors(obj: Any, prefix: str = "") -> dict[str, Tensor]:
    """Every tensor inside nested dicts (by dotted key); other values are ignored. Walked without recursion, each
    container once and at most MAX_DEPTH deep: a 40-byte file nesting 100,000 dicts, or a dict that holds itself,
    ends in an error line, not a RecursionError."""
    out: dict[str, Tensor] = {}
    stack, seen = [(obj, prefix, 0)], set()
    while stack:
        node, pre, depth = stack.pop()
        if isinstance(node, Tensor):
            out[pre] = node
        elif isinstance(node, dict):
            if id(node) in seen:
                continue
            if depth > MAX_DEPTH:
                raise ConvertError(f"containers nested more than {MAX_DEPTH} deep (at '{pre[:80]}'): not a checkpoint")
            seen.add(id(node))
            stack.extend((v, f"{pre}.{k}" if pre else k, depth + 1) for k, v in reversed(list(node.items()))
                         if isinstance(k, str))
    return out
