"""The CausalVAE causal layer as a LatentPrior over K named concepts × d dimensions.

Per the reference (`mask_vae_pendulum.py`): the encoder features are projected to exogenous ε (the
posterior variance is fixed to 1); z = (I − Aᵀ)⁻¹ ε; the mask layer gives f(z)_i = g_i((Aᵀz)_i) plus the
attention term softmax(sigmoid(z M εᵀ)) ε; the decoder input is sampled from N(f(z), 0.001·I). Labels u
give the conditional prior p(z_i | u_i) = N(λ_i(u_i)·1, I) and the label path g(Aᵀu).

The adjacency is `learned` (from zero, or from the reference's preset), `given` (fixed to the spec's
edges) or `masked` (learned, but only on the spec's edges). With `discovery = "pc"` a learned graph's support
is found from the training labels when a run starts (`discovery.py`: the PC algorithm with kernel tests), and
A's values are learned on it from `discovery_init`; the release learns A by gradient alone, which cannot find
the pendulum graph from zero (docs/seeds.md).

With `skips = true` the encoder's features reach the decoder, but only where the image is known (each map is
zeroed in every cell that touches the hole): inpainting keeps the detail around a hole, while an intervention
without a mask, or a hole that covers everything, regenerates the image from the concepts alone.
"""
from __future__ import annotations

from pathlib import Path
from typing import Literal

import torch
import torch.nn.functional as F
from pydantic import Field, model_validator
from torch import Tensor, nn

from inpaintzoo.errors import InputError
from inpaintzoo.interfaces import ComponentConfig, LatentOutput, LatentPrior

from .dag import causal_solve, descendants, edges_to_matrix
from .mechanisms import PerConcept, PerEdge, PerParents


