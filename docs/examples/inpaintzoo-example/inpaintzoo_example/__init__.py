"""An example inpaintzoo plugin: one encoder and one loss, registered through the entry point."""
import torch
from pydantic import Field
from torch import nn

from inpaintzoo.hookspecs import hookimpl
from inpaintzoo.interfaces import ComponentConfig, Encoder, Loss, LossContext


class PatchEncoderConfig(ComponentConfig):
    in_channels: int = Field(3, ge=1)
    patch: int = Field(4, ge=1, description="patch size (the stride of the single embedding conv)")
    dim: int = Field(32, ge=1)


class PatchEncoder(Encoder):
    """Non-overlapping patch embedding of image ‖ mask (a ViT-style stem) as a single feature map."""

    Config = PatchEncoderConfig

    def __init__(self, cfg: PatchEncoderConfig):
        super().__init__(cfg)
        self.embed = nn.Conv2d(cfg.in_channels + 1, cfg.dim, cfg.patch, stride=cfg.patch)

    def forward(self, x, mask):
        return [self.embed(torch.cat([x, mask], dim=1))]

    def example_inputs(self, batch_size=2):
        return torch.randn(batch_size, self.cfg.in_channels, 16, 16), torch.zeros(batch_size, 1, 16, 16)


class TVConfig(ComponentConfig):
    hole_only: bool = True


class TotalVariation(Loss):
    """Mean absolute difference between neighbouring pixels of the composite (smoothness prior)."""

    Config = TVConfig

    def forward(self, ctx: LossContext):
        x = ctx.composite
        dx = (x[..., :, 1:] - x[..., :, :-1]).abs()
        dy = (x[..., 1:, :] - x[..., :-1, :]).abs()
        if self.cfg.hole_only:
            dx, dy = dx * ctx.mask[..., :, 1:], dy * ctx.mask[..., 1:, :]
        return dx.mean() + dy.mean()


@hookimpl
def register_components(register):
    register("encoder", "example.patch_encoder", PatchEncoder)
    register("loss", "example.tv", TotalVariation)
