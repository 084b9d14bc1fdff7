"""MEDFE's losses: relativistic-average LSGAN, VGG16 perceptual and style, and the intermediate loss."""
from __future__ import annotations

from functools import partial
from typing import Any, ClassVar, Literal

import torch
import torch.nn.functional as F
from pydantic import Field
from torch import Tensor, nn

from inpaintzoo.backbones import load_features
from inpaintzoo.components.init import release_init
from inpaintzoo.interfaces import ComponentConfig, DataTarget, Loss, LossContext


def ralsgan(d_real: Tensor, d_fake: Tensor, for_generator: bool) -> Tensor:
    """Relativistic average least squares: ½[E(D(r) − E D(f) − 1)² + E(D(f) − E D(r) + 1)²] for D, signs swapped for G."""
    s = -1.0 if for_generator else 1.0
    return 0.5 * ((d_real - d_fake.mean() - s).pow(2).mean() + (d_fake - d_real.mean() + s).pow(2).mean())


class AdversarialConfig(ComponentConfig):
    pass


class RaLSGAN(Loss):
    """Relativistic average LSGAN over the global and local PatchGANs.

    One local crop per iteration, as the release (which draws it in `set_input`): the discriminator and
    generator steps of a step share it through the context, and real and fake use the same crop.
    """

    Config = AdversarialConfig
    adversarial = True

    def _scores(self, ctx: LossContext, disc, fake: Tensor) -> list[tuple[Tensor, Tensor]]:
        crop = ctx.shared.setdefault("medfe.crop", disc.sample_crop(*ctx.target.shape[-2:]))
        return list(zip(disc(ctx.target, crop=crop), disc(fake, crop=crop)))

    def forward(self, ctx: LossContext) -> Tensor:
        return sum(ralsgan(r, f, True) for r, f in self._scores(ctx, ctx.discriminator, ctx.pred))

    def discriminator_loss(self, ctx: LossContext, discriminator) -> Tensor:
        return sum(ralsgan(r, f, False) for r, f in self._scores(ctx, discriminator, ctx.pred.detach()))

    def example_inputs(self, batch_size: int = 2) -> tuple:
        from inpaintzoo.testing import dummy_loss_context

        from .discriminator import GlobalLocalPatchGAN

        ctx = dummy_loss_context(batch_size, size=16)
        ctx.discriminator = GlobalLocalPatchGAN(GlobalLocalPatchGAN.Config(local_size=8, n_convs=2)).eval()
        return (ctx,)


# torchvision/timm VGG16 `features` indices of the ReLUs MEDFE uses
VGG_LAYERS = {"relu1_1": 1, "relu2_1": 6, "relu2_2": 8, "relu3_1": 11, "relu3_3": 15, "relu4_1": 18, "relu4_3": 22,
              "relu5_1": 25, "relu5_2": 27}


class VGGConfig(ComponentConfig):
    weights: str = Field("timm", description="'timm' (vgg16.tv_in1k, downloaded), a path to a vgg16 safetensors "
                                             "state dict, or 'random' to train with an untrained VGG, explicitly")
    imagenet_normalize: bool = Field(True, description="feed VGG ImageNet-normalised [0, 1] images (the release fed [-1, 1])")


def load_vgg16(weights: str) -> nn.Sequential:
    return load_features("vgg16", weights, "weights")[: VGG_LAYERS["relu5_2"] + 1]


class _VGGLoss(Loss):
    """Shared plumbing: a frozen VGG16 kept out of the state dict (it is not part of the published model)."""

    Config = VGGConfig
    layers: tuple[str, ...] = ()

    def __init__(self, cfg: VGGConfig):
        super().__init__(cfg)
        object.__setattr__(self, "_vgg", load_vgg16(cfg.weights))

    def features(self, x: Tensor, ctx: LossContext) -> dict[str, Tensor]:
        vgg = self._vgg.to(x.device)
        if self.cfg.imagenet_normalize:
            x01 = x * 0.5 + 0.5 if ctx.model is None else _to01(x, ctx.model.contract)
            mean = torch.tensor([0.485, 0.456, 0.406], device=x.device).view(1, 3, 1, 1)
            std = torch.tensor([0.229, 0.224, 0.225], device=x.device).view(1, 3, 1, 1)
            x = (x01 - mean) / std
        out, want = {}, {VGG_LAYERS[n]: n for n in self.layers}
        for i, layer in enumerate(vgg):
            x = layer(x)
            if i in want:
                out[want[i]] = x
            if i >= max(want):
                break
        return out

    @classmethod
    def example_config(cls, workdir) -> VGGConfig:
        return VGGConfig(weights="random")

    def example_inputs(self, batch_size: int = 2) -> tuple:
        from inpaintzoo.testing import dummy_loss_context

        return (dummy_loss_context(batch_size, size=32),)


def _to01(x: Tensor, contract) -> Tensor:
    from inpaintzoo.contract import denormalize

    return denormalize(x, contract)


