"""NVAE's hierarchical VAE as three components.

- `nvae.encoder`: stem on image ‖ mask, pre-processing cells, bottom-up tower; returns the feature of
  every latent group, fine → coarse, the last being the top (after `enc0`).
- `nvae.hierarchical`: the top-down tower. Starts from a learned constant, and per group computes the
  prior from the decoder state, the residual-normal posterior from the encoder feature combined with
  that state, samples z and combines it into the state. Reports every group's KL.
- `nvae.decoder`: post-processing cells and the output head (a logistic mixture or an image).

The three share the hierarchy's shape fields; a mismatch is reported by `inpaintzoo build`.
"""
from __future__ import annotations

import math
from typing import Any, ClassVar, Literal

import torch
from pydantic import Field, model_validator
from torch import Tensor, nn

from inpaintzoo.interfaces import ComponentConfig, Decoder, Encoder, ImageSize, LatentOutput, LatentPrior

from .cells import conv, make_cell
from .distributions import DiscMixLogistic, Normal


_FROM_MODEL = {"in_channels": "model.channels", "image_size": "model.image_size"}
_HIERARCHY = ("channels", "num_preprocess_blocks", "num_latent_scales", "groups_per_scale", "num_latent_per_group", "weight_norm")


class HierarchyConfig(ComponentConfig):
    derive: ClassVar[dict[str, Any]] = _FROM_MODEL
    in_channels: int = Field(3, ge=1, description="image channels (the encoder also gets the mask)")
    image_size: ImageSize = Field((16, 16), description="[height, width] of the model's images")
    channels: int = Field(8, ge=4, description="num_channels_enc/dec at full resolution")
    num_preprocess_blocks: int = Field(1, ge=0, description="each halves the resolution, doubling channels")
    num_latent_scales: int = Field(2, ge=1)
    groups_per_scale: list[int] = Field([2, 1], description="latent groups per scale, finest scale first (CelebA-64: 20, 10, 5)")
    num_latent_per_group: int = Field(4, ge=1)
    weight_norm: bool = Field(True, description="weight-normalised combiner/sampler convs, as NVAE's Conv2D")

    @model_validator(mode="after")
    def _shape(self) -> "HierarchyConfig":
        if len(self.groups_per_scale) != self.num_latent_scales:
            raise ValueError(f"groups_per_scale has {len(self.groups_per_scale)} entries; num_latent_scales is {self.num_latent_scales}")
        if any(g < 1 for g in self.groups_per_scale):
            raise ValueError("every scale needs at least one latent group")
        f = 2 ** (self.num_preprocess_blocks + self.num_latent_scales - 1)
        if self.image_size[0] % f or self.image_size[1] % f:
            raise ValueError(f"image_size {self.image_size} must be divisible by {f} (2^(pre-process blocks + scales - 1))")
        return self

    def scale_channels(self, s: int) -> int:
        """Channels at latent scale s (0 = finest)."""
        return self.channels * 2 ** (self.num_preprocess_blocks + s)

    def top_size(self) -> tuple[int, int]:
        f = 2 ** (self.num_preprocess_blocks + self.num_latent_scales - 1)
        return self.image_size[0] // f, self.image_size[1] // f


class EncoderConfig(HierarchyConfig):
    num_preprocess_cells: int = Field(2, ge=1)
    num_cell_per_cond: int = Field(2, ge=1, description="num_cell_per_cond_enc")
    cell: str = Field("nvae.residual_cell", description="registered block used for every encoder cell")


