"""Image-quality metrics over the whole image and inside the hole. Images in [0, 1], masks 1 = hole."""
from __future__ import annotations

import torch
from torch import Tensor


def _hole_mean(x: Tensor, mask: Tensor) -> Tensor:
    """Per-image mean of x (N×C×H×W) over hole pixels; images without a hole give NaN."""
    w = mask.expand_as(x)
    return (x * w).flatten(1).sum(1) / w.flatten(1).sum(1)


def psnr(pred: Tensor, target: Tensor, mask: Tensor | None = None) -> Tensor:
    """Per-image PSNR in dB for data range 1, over the hole when a mask is given."""
    err = (pred - target).pow(2)
    mse = err.flatten(1).mean(1) if mask is None else _hole_mean(err, mask)
    return 10 * torch.log10(1.0 / mse.clamp_min(1e-10))


def l1(pred: Tensor, target: Tensor, mask: Tensor | None = None) -> Tensor:
    err = (pred - target).abs()
    return err.flatten(1).mean(1) if mask is None else _hole_mean(err, mask)


def ssim(pred: Tensor, target: Tensor, mask: Tensor | None = None) -> Tensor:
    """Per-image SSIM (torchmetrics, Gaussian 11×11, σ 1.5); inside the hole, the SSIM map's hole mean."""
    from torchmetrics.functional.image import structural_similarity_index_measure as tm_ssim

    k = 11 if min(pred.shape[-2:]) >= 11 else (min(pred.shape[-2:]) // 2) * 2 - 1
    _, full = tm_ssim(pred.float(), target.float(), data_range=1.0, kernel_size=k, reduction="none",
                      return_full_image=True)
    if mask is None:
        return full.flatten(1).mean(1)
    return _hole_mean(full, mask)

