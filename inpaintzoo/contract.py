"""Applying a model's usage contract: user images and masks in, network tensors out, and back.

Users hand `inpaint` PIL images, numpy arrays or tensors, single or batched, at any size. This module
turns them into N×C×H×W floats in [0, 1] and N×1×H×W binary masks, resizes or pads them to what the
network accepts, normalises, and undoes all of it on the way out.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from .errors import InputError
from .spec import Contract


@dataclass
class Batch:
    """Images as N×C×H×W floats in [0, 1], remembering how to hand them back in the caller's form."""

    tensor: Tensor
    kind: str  # "pil", "pil-list", "numpy", "tensor"
    single: bool
    original: Any
    uint8: bool
    pil: list[dict] | None = None  # per PIL image: its mode, original pixels and alpha (see `_pil_in`)
    scale: float = 255.0  # integer images: the value of full intensity (255, or 65535 for 16-bit)


def _pil():
    from PIL import Image

    return Image


#: PIL modes holding 16-bit (or wider) integer grey levels
WIDE_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I")
#: accepted image encodings: PIL modes, array dtypes (documented in the README)
ACCEPTED = "8-bit L/RGB/RGBA/P/1/LA/CMYK, 16-bit grey (I;16) PIL images; uint8, uint16 or float [0, 1] arrays and tensors"


def _pil_in(im: Any, channels: int) -> tuple[Tensor, dict]:
    """One PIL image as a C×H×W float in [0, 1] for a `channels` model, and what hand-back needs.

    16-bit grey is scaled by 65535 (not clipped to 255); an alpha channel the model does not take is kept
    aside and returned unchanged; the result comes back in the image's own mode.
    """
    mode = im.mode
    info: dict = {"mode": mode}
    if mode == "F":  # 32-bit float grey (TIFF): values in [0, 1], handed back as float
        arr = np.asarray(im, dtype=np.float32)
        if not np.isfinite(arr).all() or arr.min() < 0 or arr.max() > 1:
            raise InputError(f"image: a float (F) image must hold finite values in [0, 1], got {arr.min():.3g}…{arr.max():.3g}")
        info["pixels"] = arr.copy()
        grey = torch.from_numpy(arr.copy())[None]
        return (grey if channels == 1 else grey.expand(3, -1, -1).clone()), info
    if mode in WIDE_MODES:
        arr = np.asarray(im)
        if mode == "I" and (arr.min() < 0 or arr.max() > 65535):
            raise InputError(f"image: 32-bit integer pixels outside 0…65535 ({arr.min()}…{arr.max()}); convert it to 16 or 8 bits")
        info["pixels"] = arr.copy()
        grey = torch.from_numpy(arr.astype(np.float32) / 65535.0)[None]
        if channels == 1:
            return grey, info
        rgb = grey.expand(3, -1, -1)
        return (torch.cat([rgb, torch.ones_like(grey)]) if channels == 4 else rgb).clone(), info
    if channels == 3 and ("A" in im.getbands() or "transparency" in im.info):
        rgba = im.convert("RGBA")
        info["alpha"] = np.asarray(rgba.getchannel("A")).copy()
        im_c = rgba.convert("RGB")
    else:
        im_c = _pil_mode(im, channels)
    if mode in ("L", "LA", "RGB", "RGBA") and im_c.mode != mode:
        info["pixels"] = np.asarray(im).copy()  # the caller's own pixels, for a bit-identical hand-back
    arr = np.asarray(im_c)
    t = torch.from_numpy(arr.copy()).reshape(arr.shape[0], arr.shape[1], -1).permute(2, 0, 1).float() / 255.0
    info["converted"] = im_c.mode
    return t, info


