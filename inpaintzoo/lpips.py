"""LPIPS v0.1 (Zhang et al., CVPR 2018), the learned perceptual distance, from safetensors weights only.

The linear heads calibrated on human judgements ship with inpaintzoo (`inpaintzoo/weights/`, converted from the
`lpips` 0.1.4 package's `weights/v0.1/*.pth`, BSD-2-Clause; a test checks they equal the originals). The backbone
is VGG16 from timm (`vgg16.tv_in1k`: torchvision's ImageNet weights as safetensors on the Hub — the network LaMa's
LPIPS uses) or a local safetensors file of a torchvision-layout VGG16/AlexNet. Images in [0, 1].
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import safetensors.torch
import torch
from torch import Tensor, nn

from .backbones import load_features

WEIGHTS = Path(__file__).parent / "weights"
# torchvision `features` index just past each tapped ReLU, and the channels there
TAPS = {"vgg": ((4, 9, 16, 23, 30), (64, 128, 256, 512, 512)), "alex": ((2, 5, 8, 10, 12), (64, 192, 384, 256, 256))}
ARCH = {"vgg": "vgg16", "alex": "alexnet"}
SHIFT = (-0.030, -0.088, -0.188)
SCALE = (0.458, 0.448, 0.450)


def lin_weights_path(net: str) -> Path:
    return WEIGHTS / f"lpips-v0.1-{net}-lin.safetensors"


class LPIPS(nn.Module):
    """d(x, y) = Σ_l mean_hw ‖w_l ⊙ (φ̂_l(x) − φ̂_l(y))‖², φ̂ unit-normalised over channels."""

    def __init__(self, net: str = "vgg", backbone: str = "timm"):
        super().__init__()
        if net not in TAPS:
            raise ValueError(f"LPIPS net must be one of {sorted(TAPS)}")
        self.net, self.backbone_source = net, backbone
        ends, chans = TAPS[net]
        features = load_features(ARCH[net], backbone, "backbone")
        starts = (0,) + ends[:-1]
        self.slices = nn.ModuleList(features[a:b] for a, b in zip(starts, ends))
        lin = safetensors.torch.load_file(str(lin_weights_path(net)))
        self.lins = nn.ParameterList(nn.Parameter(lin[f"lin{i}"].view(1, c, 1, 1), requires_grad=False) for i, c in enumerate(chans))
        self.register_buffer("shift", torch.tensor(SHIFT).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("scale", torch.tensor(SCALE).view(1, 3, 1, 1), persistent=False)
        self.eval()

    @property
    def source(self) -> str:
        lin = lin_weights_path(self.net)
        back = "timm vgg16.tv_in1k" if self.backbone_source == "timm" else self.backbone_source
        return (f"LPIPS v0.1 {self.net} (linear heads {lin.name}, sha256 {hashlib.sha256(lin.read_bytes()).hexdigest()[:12]}; "
                f"backbone {back})")

    @torch.no_grad()
    def forward(self, x01: Tensor, y01: Tensor) -> Tensor:
        """Per-image distance, shape [N]."""
        x, y = (self._scale(t) for t in (x01, y01))
        total = torch.zeros(x.shape[0], device=x.device)
        for block, w in zip(self.slices, self.lins):
            x, y = block(x), block(y)
            d = _unit(x) - _unit(y)
            total = total + (d.pow(2) * w).sum(1).mean((1, 2))
        return total

    def _scale(self, x01: Tensor) -> Tensor:
        x = x01.float()
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        return (x[:, :3] * 2 - 1 - self.shift) / self.scale


def _unit(f: Tensor) -> Tensor:
    """LPIPS's normalisation: f / (‖f‖₂ + 1e-10) over channels (not F.normalize's max(‖f‖, eps))."""
    return f / (f.pow(2).sum(1, keepdim=True).sqrt() + 1e-10)
