"""MEDFE-CAE's intermediate loss: L1 between MEDFE's branch features and frozen CAE codes of the ground truth.

The CAE encoders are read from model folders or hub ids (anything `inpaintzoo.load` takes) the first time
the loss runs, which is after the host model is built and initialised: the released code loaded them
first and then re-initialised them with `init_net`, so it trained against random encoders. They are
frozen, kept in eval mode, and not part of the published model's weights (inference never needs them).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from pydantic import Field
from torch import Tensor, nn

from inpaintzoo.errors import InpaintzooError
from inpaintzoo.interfaces import ComponentConfig, Loss, LossContext


class GroundTruthConfig(ComponentConfig):
    texture: str = Field("cae-texture-tiny", description="the texture CAE, a model reference as `load()` takes it: a "
                                                         "zoo name, a model folder or hf-hub:ORG/NAME")
    structure: str = Field("cae-structure-tiny", description="the structure CAE, a model reference as for `texture`")


def load_code_encoder(source: str, role: str) -> nn.Module:
    from inpaintzoo.loader import load

    try:
        model = load(source)
    except InpaintzooError as exc:
        raise InpaintzooError(f"cae.ground_truth {role}: cannot load '{source}' ({exc}); give a zoo name with weights, "
                              f"a trained model folder (`inpaintzoo train cae-{role}-tiny --out runs/cae-{role}` writes "
                              f"runs/cae-{role}/final) or hf-hub:ORG/NAME") from None
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model


def encode(model, image: Tensor) -> Tensor:
    """The CAE's code of a normalised ([-1, 1]) image with no hole."""
    mask = torch.zeros_like(image[:, :1])
    return model.encoder(image, mask)[-1]


class GroundTruthCodes(Loss):
    """L1(x_ST_fi, E_structure(GT)) + L1(x_DE_fi, E_texture(GT)) with frozen, pre-trained CAE encoders."""

    Config = GroundTruthConfig

    def __init__(self, cfg: GroundTruthConfig):
        super().__init__(cfg)
        object.__setattr__(self, "_encoders", None)

    def encoders(self, device) -> tuple[nn.Module, nn.Module]:
        if self._encoders is None:
            object.__setattr__(self, "_encoders", (load_code_encoder(self.cfg.texture, "texture"),
                                                   load_code_encoder(self.cfg.structure, "structure")))
        tex, struct = self._encoders
        return tex.to(device), struct.to(device)

    def forward(self, ctx: LossContext) -> Tensor:
        de, st = ctx.latent.extras["x_DE_fi"], ctx.latent.extras["x_ST_fi"]
        tex, struct = self.encoders(de.device)
        with torch.no_grad():
            t_code, s_code = encode(tex, ctx.target), encode(struct, ctx.target)
        if t_code.shape != de.shape or s_code.shape != st.shape:
            raise InpaintzooError(f"cae.ground_truth: CAE codes {tuple(t_code.shape)}, {tuple(s_code.shape)} do not match "
                                  f"the branch features {tuple(de.shape)}, {tuple(st.shape)}; match the CAEs' max_channels "
                                  f"to 4·ngf of the equalizer and the image size")
        return F.l1_loss(st, s_code) + F.l1_loss(de, t_code)

    @classmethod
    def example_config(cls, workdir) -> GroundTruthConfig:
        from .fixtures import write_tiny_caes

        tex, struct = write_tiny_caes(workdir)
        return GroundTruthConfig(texture=str(tex), structure=str(struct))

    def example_inputs(self, batch_size: int = 2) -> tuple:
        from inpaintzoo.testing import dummy_loss_context

        ctx = dummy_loss_context(batch_size, size=32)
        g = torch.Generator().manual_seed(2)
        ctx.latent.extras["x_DE_fi"] = torch.rand(batch_size, 32, 4, 4, generator=g).requires_grad_()
        ctx.latent.extras["x_ST_fi"] = torch.rand(batch_size, 32, 4, 4, generator=g).requires_grad_()
        return (ctx,)
