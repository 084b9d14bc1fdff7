"""The model folder: `model.safetensors` + `config.json` (resolved spec, usage contract, versions).

A published folder holds the generator's weights only (encoder, prior, decoder): what inference needs.
Folders are written to a temporary sibling and renamed into place, so a failed or killed write never
leaves a half-written model behind. Weights are safetensors only: nothing is ever unpickled.
"""
from __future__ import annotations

import errno
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import safetensors.torch
import torch

from . import plugins
from .errors import LoadError
from .paths import umask
from .model import InpaintModel
from .spec import validate

FORMAT = "inpaintzoo/1"
WEIGHTS = "model.safetensors"
CONFIG = "config.json"


def versions_for(model: InpaintModel) -> dict[str, str]:
    host = plugins.host()
    out = {"inpaintzoo": plugins._version("inpaintzoo"), "torch": torch.__version__}
    for _, ref in model.spec.components():
        entry = host.registry.get(ref.type)
        info = host.loaded(entry.plugin)  # not host.plugins: that would import every plugin to save one model
        if info is not None:
            out[info.package] = info.version
    return out


def config_dict(model: InpaintModel, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    from .build import count_parameters

    cfg = {
        "format": FORMAT,
        "architecture": model.spec.model.name,
        "spec": model.spec.to_dict(),
        "contract": model.contract.model_dump(mode="json"),
        "parameters": count_parameters(model),
        "versions": versions_for(model),
    }
    cfg.update(extra or {})
    return cfg


def follow_umask(path: Path) -> None:
    """safetensors (0.8) writes its files with mode 0600 whatever the umask: give them the usual 0666 & ~umask."""
    os.chmod(path, 0o666 & ~umask())


def temp_dir_beside(out: Path) -> Path:
    """A fresh temporary folder next to `out` (same file system, so a rename moves it), with the umask's mode.

    mkdtemp creates 0700 folders; a published model folder must be as readable as any file the user creates.
    """
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    os.chmod(tmp, 0o777 & ~umask())
    return tmp


def check_replaceable(out: Path, overwrite: bool) -> None:
    """`out` may be written: it does not exist, or `overwrite` and it is a model folder or an empty one."""
    here = Path.cwd()
    if Path(os.path.abspath(out)) in (here, *here.parents):  # `--out .`: a folder cannot be replaced from inside it
        raise LoadError(f"--out {out}: is the current folder (or holds it); run from its parent and give its name")
    if out.exists() and not out.is_dir():
        raise LoadError(f"--out {out}: is a file; give a folder name")
    if out.exists() and not overwrite:
        raise LoadError(f"--out {out}: output folder exists; choose another or pass --overwrite")
    if overwrite and out.is_dir() and any(out.iterdir()) and not (out / CONFIG).is_file():
        raise LoadError(f"--out {out}: --overwrite replaces a model folder (with {CONFIG}) or an empty folder; this "
                        f"one holds other files: choose another --out")


def atomic_dir(out: Path, write: Callable[[Path], None], overwrite: bool = False) -> Path:
    """Run `write(tmpdir)` and move the result to `out` in one rename.

    Without `overwrite`, the rename is the exists-check: a folder another process put at `out` meanwhile is never
    replaced (its writer finished first; this one stops with one line and leaves nothing). What a user's `--out`
    may replace is checked by the command first (`check_replaceable`).
    """
    out = Path(os.path.abspath(out))  # `dir/.` and `..` have no name to put a temporary sibling beside
    if out.exists() and not overwrite:
        raise LoadError(f"{out}: output folder exists; choose another --out or remove it first")
    from .paths import naming

    tmp = temp_dir_beside(out)
    try:
        with naming(out):  # a full disk while writing names the output, not a temporary folder
            write(tmp)
        if overwrite and out.exists():
            old = out.with_name(f".{out.name}.old-{os.getpid()}.tmp")
            os.replace(out, old)
            os.replace(tmp, out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            try:
                os.rename(tmp, out)  # fails if another writer's folder (not empty) is there now
            except OSError as exc:
                if exc.errno in (errno.ENOTEMPTY, errno.EEXIST, errno.EISDIR, errno.ENOTDIR):
                    raise LoadError(f"{out}: another process wrote this folder meanwhile; kept theirs, wrote nothing") from None
                raise
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def atomic_write_text(path: Path, text: str) -> None:
    """Write a small text file through a unique temporary sibling and one rename (never half-written)."""
    from .paths import naming

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with naming(path), os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(tmp, 0o666 & ~umask())
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)


def remove_stale_temps(folder: Path) -> list[Path]:
    """Delete `.NAME.*.tmp` entries that a killed atomic write left in `folder`; returns what was removed."""
    gone = []
    if folder.is_dir():
        for p in folder.glob(".*.tmp"):
            if p.is_dir():
                shutil.rmtree(p, ignore_errors=True)
            else:
                p.unlink(missing_ok=True)
            gone.append(p)
    return gone


def write_model_files(model: InpaintModel, folder: Path, extra: dict[str, Any] | None = None) -> None:
    try:
        safetensors.torch.save_model(model, str(folder / WEIGHTS), metadata={"format": "pt"})
    except Exception as exc:  # SafetensorError (a full disk, a quota) is not an OSError: say which file
        raise LoadError(f"{folder / WEIGHTS}: cannot write the weights ({_io_reason(exc)})") from None
    follow_umask(folder / WEIGHTS)
    (folder / CONFIG).write_text(json.dumps(config_dict(model, extra), indent=2) + "\n", encoding="utf-8")


def _io_reason(exc: BaseException) -> str:
    text = str(exc)
    if "StorageFull" in text or "No space left" in text:
        return "no space left on the device"
    if "PermissionDenied" in text or "Permission denied" in text:
        return "permission denied"
    return text.splitlines()[0][:120] if text else type(exc).__name__


def save_model(model: InpaintModel, out: str | Path, overwrite: bool = False, extra: dict[str, Any] | None = None) -> Path:
    return atomic_dir(Path(out), lambda d: write_model_files(model, d, extra), overwrite)


def read_config(folder: Path) -> dict[str, Any]:
    path = folder / CONFIG
    if not path.is_file():
        raise LoadError(f"{folder}: no {CONFIG}; not an inpaintzoo model folder")
    if path.stat().st_size > 64 << 20:  # a config is a few kilobytes; never read a huge one into memory
        raise LoadError(f"{path}: {path.stat().st_size:,} bytes; not an inpaintzoo config")
    try:
        cfg = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise LoadError(f"{path}: not valid JSON ({exc})") from None
    except RecursionError:
        raise LoadError(f"{path}: nested too deep to be an inpaintzoo config") from None
    if not isinstance(cfg, dict) or cfg.get("format") != FORMAT or not isinstance(cfg.get("spec"), dict):
        raise LoadError(f"{path}: not an inpaintzoo config (expected \"format\": \"{FORMAT}\" and a \"spec\" table)")
    return cfg


def missing_plugins_hint(spec_dict: dict[str, Any], versions: dict[str, str], sections=("encoder", "prior", "decoder")) -> str:
    reg = plugins.registry()
    missing = []
    for sec in (spec_dict.get(k) for k in sections):
        if isinstance(sec, dict) and isinstance(sec.get("type"), str) and sec["type"] not in reg:
            missing.append(sec["type"])
    if not missing:
        return ""
    family = sorted({m.split(".")[0] for m in missing})
    pkgs = [p for p in versions if any(f in p for f in family)] if isinstance(versions, dict) else []
    wanted = ", ".join(pkgs) if pkgs else ", ".join(f"the plugin providing '{f}.*'" for f in family)
    return f"needs components {', '.join(sorted(missing))}, which no installed plugin provides; install {wanted}"


def check_contract(cfg: dict[str, Any], model: InpaintModel, path: Path) -> None:
    """The stored contract must be the one the spec's [model] section defines: a hand edit would otherwise be
    silently ignored (the model applies [model])."""
    stored = cfg.get("contract")
    if stored is None:
        return
    if not isinstance(stored, dict):
        raise LoadError(f"{path}: \"contract\" must be a table, got {type(stored).__name__}")
    ours = model.contract.model_dump(mode="json")
    from .spec import Contract

    defaults = {k: f.get_default() for k, f in Contract.model_fields.items()}
    stored = {**{k: v for k, v in defaults.items() if k not in stored}, **stored}  # folders from before a field existed
    stored = {k: (list(v) if isinstance(v, tuple) else v) for k, v in stored.items()}
    diffs = [k for k in sorted(set(ours) | set(stored)) if stored.get(k) != ours.get(k)]
    if diffs:
        k = diffs[0]
        raise LoadError(f"{path}: \"contract\" disagrees with the spec's [model] on {', '.join(diffs)} ({k}: "
                        f"{stored.get(k)!r} in contract, {ours.get(k)!r} in [model]); the file was edited or corrupted: "
                        f"restore it, or make both say the same")


def load_dir(folder: str | Path, device: str | torch.device = "cpu") -> InpaintModel:
    """Rebuild the generator from `config.json` and load the safetensors weights strictly.

    Only the sections inference needs are validated and built; losses, discriminator and data sections are
    kept as given (see `InpaintModel.train_components`), so nothing they name is ever opened here.
    """
    from .build import build_model

    folder = Path(folder)
    cfg = read_config(folder)
    weights = folder / WEIGHTS
    if not weights.is_file():
        pickles = [p.name for p in folder.glob("*") if p.suffix in (".bin", ".pt", ".pth", ".ckpt", ".pkl")]
        why = f" (found {', '.join(pickles)}: pickle weights are never loaded)" if pickles else ""
        raise LoadError(f"{folder}: no {WEIGHTS}{why}")
    hint = missing_plugins_hint(cfg["spec"], cfg.get("versions", {}))
    if hint:
        raise LoadError(f"{folder / CONFIG}: {hint}")
    spec = validate(cfg["spec"], plugins.registry(), source=str(folder / CONFIG), scope="inference")
    model = build_model(spec, plugins.registry(), check=False)
    check_contract(cfg, model, folder / CONFIG)
    try:
        stored = safetensors.torch.load_file(str(weights))
    except Exception as exc:
        raise LoadError(f"{weights}: cannot read weights ({str(exc).splitlines()[0]})") from None
    problems = weight_mismatch(model, stored)
    if problems:
        raise LoadError(f"{weights}: weights do not match the architecture in {CONFIG}: {problems}")
    bad = sorted(k for k, v in stored.items() if v.is_floating_point() and not torch.isfinite(v).all())
    if bad:
        raise LoadError(f"{weights}: {len(bad)} tensor(s) hold NaN or Inf values (e.g. {bad[0]}); the weights are "
                        f"corrupt or come from a diverged run: use an earlier checkpoint")
    model.load_state_dict(stored, strict=False)  # strictness checked above, aliases included
    model.config = cfg
    quality = cfg.get("quality")
    if isinstance(quality, dict) and quality.get("grade"):
        import warnings

        from . import SmokeTestWarning

        warnings.warn(f"{folder}: {quality['grade']} weights: {quality.get('note', '')}", SmokeTestWarning, stacklevel=3)
    # the contract's layout: channels_last runs convolutions fastest on CPUs (oneDNN) and tensor cores
    # (benchmarks/release_speed: MI-GAN 2.6× its release); 'contiguous' reproduces an NCHW release to the bit
    # (LaMa, AOT-GAN, DeepFill: 2.6e-5 … 6e-4 apart in channels_last). inpaint() hands inputs over in the same layout.
    layout = torch.channels_last if model.contract.layout == "channels_last" else torch.contiguous_format
    return model.to(device, memory_format=layout).eval()


DISCRIMINATOR = "discriminator.safetensors"


def write_discriminator(folder: Path, disc: torch.nn.Module, section: dict[str, Any]) -> None:
    """A released discriminator beside the generator, so a fine-tune can start from it (`load()` never reads it).
    `section` is the spec's [discriminator] table it fits; config.json records it under 'discriminator'."""
    try:
        safetensors.torch.save_file({k: v.detach().contiguous() for k, v in disc.state_dict().items()},
                                    str(folder / DISCRIMINATOR), metadata={"format": "pt"})
    except Exception as exc:
        raise LoadError(f"{folder / DISCRIMINATOR}: cannot write the discriminator ({_io_reason(exc)})") from None
    follow_umask(folder / DISCRIMINATOR)
    cfg = json.loads((folder / CONFIG).read_text(encoding="utf-8"))
    cfg["discriminator"] = section
    (folder / CONFIG).write_text(json.dumps(cfg, indent=2) + "\n", encoding="utf-8")


def read_discriminator(folder: Path, ref: Any) -> dict[str, torch.Tensor] | None:
    """The discriminator weights stored in model folder `folder` when they are of `ref`'s type (a spec's
    [discriminator]); None when the folder has none or holds another type's."""
    path = folder / DISCRIMINATOR
    if not path.is_file():
        return None
    section = read_config(folder).get("discriminator")
    if not isinstance(section, dict) or section.get("type") != ref.type:
        return None
    try:
        return safetensors.torch.load_file(str(path))
    except Exception as exc:
        raise LoadError(f"{path}: cannot read the discriminator ({str(exc).splitlines()[0][:100]})") from None


def weight_mismatch(model: torch.nn.Module, stored: dict[str, torch.Tensor]) -> str:
    """'' when `stored` fits `model` exactly, else the missing, unexpected and mis-shaped keys."""
    expected = model.state_dict()
    ptrs = {}
    for k, v in expected.items():  # keys that alias another tensor may be stored once
        ptrs.setdefault((v.data_ptr(), v.shape), []).append(k)
    aliases = {k for ks in ptrs.values() if len(ks) > 1 for k in ks}
    missing = [k for k in expected if k not in stored and not (k in aliases)]
    unexpected = [k for k in stored if k not in expected]
    shapes = [f"{k} {tuple(stored[k].shape)} vs {tuple(expected[k].shape)}" for k in stored
              if k in expected and stored[k].shape != expected[k].shape]
    # a float tensor stored as integers (or the reverse) would be cast silently and compute garbage; float widths
    # (a half-precision save) and integer widths convert exactly enough and are allowed
    kinds = [f"{k} {str(stored[k].dtype).removeprefix('torch.')} vs {str(expected[k].dtype).removeprefix('torch.')}"
             for k in stored if k in expected and stored[k].is_floating_point() != expected[k].is_floating_point()]
    parts = []
    if kinds:
        parts.append(f"dtype mismatch {_keys(kinds, 3)}")
    if missing:
        parts.append(f"missing keys {_keys(missing)}")
    if unexpected:
        parts.append(f"unexpected keys {_keys(unexpected)}")
    if shapes:
        parts.append(f"shape mismatch {_keys(shapes, 3)}")
    return "; ".join(parts)


def _keys(keys: list[str] | set[str], limit: int = 6) -> str:
    keys = sorted(keys)
    return ", ".join(keys[:limit]) + (f", … ({len(keys)} in all)" if len(keys) > limit else "")
