"""Train the decoder on what do() feeds it (issue 37, item 1).

The measured cause of poor interventions (benchmarks/seed_do_diagnosis.py): do() hands the decoder latent points it
never saw in training, so it draws them badly even when the learned mechanisms are right. This loss makes training
see them: each step, one concept c (drawn at random) of every image is set to another image's value,
z_c ← λ(u_c of the next image in the batch); its descendants are recomputed through the learned graph by the layer's
own `propagate` (the linear SCM, or the label-path mechanism with `intervention = "counterfactual"`); ε' = z' − Aᵀz'
and f(z') are formed exactly as the layer's latent do() forms them; the decoder draws the image
(no skips: the whole image regenerated, as an unmasked do()), and the model's own encoder, used as a fixed reader
(its weights detached, its batch-norm statistics left alone), reads the concepts back. The loss asks the read-back
to carry the intervened value for c, the recomputed values for its descendants and the factual values for every
other concept (mean squared error in prior units). Gradients reach the decoder and the layer's mixing (g, M); the
posterior z, ε and A are held fixed here, so this term does not move the graph or the encoder.
"""
from __future__ import annotations

import torch
from pydantic import Field
from torch import Tensor, nn

from inpaintzoo.interfaces import ComponentConfig, Loss, LossContext

from .dag import causal_solve, descendants


class DoConsistencyConfig(ComponentConfig):
    keep_weight: float = Field(1.0, ge=0, description="weight of the concepts do() must leave alone (non-descendants)")
    start: float = Field(0.0, ge=0, lt=1, description="share of training before the term turns on (0: from the first "
                                                       "step), so the encoder that reads the drawings back has learned")


class _Reader(nn.Module):
    """The model's encoder and the layer's ε projection: image → z (N × K × d)."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.encoder, self.prior = model.encoder, model.prior

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        return causal_solve(self.prior.A.detach(), self.prior._encode(self.encoder(x, mask)))


class DoConsistency(Loss):
    """Intervene on a concept of every training image, decode, read back; penalise what do() got wrong."""

    Config = DoConsistencyConfig

    def forward(self, ctx: LossContext) -> Tensor:
        model, extras = ctx.model, ctx.latent.extras
        if model is None or "labels" not in extras or not hasattr(model.prior, "concept_names"):
            raise ValueError("causalvae.do_consistency needs the causal layer as the prior and labelled training data")
        if ctx.progress < self.cfg.start:
            return ctx.pred.new_zeros(())
        prior = model.prior
        z = extras["z"].detach()
        K = z.shape[1]
        c = int(torch.randint(K, (1,)))  # the training seed decides which concept each step intervenes on
        value = self._values(prior, extras, c).roll(1, dims=0)  # the next image's value, in prior units
        desc = sorted(descendants(prior.live_A().detach(), c))
        with torch.no_grad():  # the values do() asks for: a target, so the mechanisms are not trained by this term
            zi = prior.propagate(z, extras["eps"].detach(), {c: value})
        fz = prior._mask_layer(zi, zi - torch.einsum("ij,nid->njd", prior.A.detach(), zi))
        style = extras.get("style")
        h = prior._decoder_input(fz, None if style is None else style.detach())
        skips = prior._skips(ctx.features, None, True)  # none, or zeros: the whole image is redrawn
        image = model.decoder.to_image(model.decoder(h, skips))
        read = self._read(model, image)
        want = zi.mean(-1)
        keep = [j for j in range(K) if j != c and j not in desc]
        moved = [c] + desc
        loss = (read[:, moved] - want[:, moved]).pow(2).mean()
        if keep and self.cfg.keep_weight:
            loss = loss + self.cfg.keep_weight * (read[:, keep] - want[:, keep]).pow(2).mean()
        return loss

    @staticmethod
    def _values(prior: nn.Module, extras: dict, c: int) -> Tensor:
        """Concept c's label of each image in prior units (λ(u)), whatever space the label path works in."""
        u = extras["labels"][:, c]
        return u if prior.cfg.label_space == "scaled" else prior.scaled(extras["labels"])[:, c]

    @staticmethod
    def _read(model: nn.Module, image: Tensor) -> Tensor:
        """z per concept (mean over its dims) as the encoder reads `image` (in the network's normalised range),
        with the reader's weights detached and its buffers copied, so neither learns nor drifts from this."""
        reader = _Reader(model)
        state = {k: v.detach() for k, v in reader.named_parameters()}
        state.update({k: v.clone() for k, v in reader.named_buffers()})
        mask = torch.zeros_like(image[:, :1])
        return torch.func.functional_call(reader, state, (image, mask)).mean(-1)

    def example_inputs(self, batch_size: int = 2) -> tuple:
        return (tiny_context(batch_size),)


def tiny_context(batch_size: int = 2) -> LossContext:
    """A training pass of a tiny labelled causal model (MLP encoder and decoder, three concepts a → b → c)."""
    from inpaintzoo import create_model

    spec = {"model": {"name": "do-tiny", "image_size": [8, 8], "channels": 3, "mean": [0.0], "std": [1.0],
                      "hole_fill": 0.0, "resize": "fixed"},
            "encoder": {"type": "causalvae.mlp_encoder", "hidden": [16]},
            "prior": {"type": "causalvae.causal_layer", "concepts": ["a", "b", "c"], "dims_per_concept": 2,
                      "graph": "given", "edges": [["a", "b"], ["b", "c"]], "hidden": 4,
                      "label_scale": [[0.0, 1.0], [0.0, 1.0], [0.0, 1.0]]},
            "decoder": {"type": "causalvae.mlp_decoder", "hidden": [16]},
            "losses": {"recon": {"type": "core.l2"}}}
    g = torch.Generator().manual_seed(0)
    model = create_model(spec, pretrained=False).train()
    image, mask = torch.rand(batch_size, 3, 8, 8, generator=g), torch.zeros(batch_size, 1, 8, 8)
    return model(image, mask, labels=torch.rand(batch_size, 3, generator=g)).context
