"""MAT's mask-aware transformer: Swin-style window attention in which only valid tokens are attended to, windows
with any valid token becoming valid for the next block, and a fusion layer in place of the residual.

Tokens are N×L×C; `token2feature`/`feature2token` convert as the release does (a view: the maps they produce are
channels-last in memory, and the convolutions that follow compute in that layout, as the release's do).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .layers import FullyConnected, PartialConv


def token2feature(x: Tensor, size: tuple[int, int]) -> Tensor:
    n, _, c = x.shape
    return x.permute(0, 2, 1).reshape(n, c, size[0], size[1])


def feature2token(x: Tensor) -> Tensor:
    n, c = x.shape[:2]
    return x.view(n, c, -1).transpose(1, 2)


def window_partition(x: Tensor, ws: int) -> Tensor:
    """N×H×W×C → (N·windows)×ws×ws×C."""
    n, h, w, c = x.shape
    x = x.view(n, h // ws, ws, w // ws, ws, c)
    return x.permute(0, 1, 3, 2, 4, 5).contiguous().view(-1, ws, ws, c)


def window_reverse(windows: Tensor, ws: int, h: int, w: int) -> Tensor:
    n = int(windows.shape[0] / (h * w / ws / ws))
    x = windows.view(n, h // ws, w // ws, ws, ws, -1)
    return x.permute(0, 1, 3, 2, 4, 5).contiguous().view(n, h, w, -1)


def shift_mask(h: int, w: int, ws: int, shift: int) -> Tensor:
    """Swin's attention mask for shifted windows: −100 between tokens that came from different regions."""
    img = torch.zeros(1, h, w, 1)
    cuts = (slice(0, -ws), slice(-ws, -shift), slice(-shift, None))
    for i, hs in enumerate(cuts):
        for j, wsl in enumerate(cuts):
            img[:, hs, wsl, :] = i * 3 + j
    win = window_partition(img, ws).view(-1, ws * ws)
    diff = win.unsqueeze(1) - win.unsqueeze(2)
    return diff.masked_fill(diff != 0, -100.0).masked_fill(diff == 0, 0.0)


