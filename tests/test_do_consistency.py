"""causalvae.do_consistency: the decoder (and the layer's mixing) learn from intervened latents; the encoder, the
graph and the encoder's normalisation statistics do not move."""
from __future__ import annotations

import warnings

import torch

from inpaintzoo_causalvae.do_consistency import DoConsistency, DoConsistencyConfig, tiny_context


def test_only_the_decoder_and_the_mixing_learn_from_it():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ctx = tiny_context(4)
    model = ctx.model
    buffers = {k: v.clone() for k, v in model.encoder.named_buffers()}
    torch.manual_seed(0)
    loss = DoConsistency(DoConsistencyConfig())(ctx)
    assert loss.ndim == 0 and torch.isfinite(loss) and float(loss) > 0
    loss.backward()
    assert any(p.grad is not None and float(p.grad.abs().sum()) > 0 for p in model.decoder.parameters())
    assert model.prior.M.grad is not None
    assert all(p.grad is None for p in model.encoder.parameters())
    assert model.prior.A_param.grad is None and model.prior.to_eps.weight.grad is None
    assert all(torch.equal(v, buffers[k]) for k, v in model.encoder.named_buffers())


def test_a_few_steps_teach_the_decoder_to_carry_the_intervened_values():
    """On the tiny model, Adam on this loss alone (decoder and mixing) lowers it: the read-back of decoded
    interventions moves towards the values asked for."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ctx = tiny_context(8)
    model = ctx.model
    params = list(model.decoder.parameters()) + [model.prior.M] + list(model.prior.mix.parameters())
    opt = torch.optim.Adam(params, lr=1e-2)
    loss_fn = DoConsistency(DoConsistencyConfig())
    losses = []
    for step in range(60):
        torch.manual_seed(step % 3)  # the same three interventions, in turn
        loss = loss_fn(ctx)
        opt.zero_grad()
        loss.backward(retain_graph=True)
        opt.step()
        losses.append(float(loss))
    assert sum(losses[-3:]) < 0.5 * sum(losses[:3])


def test_it_is_off_until_its_start():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ctx = tiny_context(2)
    late = DoConsistency(DoConsistencyConfig(start=0.5))
    ctx.progress = 0.25
    assert float(late(ctx)) == 0.0 and not late(ctx).requires_grad
    ctx.progress = 0.75
    assert float(late(ctx)) > 0