class CausalConfig(ComponentConfig):
    concepts: list[str] = Field(["pendulum", "light", "shadow_length", "shadow_position"], description="concept names, in label order")
    dims_per_concept: int = Field(4, ge=1, description="d: latent dimensions per concept (reference: 4)")
    in_features: int | None = Field(None, ge=1, description="size of the flattened last encoder feature; inferred from "
                                                            "the encoder's output when unset")
    graph: Literal["learned", "given", "masked"] = "learned"
    edges: list[tuple[str, str]] = Field([], description="[cause, effect] pairs: the given graph, or the allowed edges when masked")
    init: Literal["zero", "reference"] = Field("zero", description="learned A starts at zero, or at the reference's preset (A[0,1:]=A[1,2:]=1)")
    diagonal: Literal["zero", "free"] = Field(
        "zero", description="A's diagonal: held at zero (a DAG has no self-loops), or 'free' as in the release, where it is "
                            "a learnable parameter that h(A) penalises")
    attention_init_std: float = Field(0.1, ge=0, description="M (attention bilinear form) starts at N(0, std²); release: 1.0")
    label_scale: list[tuple[float, float]] = Field(
        [(0.0, 44.0), (100.0, 40.0), (6.5, 3.5), (10.0, 5.0)], description="(s0, s1) per concept: λ(u) = (u − s0)/s1 (pendulum defaults)")
    hidden: int = Field(32, ge=1, description="width of each per-concept g_i")
    mechanism: Literal["single_index", "parents"] = Field(
        "single_index", description="f(z)_j = g_j((Aᵀz)_j), one linear combination of the parents, as released; or "
                                    "'parents': G_j(A_1j z_1, …, A_Kj z_K), an MLP over the parents taken apart, so a "
                                    "child can depend on them jointly (the pendulum's shadows multiply functions of "
                                    "both causes) and do() propagates through that")
    intervention: Literal["decoder_input", "latent", "counterfactual"] = Field(
        "decoder_input", description="how do(c = v) reaches the decoder: 'decoder_input' writes λ(v) into f(z)_c, as "
                                     "released; 'latent' sets z_c = λ(v), recomputes the descendants by the linear SCM "
                                     "z = Aᵀz + ε, then ε' = z' − Aᵀz' and f(z') as in training (docs/seeds.md: +2 to +3 dB "
                                     "on pendulum do() without retraining); 'counterfactual' does the same but moves each "
                                     "descendant by what the learned label-path mechanism predicts, keeping its own noise: "
                                     "z'_j = z_j + m_j(z̄') − m_j(z̄) (abduction, action, prediction)")
    decoder_variance: float = Field(1e-3, ge=0, description="variance of the decoder-input sample around f(z)")
    out_shape: list[int] = Field([], description="reshape the decoder input to this (e.g. [C, H, W]); empty keeps N × K·d")
    label_space: Literal["scaled", "raw"] = Field(
        "scaled", description="the label path g(Aᵀu) and its loss on λ(u) = (u − s0)/s1, the scale A has in the latent "
                              "solve (so |A| means the same in both and the edge threshold is unit-free); 'raw': on the "
                              "raw labels, as released")
    label_path: Literal["single_index", "additive"] = Field(
        "single_index", description="g_j(Σ_i A_ij u_i), as released; or 'additive': g_j(Σ_i A_ij φ_ij(u_i)) with a small "
                                    "learned φ per edge, so that A_ij gets a gradient from zero even when u_j depends on "
                                    "u_i non-monotonically (the pendulum's shadow length)")
    edge_threshold: float = Field(0.3, ge=0, description="|A| above this counts as an edge for descendants and SHD")
    discovery: Literal["none", "pc"] = Field(
        "none", description="'pc': find a learned graph's support from the training labels when a run starts (PC with "
                            "kernel tests); A's values are then learned on it, from `discovery_init`")
    discovery_samples: int = Field(2000, ge=50, description="labels subsampled for the discovery tests")
    discovery_init: float = Field(1.0, description="strength a discovered edge starts at (the release's preset edges start at "
                                                   "1); learned from there")
    discovery_alpha: float = Field(0.01, gt=0, lt=1, description="significance level of the independence tests")
    skips: bool = Field(False, description="pass the encoder's features to the decoder, visible region only")
    prior_std: float = Field(1.0, gt=0, description="std of the concept prior N(λ(u), σ²I) (release: 1)")
    style_dims: int = Field(0, ge=0, description="latent dimensions outside the concepts (the encoder's code; its KL "
                                                  "½‖s‖² is reported and charged by causalvae.kl's style_weight), "
                                                  "appended to the decoder input and kept as they are by do(): what the "
                                                  "labels do not say (a face's skin, hair, background, pose), which a "
                                                  "counterfactual keeps. 0: the concepts alone, as released (needs a "
                                                  "decoder that takes the flat vector, e.g. nvae.cell_decoder)")

    @model_validator(mode="after")
    def _check(self) -> "CausalConfig":
        if len(set(self.concepts)) != len(self.concepts) or len(self.concepts) < 2:
            raise ValueError("concepts must be at least two distinct names")
        if len(self.label_scale) != len(self.concepts):
            raise ValueError(f"label_scale has {len(self.label_scale)} entries for {len(self.concepts)} concepts")
        for a, b in self.edges:
            for n in (a, b):
                if n not in self.concepts:
                    raise ValueError(f"edge [{a!r}, {b!r}]: {n!r} is not one of the concepts {self.concepts}")
        if self.graph != "learned" and not self.edges:
            raise ValueError(f"graph = '{self.graph}' needs edges")
        if self.out_shape and self.style_dims:
            raise ValueError("out_shape reshapes the concepts alone; with style_dims the decoder input is a flat vector: "
                             "drop one of them")
        if self.out_shape:
            n = 1
            for s in self.out_shape:
                n *= s
            if n != len(self.concepts) * self.dims_per_concept:
                raise ValueError(f"out_shape {self.out_shape} holds {n} values; the latent has K·d = {len(self.concepts) * self.dims_per_concept}")
        return self


