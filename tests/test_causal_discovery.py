"""The causal layer's graph discovery (PC with kernel tests), its hook into training, and the causal extras:
visible-only skips and whole-image holes."""
import pytest
import torch

from inpaintzoo.data.masks import BoxesMask
from inpaintzoo_causalvae.causal_layer import CausalLayer
from inpaintzoo_causalvae.dag import edges_to_matrix, shd
from inpaintzoo_causalvae.discovery import hsic, hsic_pvalue, pc, residuals


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_gamma_pvalue_is_large_for_independent_and_tiny_for_dependent_samples():
    g = _gen()
    a, b = torch.randn(300, generator=g).double(), torch.randn(300, generator=g).double()
    assert hsic_pvalue(a, b) > 0.05
    assert hsic_pvalue(a, torch.sin(3 * a) + 0.1 * b) < 1e-6  # dependent, and not linearly (corr ≈ 0 is no defence)
    assert hsic_pvalue(a, a.pow(2) + 0.1 * b) < 1e-6


def test_gamma_and_permutation_pvalues_agree_where_it_matters():
    g = _gen(1)
    a, b = torch.randn(200, generator=g).double(), torch.randn(200, generator=g).double()
    for y in (b, a.abs() + 0.5 * b):
        gamma, perm = hsic_pvalue(a, y), hsic_pvalue(a, y, permutations=200, g=_gen(2))
        assert (gamma > 0.01) == (perm > 0.01)


def test_pvalues_are_roughly_uniform_under_independence():
    g = _gen(3)
    ps = torch.tensor([hsic_pvalue(torch.randn(150, generator=g).double(), torch.randn(150, generator=g).double())
                       for _ in range(40)])
    assert 0.3 < float(ps.mean()) < 0.7 and float((ps < 0.05).float().mean()) <= 0.15


def test_residuals_remove_a_nonlinear_function_of_the_conditioning_set():
    g = _gen(4)
    z = torch.rand(400, 1, generator=g).double() * 4 - 2
    noise = 0.1 * torch.randn(400, 1, generator=g).double()
    r = residuals(torch.sin(2 * z) + noise, z)
    assert float(r.std()) < 0.15 and hsic(r[:, 0], z[:, 0]) < hsic(torch.sin(2 * z)[:, 0], z[:, 0]) / 10


def _collider(n: int, seed: int = 0) -> torch.Tensor:
    """pend → shadow ← light, and shadow → tail (a chain off the collider): columns pend, light, shadow, tail."""
    g = _gen(seed)
    pend, light = torch.rand(n, generator=g) * 2 - 1, torch.rand(n, generator=g) * 2 - 1
    shadow = torch.tanh(2 * pend) + light + 0.1 * torch.randn(n, generator=g)
    tail = torch.sin(2 * shadow) + 0.1 * torch.randn(n, generator=g)
    return torch.stack([pend, light, shadow, tail], 1)


def test_pc_recovers_a_collider_and_orients_its_descendant_by_meek():
    truth = edges_to_matrix([("p", "s"), ("l", "s"), ("s", "t")], ["p", "l", "s", "t"])
    found = pc(_collider(400), samples=400)
    assert shd(found.adjacency, truth) == 0
    assert found.oriented_by_noise == []  # the v-structure and Meek's rule 1 orient all of it
    assert any(t[:3] == (0, 3, (2,)) for t in found.tests)  # pend ⊥ tail | shadow was tested (and separated them)


def test_pc_orients_a_lone_nonlinear_edge_by_additive_noise():
    g = _gen(5)
    x = torch.rand(500, generator=g) * 4 - 2
    y = x.pow(3) / 4 + 0.3 * (torch.rand(500, generator=g) - 0.5)  # non-Gaussian noise: identifiable
    found = pc(torch.stack([x, y], 1), samples=500)
    assert found.adjacency.tolist() == [[0.0, 1.0], [0.0, 0.0]] and found.oriented_by_noise == [(0, 1)]
    flipped = pc(torch.stack([y, x], 1), samples=500)
    assert flipped.adjacency.tolist() == [[0.0, 0.0], [1.0, 0.0]]


