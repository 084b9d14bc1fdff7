"""The reference's MLP encoder and its per-concept MLP decoders (`mask_vae_pendulum.py`, `nns/mask.py`)."""
from __future__ import annotations

from typing import Any, ClassVar

import torch
from pydantic import Field
from torch import Tensor, nn

from inpaintzoo.interfaces import ComponentConfig, Decoder, Encoder, ImageSize


class MLPEncoderConfig(ComponentConfig):
    derive: ClassVar[dict[str, Any]] = {"in_channels": "model.channels", "image_size": "model.image_size"}
    in_channels: int = Field(4, ge=1, description="reference: RGBA")
    image_size: ImageSize = (96, 96)
    hidden: list[int] = Field([900, 300], description="reference: 36,864 → 900 → ELU → 300 → ELU")
    use_mask: bool = Field(True, description="append the hole mask to the input (the reference, a plain VAE, has none)")


class MLPEncoder(Encoder):
    """Flattened image (‖ mask) → MLP with ELUs; the causal layer's projection makes the final 2·K·d."""

    Config = MLPEncoderConfig

    def __init__(self, cfg: MLPEncoderConfig):
        super().__init__(cfg)
        n = (cfg.in_channels + int(cfg.use_mask)) * cfg.image_size[0] * cfg.image_size[1]
        layers: list[nn.Module] = []
        for h in cfg.hidden:
            layers += [nn.Linear(n, h), nn.ELU()]
            n = h
        self.net = nn.Sequential(*layers)

    def forward(self, x: Tensor, mask: Tensor) -> list[Tensor]:
        if self.cfg.use_mask:
            x = torch.cat([x, mask], dim=1)
        return [self.net(x.flatten(1))]

    def example_inputs(self, batch_size: int = 2) -> tuple:
        h, w = self.cfg.image_size
        return torch.rand(batch_size, self.cfg.in_channels, h, w), torch.zeros(batch_size, 1, h, w)


class MLPDecoderConfig(ComponentConfig):
    derive: ClassVar[dict[str, Any]] = {"concepts": lambda r, d: len(r["prior"].concepts), "dims_per_concept": "prior.dims_per_concept",
                                         "out_channels": "model.channels", "image_size": "model.image_size"}
    concepts: int = Field(4, ge=1, description="K: one decoder per concept")
    dims_per_concept: int = Field(4, ge=1)
    hidden: list[int] = Field([300, 300, 1024], description="reference: d → 300 → 300 → 1024 → pixels, ELU between")
    out_channels: int = Field(4, ge=1)
    image_size: ImageSize = (96, 96)


class PerConceptMLPDecoder(Decoder):
    """One MLP per concept block of the latent, outputs averaged (the reference's decode_sep); Bernoulli logits."""

    Config = MLPDecoderConfig

    def __init__(self, cfg: MLPDecoderConfig):
        super().__init__(cfg)
        out = cfg.out_channels * cfg.image_size[0] * cfg.image_size[1]

        def mlp() -> nn.Sequential:
            layers: list[nn.Module] = []
            n = cfg.dims_per_concept
            for h in cfg.hidden:
                layers += [nn.Linear(n, h), nn.ELU()]
                n = h
            layers.append(nn.Linear(n, out))
            return nn.Sequential(*layers)

        self.nets = nn.ModuleList(mlp() for _ in range(cfg.concepts))

    def forward(self, h: Tensor, skips: list[Tensor] | None = None) -> Tensor:
        parts = h.reshape(h.shape[0], self.cfg.concepts, self.cfg.dims_per_concept)
        logits = torch.stack([net(parts[:, i]) for i, net in enumerate(self.nets)]).mean(0)
        return logits.view(h.shape[0], self.cfg.out_channels, *self.cfg.image_size)

    def to_image(self, raw: Tensor) -> Tensor:
        return torch.sigmoid(raw)

    def example_inputs(self, batch_size: int = 2) -> tuple:
        return (torch.randn(batch_size, self.cfg.concepts * self.cfg.dims_per_concept),)
