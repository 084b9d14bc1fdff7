"""`load(source)`: a model folder, a Hub repo or a zoo name, resolved without guessing.

    load("runs/x/final")                 a folder
    load("local-dir:runs/x/final")       the same, explicitly
    load("hf-hub:org/name@revision")     a Hub repo (revision optional); honours HF_* variables
    load("nvae-pendulum")                a zoo name: shipped weights, a release (fetched and converted on first
                                         use, then cached in INPAINTZOO_HOME) or a Hub repo
"""
from __future__ import annotations

from pathlib import Path

import torch

from . import zoo
from .artifact import CONFIG, DISCRIMINATOR, WEIGHTS, load_dir
from .errors import LoadError
from .model import InpaintModel

HUB = "hf-hub:"
LOCAL = "local-dir:"


def parse_hub_id(ref: str) -> tuple[str, str | None]:
    from .hub import check_repo_id

    repo, _, rev = ref.partition("@")
    if repo.count("/") != 1 or not all(repo.split("/")):
        raise LoadError(f"'{HUB}{ref}': expected {HUB}ORG/NAME[@REVISION]")
    check_repo_id(repo, HUB.rstrip(":"))
    return repo, (rev or None)


def download(repo_id: str, revision: str | None = None, token: str | bool | None = None) -> Path:
    """Fetch config.json and model.safetensors (and a discriminator.safetensors for fine-tuning) only; a repo with
    only pickle weights is refused."""
    from huggingface_hub import HfApi, snapshot_download
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError, RepositoryNotFoundError, RevisionNotFoundError

    try:
        folder = Path(
            snapshot_download(repo_id, revision=revision, token=token, allow_patterns=[CONFIG, WEIGHTS, DISCRIMINATOR, "README.md"])
        )
    except RepositoryNotFoundError:
        raise LoadError(f"{HUB}{repo_id}: repository not found, or private and the token does not grant access") from None
    except RevisionNotFoundError:
        raise LoadError(f"{HUB}{repo_id}@{revision}: no such revision") from None
    except LocalEntryNotFoundError:
        raise LoadError(f"{HUB}{repo_id}: not in the local cache and the Hub cannot be reached (HF_HUB_OFFLINE?)") from None
    except (HfHubHTTPError, OSError) as exc:
        from .hub import hub_error

        raise LoadError(str(hub_error(exc, f"{HUB}{repo_id}"))) from None
    if not (folder / WEIGHTS).is_file():
        try:
            files = HfApi().list_repo_files(repo_id, revision=revision, token=token)
        except Exception:
            files = []
        pickles = [f for f in files if f.endswith((".bin", ".pt", ".pth", ".ckpt", ".pkl"))]
        why = f"; it holds only {', '.join(pickles)}, and pickle weights are never loaded" if pickles else ""
        raise LoadError(f"{HUB}{repo_id}: no {WEIGHTS}{why}")
    return folder


def load(source: str | Path, device: str | torch.device = "cpu", token: str | bool | None = None,
         local_files_only: bool = False) -> InpaintModel:
    """Load a model ready for `.inpaint(image, mask)`, in eval mode, weights loaded strictly.

    A zoo model converted from a release is fetched, checked and converted on first use (`local_files_only`:
    never download, as huggingface_hub's flag of that name). A `.onnx` file written by `inpaintzoo export` loads
    as an `OnnxModel` with the same `.inpaint()`.
    """
    from .devices import resolve_device

    device = resolve_device(device)
    if str(source).lower().endswith(".onnx"):  # a file `inpaintzoo export` wrote: run by ONNX Runtime
        from .export.runtime import load_onnx

        return load_onnx(Path(str(source)).expanduser(), device)  # type: ignore[return-value]
    return load_dir(resolve_folder(source, token, local_files_only), device)


def resolve_folder(source: str | Path, token: str | bool | None = None, local_files_only: bool = False) -> Path:
    """The local model folder `source` names: itself, a Hub snapshot, or a zoo entry's shipped, converted or Hub
    weights (fetched and converted first when needed)."""
    s = str(source)
    if s.startswith(LOCAL):
        return Path(s[len(LOCAL):]).expanduser()
    if s.startswith(HUB):
        repo, rev = parse_hub_id(s[len(HUB):])
        return download(repo, rev, token)
    path = Path(s).expanduser()
    if path.is_dir():
        return path
    if s in zoo.index():
        return zoo_folder(zoo.get(s), token, local_files_only)
    if "/" in s or "\\" in s or path.suffix:
        raise LoadError(f"{s}: no such model folder")
    zoo.get(s)  # raises with a did-you-mean over the zoo
    raise AssertionError("unreachable")


def load_zoo(entry: zoo.ZooEntry, device: str | torch.device = "cpu", token: str | bool | None = None,
             local_files_only: bool = False) -> InpaintModel:
    """A zoo entry's weights: shipped in the package, a release fetched and converted on first use (then cached
    in INPAINTZOO_HOME), or from the Hub."""
    return load_dir(zoo_folder(entry, token, local_files_only), device)


def zoo_folder(entry: zoo.ZooEntry, token: str | bool | None = None, local_files_only: bool = False) -> Path:
    status = entry.weights_status()
    if status.startswith("shipped"):
        return entry.shipped_dir
    if entry.release is not None:
        from .fetch import ensure

        return ensure(entry, token=token, local_files_only=local_files_only)
    if entry.hub:
        return download(entry.hub, entry.revision, token)
    raise LoadError(f"zoo model '{entry.name}' has no weights yet; train it with `inpaintzoo train {entry.name}` "
                    f"or build it untrained with `inpaintzoo build {entry.name} --out DIR`")