def test_pc_separates_independent_columns():
    found = pc(torch.randn(300, 3, generator=_gen(6)), samples=300)
    assert found.adjacency.sum() == 0


class _Labels(torch.utils.data.Dataset):
    def __init__(self, labels: torch.Tensor):
        self.labels = labels

    def __len__(self) -> int:
        return len(self.labels)


def test_prepare_training_sets_the_support_and_learns_values_from_zero():
    names = ["pendulum", "light", "shadow_length", "shadow_position"]
    layer = CausalLayer(CausalLayer.Config(in_features=8, concepts=names, graph="learned", discovery="pc",
                                           discovery_samples=400, label_scale=[[0, 1]] * 4))
    with torch.no_grad():
        layer.A_param.fill_(0.2)
    line = layer.prepare_training(_Labels(_collider(400)))
    truth = edges_to_matrix([("pendulum", "shadow_length"), ("light", "shadow_length"),
                             ("shadow_length", "shadow_position")], names)
    assert torch.equal(layer.allowed, truth)
    assert torch.equal(layer.A, truth)  # off-support entries zeroed, discovered edges start at discovery_init (1)
    assert "pendulum → shadow_length" in line and "by PC" in line and "starts at 1" in line
    assert CausalLayer(CausalLayer.Config(in_features=8, graph="learned")).prepare_training(_Labels(_collider(50))) is None


def test_skips_carry_only_visible_features_and_nothing_when_regenerating():
    layer = CausalLayer(CausalLayer.Config(in_features=8, graph="given", edges=[["pendulum", "shadow_length"]],
                                           skips=True)).eval()
    feat = torch.ones(2, 3, 8, 8)
    features = [feat, torch.randn(2, 8)]
    mask = torch.zeros(2, 1, 16, 16)
    mask[:, :, :8, :8] = 1  # the top-left quarter is the hole
    skips = layer(features, mask=mask).skips
    assert skips[0][:, :, :4, :4].abs().sum() == 0 and torch.equal(skips[0][:, :, 4:, 4:], feat[:, :, 4:, 4:])
    assert torch.equal(skips[1], features[1])  # vectors carry no position: passed as they are
    for regenerate in (layer(features, mask=torch.ones(2, 1, 16, 16)), layer.intervene(features, {"light": 1.0})):
        assert all(s.abs().sum() == 0 for s in regenerate.skips)
    mixed = mask.clone()
    mixed[1] = 1  # in one batch: a quarter hole and a whole-image hole, each treated on its own
    skips = layer(features, mask=mixed).skips
    assert torch.equal(skips[1][0], features[1][0]) and skips[1][1].abs().sum() == 0 and skips[0][1].abs().sum() == 0
    assert CausalLayer(CausalLayer.Config(in_features=8)).eval()(features, mask=mask).skips is None


@pytest.mark.parametrize("kind", ["boxes", "lama"])
def test_full_image_prob_draws_whole_image_holes_at_that_rate(kind):
    from inpaintzoo.data.masks import LamaMask

    cls, n = (BoxesMask, 400) if kind == "boxes" else (LamaMask, 200)
    masks = cls(cls.Config(full_image_prob=0.25))(n, 32, 32, generator=_gen(7))
    full = (masks.flatten(1).mean(1) == 1).float().mean()
    assert 0.16 < float(full) < 0.34
    never = cls(cls.Config())(100, 32, 32, generator=_gen(7))
    assert (never.flatten(1).mean(1) < 1).all()


