"""MEDFE's two PatchGANs: a global one on the whole image and a local one on a random crop."""
from __future__ import annotations

from typing import Any, ClassVar, Literal

import torch
from pydantic import Field
from torch import Tensor, nn
from torch.nn.utils.parametrizations import spectral_norm

from inpaintzoo.components.init import release_init
from inpaintzoo.interfaces import ComponentConfig, Discriminator


def patchgan(cin: int, ndf: int, n_convs: int) -> nn.Sequential:
    """Spectral-normalised 4×4 stride-2 convs, LeakyReLU 0.2 between, no norm, no sigmoid."""
    chans = [cin] + [ndf * min(2**i, 8) for i in range(n_convs - 1)] + [1]
    layers: list[nn.Module] = []
    for i in range(n_convs):
        layers.append(spectral_norm(nn.Conv2d(chans[i], chans[i + 1], 4, 2, 1)))
        if i < n_convs - 1:
            layers.append(nn.LeakyReLU(0.2, True))
    return nn.Sequential(*layers)


class PatchGANConfig(ComponentConfig):
    derive: ClassVar[dict[str, Any]] = {"in_channels": "model.channels"}
    in_channels: int = Field(3, ge=1)
    ndf: int = Field(8, ge=1, description="paper: 64 (3 → 64 → 128 → 256 → 512 → 1)")
    n_convs: int = Field(5, ge=2)
    local_size: int = Field(64, ge=8, description="side of the local discriminator's random crop")
    init: Literal["release", "pytorch"] = Field("release", description="'release': the release's init_net (spectral-normed "
                                                                       "weights keep PyTorch's defaults, biases 0)")


class GlobalLocalPatchGAN(Discriminator):
    """Global PatchGAN on the image and local PatchGAN on a crop (the same crop for real and fake)."""

    Config = PatchGANConfig

    def __init__(self, cfg: PatchGANConfig):
        super().__init__(cfg)
        self.global_d = patchgan(cfg.in_channels, cfg.ndf, cfg.n_convs)
        self.local_d = patchgan(cfg.in_channels, cfg.ndf, cfg.n_convs)
        if cfg.init == "release":
            release_init(self)

    def sample_crop(self, h: int, w: int) -> tuple[int, int]:
        s = self.cfg.local_size
        top = int(torch.randint(0, max(1, h - s + 1), ()))
        left = int(torch.randint(0, max(1, w - s + 1), ()))
        return top, left

    def forward(self, image: Tensor, mask: Tensor | None = None, crop: tuple[int, int] | None = None) -> list[Tensor]:
        top, left = crop if crop is not None else self.sample_crop(*image.shape[-2:])
        s = self.cfg.local_size
        return [self.global_d(image), self.local_d(image[..., top : top + s, left : left + s])]

    def example_inputs(self, batch_size: int = 2) -> tuple:
        return (torch.randn(batch_size, self.cfg.in_channels, 128, 128), None, (10, 20))
