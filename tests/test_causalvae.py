"""CausalVAE plugin: causal solve, acyclicity, augmented Lagrangian, pendulum renderer, interventions."""
import math

import pytest
import numpy as np
import torch

from inpaintzoo import create_model
from inpaintzoo.interfaces import LatentOutput, LossContext
from inpaintzoo_causalvae.causal_layer import CausalLayer
from inpaintzoo_causalvae.dag import acyclicity, causal_solve, edges_to_matrix, shd
from inpaintzoo_causalvae.losses import DagPenalty
from inpaintzoo_causalvae.pendulum import CONCEPTS, TRUE_EDGES, Pendulum, Scene, grid, render, shadow


def test_causal_solve_hand_example():
    # chain 0 → 1 → 2 with weights 2 and 3: z0 = e0, z1 = 2 z0 + e1, z2 = 3 z1 + e2
    A = torch.tensor([[0.0, 2.0, 0.0], [0.0, 0.0, 3.0], [0.0, 0.0, 0.0]])
    eps = torch.tensor([[[1.0], [1.0], [1.0]]])
    z = causal_solve(A, eps)
    assert torch.allclose(z.flatten(), torch.tensor([1.0, 3.0, 10.0]))


def test_acyclicity():
    dag = edges_to_matrix(TRUE_EDGES, CONCEPTS) * 0.7
    assert float(acyclicity(dag)) == pytest.approx(0.0, abs=1e-7)
    a, b = 0.8, 1.5  # a 2-cycle: h = a²b²/2 in closed form for K = 2
    cyc = torch.tensor([[0.0, a], [b, 0.0]])
    assert float(acyclicity(cyc)) == pytest.approx(a * a * b * b / 2, rel=1e-6)


def test_shd_counts_missing_extra_and_reversed_edges():
    true = edges_to_matrix([("a", "b"), ("b", "c")], ["a", "b", "c"])
    assert shd(true, true) == 0
    assert shd(edges_to_matrix([("b", "a"), ("b", "c"), ("a", "c")], ["a", "b", "c"]), true) == 2  # reversed + extra


def _ctx(A):
    return LossContext(torch.zeros(1), torch.zeros(1), torch.zeros(1), torch.zeros(1), torch.zeros(1),
                       LatentOutput(h=torch.zeros(1), extras={"A": A}), [])


def test_lagrange_multiplier_grows_while_h_positive():
    loss = DagPenalty(DagPenalty.Config(update_every=1))
    ctx = _ctx(torch.tensor([[0.0, 1.0], [1.0, 0.0]]))  # stays cyclic: h = 0.5
    lams, cs = [], []
    for _ in range(4):
        loss.after_step(ctx)
        lams.append(loss.lam)
        cs.append(loss.c)
    assert lams == sorted(lams) and lams[0] > 3.0 and lams[-1] > lams[0]
    assert cs[-1] > cs[0]  # no progress on h → the penalty grows too
    fixed = DagPenalty(DagPenalty.Config(update_every=1, faithful_fixed_multipliers=True))
    fixed.after_step(ctx)
    assert (fixed.lam, fixed.c) == (3.0, 1.0)
    assert float(fixed(ctx)) == pytest.approx(3 * 0.5 + 0.5 * 0.25)  # the reference's 3h + 0.5h²


def test_pendulum_grid_split_and_labels():
    g = grid()
    assert len(g) == 7308 and sum(s == "train" for *_, s in g) == 5482
    assert [s for *_, s in g[:9]] == ["train"] * 4 + ["test"] + ["train"] * 3 + ["test"]
    # labels follow §3.1: shadow from the pivot and the bob's far edge projected onto y = −0.5
    i, j = 20, 70
    theta, phi = i * math.pi / 200, j * math.pi / 200
    t = math.tan(phi)
    proj = lambda x, y: (-0.5 - (y - x * t)) / t
    a, b = proj(10, 10.5), proj(10 + 9.5 * math.sin(theta), 10.5 - 9.5 * math.cos(theta))
    length, mid = shadow(i, j)
    assert length == pytest.approx(max(3, abs(a - b))) and mid == pytest.approx((a + b) / 2)
    assert Scene.factual(i, j).labels() == [20, 70, int(length), int(mid)]
    ds = Pendulum(Pendulum.Config(split="all", limit=3))
    item = ds[1]
    assert item["image"].shape == (4, 96, 96) and torch.equal(item["image"][3], torch.ones(96, 96))
    assert item["labels"].tolist() == Scene.factual(-40, 61).labels()