def _pil_out(result01: Tensor, hole: Tensor, net_pixels: Tensor, info: dict) -> Any:
    """The composited PIL image in the caller's mode: outside the hole the caller's pixels, inside the result."""
    Image = _pil()
    mode, h = info["mode"], hole[0].numpy()
    grey = result01[0] if result01.shape[0] == 1 else (0.299 * result01[0] + 0.587 * result01[1] + 0.114 * result01[2])
    if mode == "F":
        return Image.fromarray(np.where(h, grey.clamp(0, 1).numpy().astype(np.float32), info["pixels"]), mode="F")
    if mode in WIDE_MODES or (mode == "L" and "pixels" in info):
        full = 65535.0 if mode in WIDE_MODES else 255.0
        orig = info["pixels"]
        pred = np.round(grey.clamp(0, 1).numpy() * full).astype(orig.dtype)
        return Image.fromarray(np.where(h, pred, orig))
    if mode == "LA":  # grey with alpha: grey back inside the hole, the caller's grey and alpha everywhere else
        orig = info["pixels"]  # H×W×2
        pred = np.round(grey.clamp(0, 1).numpy() * 255.0).astype(np.uint8)
        return Image.fromarray(np.stack([np.where(h, pred, orig[..., 0]), orig[..., 1]], axis=-1), mode="LA")
    pred = (result01.clamp(0, 1) * 255.0).round().to(torch.uint8)
    out = torch.where(hole.expand_as(pred), pred, net_pixels).permute(1, 2, 0).numpy()
    out = out[..., 0] if out.shape[-1] == 1 else out
    if "alpha" in info:  # the model took RGB: alpha passes through untouched
        out = np.concatenate([out, info["alpha"][..., None]], axis=-1)
        if mode == "RGBA":
            out = np.where(h[..., None], out, info.get("pixels", out))
        return Image.fromarray(out.astype(np.uint8))
    return Image.fromarray(out)


def image_batch(image: Any, channels: int, name: str = "image") -> Batch:
    Image = _pil()
    if isinstance(image, Image.Image):
        t, info = _pil_in(image, channels)
        return Batch(t[None], "pil", True, image, True, [info])
    if isinstance(image, (list, tuple)) and image and all(isinstance(i, Image.Image) for i in image):
        pairs = [_pil_in(i, channels) for i in image]
        if len({p[0].shape for p in pairs}) != 1:
            raise InputError(f"{name}: images in one list must share a size; pass them one at a time")
        return Batch(torch.stack([p[0] for p in pairs]), "pil-list", False, image, True, [p[1] for p in pairs])
    if isinstance(image, np.ndarray):
        scale = {np.dtype(np.uint8): 255.0, np.dtype(np.uint16): 65535.0}.get(image.dtype)
        if scale is None and not np.issubdtype(image.dtype, np.floating):
            raise InputError(f"{name}: arrays must be uint8, uint16 or float in [0, 1], got {image.dtype}")
        arr = image
        if arr.ndim == 2:
            arr = arr[..., None]
        single = arr.ndim == 3
        if arr.ndim not in (3, 4):
            raise InputError(f"{name}: expected a H×W×C or N×H×W×C array, got shape {image.shape}")
        if scale:  # integers are in range by construction: one conversion pass (torch's, threaded), no range scan
            t = _from_numpy(np.ascontiguousarray(arr) if arr.dtype == np.uint8 else arr.astype(np.float32))
            t = (t[None] if single else t).permute(0, 3, 1, 2).float().div_(scale)
            return Batch(t, "numpy", single, image, True, scale=scale)
        t = _from_numpy(np.ascontiguousarray(arr))
        t = (t[None] if single else t).permute(0, 3, 1, 2).float()
        return Batch(_check_range(t, name), "numpy", single, image, False, scale=255.0)
    if isinstance(image, Tensor):
        uint8 = image.dtype == torch.uint8
        single = image.ndim == 3
        if image.ndim not in (3, 4):
            raise InputError(f"{name}: expected a C×H×W or N×C×H×W tensor, got shape {tuple(image.shape)}")
        t = image[None] if single else image
        return Batch(t.float() / 255.0 if uint8 else _check_range(t, name), "tensor", single, image, uint8)
    raise InputError(f"{name}: expected a PIL image, numpy array or torch tensor, got {type(image).__name__}")