class Perceptual(_VGGLoss):
    """L1 between VGG16 relu1_1 … relu5_1 features of output and target (each layer weight 1)."""

    layers = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")

    def forward(self, ctx: LossContext) -> Tensor:
        fo, ft = self.features(ctx.pred, ctx), self.features(ctx.target, ctx)
        return sum(F.l1_loss(fo[k], ft[k].detach()) for k in self.layers)


def gram(f: Tensor) -> Tensor:
    n, c, h, w = f.shape
    f = f.reshape(n, c, h * w)
    return f @ f.transpose(1, 2) / (c * h * w)


class Style(_VGGLoss):
    """L1 between Gram matrices (÷ C·H·W) of VGG16 relu2_2, relu3_3, relu4_3 and a true relu5_2."""

    layers = ("relu2_2", "relu3_3", "relu4_3", "relu5_2")

    def forward(self, ctx: LossContext) -> Tensor:
        fo, ft = self.features(ctx.pred, ctx), self.features(ctx.target, ctx)
        return sum(F.l1_loss(gram(fo[k]), gram(ft[k]).detach()) for k in self.layers)


class IntermediateConfig(ComponentConfig):
    derive: ClassVar[dict[str, Any]] = {"ngf": "encoder.ngf"}
    ngf: int = Field(8, ge=1, description="must match the equalizer's (branch width 4·ngf)")
    structure: Literal["rtv", "image"] = Field(
        "rtv", description="'rtv': the RTV-smoothed image (computed once per training image in the data workers and "
                           "cached; `inpaintzoo precompute SPEC` fills the cache ahead); 'image': the target itself")
    init: Literal["release", "pytorch"] = Field("release", description="'release': N(0, 0.02) for the RGB head, as init_net")


def structure_target(image01: Tensor, mean: tuple[float, ...], std: tuple[float, ...], factor: int) -> Tensor:
    """One training image's structure target: tsmooth(image) in the contract's normalised units, bilinearly
    reduced to the branch features' size (1/factor). Runs in a DataLoader worker."""
    from .rtv import rtv_smooth

    s01 = rtv_smooth(image01[None].double())
    c = s01.shape[1]
    m = torch.tensor(mean * (c // len(mean)) if len(mean) != c else mean, dtype=s01.dtype).view(1, -1, 1, 1)
    d = torch.tensor(std * (c // len(std)) if len(std) != c else std, dtype=s01.dtype).view(1, -1, 1, 1)
    size = (image01.shape[-2] // factor, image01.shape[-1] // factor)
    return F.interpolate(((s01 - m) / d).float(), size=size, mode="bilinear", align_corners=False)[0]


class Intermediate(Loss):
    """One shared Conv1×1 + Tanh maps both branch features to RGB; L1 against the bilinearly downsampled
    target (texture) and its RTV structure image (structure)."""

    Config = IntermediateConfig

    def __init__(self, cfg: IntermediateConfig):
        super().__init__(cfg)
        self.to_rgb = nn.Sequential(nn.Conv2d(4 * cfg.ngf, 3, 1), nn.Tanh())
        if cfg.init == "release":
            release_init(self)

    def data_target(self, contract) -> DataTarget | None:
        if self.cfg.structure != "rtv":
            return None
        mean, std = tuple(contract.mean), tuple(contract.std)
        return DataTarget("medfe.structure", partial(structure_target, mean=mean, std=std, factor=8), version="rtv-exact-1")

    def forward(self, ctx: LossContext) -> Tensor:
        de, st = ctx.latent.extras["x_DE_fi"], ctx.latent.extras["x_ST_fi"]
        size = de.shape[-2:]
        tex_t = F.interpolate(ctx.target, size=size, mode="bilinear", align_corners=False)
        if self.cfg.structure == "rtv":
            if "medfe.structure" not in ctx.targets:
                raise ValueError("medfe.intermediate: the batch has no 'medfe.structure' target (train through the "
                                 "training loop, which computes it in the data pipeline)")
            st_t = ctx.targets["medfe.structure"]
        else:
            st_t = tex_t
        return F.l1_loss(self.to_rgb(de), tex_t) + F.l1_loss(self.to_rgb(st), st_t)

    def example_inputs(self, batch_size: int = 2) -> tuple:
        from inpaintzoo.testing import dummy_loss_context

        ctx = dummy_loss_context(batch_size, size=32)
        g = torch.Generator().manual_seed(3)
        ctx.latent.extras["x_DE_fi"] = torch.randn(batch_size, 4 * self.cfg.ngf, 4, 4, generator=g, requires_grad=True)
        ctx.latent.extras["x_ST_fi"] = torch.randn(batch_size, 4 * self.cfg.ngf, 4, 4, generator=g, requires_grad=True)
        t = self.data_target(type("C", (), {"mean": [0.5], "std": [0.5]})())
        if t is not None:
            ctx.targets[t.name] = torch.stack([t.fn(im * 0.5 + 0.5) for im in ctx.target])
        return (ctx,)
