"""MAT as two components: `mat.encoder` (the mapping network, the coarse stage and the refinement encoder, which
is where MAT draws its noise) and `mat.decoder` (the refinement network's StyleGAN2 decoder), with
`core.identity` between them.

The encoder sees the image in [−1, 1] with holes zeroed and the mask (1 = hole; the release's masks are 1 = valid).
It draws z ~ N(0, I) per image and the release's test-time dropout (each element of two feature maps keeps its
value or takes the mapped noise, ½ each), both from torch's generator, so `inpaint(..., seed=)` makes a result
reproducible. It hands on the refinement encoder's features fine → coarse (to 32²), the style codes w (one per
style input) and the global style, and the noise-mixed 16² feature as the decoder's input. The decoder's output is
the image in [−1, 1], not squashed (the release clamps when converting to 8 bits).
"""
from __future__ import annotations

import math
from typing import Any, ClassVar, Literal

import torch
from pydantic import Field, field_validator, model_validator
from torch import Tensor, nn

from inpaintzoo.interfaces import ComponentConfig, Decoder, Encoder

from .layers import FullyConnected, MappingNet
from .stages import CHANNELS, ConvEncoder, FirstDecBlock, FirstStage, StyleBlock, ToStyle, mix_noise, nf


def _resolution(v: int) -> int:
    if v < 128 or v > max(CHANNELS) or 2 ** int(math.log2(v)) != v:
        raise ValueError(f"must be a power of two from 128 to {max(CHANNELS)} (the transformer runs at 64², and the "
                         f"coarse stage upsamples from there at least once), got {v}")
    return v


class MATConfig(ComponentConfig):
    derive: ClassVar[dict[str, Any]] = {"resolution": lambda r, d: r["model"].image_size[0]}
    resolution: int = Field(512, description="the network's square input size (512; 256 for the CelebA-HQ-256 model)")
    w_dim: int = Field(512, ge=1, description="style vector size")
    channel_max: int = Field(512, ge=1, description="caps the release's channels per resolution (small test models)")
    image_channels: int = Field(3, ge=1)

    @field_validator("resolution")
    @classmethod
    def _power_of_two(cls, v: int) -> int:
        return _resolution(v)


class MATEncoderConfig(MATConfig):
    z_dim: int = Field(512, ge=1, description="noise vector size")
    dim: int = Field(180, ge=6, multiple_of=6, description="the transformer's width (6 heads)")
    truncation_psi: float = Field(1.0, ge=0.0, le=1.0, description="w pulled towards its training mean (1: not at all)")


class MATDecoderConfig(MATConfig):
    noise: Literal["const", "none"] = Field("const", description="per-pixel noise inputs: the stored fields × learned "
                                            "strengths (the release's generate_image.py), or none (IOPaint's network, "
                                            "whose re-exported weights have no noise parameters)")
    random_noise: bool = Field(False, description="draw the noise fields fresh per image (noise_mode='random'; needs "
                                                  "noise = 'const', whose strengths scale it)")

    @model_validator(mode="after")
    def _noise(self) -> "MATDecoderConfig":
        if self.random_noise and self.noise == "none":
            raise ValueError("random_noise needs noise = 'const' (the learned noise strengths live there)")
        return self


def num_ws(resolution: int) -> int:
    return int(math.log2(resolution)) * 2 - 6