class HierarchicalEncoder(Encoder):
    """NVAE's bottom-up encoder on the hole-filled image and its mask; one feature per latent group."""

    Config = EncoderConfig

    def __init__(self, cfg: EncoderConfig):
        super().__init__(cfg)
        c = cfg.channels
        self.stem = conv(cfg.in_channels + 1, c, 3, wn=cfg.weight_norm)
        pre = []
        for _ in range(cfg.num_preprocess_blocks):
            for i in range(cfg.num_preprocess_cells):
                stride = 2 if i == cfg.num_preprocess_cells - 1 else 1
                pre.append(make_cell(cfg.cell, c, stride, weight_norm=cfg.weight_norm))
                c = c * 2 if stride == 2 else c
        self.preprocess = nn.Sequential(*pre)
        self.groups = nn.ModuleList()
        self.downs = nn.ModuleList()
        for s, n_groups in enumerate(cfg.groups_per_scale):
            for _ in range(n_groups):
                self.groups.append(nn.Sequential(*[make_cell(cfg.cell, c, 1, weight_norm=cfg.weight_norm)
                                                   for _ in range(cfg.num_cell_per_cond)]))
            if s < cfg.num_latent_scales - 1:
                self.downs.append(make_cell(cfg.cell, c, 2, weight_norm=cfg.weight_norm))
                c *= 2
        self.enc0 = nn.Sequential(nn.ELU(), conv(c, c, 1, wn=cfg.weight_norm), nn.ELU())

    def forward(self, x: Tensor, mask: Tensor) -> list[Tensor]:
        s = self.preprocess(self.stem(torch.cat([x, mask], dim=1)))
        feats, k = [], 0
        for sc, n_groups in enumerate(self.cfg.groups_per_scale):
            for _ in range(n_groups):
                s = self.groups[k](s)
                feats.append(s)
                k += 1
            if sc < self.cfg.num_latent_scales - 1:
                s = self.downs[sc](s)
        feats[-1] = self.enc0(feats[-1])
        return feats

    def example_inputs(self, batch_size: int = 2) -> tuple:
        h, w = self.cfg.image_size
        return torch.randn(batch_size, self.cfg.in_channels, h, w), torch.zeros(batch_size, 1, h, w)


class PriorConfig(HierarchyConfig):
    derive: ClassVar[dict[str, Any]] = {**_FROM_MODEL, **{k: f"encoder.{k}" for k in _HIERARCHY}}  # the encoder's shape
    num_cell_per_cond: int = Field(2, ge=1, description="num_cell_per_cond_dec")
    cell: str = Field("nvae.mbconv_cell", description="registered block for the top-down cells")
    expansion: int = Field(6, ge=1, description="E of the generative cells")
    sample_in_eval: bool = Field(False, description="sample z in eval mode (NVAE does); False uses posterior means, so inpaint() is deterministic")
    temperature: float = Field(1.0, gt=0, description="scales σ when sampling in eval mode")


def kl_alpha(groups_per_scale: list[int]) -> Tensor:
    """NVAE's 'square' balancing weights per group, in top-down order, normalised to a minimum of 1."""
    n = len(groups_per_scale)
    coeff = torch.cat([(2**i) ** 2 / groups_per_scale[n - i - 1] * torch.ones(groups_per_scale[n - i - 1]) for i in range(n)])
    return coeff / coeff.min()


