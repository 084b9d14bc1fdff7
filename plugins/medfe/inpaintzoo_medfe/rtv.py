"""Structure extraction by relative total variation (Xu et al. 2012, `tsmooth`): MEDFE's structure targets.

MEDFE calls tsmooth(I, λ = 0.015, σ = 3, sharpness = 0.001, 3 iterations). Each iteration computes the RTV
texture weights of the current estimate (forward differences, zero-padded last column/row; a separable
Gaussian with MATLAB's `conv2(…, 'same')` zero padding) and solves (I + λ/2 · L_w) x = I for every channel,
where L_w is the weighted Laplacian of the 4-neighbour grid. The reference solves with `pcg` and an incomplete-
Cholesky preconditioner at tolerance 0.1 when `ichol` exists, else exactly with `A\\b`; this solves exactly
(SuperLU, one factorisation for the three channels), because the weights reach λ/(sharpness·0.001) ≈ 7,500 on
flat regions and iterative solvers stop far from the solution (Jacobi CG: relative residual 0.4–0.9 after
100 steps). Cost on one core of this CPU: about 0.03 s per 128² image per iteration, 0.17 s at 256².
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor


def _gauss(x: Tensor, sigma: float) -> Tensor:
    """Separable Gaussian of MATLAB's fspecial('gaussian', [1, k], σ), k = round(5σ) | 1, zero-padded ('same')."""
    k = max(1, int(round(5 * sigma)) | 1)
    t = torch.arange(k, dtype=x.dtype, device=x.device) - k // 2
    g = torch.exp(-t * t / (2 * sigma * sigma))
    g = g / g.sum()
    c = x.shape[1]
    x = F.conv2d(x, g.view(1, 1, 1, k).repeat(c, 1, 1, 1), padding=(0, k // 2), groups=c)
    return F.conv2d(x, g.view(1, 1, k, 1).repeat(c, 1, 1, 1), padding=(k // 2, 0), groups=c)


def _diffs(x: Tensor) -> tuple[Tensor, Tensor]:
    """Forward differences padded with a zero last column / row, as MATLAB's diff + padarray 'post'."""
    fx = F.pad(x[..., :, 1:] - x[..., :, :-1], (0, 1, 0, 0))
    fy = F.pad(x[..., 1:, :] - x[..., :-1, :], (0, 0, 0, 1))
    return fx, fy


def texture_weights(x: Tensor, sigma: float, sharpness: float, eps: float = 1e-3) -> tuple[Tensor, Tensor]:
    """RTV weights (N×1×H×W each): 1/max(|∇x|, sharpness) · 1/max(|∇(G_σ * x)|, eps), channel-averaged."""
    c = x.shape[1]
    fx, fy = _diffs(x)
    wto = 1.0 / ((fx * fx + fy * fy).sqrt().sum(1, keepdim=True) / c).clamp_min(sharpness)
    gfx, gfy = _diffs(_gauss(x, sigma))
    wx = wto / (gfx.abs().sum(1, keepdim=True) / c).clamp_min(eps)
    wy = wto / (gfy.abs().sum(1, keepdim=True) / c).clamp_min(eps)
    wx[..., :, -1] = 0
    wy[..., -1, :] = 0
    return wx, wy


def system_matrix(wx: np.ndarray, wy: np.ndarray):
    """The sparse H·W × H·W matrix I + L_w for H×W weights already scaled by λ (scipy CSC)."""
    import scipy.sparse as sp

    h, w = wx.shape
    idx = np.arange(h * w).reshape(h, w)
    rows = np.concatenate([idx[:, :-1].ravel(), idx[:-1, :].ravel()])
    cols = np.concatenate([idx[:, 1:].ravel(), idx[1:, :].ravel()])
    vals = np.concatenate([wx[:, :-1].ravel(), wy[:-1, :].ravel()])
    off = sp.coo_matrix((-vals, (rows, cols)), shape=(h * w, h * w))
    off = off + off.T
    return (off + sp.diags(1.0 - np.asarray(off.sum(1)).ravel())).tocsc()


def solve(b: Tensor, wx: Tensor, wy: Tensor) -> Tensor:
    """Exact solution of (I + L_w) x = b for each image of the batch (b: N×C×H×W; wx, wy: N×1×H×W, λ included)."""
    from scipy.sparse.linalg import splu

    out = torch.empty_like(b)
    n, c, h, w = b.shape
    for i in range(n):
        lu = splu(system_matrix(wx[i, 0].double().cpu().numpy(), wy[i, 0].double().cpu().numpy()), permc_spec="MMD_AT_PLUS_A")
        x = lu.solve(b[i].reshape(c, h * w).T.double().cpu().numpy())  # one factorisation, C right-hand sides
        out[i] = torch.from_numpy(np.ascontiguousarray(x.T)).reshape(c, h, w).to(b)
    return out


def apply_system(x: Tensor, wx: Tensor, wy: Tensor) -> Tensor:
    """(I + L_w) x without building the matrix: for residual checks."""
    dx = wx * F.pad(x[..., :, 1:] - x[..., :, :-1], (0, 1, 0, 0))
    dy = wy * F.pad(x[..., 1:, :] - x[..., :-1, :], (0, 0, 0, 1))
    div = dx - F.pad(dx[..., :, :-1], (1, 0, 0, 0)) + dy - F.pad(dy[..., :-1, :], (0, 0, 1, 0))
    return x - div


@torch.no_grad()
def rtv_smooth(image: Tensor, lam: float = 0.015, sigma: float = 3.0, sharpness: float = 1e-3, iters: int = 3) -> Tensor:
    """tsmooth(image): N×C×H×W in [0, 1] (as MATLAB's im2double) → the structure image, in float64 internally."""
    src = image.double()
    x = src
    lam = lam / 2.0
    for _ in range(iters):
        wx, wy = texture_weights(x, sigma, sharpness)
        x = solve(src, lam * wx, lam * wy)
        sigma = max(sigma / 2.0, 0.5)
    return x.to(image.dtype)


def total_variation(x: Tensor) -> Tensor:
    return (x[..., :, 1:] - x[..., :, :-1]).abs().mean() + (x[..., 1:, :] - x[..., :-1, :]).abs().mean()
