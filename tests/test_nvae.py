"""NVAE plugin: cells against hand-computed shapes and parameter counts, KL, warm-up, balancing, spectral."""
import math

import pytest
import torch
from torch import distributions as D

from inpaintzoo import create_model
from inpaintzoo_nvae.cells import MBConvCell, ResidualCell
from inpaintzoo_nvae.distributions import DiscMixLogistic, Normal
from inpaintzoo_nvae.hierarchy import kl_alpha
from inpaintzoo_nvae.losses import SpectralRegularizer, kl_balance, kl_coeff


def n_params(m):
    return sum(p.numel() for p in m.parameters())


@pytest.mark.parametrize(
    "cls, kw, in_shape, out_shape, params",
    [
        # BN 32 + conv3×3 (16·16·9+16) + BN 32 + conv 2320 + SE(16→4→16) 148
        (ResidualCell, dict(in_channels=16, out_channels=16, stride=1, weight_norm=False), (2, 16, 8, 8), (2, 16, 8, 8), 4852),
        # weight norm adds one gain per output channel of each conv: +16 +16
        (ResidualCell, dict(in_channels=16, out_channels=16, stride=1), (2, 16, 8, 8), (2, 16, 8, 8), 4884),
        # FactorizedReduce 4·(16·8+8) + BN 32 + conv 16→32 4640 + BN 64 + conv 9248 + SE(32→4→32) 292
        (ResidualCell, dict(in_channels=16, out_channels=32, stride=2, weight_norm=False), (2, 16, 8, 8), (2, 32, 4, 4), 14820),
        # BN 32 + 1×1 16→96 1536 + BN 192 + dw5×5 2400 + BN 192 + 1×1 96→16 1536 + BN 32 + SE 148
        (MBConvCell, dict(in_channels=16, out_channels=16, stride=1), (2, 16, 8, 8), (2, 16, 8, 8), 6068),
        # up: skip 1×1 32→16 without bias (the release's) 512 + BN 64 + 6144 + BN 384 + dw 4800 + BN 384 + 3072 + BN 32 + SE 148
        (MBConvCell, dict(in_channels=32, out_channels=16, stride=-1), (2, 32, 4, 4), (2, 16, 8, 8), 15540),
    ],
)
def test_cell_shapes_and_parameter_counts(cls, kw, in_shape, out_shape, params):
    cell = cls(cls.Config(**kw))
    assert cell(torch.randn(*in_shape)).shape == out_shape
    assert n_params(cell) == params