class WindowAttention(nn.Module):
    """Multi-head attention within a window; queries and keys from L2-normalised tokens; invalid tokens get −100."""

    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.heads = heads
        self.scale = (dim // heads) ** -0.5
        self.q, self.k, self.v, self.proj = (FullyConnected(dim, dim) for _ in range(4))

    def forward(self, x: Tensor, valid: Tensor | None, shift: Tensor | None) -> tuple[Tensor, Tensor | None]:
        b, n, c = x.shape
        xn = F.normalize(x, p=2.0, dim=-1)
        q = self.q(xn).reshape(b, n, self.heads, c // self.heads).permute(0, 2, 1, 3)
        k = self.k(xn).view(b, -1, self.heads, c // self.heads).permute(0, 2, 3, 1)
        v = self.v(x).view(b, -1, self.heads, c // self.heads).permute(0, 2, 1, 3)
        attn = (q @ k) * self.scale
        if shift is not None:
            nw = shift.shape[0]
            attn = (attn.view(b // nw, nw, self.heads, n, n) + shift.unsqueeze(1).unsqueeze(0)).view(-1, self.heads, n, n)
        if valid is not None:
            m = valid.squeeze(-1).unsqueeze(1).unsqueeze(1)
            attn = attn + m.masked_fill(m == 0, -100.0).masked_fill(m == 1, 0.0)
            valid = torch.clamp(torch.sum(valid, dim=1, keepdim=True), 0, 1).repeat(1, n, 1).detach()
        x = (attn.softmax(dim=-1) @ v).transpose(1, 2).reshape(b, n, c)
        return self.proj(x), valid


class Mlp(nn.Module):
    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.fc1 = FullyConnected(dim, hidden, lrelu=True)
        self.fc2 = FullyConnected(hidden, dim)

    def forward(self, x: Tensor) -> Tensor:
        return self.fc2(self.fc1(x))


class SwinBlock(nn.Module):
    """(Shifted) window attention, then `fuse`(input ‖ attention) and an MLP. Windows larger than the map shrink
    to it, unshifted (the release's rule)."""

    def __init__(self, dim: int, resolution: int, heads: int, window: int, shift: int, mlp_ratio: float = 2.0):
        super().__init__()
        if resolution <= window:
            window, shift = resolution, 0
        self.window, self.shift = window, shift
        self.attn = WindowAttention(dim, heads)
        self.fuse = FullyConnected(dim * 2, dim, lrelu=True)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))

    def forward(self, x: Tensor, size: tuple[int, int], mask: Tensor | None) -> tuple[Tensor, Tensor | None]:
        h, w = size
        b, _, c = x.shape
        ws, s = self.window, self.shift
        shortcut = x
        x = x.view(b, h, w, c)
        mask = mask.view(b, h, w, 1) if mask is not None else None
        if s:
            x = torch.roll(x, shifts=(-s, -s), dims=(1, 2))
            mask = torch.roll(mask, shifts=(-s, -s), dims=(1, 2)) if mask is not None else None
        xw = window_partition(x, ws).view(-1, ws * ws, c)
        mw = window_partition(mask, ws).view(-1, ws * ws, 1) if mask is not None else None
        # the release adds an all-zero mask to unshifted windows: adding 0 changes no number, so it is skipped
        shift = shift_mask(h, w, ws, s).to(x.device) if s else None
        xw, mw = self.attn(xw, mw, shift)
        x = window_reverse(xw.view(-1, ws, ws, c), ws, h, w)
        mask = window_reverse(mw.view(-1, ws, ws, 1), ws, h, w) if mw is not None else None
        if s:
            x = torch.roll(x, shifts=(s, s), dims=(1, 2))
            mask = torch.roll(mask, shifts=(s, s), dims=(1, 2)) if mask is not None else None
        x = x.view(b, h * w, c)
        mask = mask.view(b, h * w, 1) if mask is not None else None
        return self.mlp(self.fuse(torch.cat([shortcut, x], dim=-1))), mask


class Resample(nn.Module):
    """Tokens → map → partial convolution with 2× down (`PatchMerging`) or up (`PatchUpsampling`) → tokens."""

    def __init__(self, dim: int, up: int = 1, down: int = 1):
        super().__init__()
        self.conv = PartialConv(dim, dim, 3, up=up, down=down)
        self.scale = up / down

    def forward(self, x: Tensor, size: tuple[int, int], mask: Tensor | None):
        x, mask = self.conv(token2feature(x, size), token2feature(mask, size) if mask is not None else None)
        size = (int(size[0] * self.scale), int(size[1] * self.scale))
        return feature2token(x), size, feature2token(mask) if mask is not None else None


class BasicLayer(nn.Module):
    """[resample] → `depth` Swin blocks (every second one shifted by half a window) → a 3×3 partial convolution,
    plus the layer's input."""

    def __init__(self, dim: int, resolution: int, depth: int, heads: int, window: int, downsample: nn.Module | None):
        super().__init__()
        self.downsample = downsample
        self.blocks = nn.ModuleList(SwinBlock(dim, resolution, heads, window, 0 if i % 2 == 0 else window // 2)
                                    for i in range(depth))
        self.conv = PartialConv(dim, dim, 3)

    def forward(self, x: Tensor, size: tuple[int, int], mask: Tensor | None):
        if self.downsample is not None:
            x, size, mask = self.downsample(x, size, mask)
        identity = x
        for blk in self.blocks:
            x, mask = blk(x, size, mask)
        x, mask = self.conv(token2feature(x, size), token2feature(mask, size) if mask is not None else None)
        return feature2token(x) + identity, size, feature2token(mask) if mask is not None else None
