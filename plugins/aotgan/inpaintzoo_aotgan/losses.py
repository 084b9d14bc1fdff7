"""AOT-GAN's training losses (src/loss/loss.py, src/utils/option.py): L1 + 250·style + 0.1·perceptual on the raw
prediction, and the soft-mask-guided PatchGAN loss ('SM-PatchGAN', weight 0.01) on the composite.

- `aotgan.smgan`: the discriminator's score map, bilinearly scaled to the image (align_corners), is regressed (MSE)
  to 0 on real images and, on generated ones, to the mask blurred by a 71×71 Gaussian (σ 10, zero padding): pixels
  near the hole's border get soft labels. The generator regresses its scores to 1 in the hole: per pixel,
  (D − 1)² · mask / mean(mask), averaged (`mode = 'intended'`, the paper's mask-weighted term). The release multiplies
  the already-averaged MSE by mask / mean(mask) and averages again, which leaves the plain MSE over every pixel
  (`mode = 'release'`). Its trainer also zeroes the discriminator's gradients before backpropagating the generator's
  loss, so the discriminator descends that term too, times its weight 0.01: `release_gradients = true` lets the
  generator's terms reach the discriminator's gradients as there (default: the discriminator is frozen for them).
- `aotgan.perceptual`, `aotgan.style`: L1 between VGG19 relu{1..5}_1 features, and between Gram matrices (÷ C·H·W) of
  relu2_2, relu3_4, relu4_4, relu5_2; images from [−1, 1] to ImageNet-normalised [0, 1]. The two share one VGG19 pass per
  image within a step (the release runs four).

Steps as the release's trainer: one pass, both gradients from the same weights, then both steps (`joint`).
"""
from __future__ import annotations

from typing import Any, Literal

import torch
import torch.nn.functional as F
from pydantic import Field
from torch import Tensor

from inpaintzoo.gan import scores
from inpaintzoo.interfaces import ComponentConfig, Loss, LossContext