class CausalLayer(LatentPrior):
    """CausalVAE's causal layer: learned or given DAG over named concepts, conditional prior, do()."""

    Config = CausalConfig
    supports_interventions = True

    def __init__(self, cfg: CausalConfig):
        super().__init__(cfg)
        K, d = len(cfg.concepts), cfg.dims_per_concept
        self.K, self.d = K, d
        if cfg.in_features is None:
            raise ValueError("in_features is unset: it is inferred when the layer is built from a spec; set it to build one alone")
        # ε's mean, the style's (when style_dims), then the (discarded) variances, as the reference's 2·K·d
        self.to_eps = nn.Linear(cfg.in_features, 2 * (K * d + cfg.style_dims))
        allowed = torch.ones(K, K) - (torch.eye(K) if cfg.diagonal == "zero" else 0)
        if cfg.graph != "learned":
            allowed = edges_to_matrix(cfg.edges, cfg.concepts)
        self.register_buffer("allowed", allowed)
        init = torch.zeros(K, K)
        if cfg.graph == "given":
            init = allowed.clone()
        elif cfg.init == "reference":
            init[0, 1:] = 1.0
            init[1, 2:] = 1.0
        self.A_param = nn.Parameter(init, requires_grad=cfg.graph != "given")
        self.mix = PerConcept(K, d, d, cfg.hidden) if cfg.mechanism == "single_index" else PerParents(K, d, cfg.hidden)
        self.label_mix = PerConcept(K, 1, 1, cfg.hidden)
        self.label_edges = PerEdge(K, cfg.hidden) if cfg.label_path == "additive" else None
        self.M = nn.Parameter(torch.randn(d, d) * cfg.attention_init_std)  # attention bilinear form (release: N(0, 1))
        self.register_buffer("scale", torch.tensor(cfg.label_scale, dtype=torch.float32))

    @property
    def label_dim(self) -> int:
        return self.K

    def concept_names(self) -> list[str]:
        return list(self.cfg.concepts)

    @property
    def A(self) -> Tensor:
        """The adjacency in use: A[i, j] is the strength of edge concept i → concept j."""
        return self.A_param * self.allowed

    def prior_mean(self, labels: Tensor) -> Tensor:
        """λ_i(u_i)·1: N×K×d."""
        return self.scaled(labels).unsqueeze(-1).expand(-1, -1, self.d)

    def scaled(self, labels: Tensor) -> Tensor:
        """λ(u) = (u − s0)/s1 per concept."""
        return (labels - self.scale[:, 0]) / self.scale[:, 1]

    def _encode(self, features: list[Tensor]) -> Tensor:
        h = features[-1].flatten(1)
        return self.to_eps(h)[:, : self.K * self.d].view(-1, self.K, self.d)

    def _style(self, features: list[Tensor]) -> Tensor | None:
        """The latent outside the concepts (N × style_dims), or None."""
        if not self.cfg.style_dims:
            return None
        n = self.K * self.d
        return self.to_eps(features[-1].flatten(1))[:, n : n + self.cfg.style_dims]

    def _mask_layer(self, z: Tensor, eps: Tensor, attn_from: Tensor | None = None) -> Tensor:
        """f(z) = g(Aᵀz) + softmax(sigmoid(z M εᵀ)) ε; `attn_from` holds the attention term's z fixed."""
        fz = self.mix(torch.einsum("ij,nid->njd", self.A, z)) if isinstance(self.mix, PerConcept) else self.mix(self.A, z)
        za = z if attn_from is None else attn_from
        att = torch.softmax(torch.sigmoid(za @ self.M @ eps.transpose(1, 2)), dim=1)
        return fz + att @ eps

    def _decoder_input(self, fz: Tensor, style: Tensor | None = None) -> Tensor:
        x = fz
        if self.training and self.cfg.decoder_variance > 0:
            x = fz + self.cfg.decoder_variance**0.5 * torch.randn_like(fz)
        x = x.reshape(x.shape[0], -1)
        if style is not None:
            return torch.cat([x, style], dim=1)
        return x.view(x.shape[0], *self.cfg.out_shape) if self.cfg.out_shape else x

    def _label_input(self, u: Tensor) -> Tensor:
        """Σ_i A_ij u_i (single index), or Σ_i A_ij φ_ij(u_i) (additive): N×K."""
        if self.label_edges is None:
            return u @ self.A
        return (self.label_edges(u) * self.A).sum(1)

    def prepare_training(self, dataset) -> str | None:
        """Before the first step of a fresh run: discover the learned graph's support from the labels."""
        if self.cfg.graph != "learned" or self.cfg.discovery == "none":
            return None
        from .discovery import pc

        labels = getattr(dataset, "labels", None)
        if not isinstance(labels, Tensor):
            if len(dataset) == 0 or "labels" not in dataset[0]:
                raise InputError("[prior] discovery = \"pc\" needs concept labels, and the training data set has none; "
                                 "use a labelled data set or set discovery = \"none\"")
            labels = torch.stack([dataset[i]["labels"] for i in range(len(dataset))])
        if labels.shape[1] != self.K:
            raise InputError(f"[prior] discovery = \"pc\": the data set has {labels.shape[1]} label columns, the layer "
                             f"{self.K} concepts ({', '.join(self.concept_names())}); make [prior] concepts match the labels")
        seed = int(torch.randint(2**31 - 1, (1,)))  # the run's seed decides the label subsample
        found = pc(labels.float(), alpha=self.cfg.discovery_alpha, samples=self.cfg.discovery_samples, seed=seed)
        with torch.no_grad():
            self.allowed.copy_(found.adjacency)
            self.A_param.copy_(found.adjacency * self.cfg.discovery_init)
        names = self.concept_names()
        edges = ", ".join(f"{names[i]} → {names[j]}" for i, j in found.adjacency.nonzero().tolist()) or "none"
        return f"causal graph found from {len(labels)} labels by PC ({len(found.tests)} tests): {edges}; A starts at {self.cfg.discovery_init:g} on these edges and is learned"

    def _skips(self, features: list[Tensor], mask: Tensor | None, regenerate: bool) -> list[Tensor] | None:
        """The encoder's maps for the decoder where the image is known (none when all is regenerated)."""
        if not self.cfg.skips:
            return None
        if mask is None or regenerate:
            return [torch.zeros_like(f) for f in features]
        known = 1 - mask.flatten(1).amin(1)  # 0 for a sample whose hole is the whole image: it passes nothing
        return [f * (1 - F.adaptive_max_pool2d(mask, f.shape[-2:])) if f.ndim == 4 else f * known.view(-1, *[1] * (f.ndim - 1))
                for f in features]

    def forward(self, features: list[Tensor], labels: Tensor | None = None, mask: Tensor | None = None) -> LatentOutput:
        eps = self._encode(features)
        z = causal_solve(self.A, eps)
        fz = self._mask_layer(z, eps)
        style = self._style(features)
        extras: dict = {"eps": eps, "z": z, "fz": fz, "A": self.A, "concepts": self.concept_names(), "style": style}
        kl = {"eps": 0.5 * eps.pow(2).flatten(1).sum(1)}  # KL(N(ε, I) ‖ N(0, I))
        if style is not None:
            kl["style"] = 0.5 * style.pow(2).sum(1)
        if labels is not None:
            extras["prior_mean"] = self.prior_mean(labels)
            extras["prior_std"] = self.cfg.prior_std
            u = self.scaled(labels) if self.cfg.label_space == "scaled" else labels
            extras["labels"] = u  # the label path's target, in its space
            extras["label_pred"] = self.label_mix(self._label_input(u).unsqueeze(-1)).squeeze(-1)  # g(Aᵀu)
        # per sample, as tensor ops: no host sync on the training path
        return LatentOutput(h=self._decoder_input(fz, style), skips=self._skips(features, mask, False), kl=kl, extras=extras)

    def intervene(self, features: list[Tensor], values: dict[str, float], labels: Tensor | None = None,
                  mask: Tensor | None = None) -> LatentOutput:
        """do(concept = value), value in label units; descendants follow through A, others stay as they were.

        The concept's latent is set to λ(value)·1 and its descendants are recomputed (`propagate`). 'decoder_input'
        (as released): f(z) is recomputed with the attention term held at its factual value and the concept's own
        decoder input set to λ(value); 'latent' and 'counterfactual': ε' = z' − Aᵀz' and f(z') are recomputed whole,
        as training computes them.
        """
        eps = self._encode(features)
        z = causal_solve(self.A, eps)
        names = self.concept_names()
        pinned = {names.index(k): torch.full_like(z[:, 0], (float(v) - float(self.scale[names.index(k), 0])) / float(self.scale[names.index(k), 1]))
                  for k, v in values.items()}
        A = self.live_A()
        zi = self.propagate(z, eps, pinned)
        fz_fact = self._mask_layer(z, eps)
        if self.cfg.intervention != "decoder_input":  # the decoder sees the intervened scene as it saw scenes in training
            fz = self._mask_layer(zi, zi - torch.einsum("ij,nid->njd", self.A, zi))
        else:
            fz = self._mask_layer(zi, eps, attn_from=z)
        keep = [j for j in range(self.K) if j not in pinned and not self._is_descendant(A, pinned, j)]
        fz[:, keep] = fz_fact[:, keep]  # bit-identical for every concept the intervention cannot reach
        if self.cfg.intervention == "decoder_input":
            for k, v in pinned.items():
                fz[:, k] = v
        regenerate = mask is None or not bool(mask.any())  # intervene() without a mask redraws the whole image
        return LatentOutput(h=self._decoder_input(fz, self._style(features)), skips=self._skips(features, mask, regenerate),
                            extras={"z": zi, "fz": fz, "A": self.A})

    def _is_descendant(self, A: Tensor, pinned: dict[int, Tensor], j: int) -> bool:
        return any(j in descendants(A, k) for k in pinned)

    def live_A(self) -> Tensor:
        """The graph do() propagates through: a learned A's entries above `edge_threshold`, a given A as it is."""
        return self.A * (self.A.abs() > self.cfg.edge_threshold) if self.cfg.graph == "learned" else self.A

    def propagate(self, z: Tensor, eps: Tensor, pinned: dict[int, Tensor]) -> Tensor:
        """z' of do(): each pinned concept set to its value (N×d, N or a scalar, in prior units),
        its descendants in `live_A()` recomputed in topological order (K passes), every other concept as it was.

        'decoder_input' and 'latent': by the linear SCM z_j = Σ_i A_ij z_i + ε_j. 'counterfactual': z'_j = z_j +
        m_j(z̄') − m_j(z̄), m the label path (the learned, non-linear mechanism of each concept from its parents' values)
        on the per-concept means z̄, so a descendant keeps what its own noise put in it and moves as its mechanism says.
        """
        A = self.live_A()
        moved = set().union(*(descendants(A, k) for k in pinned)) - set(pinned) if pinned else set()
        zi = z.clone()
        for k, v in pinned.items():
            v = torch.as_tensor(v, dtype=z.dtype, device=z.device)
            zi[:, k] = v if v.dim() == 2 else v.reshape(-1, 1)  # N×d as it is; N or a scalar, the same in every dim
        if not moved:
            return zi
        factual = self.mechanism(z.mean(-1)) if self.cfg.intervention == "counterfactual" else None
        for _ in range(self.K):
            if factual is not None:
                new = z + (self.mechanism(zi.mean(-1)) - factual).unsqueeze(-1)
            else:
                new = torch.einsum("ij,nid->njd", A, zi) + eps
            zi = torch.cat([new[:, j : j + 1] if j in moved else zi[:, j : j + 1] for j in range(self.K)], dim=1)
        return zi

    def mechanism(self, zbar: Tensor) -> Tensor:
        """m(z̄): each concept's value as the label path predicts it from its parents' values (N×K, prior units)."""
        raw = self.cfg.label_space == "raw"
        u = self.scale[:, 0] + self.scale[:, 1] * zbar if raw else zbar
        out = self.label_mix(self._label_input(u).unsqueeze(-1)).squeeze(-1)
        return self.scaled(out) if raw else out

    def grid_values(self, n: int = 5) -> dict[str, list[float]]:
        """n values per concept spanning λ⁻¹([−1, 1]) = s0 ± s1 (inside the data's range for the zoo's data sets)."""
        return {c: [float(self.scale[i, 0] + self.scale[i, 1] * t) for t in torch.linspace(-1, 1, n)]
                for i, c in enumerate(self.concept_names())}

    def concept_descendants(self) -> dict[str, list[str]]:
        """The concepts downstream of each in the graph do() propagates through (A's non-zero entries)."""
        names = self.concept_names()
        A = self.A.detach().cpu()
        return {c: [names[j] for j in sorted(descendants(A, i))] for i, c in enumerate(names)}

    def concept_edges(self) -> list[tuple[str, str, float]]:
        names, A = self.concept_names(), self.A.detach().cpu()
        return [(names[i], names[j], float(A[i, j])) for i in range(self.K) for j in range(self.K) if A[i, j] != 0]

    def read_concepts(self, model, images01: Tensor) -> dict[str, list[float]]:
        """λ⁻¹ of the encoder's z per concept: the label value it reads from each image."""
        from .interventions import read_back

        z = read_back(model, images01)
        return {c: (self.scale[i, 0] + self.scale[i, 1] * z[:, i]).tolist() for i, c in enumerate(self.concept_names())}

    def concept_ranges(self) -> dict[str, tuple[float, float]]:
        """λ⁻¹([−1, 1]) = s0 ± s1 per concept: the span of the grid (and of the demo's sliders)."""
        return {c: (float(self.scale[i, 0] - self.scale[i, 1]), float(self.scale[i, 0] + self.scale[i, 1]))
                for i, c in enumerate(self.concept_names())}

    def true_graph(self) -> Tensor | None:
        """The spec's edges as a matrix: the graph in use (given/masked) or the truth to score (learned)."""
        return edges_to_matrix(self.cfg.edges, self.cfg.concepts) if self.cfg.edges else None

    def on_evaluate(self, model, dataset, folder: Path, step: int) -> dict[str, float]:
        """Adjacency heatmap (the seed's Fig. 5), intervention grid (Fig. 4), SHD and intervention accuracy."""
        from inpaintzoo.plots import intervention_grid, save_image

        from .dag import shd
        from .interventions import evaluate_interventions
        from .plots import adjacency_heatmap, record_adjacency

        A = self.A.detach().cpu()
        adjacency_heatmap(A, self.concept_names(), folder / f"adjacency-{step:08d}.png", f"A at step {step}",
                          truth=self.true_graph() if self.cfg.graph == "learned" else None)
        out: dict[str, float] = {}
        truth = self.true_graph()
        if truth is not None:
            out["shd"] = float(shd(A, truth, self.cfg.edge_threshold))
        record_adjacency(folder, step, A, out.get("shd"), self.concept_names(),
                         self.true_graph() if self.cfg.graph == "learned" else None, self.cfg.edge_threshold)
        if hasattr(dataset, "counterfactual"):
            was = model.training
            model.eval()
            out.update(evaluate_interventions(model, dataset, n=16)[0])
            grid, _ = intervention_grid(model, dataset[0]["image"], self.grid_values())
            save_image(grid, folder / f"interventions-{step:08d}.png")
            model.train(was)
        return out

    def evaluation_report(self, model, dataset, n: int) -> dict:
        """For `inpaintzoo eval`: the learned matrix, SHD at three thresholds, and the intervention table."""
        from .dag import shd
        from .interventions import evaluate_interventions

        A = self.A.detach().cpu()
        report: dict = {"metrics": {}, "tables": {}, "adjacency": [[round(float(v), 4) for v in row] for row in A],
                        "concepts": self.concept_names()}
        truth = self.true_graph()
        if truth is not None and self.cfg.graph == "learned":
            for t in (0.1, 0.3, 0.5):
                report["metrics"][f"shd@{t}"] = float(shd(A, truth, t))
        report["tables"]["learned adjacency (row → column)"] = [
            {"cause": c, **{e: round(float(A[i, j]), 3) for j, e in enumerate(self.concept_names())}}
            for i, c in enumerate(self.concept_names())]
        if hasattr(dataset, "counterfactual"):
            metrics, rows = evaluate_interventions(model, dataset, n=min(n, 64))
            summary = ("recon_psnr", "do_psnr", "do_readback", "do_nondesc_change")  # per concept: in the table
            report["metrics"].update({k: metrics[k] for k in summary if k in metrics})
            report["tables"]["interventions against the true counterfactuals"] = [
                {k: v for k, v in r.items() if k not in ("moved", "scm_moved")} for r in rows]
            if all("moved" in r for r in rows):  # the seed's Fig. 4 as numbers
                report["tables"]["concepts moved by do(), read back (model / SCM, prior units)"] = [
                    {"do": r["concept"], **{c: f"{r['moved'][c]:.3f} / {r['scm_moved'][c]:.3f}" if c in r["moved"] else "—"
                                            for c in self.concept_names()}} for r in rows]
        return report

    @classmethod
    def infer_config(cls, cfg: CausalConfig, upstream: list[Tensor]) -> dict:
        return {"in_features": upstream[-1][0].numel()} if cfg.in_features is None else {}

    @classmethod
    def example_config(cls, workdir) -> CausalConfig:
        return CausalConfig(in_features=32)

    def example_inputs(self, batch_size: int = 2) -> tuple:
        return ([torch.randn(batch_size, self.cfg.in_features)], torch.rand(batch_size, self.K) * 10)
