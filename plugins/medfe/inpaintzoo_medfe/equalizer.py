"""MEDFE's latent stage: texture/structure branches, multi-scale partial-conv filling, fusion, channel and
spatial equalization, and redistribution of the equalized feature to all six decoder skips.

Layers and parameters follow the release (`models/PCconv.py`): 1×1 and 4×4 convs without bias, each followed by
a non-affine InstanceNorm, except the filling stacks' affine InstanceNorm and the SE block's biased convs;
weights start at N(0, 0.02) as its `init_net` (`init = "pytorch"` keeps PyTorch's defaults).

Differences from the released computation, deliberate and switchable (seed-systems §1.3):
- the partial convolutions are real: the hole mask reaches the fusion scale (any hole pixel makes a cell a
  hole) and shrinks layer by layer; the release's mask was always empty and its mask kernels random
  (`partial_conv = "release"` computes exactly what the release computed, for its weights);
- the spatial equalization is computed for every sample of the batch (the release read sample 0 only,
  forcing batch size 1: MEDFE issues #6, #14, #34) and with the permute the release forgot
  (`faithful_scramble = true` restores its position/channel scramble, for loading its weights).
"""
from __future__ import annotations

from typing import Any, ClassVar, Literal

import torch
import torch.nn.functional as F
from pydantic import Field
from torch import Tensor, nn

from inpaintzoo.components.init import release_init
from inpaintzoo.interfaces import ComponentConfig, LatentOutput, LatentPrior

from .networks import encoder_channels
from .pconv import PartialConv2d


