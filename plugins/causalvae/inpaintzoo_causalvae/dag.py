"""DAG algebra: the causal layer's solve, the acyclicity function and graph comparison."""
from __future__ import annotations

import torch
from torch import Tensor


def causal_solve(A: Tensor, eps: Tensor) -> Tensor:
    """z = (I − Aᵀ)⁻¹ ε along the concept axis; eps is N×K×d, A is K×K with A[i, j] = edge i → j."""
    K = A.shape[0]
    if A.dtype in (torch.float16, torch.bfloat16) or eps.dtype in (torch.float16, torch.bfloat16):
        # no LU kernel in half precision (a model cast with .to(torch.bfloat16)): solve the K×K system in float32
        return causal_solve(A.float(), eps.float()).to(eps.dtype)
    eye = torch.eye(K, dtype=A.dtype, device=A.device)
    if torch.compiler.is_exporting():  # ONNX has no solve: the same system by elimination in plain tensor ops
        return eliminate(eye - A.t(), eps)
    return torch.linalg.solve(eye - A.t(), eps)


def eliminate(M: Tensor, B: Tensor) -> Tensor:
    """M⁻¹ B for a K×K `M` and N×K×d `B` by Gauss–Jordan elimination with partial pivoting, unrolled over the K
    concepts (K is a handful): indexing, products and `where` only, so an exported graph holds it; it agrees with
    `torch.linalg.solve` to float rounding (tests/test_export.py)."""
    K = M.shape[0]
    rows = torch.arange(K, device=M.device)
    for c in range(K):
        below = torch.where(rows >= c, M[:, c].abs(), torch.full_like(M[:, c], -1.0))
        p = below.argmax()
        swap = torch.where(rows == c, p, torch.where(rows == p, torch.full_like(rows, c), rows))
        M, B = M.index_select(0, swap), B.index_select(1, swap)
        pivot_row, pivot_b = M[c] / M[c, c], B[:, c] / M[c, c]
        factor = torch.where(rows == c, torch.zeros_like(M[:, c]), M[:, c])
        M = torch.where((rows == c)[:, None], pivot_row[None], M - factor[:, None] * pivot_row[None])
        B = torch.where((rows == c)[None, :, None], pivot_b[:, None], B - factor[None, :, None] * pivot_b[:, None])
    return B


def acyclicity(A: Tensor) -> Tensor:
    """h(A) = tr((I + A∘A / K)^K) − K: zero exactly when A is a DAG (the reference's `_h_A`)."""
    K = A.shape[0]
    M = torch.eye(K, dtype=A.dtype, device=A.device) + A * A / K
    return torch.trace(torch.linalg.matrix_power(M, K)) - K


def edges_to_matrix(edges: list[tuple[str, str]] | list[list[str]], names: list[str]) -> Tensor:
    A = torch.zeros(len(names), len(names))
    for a, b in edges:
        A[names.index(a), names.index(b)] = 1.0
    return A


def shd(learned: Tensor, true: Tensor, threshold: float = 0.3) -> int:
    """Structural Hamming distance: missing + extra edges, a reversed edge counting once."""
    L = (learned.abs() > threshold).int()
    T = (true != 0).int()
    L.fill_diagonal_(0)
    diff = (L != T).int()
    # a reversal shows up twice (i→j missing and j→i extra); count it once
    rev = ((L == 1) & (T == 0) & (L.t() == 0) & (T.t() == 1)).int().sum()
    return int(diff.sum() - rev)


def descendants(A: Tensor, k: int, threshold: float = 0.0) -> set[int]:
    adj = (A.abs() > threshold)
    seen, todo = set(), [k]
    while todo:
        i = todo.pop()
        for j in torch.nonzero(adj[i]).flatten().tolist():
            if j not in seen and j != k:
                seen.add(j)
                todo.append(j)
    return seen