def mask_batch(mask: Any, threshold: float | None, name: str = "mask") -> Tensor:
    """An N×1×H×W float mask with 1 = hole.

    Accepted: 0/1 or 0/255 integers (PIL, uint8 arrays or tensors), 0/1 floats; anything else needs `threshold`
    (in [0, 1], applied after scaling integer masks to [0, 1]). A PIL mask with transparency (RGBA, LA, P with a
    transparent colour) is read from its alpha: painted = hole, as drawing programs save them.
    """
    Image = _pil()
    if threshold is not None and not 0.0 <= float(threshold) <= 1.0:
        raise InputError(f"threshold={threshold}: must lie in [0, 1] (masks are scaled to [0, 1] first)")
    from .images import mask_of  # drawn masks with transparency: painted = hole (their alpha)

    if isinstance(mask, Image.Image):
        mask = np.asarray(mask_of(mask))
    if isinstance(mask, (list, tuple)) and mask and all(isinstance(m, Image.Image) for m in mask):
        mask = np.stack([np.asarray(mask_of(m)) for m in mask])
    if isinstance(mask, np.ndarray):
        if mask.dtype == np.bool_:
            mask = mask.astype(np.uint8)
        mask = torch.from_numpy(np.array(mask, copy=True))
    if not isinstance(mask, Tensor):
        raise InputError(f"{name}: expected a PIL image, numpy array or torch tensor, got {type(mask).__name__}")
    if mask.dtype == torch.bool:
        m = mask.float()
    elif mask.dtype == torch.uint8:
        m = mask.float() / (255.0 if mask.numel() and int(mask.max()) > 1 else 1.0)  # 0/1 or 0/255
    else:
        m = mask.float()
    if not bool(torch.isfinite(m).all()):
        raise InputError(f"{name}: holds NaN or infinite values")
    if m.ndim == 2:
        m = m[None, None]
    elif m.ndim == 3:
        m = m[:, None] if m.shape[0] != 1 else m[None]
    elif m.ndim == 4 and m.shape[1] != 1:
        m = m.amax(dim=1, keepdim=True)
    if m.ndim != 4:
        raise InputError(f"{name}: expected H×W, N×H×W or N×1×H×W, got shape {tuple(mask.shape)}")
    binary = (m == 0) | (m == 1)
    if not bool(binary.all()):
        if threshold is None:
            raise InputError(
                f"{name}: values other than 0 and 1 (or 0 and 255) found; pass threshold=0.5 to binarise "
                f"(1 = hole)"
            )
        m = (m >= threshold).float()
    return m


def _pil_mode(img: Any, channels: int) -> Any:
    mode = {1: "L", 3: "RGB", 4: "RGBA"}.get(channels)
    if mode is None:
        raise InputError(f"image: models with {channels} channels take tensors or arrays, not PIL images")
    return img.convert(mode)


def _check_range(t: Tensor, name: str) -> Tensor:
    if not torch.is_floating_point(t):
        t = t.float()
    if t.numel() and not bool(torch.isfinite(t).all()):
        raise InputError(f"{name}: holds NaN or infinite values")
    if t.numel() and (float(t.min()) < 0.0 or float(t.max()) > 1.0):
        raise InputError(f"{name}: float images must lie in [0, 1], got [{float(t.min()):.3g}, {float(t.max()):.3g}]")
    return t


def _per_channel(v: float | list[float], c: int, like: Tensor) -> Tensor:
    vals = [v] if isinstance(v, (int, float)) else list(v)
    if len(vals) == 1:
        vals = vals * c
    return torch.tensor(vals, dtype=like.dtype, device=like.device).view(1, c, 1, 1)


def normalize(x01: Tensor, contract: Contract) -> Tensor:
    c = x01.shape[1]
    if contract.normalize_in == "levels":  # u8/255·255 is u8 again in float32, so this is (u8 − 255·mean)/(255·std)
        return (x01 * 255 - _per_channel(contract.mean, c, x01) * 255) / (_per_channel(contract.std, c, x01) * 255)
    if contract.normalize_in == "scaled":  # u8 / (255·std) − mean/std: MAT's u8 / 127.5 − 1
        mean, std = _per_channel(contract.mean, c, x01), _per_channel(contract.std, c, x01)
        return x01 * 255 / (std * 255) - mean / std
    return (x01 - _per_channel(contract.mean, c, x01)) / _per_channel(contract.std, c, x01)


def denormalize(x: Tensor, contract: Contract) -> Tensor:
    c = x.shape[1]
    return x * _per_channel(contract.std, c, x) + _per_channel(contract.mean, c, x)


def fill_holes(x01: Tensor, mask: Tensor, contract: Contract) -> Tensor:
    """Overwrite hole pixels with the contract's fill value (in [0, 1] units)."""
    fill = _per_channel(contract.hole_fill, x01.shape[1], x01)
    return torch.where(mask.bool(), fill.expand_as(x01), x01)


def pad_indices(n: int, extra: int, mode: str, device: Any = None) -> Tensor:
    """Source indices for `n` samples padded by `extra` at the end, as numpy.pad's mode of the same name.

    'symmetric' repeats the edge sample (abc|cba), 'reflect' does not (abc|ba), 'replicate' repeats the last;
    both mirrors continue periodically when `extra` exceeds the size, as numpy does.
    """
    i = torch.arange(n + extra, device=device)
    if mode == "replicate" or n == 1:
        return i.clamp(max=n - 1)
    if mode == "symmetric":
        j = i % (2 * n)
        return torch.where(j < n, j, 2 * n - 1 - j)
    j = i % (2 * n - 2)  # reflect
    return torch.where(j < n, j, 2 * n - 2 - j)