class MATEncoder(Encoder):
    """mapping, first_stage, enc, to_square and to_style of the release's generator."""

    Config = MATEncoderConfig
    samples: ClassVar[bool] = True  # z and the test-time dropout

    def __init__(self, cfg: MATEncoderConfig):
        super().__init__(cfg)
        c, cap = cfg.image_channels, cfg.channel_max
        self.mapping = MappingNet(cfg.z_dim, cfg.w_dim, num_ws(cfg.resolution))
        self.first_stage = FirstStage(c, cfg.resolution, cfg.dim, cfg.w_dim)
        self.enc = ConvEncoder(cfg.resolution, c, cap)
        self.to_square = FullyConnected(cfg.w_dim, 16 * 16, lrelu=True)
        self.to_style = ToStyle(nf(16, cap), nf(4, cap) * 2)

    def forward(self, x: Tensor, mask: Tensor) -> list[Tensor]:
        r = self.cfg.resolution
        if tuple(x.shape[-2:]) != (r, r):
            raise ValueError(f"MAT takes {r}×{r} images (its release's size; resize = 'fixed' with image_size [{r}, {r}]), "
                             f"got {x.shape[-1]}×{x.shape[-2]}")
        z = torch.randn(x.shape[0], self.cfg.z_dim, device=x.device)
        return self.encode(x, mask, z)

    def encode(self, x: Tensor, mask: Tensor, z: Tensor) -> list[Tensor]:
        """`forward` with a given z (N × z_dim)."""
        valid = 1 - mask
        ws = self.mapping(z, self.cfg.truncation_psi)
        coarse = self.first_stage(x, valid, ws)
        x = torch.cat([valid - 0.5, x * valid + coarse * (1 - valid), x * valid], dim=1)
        feats = self.enc(x)
        fea16 = feats[-1]
        add = nn.functional.interpolate(self.to_square(ws[:, 0]).view(-1, 16, 16).unsqueeze(1), size=fea16.shape[-2:],
                                        mode="bilinear", align_corners=False)
        fea16 = mix_noise(fea16, add)
        return feats[:-1] + [ws, self.to_style(fea16), fea16]

    def example_inputs(self, batch_size: int = 2) -> tuple:
        r = self.cfg.resolution
        mask = torch.zeros(batch_size, 1, r, r)
        mask[..., r // 4: r // 2, r // 4: r // 2] = 1
        return torch.rand(batch_size, self.cfg.image_channels, r, r) * 2 - 1, mask

    @classmethod
    def example_config(cls, workdir) -> MATEncoderConfig:
        return MATEncoderConfig(resolution=128, w_dim=16, z_dim=16, dim=12, channel_max=16)


class MATDecoder(Decoder):
    """`synthesis.dec`: Dec_16x16 … Dec_{r}x{r}, each adding the encoder's feature of its resolution; styles are
    w (per layer) ‖ the global style."""

    Config = MATDecoderConfig
    samples: ClassVar[str] = "random_noise"

    def __init__(self, cfg: MATDecoderConfig):
        super().__init__(cfg)
        cap, c = cfg.channel_max, cfg.image_channels
        style_dim = cfg.w_dim + nf(4, cap) * 2
        self.resolutions = [2 ** i for i in range(4, int(math.log2(cfg.resolution)) + 1)]
        noise = cfg.noise == "const"
        self.Dec_16x16 = FirstDecBlock(nf(16, cap), style_dim, noise, c)
        for r in self.resolutions[1:]:
            setattr(self, f"Dec_{r}x{r}", StyleBlock(r, nf(r // 2, cap), nf(r, cap), style_dim, noise, c))

    def forward(self, h: Tensor, skips: list[Tensor] | None = None) -> Tensor:
        if skips is None or len(skips) != len(self.resolutions) + 2:
            raise ValueError(f"the MAT decoder needs the encoder's {len(self.resolutions) - 1} features, w, the style "
                             f"and its 16² feature (core.identity's skips)")
        *feats, ws, gs, _ = skips  # the last is h, the noise-mixed 16² feature
        enc = dict(zip(reversed(self.resolutions[1:]), feats))  # fine → coarse
        mode = "random" if self.cfg.random_noise else self.cfg.noise

        def style(i: int) -> Tensor:
            return torch.cat([ws[:, i], gs], dim=1)

        x, img = self.Dec_16x16(h, h, (style(0), style(1)), mode)
        for r in self.resolutions[1:]:
            i = int(math.log2(r)) * 2 - 9
            x, img = getattr(self, f"Dec_{r}x{r}")(x, img, (style(i), style(i + 1), style(i + 2)), enc[r], mode)
        return img

    def example_inputs(self, batch_size: int = 2) -> tuple:
        cap, n = self.cfg.channel_max, batch_size
        feats = [torch.randn(n, nf(r, cap), r, r) for r in reversed(self.resolutions)]
        ws = torch.randn(n, num_ws(self.cfg.resolution), self.cfg.w_dim)
        return feats[-1], feats[:-1] + [ws, torch.randn(n, nf(4, cap) * 2), feats[-1]]

    @classmethod
    def example_config(cls, workdir) -> MATDecoderConfig:
        return MATDecoderConfig(resolution=128, w_dim=16, channel_max=16)