def test_renderer_is_deterministic_and_drawn_where_expected():
    a, b = render(Scene.factual(0, 80)), render(Scene.factual(0, 80))
    assert a.dtype == np.uint8 and a.shape == (96, 96, 3) and np.array_equal(a, b)
    assert a.min() == 0  # black rod and shadow
    # the counterfactual: do(light) moves the shadow, do(shadow_length) leaves pendulum and light alone
    s = Scene.factual(0, 80)
    cf = s.intervene({"light": 120})
    assert cf.pendulum == 0 and cf.shadow_position != s.shadow_position
    only = s.intervene({"shadow_length": 10.0})
    assert (only.pendulum, only.light, only.shadow_position) == (s.pendulum, s.light, s.shadow_position)
    assert not np.array_equal(render(only), render(s))


def _layer(graph="given", **kw):
    cfg = CausalLayer.Config(in_features=8, graph=graph, edges=[list(e) for e in TRUE_EDGES], **kw)
    return CausalLayer(cfg).eval()


def test_given_graph_never_changes_in_training():
    layer = _layer("given").train()
    before = layer.A.clone()
    opt = torch.optim.Adam(layer.parameters(), lr=0.1)
    for _ in range(5):
        out = layer([torch.randn(4, 8)], torch.rand(4, 4) * 10)
        loss = out.h.pow(2).mean() + acyclicity(out.extras["A"]) + out.extras["label_pred"].sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert torch.equal(layer.A, before)