def test_cell_conventions():
    cell = MBConvCell(MBConvCell.Config(in_channels=16, out_channels=16))
    bns = [m for m in cell.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert bns and all(m.momentum == 0.05 for m in bns)
    with torch.no_grad():  # with a zero SE gate the cell is the identity: y = x + 0.1·SE(ops(x))
        cell.se.fc2.bias.fill_(-1e4)
    x = torch.randn(2, 16, 8, 8)
    assert torch.allclose(cell.eval()(x), x, atol=1e-6)
    with pytest.raises(ValueError, match="needs out_channels=32"):
        ResidualCell.Config(in_channels=16, out_channels=16, stride=2)


def test_group_kl_matches_closed_form():
    g = torch.Generator().manual_seed(0)
    mq, lq, mp, lp = (torch.randn(2, 4, 3, 3, generator=g) * 2 for _ in range(4))
    q, p = Normal(mq, lq), Normal(mp, lp)
    ref = D.kl_divergence(D.Normal(q.mu, q.sigma), D.Normal(p.mu, p.sigma))
    assert torch.allclose(q.kl(p), ref, atol=1e-5)
    # soft clamp and floor: σ = exp(5·tanh(ls/5)) + 0.01
    assert torch.allclose(Normal(torch.zeros(1), torch.tensor([100.0])).sigma, torch.tensor([math.exp(5.0) + 0.01]))


def test_warmup_coefficient_at_chosen_steps():
    T = 10_000
    coeff = lambda step: kl_coeff(step / T, 0.3, 1e-4, 1e-4)
    assert coeff(0) == 1e-4  # floor
    assert coeff(1) == 1e-4
    assert coeff(1501) == pytest.approx((1501 - 1) / 3000)  # (step − 0.0001·T)/(0.3·T)
    assert coeff(3001) == 1.0 and coeff(9000) == 1.0


def test_kl_balancing_weights():
    # CelebA-64: 20/10/5 groups at 32², 16², 8² → α 1 : 2 : 4 in top-down (coarse-first) order
    a = kl_alpha([20, 10, 5])
    assert a.shape == (35,) and torch.equal(a[:5], torch.ones(5)) and torch.equal(a[5:15], 2 * torch.ones(10))
    assert torch.equal(a[15:], 4 * torch.ones(20))
    kl = torch.tensor([[1.0, 3.0], [3.0, 5.0]])  # B=2, G=2; mean |KL| = 2, 4
    balanced, coeff = kl_balance(kl, torch.tensor([1.0, 4.0]))
    raw = torch.tensor([2.01 / 1, 4.01 / 4])
    expect = raw / raw.mean()
    assert torch.allclose(coeff, expect) and coeff.mean().item() == pytest.approx(1.0)
    assert torch.allclose(balanced, (kl * expect).sum(1))


def test_power_iteration_matches_matrix_norm():
    torch.manual_seed(0)
    reg = SpectralRegularizer(SpectralRegularizer.Config()).train()
    w = {"a": torch.randn(8, 4, 3, 3), "b": torch.randn(8, 4, 3, 3), "c": torch.randn(16, 8, 1, 1)}
    group = lambda w: [("8x4x3x3:a", [w["a"], w["b"]]), ("16x8x1x1:c", [w["c"]])]  # noqa: E731
    exact = sum(torch.linalg.matrix_norm(t.reshape(t.shape[0], -1), ord=2) for t in w.values())
    first = reg.sigma(group(w))
    assert first == pytest.approx(float(exact), rel=1e-3)
    # persistent vectors: later steps need only 4 iterations to stay close as weights drift
    w2 = {k: v + 0.01 * torch.randn_like(v) for k, v in w.items()}
    exact2 = sum(torch.linalg.matrix_norm(t.reshape(t.shape[0], -1), ord=2) for t in w2.values())
    assert reg.sigma(group(w2)) == pytest.approx(float(exact2), rel=1e-3)
    assert len(reg.train_state()) == 4  # u, v for the two weight shapes
    assert reg.eval().sigma(group(w2)) == pytest.approx(float(exact2), rel=1e-5)


def test_spectral_regulariser_leaves_out_se_convs_like_the_release():
    """The release's SE is nn.Linear and unregularised; timm's 1×1-conv SE is left out unless include_se."""
    from timm.layers import SEModule

    model = torch.nn.Sequential(ResidualCell(ResidualCell.Config(in_channels=16, out_channels=32, stride=2)),
                                MBConvCell(MBConvCell.Config(in_channels=32, out_channels=32, stride=1)))
    all_convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    se_convs = [c for se in model.modules() if isinstance(se, SEModule) for c in se.modules() if isinstance(c, torch.nn.Conv2d)]
    assert len(se_convs) == 4
    reg = SpectralRegularizer(SpectralRegularizer.Config())
    groups, bns = reg.layers(model)
    chosen = [m for _, ms in groups for m in ms]
    assert len(chosen) == len(all_convs) - 4 and not set(map(id, se_convs)) & set(map(id, chosen))
    assert reg.layers(model)[0] is groups  # worked out once per model, not every step
    assert len(bns) == 6  # 2 in the residual cell, 4 in the inverted residual
    with_se = SpectralRegularizer(SpectralRegularizer.Config(include_se=True)).layers(model)[0]
    assert sum(len(ms) for _, ms in with_se) == len(all_convs)


def test_up_cells_follow_the_release():
    """Residual up cell: BN → Swish → upsample → conv (release order); skip 1×1 conv has no bias; head is weight-normed."""
    from inpaintzoo_nvae.hierarchy import HierarchicalDecoder

    cell = ResidualCell(ResidualCell.Config(in_channels=16, out_channels=8, stride=-1))
    kinds = [type(m).__name__ for m in cell.ops]
    assert kinds[:3] == ["BatchNorm2d", "SiLU", "UpsamplingNearest2d"]  # timm's swish is SiLU
    assert cell.ops[0].num_features == 16  # BN runs at the input resolution: a quarter of the work
    assert cell.skip.conv.bias is None
    head = HierarchicalDecoder(HierarchicalDecoder.Config(channels=8)).head.net[1]
    assert hasattr(head, "parametrizations") and head.bias is not None


def test_mixture_mean_and_likelihood():
    M = 3
    param = torch.zeros(1, 10 * M, 2, 2)
    param[:, M : M + M] = 0.3  # mean of red for every component
    param[:, 4 * M : 5 * M] = -0.2  # green means
    dist = DiscMixLogistic(param, M)
    mean = dist.mean()
    assert torch.allclose(mean[:, 0], torch.full((1, 2, 2), 0.3))
    # coefficients are tanh(0) = 0 here, so green's mean is its own
    assert torch.allclose(mean[:, 1], torch.full((1, 2, 2), -0.2))
    near = dist.log_prob(mean)
    far = dist.log_prob(torch.full_like(mean, 0.9))
    assert (near > far).all()


TINY = {
    "model": {"name": "nvae-tiny", "image_size": [16, 16], "mean": [0.5], "std": [0.5], "hole_fill": 0.5},
    "encoder": {"type": "nvae.encoder", "channels": 8, "groups_per_scale": [2, 1], "num_latent_per_group": 4},
    "prior": {"type": "nvae.hierarchical", "channels": 8, "groups_per_scale": [2, 1], "num_latent_per_group": 4,
              "num_cell_per_cond": 1},
    "decoder": {"type": "nvae.decoder", "channels": 8},
    "losses": {"recon": {"type": "nvae.logistic_mixture"}, "kl": {"type": "nvae.kl", "warmup_fraction": 0.0},
               "spectral": {"type": "nvae.spectral", "weight": 0.01}},
}


def test_tiny_model_overfits_eight_images():
    from inpaintzoo.data.datasets import SyntheticShapes

    torch.manual_seed(0)
    model = create_model(TINY).train()
    ds = SyntheticShapes(SyntheticShapes.Config(size=8, image_size=(16, 16)))
    images = torch.stack([ds[i]["image"] for i in range(8)])
    mask = torch.zeros(8, 1, 16, 16)
    mask[..., 4:12, 4:12] = 1
    parts = model.train_components()
    opt = torch.optim.Adamax(model.parameters(), lr=1e-2, eps=1e-3)
    losses = []
    for step in range(80):
        out = model(images, mask, progress=1.0, step=step)
        terms = parts.generator_losses(out.context)
        opt.zero_grad()
        sum(terms.values()).backward()
        opt.step()
        losses.append(float(terms["recon"].detach()))
    assert losses[-1] < 0.7 * losses[0], (losses[0], losses[-1])  # measured: 4836 -> about 3100 nats per image
    # the composite leaves unmasked pixels as they were
    model.eval()
    img = images[0]
    result = model.inpaint(img, mask[0, 0])
    keep = ~mask[0, 0].bool()
    assert torch.equal(result[:, keep], img[:, keep])


def test_celeba64_builds_with_paper_shapes():
    model = create_model("nvae-celeba64", check=False)
    assert model.prior.prior_ftr0.shape == (512, 8, 8)
    assert len(model.prior.dec_combiners) == 35 and model.prior.alpha.shape == (35,)
    assert model.decoder.head.net[1].out_channels == 100


def test_cell_decoder_skips_start_at_zero_and_join_at_their_size():
    from inpaintzoo_nvae.hierarchy import CellDecoder

    dec = CellDecoder(CellDecoder.Config(in_features=8, channels=4, start_size=(4, 4), num_upsamples=2,
                                         skips=[(3, 8, 8), (5, 8, 8), (2, 32, 32)])).eval()
    assert sorted(dec.skip_proj) == ["0", "1"]  # 32×32 is a size the decoder never has: not used
    h = torch.randn(2, 8)
    maps = [torch.randn(2, 3, 8, 8), torch.randn(2, 5, 8, 8), torch.randn(2, 2, 32, 32)]
    assert torch.equal(dec(h, maps), dec(h))  # zero-initialised projections: no change at the start
    with torch.no_grad():
        dec.skip_proj["1"].bias.fill_(1.0)  # both 8×8 skips join, not only the last one of that size
        moved = dec(h, maps)
        dec.skip_proj["0"].bias.fill_(1.0)
        assert not torch.equal(dec(h, maps), moved) and not torch.equal(moved, dec(h))