class HierarchicalPrior(LatentPrior):
    """NVAE's top-down latent hierarchy: learned constant, residual-normal posteriors, per-group KL."""

    Config = PriorConfig

    def __init__(self, cfg: PriorConfig):
        super().__init__(cfg)
        S, L, wn = cfg.num_latent_scales, cfg.num_latent_per_group, cfg.weight_norm
        top_c = cfg.scale_channels(S - 1)
        self.prior_ftr0 = nn.Parameter(torch.rand(top_c, *cfg.top_size()))
        self.dec_groups = nn.ModuleList()   # cells before each group's combiner (empty for the first)
        self.enc_combiners = nn.ModuleList()  # enc feature + conv1×1(decoder state), groups 1..
        self.enc_samplers = nn.ModuleList()  # conv3×3 → 2L
        self.dec_samplers = nn.ModuleList()  # ELU → conv1×1 → 2L, groups 1..
        self.dec_combiners = nn.ModuleList()  # conv1×1(cat(s, z))
        self.ups = nn.ModuleList()
        first = True
        for d in range(S):  # coarse → fine
            s = S - 1 - d
            c = cfg.scale_channels(s)
            for _ in range(cfg.groups_per_scale[s]):
                cells = [] if first else [make_cell(cfg.cell, c, 1, expansion=cfg.expansion) for _ in range(cfg.num_cell_per_cond)]
                self.dec_groups.append(nn.Sequential(*cells))
                if not first:
                    self.enc_combiners.append(conv(c, c, 1, wn=wn))
                    self.dec_samplers.append(nn.Sequential(nn.ELU(), conv(c, 2 * L, 1, wn=wn)))
                self.enc_samplers.append(conv(c, 2 * L, 3, wn=wn))
                self.dec_combiners.append(conv(c + L, c, 1, wn=wn))
                first = False
            if d < S - 1:
                self.ups.append(make_cell(cfg.cell, c, -1, expansion=cfg.expansion))
        self.register_buffer("alpha", kl_alpha(cfg.groups_per_scale), persistent=False)

    samples = "sample_in_eval"

    def _z(self, q: Normal) -> Tensor:
        if self.training:
            return q.sample()
        if self.cfg.sample_in_eval:
            return q.mu + self.cfg.temperature * q.sigma * torch.randn_like(q.mu)
        return q.mu

    def forward(self, features: list[Tensor], labels: Tensor | None = None, mask: Tensor | None = None) -> LatentOutput:
        feats = list(reversed(features))  # top first
        b = feats[0].shape[0]
        s = self.prior_ftr0.unsqueeze(0).expand(b, -1, -1, -1)
        kl: dict[str, Tensor] = {}
        idx = 0
        for d, n_groups in enumerate(reversed(self.cfg.groups_per_scale)):
            for _ in range(n_groups):
                s = self.dec_groups[idx](s)
                if idx == 0:
                    mu_q, ls_q = self.enc_samplers[0](feats[0]).chunk(2, dim=1)
                    q = Normal(mu_q, ls_q)
                    p = Normal(torch.zeros_like(mu_q), torch.zeros_like(ls_q))
                else:
                    mu_p, ls_p = self.dec_samplers[idx - 1](s).chunk(2, dim=1)
                    ftr = feats[idx] + self.enc_combiners[idx - 1](s)
                    mu_q, ls_q = self.enc_samplers[idx](ftr).chunk(2, dim=1)
                    q = Normal(mu_p + mu_q, ls_p + ls_q)  # residual normal
                    p = Normal(mu_p, ls_p)
                z = self._z(q)
                kl[f"g{idx:02d}"] = q.kl(p).flatten(1).sum(1)
                s = self.dec_combiners[idx](torch.cat([s, z], dim=1))
                idx += 1
            if d < len(self.ups):
                s = self.ups[d](s)
        return LatentOutput(h=s, skips=None, kl=kl, extras={"kl_alpha": self.alpha})

    def example_inputs(self, batch_size: int = 2) -> tuple:
        cfg = self.cfg
        h, w = cfg.image_size
        f0 = 2**cfg.num_preprocess_blocks
        feats = []
        for s, n in enumerate(cfg.groups_per_scale):
            feats += [torch.randn(batch_size, cfg.scale_channels(s), h // (f0 * 2**s), w // (f0 * 2**s)) for _ in range(n)]
        return (feats,)


class HeadConfig(ComponentConfig):
    channels: int = Field(8, ge=4, description="channels at full resolution")
    cell: str = Field("nvae.mbconv_cell", description="registered block for the decoder's cells")
    out_channels: int = Field(3, ge=1)
    output: Literal["logistic_mixture", "image", "bernoulli"] = Field(
        "logistic_mixture", description="discretised logistic mixture (RGB), a plain image, or Bernoulli logits")
    num_mixtures: int = Field(10, ge=1)
    head_weight_norm: bool = Field(True, description="weight-normalised output conv (with bias), as the release's image_conditional")

    @model_validator(mode="after")
    def _rgb(self) -> "HeadConfig":
        if self.output == "logistic_mixture" and self.out_channels != 3:
            raise ValueError("the logistic mixture models RGB: out_channels must be 3 (use output = 'image')")
        return self


class DecoderConfig(HeadConfig):
    derive: ClassVar[dict[str, Any]] = {"channels": "encoder.channels", "num_postprocess_blocks": "encoder.num_preprocess_blocks",
                                         "out_channels": "model.channels"}
    num_postprocess_blocks: int = Field(1, ge=0, description="each doubles the resolution, halving channels")
    num_postprocess_cells: int = Field(2, ge=1)
    expansion: int = Field(3, ge=1, description="E of the post-processing cells")


class OutputHead(nn.Module):
    """ELU → conv3×3 to the output's parameters; knows how to turn them into an image."""

    def __init__(self, cin: int, cfg: HeadConfig):
        super().__init__()
        self.cfg = cfg
        out = cfg.num_mixtures * 10 if cfg.output == "logistic_mixture" else cfg.out_channels
        self.net = nn.Sequential(nn.ELU(), conv(cin, out, 3, bias=True, wn=cfg.head_weight_norm))

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)

    def to_image(self, raw: Tensor) -> Tensor:
        if self.cfg.output == "logistic_mixture":
            return DiscMixLogistic(raw, self.cfg.num_mixtures).mean()
        return torch.sigmoid(raw) if self.cfg.output == "bernoulli" else raw


class HierarchicalDecoder(Decoder):
    """NVAE's post-processing up-cells and output head: ELU → conv3×3 → mixture parameters or image."""

    Config = DecoderConfig

    def __init__(self, cfg: DecoderConfig):
        super().__init__(cfg)
        c = cfg.channels * 2**cfg.num_postprocess_blocks
        cells = []
        for _ in range(cfg.num_postprocess_blocks):
            for i in range(cfg.num_postprocess_cells):
                stride = -1 if i == 0 else 1
                cells.append(make_cell(cfg.cell, c, stride, expansion=cfg.expansion))
                c = c // 2 if stride == -1 else c
        self.postprocess = nn.Sequential(*cells)
        self.head = OutputHead(c, cfg)

    def forward(self, h: Tensor, skips: list[Tensor] | None = None) -> Tensor:
        return self.head(self.postprocess(h))

    def to_image(self, raw: Tensor) -> Tensor:
        return self.head.to_image(raw)

    def example_inputs(self, batch_size: int = 2) -> tuple:
        c = self.cfg.channels * 2**self.cfg.num_postprocess_blocks
        return (torch.randn(batch_size, c, 8, 8),)


def _upsamples(r: dict, d: dict) -> int | None:
    """log2(image side / start side) when that is a whole number: the up cells [model].image_size needs."""
    side = r["model"].image_size[0]
    start = (d.get("start_size") or CellDecoderConfig.model_fields["start_size"].default)[0]
    n = math.log2(side / start)
    return int(n) if n >= 0 and n == int(n) else None


class CellDecoderConfig(HeadConfig):
    derive: ClassVar[dict[str, Any]] = {"num_upsamples": _upsamples, "out_channels": "model.channels"}
    in_features: int | None = Field(None, ge=1, description="length of the latent vector (e.g. K concepts × d dims); "
                                                            "inferred from the prior's output when unset")
    start_size: tuple[int, int] = Field((4, 4), description="spatial size the vector is projected to")
    num_upsamples: int = Field(2, ge=0, description="up cells, each ×2 in size and ÷2 in channels (derived from "
                                                    "[model].image_size and start_size when unset)")
    skips: list[tuple[int, int, int]] | None = Field(
        None, description="[channels, height, width] of the prior's skip maps, each added through a 1×1 conv (zero at "
                          "the start) after the decoder stage of its size; inferred from the prior's output when unset")
    cells_per_scale: int = Field(1, ge=0, description="normal cells after each up cell (and at the start)")
    expansion: int = Field(6, ge=1)
    output: Literal["logistic_mixture", "image", "bernoulli"] = "image"


class CellDecoder(Decoder):
    """A latent vector → NVAE generative cells: linear projection to a map, then up cells and normal cells.

    The seed model's decoder: the causal latent (K × d) decoded through NVAE residual cells.
    """

    Config = CellDecoderConfig

    def __init__(self, cfg: CellDecoderConfig):
        super().__init__(cfg)
        c = cfg.channels * 2**cfg.num_upsamples
        self.c0 = c
        if cfg.in_features is None:
            raise ValueError("in_features is unset: it is inferred when the decoder is built from a spec; set it to build one alone")
        self.project = nn.Linear(cfg.in_features, c * cfg.start_size[0] * cfg.start_size[1])
        layers = [make_cell(cfg.cell, c, 1, expansion=cfg.expansion) for _ in range(cfg.cells_per_scale)]
        for _ in range(cfg.num_upsamples):
            layers.append(make_cell(cfg.cell, c, -1, expansion=cfg.expansion))
            c //= 2
            layers += [make_cell(cfg.cell, c, 1, expansion=cfg.expansion) for _ in range(cfg.cells_per_scale)]
        self.cells = nn.Sequential(*layers)
        self.head = OutputHead(c, cfg)
        width = {(cfg.start_size[0] * 2**k, cfg.start_size[1] * 2**k): self.c0 // 2**k for k in range(cfg.num_upsamples + 1)}
        self.skip_proj = nn.ModuleDict()
        for k, (c, h, w) in enumerate(cfg.skips or []):
            if (h, w) in width:  # a skip of a size the decoder never has is not used
                conv = nn.Conv2d(c, width[(h, w)], 1)
                nn.init.zeros_(conv.weight)
                nn.init.zeros_(conv.bias)
                self.skip_proj[str(k)] = conv

    @classmethod
    def size_hint(cls, cfg: CellDecoderConfig, image_size: tuple[int, int]) -> str | None:
        """The key to change, and a value that makes the output image_size."""
        (h, w), n, (sh, sw) = image_size, cfg.num_upsamples, cfg.start_size
        if h % 2**n == 0 and w % 2**n == 0:
            return f"set decoder.start_size = [{h >> n}, {w >> n}] (with num_upsamples = {n} that gives {h}×{w})"
        for k in range(10):
            if sh * 2**k == h and sw * 2**k == w:
                return f"set decoder.num_upsamples = {k} (from start_size {sh}×{sw} that gives {h}×{w})"
        return None

    @classmethod
    def infer_config(cls, cfg: CellDecoderConfig, upstream: LatentOutput) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if cfg.in_features is None:
            out["in_features"] = upstream.h[0].numel()
        if cfg.skips is None:
            out["skips"] = [tuple(s.shape[1:]) for s in (upstream.skips or []) if s.ndim == 4]
        return out

    def forward(self, h: Tensor, skips: list[Tensor] | None = None) -> Tensor:
        x = self.project(h.flatten(1)).view(h.shape[0], self.c0, *self.cfg.start_size)
        maps = [s for s in (skips or []) if s.ndim == 4]
        if not len(self.skip_proj) or not maps:
            return self.head(self.cells(x))
        pending: dict[tuple[int, ...], list[Tensor]] = {}
        for k, proj in self.skip_proj.items():
            pending.setdefault(tuple(maps[int(k)].shape[-2:]), []).append(proj(maps[int(k)]))
        for cell in self.cells:  # the skips of a size join after the first cell that outputs that size
            x = cell(x)
            for s in pending.pop(tuple(x.shape[-2:]), []):
                x = x + s
        return self.head(x)

    def to_image(self, raw: Tensor) -> Tensor:
        return self.head.to_image(raw)

    def example_inputs(self, batch_size: int = 2) -> tuple:
        return (torch.randn(batch_size, self.cfg.in_features),)

    @classmethod
    def example_config(cls, workdir) -> CellDecoderConfig:
        return CellDecoderConfig(in_features=16)
