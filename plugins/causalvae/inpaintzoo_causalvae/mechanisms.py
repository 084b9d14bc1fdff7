"""The causal layer's learned mechanisms: g_i per concept, G_j over a child's parents, φ_ij per edge."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class PerConcept(nn.Module):
    """K independent small MLPs g_i: d_in → hidden → ELU → d_out, applied to each concept's slice."""

    def __init__(self, K: int, d_in: int, d_out: int, hidden: int):
        super().__init__()
        self.nets = nn.ModuleList(nn.Sequential(nn.Linear(d_in, hidden), nn.ELU(), nn.Linear(hidden, d_out)) for _ in range(K))

    def forward(self, x: Tensor) -> Tensor:  # N×K×d_in → N×K×d_out
        return torch.stack([net(x[:, i]) for i, net in enumerate(self.nets)], dim=1)


class PerParents(nn.Module):
    """G_j over concept j's parents taken apart: an MLP per concept on (A_1j z_1, …, A_Kj z_K), N×K×d → N×K×d.

    g_j((Aᵀz)_j) sees one linear combination of the parents, which cannot express a child that depends on its
    parents jointly; scaling each parent by its edge keeps A the graph (a zero edge is an absent input)."""

    def __init__(self, K: int, d: int, hidden: int):
        super().__init__()
        self.nets = nn.ModuleList(nn.Sequential(nn.Linear(K * d, hidden), nn.ELU(), nn.Linear(hidden, hidden), nn.ELU(),
                                                nn.Linear(hidden, d)) for _ in range(K))

    def forward(self, A: Tensor, z: Tensor) -> Tensor:
        return torch.stack([net((A[:, j, None] * z).flatten(1)) for j, net in enumerate(self.nets)], dim=1)


class PerEdge(nn.Module):
    """φ_ij: a small MLP 1 → hidden → ELU → 1 for every ordered pair of concepts, batched: N×K → N×K×K."""

    def __init__(self, K: int, hidden: int):
        super().__init__()
        self.w1 = nn.Parameter(torch.randn(K, K, hidden))
        self.b1 = nn.Parameter(torch.rand(K, K, hidden) * 2 - 1)
        self.w2 = nn.Parameter(torch.randn(K, K, hidden) / hidden**0.5)
        self.b2 = nn.Parameter(torch.zeros(K, K))

    def forward(self, u: Tensor) -> Tensor:
        h = F.elu(u[:, :, None, None] * self.w1 + self.b1)
        return (h * self.w2).sum(-1) + self.b2