def test_concept_changes_split_descendants_from_the_rest_on_the_true_graph():
    from inpaintzoo_causalvae.interventions import concept_changes
    from inpaintzoo_causalvae.pendulum import CONCEPTS, TRUE_EDGES

    truth = edges_to_matrix(TRUE_EDGES, CONCEPTS)  # pendulum, light → shadow_length, shadow_position
    fact = torch.zeros(2, 4)
    moved = torch.tensor([[0.0, 1.0, 2.0, 4.0], [0.0, 3.0, 2.0, 4.0]])  # pendulum still, light 2 on average, shadows 2, 4
    assert concept_changes(moved, fact, truth, 0) == (2.0, 3.0)  # do(pendulum): light is its only non-descendant
    assert concept_changes(moved, fact, truth, 2) == (2.0, 0.0)  # do(shadow_length): pendulum, light, position; no descendants
    assert concept_changes(moved, fact, truth, 3) == pytest.approx((4 / 3, 0.0))


def test_label_path_works_in_lambda_space_unless_raw_is_asked():
    labels = torch.tensor([[44.0, 140.0, 10.0, 15.0]])
    features = [torch.randn(1, 8)]
    scaled = CausalLayer(CausalLayer.Config(in_features=8)).eval()(features, labels)
    assert torch.allclose(scaled.extras["labels"], torch.tensor([[1.0, 1.0, 1.0, 1.0]]))
    raw = CausalLayer(CausalLayer.Config(in_features=8, label_space="raw")).eval()(features, labels)
    assert torch.equal(raw.extras["labels"], labels)


def test_blocked_permutation_keeps_heteroscedastic_noise_shared_through_z_in_the_null():
    from inpaintzoo_causalvae.discovery import blocked_pvalue

    g = _gen(8)
    n = 600
    z = torch.rand(n, generator=g).double()
    x = (torch.rand(n, generator=g).double() < z).double()  # a binary cause of z's kind: P(x | z) varies with z
    y = (1.3 * z + (z + 0.1) * (torch.rand(n, generator=g).double() - 0.5)).clamp(max=1.0)  # noise grows with z, clipped
    r = residuals(torch.stack([x, y], 1), z[:, None])
    assert hsic_pvalue(r[:, 0], r[:, 1]) < 0.05  # the residual test is fooled: both residuals depend on z
    assert blocked_pvalue(r[:, 0], r[:, 1], z[:, None], g=_gen(9)) > 0.05  # x ⊥ y | z, as generated
    dependent = y + 0.5 * x
    r = residuals(torch.stack([x, dependent], 1), z[:, None])
    assert blocked_pvalue(r[:, 0], r[:, 1], z[:, None], g=_gen(9)) < 0.02


def test_blocks_cover_every_row_once_in_groups_of_neighbours():
    from inpaintzoo_causalvae.discovery import blocks

    z = torch.rand(500, 2, generator=_gen(10))
    groups = blocks(z, 20)
    assert sorted(torch.cat(groups).tolist()) == list(range(500))
    assert all(10 <= len(b) <= 20 for b in groups)
    spread = sum(float((z[b].amax(0) - z[b].amin(0)).max()) for b in groups) / len(groups)
    assert spread < 0.35  # neighbours, not random rows (random groups of 20 span ≈ 0.9)


