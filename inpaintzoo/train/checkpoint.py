"""Checkpoints without pickle: tensors in safetensors, everything else in JSON, one folder per step.

A nested state (dicts, lists, tensors, numbers, strings) is split into a flat {path: tensor} map and a
JSON skeleton whose tensor leaves are {"__tensor__": path}. Folders are written to a temporary name and
renamed, so a run killed mid-write leaves the previous checkpoint intact and readable.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import safetensors.torch
import torch

from ..artifact import _io_reason, atomic_dir, follow_umask
from ..errors import InpaintzooError

STATE = "state.safetensors"
META = "state.json"


class CheckpointError(InpaintzooError):
    pass


def flatten(obj: Any, prefix: str, out: dict[str, torch.Tensor]) -> Any:
    if isinstance(obj, torch.Tensor):
        key = prefix or "_"
        out[key] = obj.detach().cpu().contiguous().clone()
        return {"__tensor__": key}
    if isinstance(obj, dict):
        if not all(isinstance(k, (str, int)) for k in obj):
            raise TypeError(f"checkpoint keys must be str or int at {prefix}")
        return {"__dict__": [[k, flatten(v, f"{prefix}/{k}", out)] for k, v in obj.items()]}
    if isinstance(obj, (list, tuple)):
        return {"__list__": [flatten(v, f"{prefix}/{i}", out) for i, v in enumerate(obj)], "tuple": isinstance(obj, tuple)}
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    raise TypeError(f"cannot store {type(obj).__name__} at {prefix} in a checkpoint")


def unflatten(obj: Any, tensors: dict[str, torch.Tensor]) -> Any:
    if isinstance(obj, dict):
        if "__tensor__" in obj:
            return tensors[obj["__tensor__"]]
        if "__dict__" in obj:
            return {k: unflatten(v, tensors) for k, v in obj["__dict__"]}
        if "__list__" in obj:
            items = [unflatten(v, tensors) for v in obj["__list__"]]
            return tuple(items) if obj.get("tuple") else items
    return obj


def save_checkpoint(folder: Path, state: dict[str, Any]) -> Path:
    def write(tmp: Path) -> None:
        tensors: dict[str, torch.Tensor] = {}
        skeleton = flatten(state, "", tensors)
        try:
            safetensors.torch.save_file(tensors, str(tmp / STATE))
        except Exception as exc:  # SafetensorError (a full disk) is not an OSError: say which file
            raise CheckpointError(f"{folder}: cannot write the checkpoint ({_io_reason(exc)})") from None
        follow_umask(tmp / STATE)
        (tmp / META).write_text(json.dumps(skeleton), encoding="utf-8")

    return atomic_dir(folder, write, overwrite=True)


def load_checkpoint(folder: Path) -> dict[str, Any]:
    try:
        skeleton = json.loads((folder / META).read_text(encoding="utf-8"))
        tensors = safetensors.torch.load_file(str(folder / STATE))
        return unflatten(skeleton, tensors)
    except (OSError, ValueError, KeyError, json.JSONDecodeError, safetensors.SafetensorError) as exc:
        raise CheckpointError(f"{folder}: corrupt or incomplete checkpoint ({type(exc).__name__}: {exc}); "
                              f"resume from an earlier one or start afresh") from None


def checkpoints(run: Path) -> list[Path]:
    """Complete checkpoint folders of a run, oldest first."""
    root = run / "checkpoints"
    if not root.is_dir():
        return []
    return sorted(p for p in root.glob("step-*") if p.is_dir() and (p / META).is_file() and (p / STATE).is_file())


def prune(run: Path, keep_last: int) -> None:
    for old in checkpoints(run)[:-keep_last]:
        shutil.rmtree(old, ignore_errors=True)


def strip_module_prefix(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Weights saved from DistributedDataParallel carry 'module.'; drop it."""
    return {k.removeprefix("module."): v for k, v in state.items()}
