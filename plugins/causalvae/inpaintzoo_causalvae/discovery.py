"""Causal discovery on concept labels: the PC algorithm with kernel tests, and additive-noise orientation.

Why not CausalVAE's own way (A learned by gradient through the label path): on the pendulum data that cannot
work from A = 0. The shadows are near-deterministic, invertible functions of (pendulum, light), so a likelihood
score prefers wrong graphs; raw labels orient edges toward the high-variance concepts; and although an
exogenous-independence score does prefer the true graph, gradient descent from zero never reaches it, since the
true parents only help jointly (docs/seeds.md has the runs). Conditional independence does identify it:
pendulum ⊥ light, so PC finds the two v-structures pendulum → shadow ← light.

Tests: X ⊥ Y | Z when the residuals of kernel ridge regressions of X and Y on Z are independent by HSIC (Gaussian
kernels, median bandwidth; the null by Gretton et al.'s gamma approximation) on a random subsample of the labels.
A dependence found given Z is confirmed by permuting within blocks of neighbours in Z, since heteroscedastic noise
(the concept-faces SCM clips) makes residuals dependent through Z alone. After the skeleton and v-structures,
Meek's rule 1 propagates orientations, and an edge still undirected is oriented in the direction whose
regression residual is the more independent of its cause (additive-noise models).
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import torch
from torch import Tensor


def _bandwidth(x: Tensor) -> float:
    """The median positive squared distance among the first 1000 rows (a random subsample already): n × p."""
    d = torch.cdist(x[:1000], x[:1000]).pow(2)
    positive = d[d > 0]
    return float(positive.median()) if positive.numel() else 1.0


def _kernel(x: Tensor) -> Tensor:
    """exp(−‖xᵢ − xⱼ‖² / median): the Gaussian kernel matrix of the rows of x (n × p)."""
    return torch.exp(-torch.cdist(x, x).pow(2) / _bandwidth(x))


def residuals(u: Tensor, z: Tensor, ridge: float = 1e-3) -> Tensor:
    """Every column of u minus its kernel ridge regression on z (one Cholesky for all; u centred if z is empty)."""
    u = u - u.mean(0)
    if z.shape[1] == 0:
        return u
    k = _kernel(z)
    chol = torch.linalg.cholesky(k + ridge * len(u) * torch.eye(len(u), dtype=u.dtype))
    return u - k @ torch.cholesky_solve(u, chol)


def _centred_kernel(x: Tensor) -> Tensor:
    """H K H with H = I − 11ᵀ/n, by subtracting row and column means (O(n²), not two n³ products)."""
    k = _kernel(x[:, None])
    return k - k.mean(0, keepdim=True) - k.mean(1, keepdim=True) + k.mean()


def hsic(a: Tensor, b: Tensor) -> float:
    """The biased HSIC estimate with Gaussian kernels (median bandwidth)."""
    return float((_centred_kernel(a) * _centred_kernel(b)).sum() / len(a) ** 2)


def hsic_pvalue(a: Tensor, b: Tensor, permutations: int = 0, g: torch.Generator | None = None) -> float:
    """p-value of HSIC(a, b) under independence: by Gretton et al.'s (2008) gamma approximation of the null
    (O(n²), the default), or by `permutations` permutations of b when given (O(permutations · n²))."""
    n = len(a)
    ka, kb = _centred_kernel(a), _centred_kernel(b)
    stat = float((ka * kb).sum())
    if permutations:
        exceed = sum(float((ka * kb[p][:, p]).sum()) >= stat
                     for p in (torch.randperm(n, generator=g) for _ in range(permutations)))
        return (1 + exceed) / (1 + permutations)
    # the null's mean and variance from the (uncentred, zero-diagonal) kernels, moments matched to a gamma
    k0, l0 = _kernel(a[:, None]).fill_diagonal_(0), _kernel(b[:, None]).fill_diagonal_(0)
    mu_a, mu_b = float(k0.sum()) / n / (n - 1), float(l0.sum()) / n / (n - 1)
    mean = (1 + mu_a * mu_b - mu_a - mu_b) / n
    v = (ka * kb / 6).pow(2).fill_diagonal_(0)
    var = float(v.sum()) / n / (n - 1) * 72 * (n - 4) * (n - 5) / n / (n - 1) / (n - 2) / (n - 3)
    if var <= 0 or mean <= 0:
        return 1.0
    shape, scale = mean**2 / var, var * n / mean
    return float(torch.special.gammaincc(torch.tensor(shape, dtype=torch.float64), torch.tensor(stat / n / scale, dtype=torch.float64)))


def blocks(z: Tensor, size: int) -> list[Tensor]:
    """Indices of z's rows cut into groups of about `size` neighbours: split at the median of the widest column,
    recursively (a k-d tree's leaves)."""
    out, todo = [], [torch.arange(len(z))]
    while todo:
        idx = todo.pop()
        if len(idx) <= size:
            out.append(idx)
            continue
        col = int((z[idx].amax(0) - z[idx].amin(0)).argmax())
        order = idx[z[idx, col].argsort()]
        todo += [order[: len(order) // 2], order[len(order) // 2 :]]
    return out


def blocked_pvalue(a: Tensor, b: Tensor, z: Tensor, permutations: int = 100, size: int = 20,
                   g: torch.Generator | None = None) -> float:
    """p-value of HSIC(a, b) against permutations of b within blocks of neighbours in z.

    Residuals of a regression on z are uncorrelated with z but not independent of it when the noise is
    heteroscedastic (e.g. clipped), so two residuals can look dependent through z alone; within a block z is nearly
    constant, and shuffling there keeps that shared dependence in the null."""
    fa, fb = _fourier(a, g), _fourier(b, g)  # HSIC ≈ ‖Φaᵀ Φb‖²: O(n·D²) a permutation instead of O(n²)
    stat = float((fa.T @ fb).pow(2).sum())
    group = torch.empty(len(a), dtype=torch.float64)
    for k, idx in enumerate(blocks(z, size)):
        group[idx] = k
    base = group.argsort(stable=True)  # rows grouped by block; a random key inside each block shuffles within it
    exceed, left = 0, permutations
    while left:  # in batches of permutations: (batch × n) indices at once
        m = min(left, 25)
        perm = torch.empty(m, len(a), dtype=torch.long)
        perm[:, base] = (group + torch.rand(m, len(a), generator=g, dtype=torch.float64)).argsort(1)
        exceed += int((torch.einsum("nd,pne->pde", fa, fb[perm]).pow(2).sum((1, 2)) >= stat).sum())
        left -= m
    return (1 + exceed) / (1 + permutations)


def _fourier(x: Tensor, g: torch.Generator | None, features: int = 64) -> Tensor:
    """Centred random Fourier features of the Gaussian kernel with the median bandwidth (as `_kernel`), n × D."""
    med = _bandwidth(x[:, None])  # the same kernel as `_kernel`
    w = torch.randn(1, features // 2, generator=g, dtype=x.dtype) * (2.0 / med) ** 0.5  # exp(−d²/med): σ² = med/2
    proj = x[:, None] @ w
    f = torch.cat([proj.cos(), proj.sin()], 1) / (features // 2) ** 0.5
    return f - f.mean(0)


@dataclass
class Discovery:
    """A found graph: `adjacency[i, j] = 1` for i → j, the tests run, and which edges needed the noise rule."""

    adjacency: Tensor
    tests: list[tuple[int, int, tuple[int, ...], float]] = field(default_factory=list)  # (i, j, S, p-value)
    oriented_by_noise: list[tuple[int, int]] = field(default_factory=list)


def pc(labels: Tensor, alpha: float = 0.01, samples: int = 2000, permutations: int = 0, seed: int = 0) -> Discovery:
    """The graph over the label columns (N × K) by PC, v-structures, Meek's rule 1 and additive-noise orientation."""
    g = torch.Generator().manual_seed(seed)
    u = labels[torch.randperm(len(labels), generator=g)[:samples]].double()
    u = (u - u.mean(0)) / u.std(0).clamp_min(1e-12)
    k = u.shape[1]
    adj = {i: set(range(k)) - {i} for i in range(k)}
    sepset: dict[frozenset, set[int]] = {}
    out = Discovery(torch.zeros(k, k))
    given: dict[tuple[int, ...], Tensor] = {}  # the residuals of every column on each conditioning set, once

    def residual(i: int, s: tuple[int, ...]) -> Tensor:
        if s not in given:
            given[s] = residuals(u, u[:, list(s)])
        return given[s][:, i]

    for size in range(k - 1):
        for i, j in itertools.permutations(range(k), 2):
            if j not in adj[i]:
                continue
            for s in itertools.combinations(sorted(adj[i] - {j}), size):
                p = hsic_pvalue(residual(i, s), residual(j, s), permutations, g)
                if s and p <= alpha:  # dependent given s: make sure it is not heteroscedastic noise shared through s
                    enough = max(permutations, round(3 / alpha))  # the smallest p-value, 1/(1 + permutations), well below α
                    p = blocked_pvalue(residual(i, s), residual(j, s), u[:, list(s)], enough, g=g)
                out.tests.append((i, j, s, p))
                if p > alpha:
                    adj[i].discard(j)
                    adj[j].discard(i)
                    sepset[frozenset((i, j))] = set(s)
                    break
    directed: set[tuple[int, int]] = set()
    for c in range(k):  # v-structures a → c ← b where a, b are not adjacent and c did not separate them
        for a, b in itertools.combinations(sorted(adj[c]), 2):
            if b not in adj[a] and c not in sepset.get(frozenset((a, b)), set()):
                directed |= {(a, c), (b, c)}
    directed = {(a, b) for a, b in directed if (b, a) not in directed}  # conflicting colliders stay undirected

    def undirected() -> list[tuple[int, int]]:
        return [(a, b) for a in range(k) for b in sorted(adj[a]) if a < b and (a, b) not in directed and (b, a) not in directed]

    while True:
        grew = False
        for a, b in list(directed):  # Meek rule 1: a → b – c with a, c not adjacent ⇒ b → c
            for c in adj[b]:
                if c != a and c not in adj[a] and (b, c) not in directed and (c, b) not in directed:
                    directed.add((b, c))
                    grew = True
        if grew:
            continue
        left = undirected()
        if not left:
            break
        a, b = left[0]  # additive noise: keep the direction whose residual is independent of its cause
        forward = hsic(residual(b, (a,)), u[:, a])
        backward = hsic(residual(a, (b,)), u[:, b])
        edge = (a, b) if forward <= backward else (b, a)
        directed.add(edge)
        out.oriented_by_noise.append(edge)
    for a, b in directed:
        out.adjacency[a, b] = 1.0
    return out