def test_eval_reports_shd_matrix_and_the_intervention_table(tmp_path, capsys):
    from inpaintzoo import create_model
    from inpaintzoo.artifact import save_model
    from inpaintzoo.cli import main
    from inpaintzoo.commands.evaluate import evaluate_source
    from inpaintzoo_causalvae.pendulum import CONCEPTS, TRUE_EDGES
    from tests_support import tiny_causal_spec

    spec = tiny_causal_spec()
    spec["prior"]["edges"] = [list(e) for e in TRUE_EDGES]
    spec["data"] = {"dataset": {"type": "causalvae.pendulum"}}
    model = create_model(spec)
    with torch.no_grad():
        model.prior.A_param.copy_(0.4 * edges_to_matrix(TRUE_EDGES, CONCEPTS))  # true edges at 0.4, nothing else
        model.prior.A_param[2, 3] = 0.2  # one extra edge, counted at 0.1 only
    save_model(model, tmp_path / "m")
    report = evaluate_source(str(tmp_path / "m"), "--n", "4", "--masks", "boxes")["components"]["prior"]
    assert report["metrics"]["shd@0.1"] == 1 and report["metrics"]["shd@0.3"] == 0 and report["metrics"]["shd@0.5"] == 4
    assert report["adjacency"][0][2] == pytest.approx(0.4) and report["concepts"] == CONCEPTS
    rows = report["tables"]["interventions against the true counterfactuals"]
    assert [r["concept"] for r in rows] == CONCEPTS
    assert all({"psnr", "readback", "nondesc_change", "desc_change"} <= set(r) for r in rows)
    assert rows[2]["desc_change"] == 0.0  # shadow_length has no descendants in the true graph
    assert {"do_psnr", "do_readback", "do_nondesc_change", "recon_psnr"} <= set(report["metrics"])
    moved = report["tables"]["concepts moved by do(), read back (model / SCM, prior units)"]
    assert [r["do"] for r in moved] == CONCEPTS
    # the renderer's own SCM: do(pendulum) leaves light alone, and a concept is not listed against itself
    assert moved[0]["light"].endswith(" / 0.000") and moved[0]["pendulum"] == "—"
    assert float(moved[0]["shadow_position"].split(" / ")[1]) > 0.05  # its child does move
    assert main(["eval", str(tmp_path / "m"), "--n", "4", "--masks", "boxes"]) == 0
    out = capsys.readouterr().out
    assert "shd@0.3 = 0" in out and "interventions against the true counterfactuals" in out
    assert "concepts moved by do()" in out


def test_training_discovers_the_graph_once_and_fine_tuning_keeps_it(tmp_path, capsys):
    from inpaintzoo import load, plugins
    from inpaintzoo.spec import validate
    from inpaintzoo.train.loop import RunOptions, Trainer
    from inpaintzoo_causalvae.dag import acyclicity
    from inpaintzoo_causalvae.pendulum import TRUE_EDGES
    from tests_support import tiny_causal_spec

    spec = tiny_causal_spec()
    spec["prior"].update(edges=[list(e) for e in TRUE_EDGES], discovery="pc", discovery_samples=300)
    spec["data"] = {"dataset": {"type": "causalvae.pendulum"}, "masks": {"type": "core.boxes"}}
    spec["train"] = {"steps": 2, "batch_size": 8, "eval_batches": 1}
    reg = plugins.registry()
    Trainer(validate(spec, reg, "tiny"), RunOptions(out=tmp_path / "r", tensorboard=False)).fit()
    printed = capsys.readouterr()
    assert "causal graph found from" in printed.out + printed.err
    found = load(tmp_path / "r" / "final").prior.allowed
    assert 0 < found.sum() < 12 and float(acyclicity(found)) == 0  # a DAG from the labels, not the full mask
    Trainer(validate(spec, reg, "tiny"), RunOptions(out=tmp_path / "f", init=str(tmp_path / "r" / "final"),
                                                  tensorboard=False)).fit()
    printed = capsys.readouterr()
    assert "causal graph found from" not in printed.out + printed.err
    assert torch.equal(load(tmp_path / "f" / "final").prior.allowed, found)


@pytest.mark.parametrize("std", [1.0, 0.2])
def test_concept_kl_is_the_closed_form_for_the_prior_std(std):
    from torch.distributions import Normal, kl_divergence

    from inpaintzoo_causalvae.losses import CausalKL, _causal_ctx

    ctx = _causal_ctx(3)
    ctx.latent.extras["prior_std"] = std
    z, fz, pm = (ctx.latent.extras[k] for k in ("z", "fz", "prior_mean"))
    for weights, x in (({"eps_weight": 0, "z_weight": 1, "fz_weight": 0}, z), ({"eps_weight": 0, "z_weight": 0, "fz_weight": 1}, fz)):
        expected = kl_divergence(Normal(x, 1.0), Normal(pm, std)).flatten(1).sum(1).mean()
        assert torch.allclose(CausalKL(CausalKL.Config(**weights))(ctx), expected, atol=1e-5)