def test_the_parents_mechanism_fits_a_child_that_depends_on_its_parents_jointly():
    """child = z₀·z₁: the best g(z₀ + z₁) leaves a mean squared error of 1/2 (closed form, standard normal parents);
    an MLP over the parents taken apart gets close to 0."""
    from inpaintzoo_causalvae.causal_layer import PerConcept, PerParents

    torch.manual_seed(0)
    A = torch.tensor([[0.0, 0, 1], [0, 0, 1], [0, 0, 0]])
    z = torch.randn(1024, 3, 1)
    target = z[:, 0] * z[:, 1]
    errors = {}
    for mech in (PerConcept(3, 1, 1, 32), PerParents(3, 1, 32)):
        opt = torch.optim.Adam(mech.parameters(), lr=1e-2)
        for _ in range(400):
            out = mech(torch.einsum("ij,nid->njd", A, z)) if isinstance(mech, PerConcept) else mech(A, z)
            loss = (out[:, 2] - target).pow(2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
        errors[type(mech).__name__] = float(loss)
    assert errors["PerConcept"] > 0.4 and errors["PerParents"] < 0.05, errors


@pytest.mark.parametrize("mechanism, intervention", [("single_index", "decoder_input"), ("parents", "decoder_input"),
                                                     ("single_index", "latent"), ("single_index", "counterfactual")])
def test_intervening_on_a_leaf_leaves_other_concepts_unchanged(mechanism, intervention):
    torch.manual_seed(0)
    layer = _layer("given", mechanism=mechanism, intervention=intervention)
    feats = [torch.randn(3, 8)]
    fact = layer(feats)
    out = layer.intervene(feats, {"shadow_length": 9.0})
    K, d = 4, 4
    fz, fzi = fact.h.view(3, K, d), out.h.view(3, K, d)
    for k in (0, 1, 3):
        assert torch.equal(fz[:, k], fzi[:, k])
    if intervention == "decoder_input":  # the value itself is the concept's decoder input
        assert torch.allclose(fzi[:, 2], torch.full((3, d), (9.0 - 6.5) / 3.5))
    else:  # the value enters through the latent: the concept's decoder input moves, as training computes it
        assert not torch.allclose(fzi[:, 2], fz[:, 2])
    # a root's descendants change, its non-descendants do not
    out2 = layer.intervene(feats, {"pendulum": 30.0}).h.view(3, K, d)
    assert torch.equal(out2[:, 1], fz[:, 1])
    assert not torch.allclose(out2[:, 2], fz[:, 2]) and not torch.allclose(out2[:, 3], fz[:, 3])


@pytest.mark.parametrize("label_space", ["scaled", "raw"])
def test_counterfactual_do_moves_children_by_their_mechanism_and_keeps_their_noise(label_space):
    """'counterfactual': z'_j = z_j + m_j(z̄') − m_j(z̄) for the descendants (abduction, action, prediction), the pinned
    concept at its value, the others untouched; do() of a concept's own value changes nothing."""
    torch.manual_seed(0)
    layer = _layer("given", intervention="counterfactual", label_path="additive", label_space=label_space)
    eps = torch.randn(3, 4, 4)
    z = causal_solve(layer.A, eps)
    v = torch.tensor([0.5, -1.0, 2.0])
    zi = layer.propagate(z, eps, {0: v})  # do(pendulum): both shadows are its children
    assert torch.equal(zi[:, 0], v[:, None].expand(3, 4)) and torch.equal(zi[:, 1], z[:, 1])
    zbar = z.mean(-1).clone()
    zbar[:, 0] = v
    shift = layer.mechanism(zbar) - layer.mechanism(z.mean(-1))
    for j in (2, 3):
        assert torch.allclose(zi[:, j], z[:, j] + shift[:, j, None], atol=1e-6)
        assert not torch.allclose(zi[:, j], z[:, j])
    own = z.clone()
    own[:, 0] = own[:, 0].mean(-1, keepdim=True)  # a root whose dims agree: do() of its own value is no change
    assert torch.allclose(layer.propagate(own, eps, {0: own[:, 0, 0]}), own, atol=1e-6)
    if label_space == "raw":  # the mechanism speaks prior units whatever space the label path is fitted in
        u = layer.scale[:, 0] + layer.scale[:, 1] * zbar
        raw = layer.label_mix(layer._label_input(u).unsqueeze(-1)).squeeze(-1)
        assert torch.allclose(layer.mechanism(zbar), layer.scaled(raw), atol=1e-6)


def test_the_adjacency_curve_keeps_one_line_per_step_and_draws_true_edges_and_shd(tmp_path):
    """plots/adjacency.jsonl gains a line per evaluation; a repeated step (a resumed run) keeps its newest; the curve
    draws the true edges, any other non-zero entry, and the SHD."""
    from inpaintzoo_causalvae.plots import record_adjacency

    names = ["a", "b", "c"]
    truth = edges_to_matrix([("a", "b")], names)
    for step, ab, shd_value in ((10, 0.1, 1.0), (20, 0.2, 1.0), (20, 0.5, 0.0)):
        A = torch.zeros(3, 3)
        A[0, 1] = ab
        history = record_adjacency(tmp_path, step, A, shd_value, names, truth, 0.3)
    assert len((tmp_path / "adjacency.jsonl").read_text().splitlines()) == 3
    assert [h["step"] for h in history] == [10, 20] and history[1]["A"][0][1] == 0.5 and history[1]["shd"] == 0.0
    (tmp_path / "adjacency.jsonl").open("a").write('{"step": 30, "A": [[0')  # a line cut short by a kill
    A = torch.zeros(3, 3)
    A[2, 0] = 0.4
    history = record_adjacency(tmp_path, 40, A, 2.0, names, truth, 0.3)
    assert [h["step"] for h in history] == [10, 20, 40]
    from inpaintzoo_causalvae.plots import adjacency_curve

    drawn = adjacency_curve(history, names, tmp_path / "c.png", truth, 0.3)
    assert drawn == ["a → b (true)", "c → a", "SHD"] and (tmp_path / "adjacency-curve.png").stat().st_size > 1000


def test_style_dims_reach_the_decoder_pay_their_kl_and_survive_do():
    """Latents outside the concepts: appended to the decoder input, KL ½‖s‖², and do() leaves them as they were."""
    torch.manual_seed(0)
    layer = _layer("given", style_dims=3, intervention="latent")
    feats = [torch.randn(2, 8)]
    out = layer(feats)
    assert out.h.shape == (2, 4 * 4 + 3)
    style = out.extras["style"]
    assert torch.allclose(out.kl["style"], 0.5 * style.pow(2).sum(1)) and torch.equal(out.h[:, 16:], style)
    done = layer.intervene(feats, {"pendulum": 30.0}).h
    assert torch.equal(done[:, 16:], style) and not torch.allclose(done[:, :16], out.h[:, :16])
    assert layer._encode(feats).shape == (2, 4, 4)
    with pytest.raises(ValueError, match="out_shape reshapes the concepts alone"):
        CausalLayer.Config(in_features=8, style_dims=2, out_shape=[16])


def test_the_style_kl_is_charged_by_its_weight_in_closed_form():
    from inpaintzoo_causalvae.losses import CausalKL, _causal_ctx

    ctx = _causal_ctx(3)
    base = float(CausalKL(CausalKL.Config(style_weight=2.0))(ctx))  # no style latents: the weight changes nothing
    assert base == float(CausalKL(CausalKL.Config())(ctx))
    style = torch.tensor([[1.0, 2.0], [0.0, 0.0], [3.0, 0.0]])
    ctx.latent.extras["style"] = style
    assert float(CausalKL(CausalKL.Config())(ctx)) == pytest.approx(base)  # default 0: an unregularised code
    # 2 · ½‖s‖² per image, batch mean: 2 · ½ · (5 + 0 + 9) / 3
    assert float(CausalKL(CausalKL.Config(style_weight=2.0))(ctx)) == pytest.approx(base + 14 / 3, rel=1e-5)


from tests_support import tiny_causal_spec


def test_model_intervene_api_and_errors():
    from inpaintzoo.errors import InputError

    model = create_model(tiny_causal_spec()).eval()
    img = torch.rand(3, 16, 16)
    out = model.intervene(img, {"pendulum": 10.0, "light": 90.0})
    assert out.shape == img.shape
    with pytest.raises(InputError, match="did you mean 'pendulum'"):
        model.intervene(img, {"pendulm": 1.0})


def test_concept_faces_scm_and_renderer():
    from inpaintzoo_causalvae.faces import ConceptFaces, Face, TRUE_EDGES as FACE_EDGES

    ds = ConceptFaces(ConceptFaces.Config(size=10))
    assert torch.equal(ds[3]["image"], ConceptFaces(ConceptFaces.Config(size=10))[3]["image"])  # deterministic
    assert ds[0]["image"].shape == (3, 64, 64) and ds[0]["labels"].shape == (4,)
    f = ds.face(2)
    up = f.intervene({"smile": 1.0})
    assert up.smile == 1.0 and up.mouth_open != f.mouth_open and up.eyes_open != f.eyes_open and up.gender == f.gender
    mo = f.intervene({"mouth_open": 1.0})
    assert (mo.smile, mo.eyes_open, mo.gender) == (f.smile, f.eyes_open, f.gender)
    # labels follow the documented SCM from the stored noise
    u = f.u
    g = 1.0 if u[0] < 0.5 else 0.0
    s = min(1, max(0, u[1] + 0.2 * (1 - g) - 0.1))
    assert f.labels() == pytest.approx([g, s, min(1, max(0, 1 - 0.65 * s + 0.3 * (u[3] - 0.5))), min(1, max(0, 0.75 * s + 0.35 * (u[2] - 0.2)))])
    assert ("smile", "mouth_open") in FACE_EDGES and ("mouth_open", "smile") not in FACE_EDGES
    assert not torch.equal(ds.counterfactual(2, {"smile": 1.0}), ds[2]["image"])
    assert isinstance(Face.from_noise(f.u), Face)


@pytest.mark.parametrize("zoo", ["causal-nvae-pendulum", "causal-nvae-faces64"])
def test_a_non_square_render_size_is_a_spec_error_naming_the_key(zoo, tmp_path, capsys):
    from inpaintzoo.cli import main

    assert main(["build", zoo, "--set", "data.dataset.image_size=[32, 16]", "--out", str(tmp_path / "m")]) == 2
    err = capsys.readouterr().err
    assert "data.dataset.image_size: scenes are rendered square" in err and "Traceback" not in err
    assert not (tmp_path / "m").exists()


def test_bernoulli_release_scale_is_the_per_image_sum_over_c_times_h():
    """The release sums BCE over the width only, then averages: Σ BCE / (N·C·H); ours sums per image: Σ BCE / N."""
    from inpaintzoo.testing import dummy_loss_context
    from inpaintzoo_causalvae.losses import BernoulliNLL

    g = torch.Generator().manual_seed(0)
    ctx = dummy_loss_context(2, channels=4, size=6)
    ctx.raw = torch.randn(2, 4, 6, 5, generator=g)
    ctx.target = torch.rand(2, 4, 6, 5, generator=g)
    p = torch.sigmoid(ctx.raw)
    bce = -(ctx.target * torch.log(p) + (1 - ctx.target) * torch.log(1 - p))  # closed form
    full = BernoulliNLL(BernoulliNLL.Config())(ctx)
    release = BernoulliNLL(BernoulliNLL.Config(scale="release"))(ctx)
    assert float(full) == pytest.approx(float(bce.sum() / 2), rel=1e-5)
    assert float(release) == pytest.approx(float(bce.sum() / (2 * 4 * 6)), rel=1e-5)
    assert float(full / release) == pytest.approx(4 * 6, rel=1e-5)  # 1/(C·H): 384 at the release's 4×96×96


def test_release_switches_free_diagonal_and_unscaled_attention():
    zero = CausalLayer(CausalLayer.Config(in_features=8))
    free = CausalLayer(CausalLayer.Config(in_features=8, diagonal="free", attention_init_std=1.0))
    for layer in (zero, free):
        out = layer([torch.randn(4, 8)], torch.rand(4, 4) * 10)
        (out.h.pow(2).sum() + out.extras["label_pred"].pow(2).sum()).backward()
    assert torch.equal(torch.diagonal(zero.A), torch.zeros(4)) and torch.diagonal(zero.A_param.grad).abs().sum() == 0
    assert torch.diagonal(free.A_param.grad).abs().sum() > 0  # the release's diagonal is learnt
    torch.manual_seed(0)
    stds = [float(CausalLayer(CausalLayer.Config(in_features=8, attention_init_std=s)).M.std()) for s in (0.1, 1.0) for _ in range(20)]
    assert np.mean(stds[:20]) == pytest.approx(0.1, rel=0.25) and np.mean(stds[20:]) == pytest.approx(1.0, rel=0.25)