def cna(cin: int, cout: int, k: int = 1, stride: int = 1, act: str | None = "lrelu") -> nn.Sequential:
    """Conv (no bias) → InstanceNorm (not affine) → LeakyReLU(0.2) | Tanh | nothing: the release's ConvDown/ConvUp."""
    layers: list[nn.Module] = [nn.Conv2d(cin, cout, k, stride, padding=(k - 1) // 2 if stride == 1 else 1, bias=False),
                               nn.InstanceNorm2d(cout)]
    if act == "lrelu":
        layers.append(nn.LeakyReLU(0.2))
    elif act == "tanh":
        layers.append(nn.Tanh())
    return nn.Sequential(*layers)


class FillStack(nn.Module):
    """Five partial-conv blocks (PConv → IN(affine) → LeakyReLU) of one kernel size; the mask shrinks as it goes."""

    def __init__(self, c: int, k: int, n: int = 5, release: bool = False):
        super().__init__()
        self.convs = nn.ModuleList(PartialConv2d(c, c, k, padding=k // 2, bias=False, release=release) for _ in range(n))
        self.norms = nn.ModuleList(nn.InstanceNorm2d(c, affine=True) for _ in range(n))
        self.act = nn.LeakyReLU(0.2)

    def forward(self, x: Tensor, valid: Tensor) -> Tensor:
        for conv, norm in zip(self.convs, self.norms):
            x, valid = conv(x, valid)
            x = self.act(norm(x))
        return x


def gaussian_weights(h: int, w: int, sigma: float, device=None) -> Tensor:
    """HW × HW: row p is a 2-D Gaussian (σ) centred at p over the whole map, normalised to sum 1."""
    ys, xs = torch.meshgrid(torch.arange(h, dtype=torch.float32), torch.arange(w, dtype=torch.float32), indexing="ij")
    pos = torch.stack([ys.flatten(), xs.flatten()], 1)
    d2 = (pos[:, None, :] - pos[None, :, :]).pow(2).sum(-1)
    wgt = torch.exp(-d2 / (2 * sigma * sigma))
    return (wgt / wgt.sum(1, keepdim=True)).to(device)


def range_term(f: Tensor) -> Tensor:
    """3×3 similarity-weighted average: softmax over neighbours of mean_c(σ(f_p)·σ(f_q)), applied to f_q.

    As the release, σ(f) and f are each zero-padded: an off-image neighbour has similarity 0 (it still takes
    part in the softmax) and value 0.
    """
    n, c, h, w = f.shape
    sig = torch.sigmoid(f)
    nb = F.unfold(f, 3, padding=1).view(n, c, 9, h * w)
    nb_sig = F.unfold(sig, 3, padding=1).view(n, c, 9, h * w)  # padded after the sigmoid
    sim = (sig.view(n, c, 1, h * w) * nb_sig).mean(1)  # n, 9, hw
    wgt = torch.softmax(sim, dim=1)
    return (nb * wgt.unsqueeze(1)).sum(2).view(n, c, h, w)


class EqualizerConfig(ComponentConfig):
    derive: ClassVar[dict[str, Any]] = {"ngf": "encoder.ngf"}
    ngf: int = Field(8, ge=1, description="must match the encoder's")
    kernels: list[int] = Field([3, 5, 7], description="the multi-scale filling stacks")
    fill_blocks: int = Field(5, ge=1)
    sigma: float = Field(1.5, gt=0, description="σ of the spatial (Gaussian) equalization term")
    se_reduction: int = Field(16, ge=1)
    share_filling: bool = Field(True, description="the release shares one set of filling stacks between both branches")
    faithful_scramble: bool = Field(False, description="reproduce the release's missing permute (positions and channels scrambled)")
    partial_conv: Literal["real", "release"] = Field(
        "real", description="'real': partial convs see the hole and shrink it; 'release': what the release computed "
                            "(all-valid mask, output divided by its stored random mask kernel's response)")
    cae_heads: bool = Field(False, description="MEDFE-CAE: branch outputs come from a 768→256 conv + IN + Tanh head (values in (−1, 1))")
    init: Literal["release", "pytorch"] = Field("release", description="'release': N(0, 0.02) conv weights as init_net; 'pytorch': defaults")


class Equalizer(LatentPrior):
    """MEDFE's feature equalizations between its encoder and decoder (the 'PCconv' + 'BASE' blocks)."""

    Config = EqualizerConfig

    def __init__(self, cfg: EqualizerConfig):
        super().__init__(cfg)
        e = encoder_channels(cfg.ngf)
        t, fused = e[2], e[3]  # 256 and 512 at ngf 64
        self.lrelu = nn.LeakyReLU(0.2)
        self.de1 = nn.Sequential(cna(e[0], e[1], 4, 2), cna(e[1], t, 4, 2))
        self.de2 = cna(e[1], t, 4, 2)
        self.de3 = cna(e[2], t, 1)
        self.st_up = cna(e[3], t, 1)  # shared for E4, E5, E6
        self.down = cna(3 * t, t, 1)  # shared: branch merge and after filling
        n_sets = 1 if cfg.share_filling else 2
        release = cfg.partial_conv == "release"
        self.fill = nn.ModuleList(nn.ModuleList(FillStack(t, k, cfg.fill_blocks, release) for k in cfg.kernels)
                                  for _ in range(n_sets))
        self.fuse = cna(2 * t, fused, 1)
        r = max(1, fused // cfg.se_reduction)
        self.se = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(fused, r, 1), nn.ReLU(), nn.Conv2d(r, fused, 1), nn.Sigmoid())
        self.spatial_out = cna(2 * fused, fused, 1)
        if cfg.cae_heads:
            self.cae_head = cna(3 * t, t, 1, act="tanh")
        self.to_e1 = cna(fused, e[0], 1)
        self.to_e2 = cna(fused, e[1], 1)
        self.to_e3 = cna(fused, e[2], 1)
        self.to_e4 = cna(fused, e[3], 4, 2, act=None)
        self.to_e5 = nn.Sequential(cna(fused, e[4], 4, 2), cna(e[4], e[4], 4, 2, act=None))
        self.to_e6 = nn.Sequential(cna(fused, e[5], 4, 2), cna(e[5], e[5], 4, 2), cna(e[5], e[5], 4, 2, act=None))
        self._gauss: dict[tuple, Tensor] = {}
        if cfg.init == "release":
            release_init(self)

    def _fill(self, x: Tensor, valid: Tensor, branch: int) -> Tensor:
        stacks = self.fill[0 if self.cfg.share_filling else branch]
        cat = torch.cat([s(x, valid) for s in stacks], dim=1)
        # MEDFE-CAE: the branch outputs come from a 768→256 conv + IN + Tanh instead of the shared `down`
        return self.cae_head(cat) if self.cfg.cae_heads else self.down(cat)

    def spatial(self, f: Tensor) -> Tensor:
        n, c, h, w = f.shape
        key = (h, w, f.device, f.dtype)
        if key not in self._gauss:
            self._gauss[key] = gaussian_weights(h, w, self.cfg.sigma, f.device).to(f.dtype)
        g = f.flatten(2) @ self._gauss[key].t()  # n, c, hw
        r = range_term(f).flatten(2)
        if self.cfg.faithful_scramble:  # the release: an [HW, C] result viewed as [C, H, W]
            g, r = g.transpose(1, 2).reshape(n, c, h * w), r.transpose(1, 2).reshape(n, c, h * w)
        return self.spatial_out(torch.cat([g, r], dim=1).view(n, 2 * c, h, w))

    def forward(self, features: list[Tensor], labels: Tensor | None = None, mask: Tensor | None = None) -> LatentOutput:
        e1, e2, e3, e4, e5, e6 = features
        a = [self.lrelu(x) for x in features]
        size = e3.shape[-2:]
        de = self.down(torch.cat([self.de1(a[0]), self.de2(a[1]), self.de3(a[2])], dim=1))
        st = self.down(torch.cat([self.st_up(F.interpolate(x, size=size, mode="bilinear", align_corners=False))
                                  for x in a[3:]], dim=1))
        if mask is None:
            valid = torch.ones_like(de[:, :1])
        else:
            valid = 1.0 - F.adaptive_max_pool2d(mask, size)  # any hole pixel makes a cell a hole
        de_fi = self._fill(de, valid, 0)
        st_fi = self._fill(st, valid, 1)
        fused = self.fuse(torch.cat([st_fi, de_fi], dim=1))
        f = fused * self.se(fused)
        f = self.spatial(f)
        up = lambda x, ref: F.interpolate(x, size=ref.shape[-2:], mode="bilinear", align_corners=False)  # noqa: E731
        skips = [e1 + self.to_e1(up(f, e1)), e2 + self.to_e2(up(f, e2)), e3 + self.to_e3(f),
                 e4 + self.to_e4(f), e5 + self.to_e5(f), e6 + self.to_e6(f)]
        extras = {"x_DE_fi": de_fi, "x_ST_fi": st_fi}
        return LatentOutput(h=skips[-1], skips=skips, extras=extras)

    def example_inputs(self, batch_size: int = 2) -> tuple:
        e = encoder_channels(self.cfg.ngf)
        sizes = [128, 64, 32, 16, 8, 4]
        feats = [torch.randn(batch_size, c, s, s) for c, s in zip(e, sizes)]
        mask = torch.zeros(batch_size, 1, 256, 256)
        mask[..., 64:192, 64:192] = 1
        return (feats, None, mask)