def gaussian_kernel(size: int, sigma: float) -> Tensor:
    """The release's normalised 2-D Gaussian: exp(−(x − size//2)² / 2σ²) per axis, in float32, outer product."""
    g = torch.stack([torch.exp(torch.tensor(-((x - size // 2) ** 2) / float(2 * sigma**2))) for x in range(size)])
    g = g / g.sum()
    return g[:, None] @ g[None, :]


def soft_labels(mask: Tensor, size: int, sigma: float) -> Tensor:
    k = gaussian_kernel(size, sigma).to(mask)
    return F.conv2d(mask, k.expand(mask.shape[1], 1, size, size), padding=(size - 1) // 2, groups=mask.shape[1])


class SMGANConfig(ComponentConfig):
    kernel: int = Field(71, ge=1, description="side of the Gaussian that softens the mask (odd)")
    sigma: float = Field(10.0, gt=0)
    image: Literal["composite", "pred"] = Field("composite", description="what the discriminator sees of the generator "
                                                                         "(the release: the composite)")
    mode: Literal["intended", "release"] = Field("intended", description="the generator term: 'intended' weights each "
                                                 "pixel by the mask; 'release' reduces to the plain MSE, as its code does")
    release_gradients: bool = Field(False, description="let the generator's terms reach the discriminator's gradients, "
                                                        "as the release's trainer does (only with step_order 'joint')")
    step_order: Literal["joint", "d_first", "g_first"] = "joint"


class SMGAN(Loss):
    """AOT-GAN's soft-mask-guided PatchGAN loss."""

    Config = SMGANConfig
    adversarial = True

    def _fake(self, ctx: LossContext) -> Tensor:
        return ctx.composite if self.cfg.image == "composite" else ctx.pred

    def _up(self, s: Tensor, like: Tensor) -> Tensor:
        if s.shape[-2:] == like.shape[-2:]:
            return s
        return F.interpolate(s, size=like.shape[-2:], mode="bilinear", align_corners=True)

    def _generator_term(self, fake_scores: Tensor, mask: Tensor) -> Tensor:
        s = self._up(fake_scores, mask)
        if self.cfg.mode == "release":
            return (F.mse_loss(s, torch.ones_like(s)) * mask / mask.mean()).mean()
        return ((s - 1).pow(2) * mask / mask.mean()).mean()

    def forward(self, ctx: LossContext) -> Tensor:
        fake, _ = scores(ctx, "fake", self._fake(ctx), key=self.cfg.image)
        return self._generator_term(fake, ctx.mask)

    def discriminator_loss(self, ctx: LossContext, discriminator) -> Tensor:
        fake = self._up(discriminator(self._fake(ctx).detach(), ctx.mask), ctx.mask)
        real = self._up(discriminator(ctx.target, ctx.mask), ctx.mask)
        labels = soft_labels(ctx.mask, self.cfg.kernel, self.cfg.sigma).detach()
        return F.mse_loss(fake, labels) + F.mse_loss(real, torch.zeros_like(real))

    def example_inputs(self, batch_size: int = 2) -> tuple:
        from inpaintzoo.testing import dummy_loss_context

        from .discriminator import SMPatchDiscriminator

        ctx = dummy_loss_context(batch_size, size=32)
        ctx.discriminator = SMPatchDiscriminator(SMPatchDiscriminator.Config(channels=4))
        return (ctx,)

    @classmethod
    def example_config(cls, workdir) -> SMGANConfig:
        return SMGANConfig(kernel=7, sigma=2.0)


# torchvision/timm VGG19 `features` indices of the ReLUs AOT-GAN reads
VGG19_RELU = {"relu1_1": 1, "relu2_1": 6, "relu2_2": 8, "relu3_1": 11, "relu3_4": 17, "relu4_1": 20, "relu4_4": 26,
              "relu5_1": 29, "relu5_2": 31}


class VGG19Config(ComponentConfig):
    weights: str = Field("timm", description="'timm' (vgg19.tv_in1k, torchvision's weights, downloaded once), a path to a "
                                             "vgg19 safetensors state dict, or 'random' (untrained, on purpose)")
    share: bool = Field(True, description="reuse the VGG pass of another loss of the same step (style and perceptual): "
                                          "half the cost; false runs one pass per loss, as the release (its gradients "
                                          "then sum in the release's order, to the last bit)")


class _VGG19Loss(Loss):
    """A frozen VGG19 kept out of the state dict; features cached per image within a step for every loss that uses
    the same weights."""

    Config = VGG19Config
    layers: tuple[str, ...] = ()

    def __init__(self, cfg: VGG19Config):
        super().__init__(cfg)
        from inpaintzoo.backbones import load_features

        object.__setattr__(self, "_vgg", load_features("vgg19", cfg.weights, "weights")[: VGG19_RELU["relu5_2"] + 1])

    def features(self, x: Tensor, ctx: LossContext) -> dict[str, Tensor]:
        slot = ("aotgan.vgg19", self.cfg.weights, id(x), None if self.cfg.share else id(self))
        cached: dict[str, Any] | None = ctx.shared.get(slot)
        if cached is not None and cached["x"] is x:
            return cached["f"]
        vgg = self._vgg.to(x.device)
        x01 = _to01(x, ctx)
        mean = torch.tensor([0.485, 0.456, 0.406], device=x.device, dtype=x.dtype).view(1, 3, 1, 1)
        std = torch.tensor([0.229, 0.224, 0.225], device=x.device, dtype=x.dtype).view(1, 3, 1, 1)
        h, out, want = (x01 - mean) / std, {}, {i: n for n, i in VGG19_RELU.items()}
        for i, layer in enumerate(vgg):
            h = layer(h)
            if i in want:
                out[want[i]] = h
        ctx.shared[slot] = {"x": x, "f": out}  # the tensor itself is kept, so its id is not reused within the step
        return out

    def pair(self, ctx: LossContext) -> tuple[dict[str, Tensor], dict[str, Tensor]]:
        pred = self.features(ctx.pred, ctx)
        with torch.no_grad():
            target = self.features(ctx.target, ctx)
        return pred, target

    @classmethod
    def example_config(cls, workdir) -> VGG19Config:
        return VGG19Config(weights="random")

    def example_inputs(self, batch_size: int = 2) -> tuple:
        from inpaintzoo.testing import dummy_loss_context

        return (dummy_loss_context(batch_size, size=32),)


def _to01(x: Tensor, ctx: LossContext) -> Tensor:
    """Normalised images back to [0, 1] as (x + mean/std)·std: for AOT-GAN's contract that is the release's (x + 1) / 2
    to the bit (x·std + mean rounds differently, and one Adam step from random weights shows the last bit)."""
    mean, std = (0.5,), (0.5,)
    if ctx.model is not None:
        mean, std = tuple(ctx.model.contract.mean), tuple(ctx.model.contract.std)
    c = x.shape[1]
    m = torch.tensor(mean * (c if len(mean) == 1 else 1), device=x.device, dtype=x.dtype).view(1, -1, 1, 1)
    s = torch.tensor(std * (c if len(std) == 1 else 1), device=x.device, dtype=x.dtype).view(1, -1, 1, 1)
    return (x + m / s) * s


class Perceptual(_VGG19Loss):
    """Σ over relu1_1 … relu5_1 of L1(features(pred), features(target)), each layer weight 1."""

    layers = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")

    def forward(self, ctx: LossContext) -> Tensor:
        p, t = self.pair(ctx)
        return sum(F.l1_loss(p[k], t[k]) for k in self.layers)


def gram(f: Tensor) -> Tensor:
    b, c, h, w = f.shape
    f = f.reshape(b, c, h * w)
    return f.bmm(f.transpose(1, 2)) / (h * w * c)


class Style(_VGG19Loss):
    """Σ over relu2_2, relu3_4, relu4_4, relu5_2 of L1 between Gram matrices (÷ C·H·W)."""

    layers = ("relu2_2", "relu3_4", "relu4_4", "relu5_2")

    def forward(self, ctx: LossContext) -> Tensor:
        p, t = self.pair(ctx)
        return sum(F.l1_loss(gram(p[k]), gram(t[k])) for k in self.layers)