def pad_to(x: Tensor, ph: int, pw: int, mode: str) -> Tensor:
    """Pad the bottom and right of N×C×H×W `x` by (ph, pw) with `mode` (an exact copy of existing samples)."""
    h, w = x.shape[-2:]
    if mode == "constant":
        return F.pad(x, (0, pw, 0, ph))
    x = x.index_select(-2, pad_indices(h, ph, mode, x.device)) if ph else x
    return x.index_select(-1, pad_indices(w, pw, mode, x.device)) if pw else x


def padded_size(n: int, contract: Contract) -> int:
    """The side a 'pad' model runs at: at least `min_size`, rounded up to `size_multiple`."""
    k = contract.size_multiple
    return -(-max(n, contract.min_size) // k) * k


def to_network_size(x01: Tensor, mask: Tensor, contract: Contract) -> tuple[Tensor, Tensor, tuple]:
    """Resize (fixed-size models) or pad (fully convolutional ones) to a size the network takes.

    Padding extends the image and the mask alike (`contract.pad_mode`), so a hole at the border stays a hole
    in the padded strip and no pixel from inside the hole is shown to the network (LaMa's predict.py pads
    both with numpy's 'symmetric').
    """
    h, w = x01.shape[-2:]
    if contract.resize == "fixed":
        th, tw = contract.image_size
        if (h, w) == (th, tw):
            return x01, mask, ("none", h, w)
        x = F.interpolate(x01, size=(th, tw), mode="bilinear", align_corners=False, antialias=True)
        m = (F.interpolate(mask, size=(th, tw), mode="area") > 0).float()  # any hole pixel keeps the cell a hole
        return x.clamp(0, 1), m, ("resize", h, w)
    ph, pw = (padded_size(n, contract) - n for n in (h, w))
    if ph == 0 and pw == 0:
        return x01, mask, ("none", h, w)
    return pad_to(x01, ph, pw, contract.pad_mode), pad_to(mask, ph, pw, contract.pad_mode), ("pad", h, w)


def from_network_size(y01: Tensor, how: tuple) -> Tensor:
    kind, h, w = how
    if kind == "resize":
        return F.interpolate(y01, size=(h, w), mode="bilinear", align_corners=False).clamp(0, 1)
    if kind == "pad":
        return y01[..., :h, :w]
    return y01


def hand_back(result01: Tensor, mask: Tensor, batch: Batch) -> Any:
    """Return the composited result in the caller's form; pixels outside the hole are the caller's own."""
    hole = mask.bool()
    if batch.kind in ("pil", "pil-list"):
        net = (batch.tensor * 255.0).round().to(torch.uint8)
        imgs = [_pil_out(result01[i], hole[i], net[i], info) for i, info in enumerate(batch.pil or [])]
        return imgs[0] if batch.kind == "pil" else imgs
    if batch.kind == "numpy":  # the caller's array copied, then only its hole pixels written (a 12 MP photo with a
        # small hole costs one copy, not several whole-image float passes)
        orig = batch.original if batch.original.ndim != 2 else batch.original[..., None]
        orig = orig[None] if batch.single else orig
        n, y, x = hole[:, 0].expand(orig.shape[0], -1, -1).nonzero(as_tuple=True)
        vals = result01[n, :, y, x]
        if batch.uint8:
            vals = (vals.clamp(0, 1) * batch.scale).round_()
        out = orig.copy()
        out[n.numpy(), y.numpy(), x.numpy()] = vals.numpy().astype(orig.dtype)
        out = out[..., 0] if batch.original.ndim == 2 else out
        return out[0] if batch.single else out
    if batch.uint8:
        pred = (result01.clamp(0, 1) * batch.scale).round()
        orig = batch.original[None] if batch.single else batch.original
        out = torch.where(hole.expand_as(pred), pred.to(orig.dtype), orig.to(pred.device))
    else:
        orig = batch.original[None] if batch.single else batch.original
        out = torch.where(hole.expand_as(orig).to(orig.device), result01.to(orig.dtype).to(orig.device), orig)
    return out[0] if batch.single else out


def _from_numpy(arr: np.ndarray) -> Tensor:
    """torch.from_numpy, without torch's warning for a read-only array (a decoded image, a memory map): the tensor is
    only read here, every later step makes its own."""
    if arr.flags.writeable:
        return torch.from_numpy(arr)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return torch.from_numpy(arr)
