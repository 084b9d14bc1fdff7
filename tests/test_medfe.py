"""MEDFE plugin: shapes per scale, real partial convolutions, batched equalization, RTV, RaLSGAN, G/D steps."""
import pytest
import torch
import torch.nn.functional as F

from inpaintzoo import create_model
from inpaintzoo_medfe.equalizer import Equalizer, gaussian_weights, range_term
from inpaintzoo_medfe.losses import ralsgan
from inpaintzoo_medfe.networks import MEDFEDecoder, MEDFEEncoder
from inpaintzoo_medfe.pconv import PartialConv2d
from inpaintzoo_medfe.rtv import _gauss, apply_system, rtv_smooth, solve, texture_weights, total_variation


def test_encoder_and_decoder_shapes_at_every_scale():
    enc = MEDFEEncoder(MEDFEEncoder.Config(ngf=4))
    feats = enc(torch.randn(2, 3, 256, 256), torch.zeros(2, 1, 256, 256))
    assert [tuple(f.shape[1:]) for f in feats] == [(4, 128, 128), (8, 64, 64), (16, 32, 32), (32, 16, 16), (32, 8, 8), (32, 4, 4)]
    eq = Equalizer(Equalizer.Config(ngf=4))
    lat = eq(feats, None, torch.zeros(2, 1, 256, 256))
    assert [s.shape for s in lat.skips] == [f.shape for f in feats]
    assert lat.extras["x_DE_fi"].shape == (2, 16, 32, 32) and lat.extras["x_ST_fi"].shape == (2, 16, 32, 32)
    out = MEDFEDecoder(MEDFEDecoder.Config(ngf=4))(lat.h, lat.skips)
    assert out.shape == (2, 3, 256, 256) and out.abs().max() <= 1


def test_partial_conv_hand_example_and_hole_shrinking():
    conv = PartialConv2d(1, 1, 3, padding=1, bias=True)
    with torch.no_grad():
        conv.weight.fill_(1.0)
        conv.bias.fill_(0.5)
    x = torch.arange(25.0).view(1, 1, 5, 5)
    valid = torch.ones(1, 1, 5, 5)
    valid[..., 1:4, 1:4] = 0  # a 3×3 hole
    out, new = conv(x, valid)
    # centre: no valid pixel in its window → 0 and still a hole
    assert out[0, 0, 2, 2] == 0 and new[0, 0, 2, 2] == 0
    # (1,1): valid neighbours 0,1,2,5,10 (sum 18) out of 9 → 18·9/5 + 0.5
    assert out[0, 0, 1, 1].item() == pytest.approx(18 * 9 / 5 + 0.5)
    assert int((1 - new).sum()) == 1  # the hole shrank from 9 pixels to 1
    _, newer = conv(out, new)
    assert int((1 - newer).sum()) == 0
    # a fully valid window equals a plain convolution
    full = torch.ones(1, 1, 5, 5)
    plain = F.conv2d(x, conv.weight, conv.bias, padding=1)
    got, _ = conv(x, full)
    assert torch.allclose(got[..., 1:4, 1:4], plain[..., 1:4, 1:4])


def test_gaussian_term_weights_sum_to_one():
    w = gaussian_weights(32, 32, 1.5)
    assert torch.allclose(w.sum(1), torch.ones(1024))
    centre = w[16 * 32 + 16].view(32, 32)
    assert centre[15:18, 15:18].sum().item() == pytest.approx(0.48, abs=0.01)  # 48% in the 3×3 window (§1.3)


def test_spatial_equalization_of_a_batch_equals_each_sample():
    torch.manual_seed(0)
    eq = Equalizer(Equalizer.Config(ngf=4)).eval()
    f = torch.randn(3, 32, 16, 16)
    batch = eq.spatial(f)
    alone = torch.cat([eq.spatial(f[i : i + 1]) for i in range(3)])
    assert torch.allclose(batch, alone, atol=1e-5)
    # the release's scramble differs from the correct permute
    scr = Equalizer(Equalizer.Config(ngf=4, faithful_scramble=True)).eval()
    scr.load_state_dict(eq.state_dict())
    assert not torch.allclose(scr.spatial(f), batch)


def test_range_term_on_a_constant_map_is_the_map_inside():
    f = torch.full((1, 2, 5, 5), 0.7)
    assert torch.allclose(range_term(f)[..., 1:4, 1:4], f[..., 1:4, 1:4])


def test_range_term_border_pads_after_the_sigmoid():
    """A corner of a constant map c has 4 on-image neighbours (incl. itself) with similarity σ(c)² and 5 off-image
    ones with similarity 0 (σ(f) zero-padded, as the release) and value 0: out = 4c·e^{σ²} / (4e^{σ²} + 5)."""
    c = 0.7
    f = torch.full((1, 3, 4, 4), c)
    s2 = torch.sigmoid(torch.tensor(c)) ** 2
    corner = 4 * c * torch.exp(s2) / (4 * torch.exp(s2) + 5)
    edge = 6 * c * torch.exp(s2) / (6 * torch.exp(s2) + 3)
    out = range_term(f)
    assert out[0, 0, 0, 0].item() == pytest.approx(corner.item(), rel=1e-6)
    assert out[0, 0, 0, 2].item() == pytest.approx(edge.item(), rel=1e-6)


def _dense_system(wx: torch.Tensor, wy: torch.Tensor) -> torch.Tensor:
    """I + L_w written out pixel by pixel from tsmooth's definition (right and lower neighbour weights)."""
    h, w = wx.shape
    A = torch.eye(h * w, dtype=torch.float64)
    for r in range(h):
        for c in range(w):
            p = r * w + c
            for (rr, cc), wgt in (((r, c + 1), wx[r, c]), ((r + 1, c), wy[r, c])):
                if rr < h and cc < w:
                    q = rr * w + cc
                    A[p, q] -= wgt
                    A[q, p] -= wgt
                    A[p, p] += wgt
                    A[q, q] += wgt
    return A


def test_rtv_solve_is_exact_on_a_tiny_system():
    g = torch.Generator().manual_seed(1)
    b = torch.rand(1, 3, 5, 6, generator=g, dtype=torch.float64)
    wx, wy = texture_weights(b, 3.0, 1e-3)
    wx, wy = 0.0075 * wx, 0.0075 * wy  # λ/2 of MEDFE's λ = 0.015: weights reach the thousands on flat parts
    x = solve(b, wx, wy)
    A = _dense_system(wx[0, 0], wy[0, 0])
    exact = torch.linalg.solve(A, b[0].reshape(3, -1).T).T.reshape(1, 3, 5, 6)
    assert torch.allclose(x, exact, atol=1e-9)
    assert torch.allclose(apply_system(x, wx, wy), b, atol=1e-9)


def test_rtv_gaussian_zero_pads_like_matlab_conv2_same():
    x = torch.zeros(1, 1, 1, 9, dtype=torch.float64)
    x[..., 0] = 1.0  # an impulse at the border: zero padding keeps only the kernel's inner half
    y = _gauss(x, 1.0)  # k = 5: weights exp(-t²/2)/Σ, t = -2..2
    k = torch.exp(-torch.arange(-2, 3, dtype=torch.float64) ** 2 / 2)
    k = k / k.sum()
    assert torch.allclose(y[0, 0, 0, :3], k[2:] * k[2])  # column pass keeps the centre tap only (one row)
    assert float(y.sum()) == pytest.approx(float(k[2:].sum() * k[2]))  # mass lost past the border: not replicated


def test_rtv_is_smoother_and_keeps_a_strong_edge():
    g = torch.Generator().manual_seed(0)
    x = torch.zeros(1, 3, 48, 48)
    x[..., 24:] = 1.0
    noisy = (x + 0.08 * torch.randn(x.shape, generator=g)).clamp(0, 1)
    s = rtv_smooth(noisy)
    assert total_variation(s) < 0.4 * total_variation(noisy)
    assert s[..., :, 30:].mean() - s[..., :, :18].mean() > 0.8  # the vertical step survives


def test_ralsgan_against_hand_computation():
    dr, df = torch.tensor([1.0, 3.0]), torch.tensor([0.0, -2.0])  # E D(r) = 2, E D(f) = −1
    d = 0.5 * (((1 + 1 - 1) ** 2 + (3 + 1 - 1) ** 2) / 2 + ((0 - 2 + 1) ** 2 + (-2 - 2 + 1) ** 2) / 2)
    g = 0.5 * (((1 + 1 + 1) ** 2 + (3 + 1 + 1) ** 2) / 2 + ((0 - 2 - 1) ** 2 + (-2 - 2 - 1) ** 2) / 2)
    assert ralsgan(dr, df, for_generator=False).item() == pytest.approx(d)
    assert ralsgan(dr, df, for_generator=True).item() == pytest.approx(g)


def test_generator_and_discriminator_steps_on_a_batch_of_4(tmp_path):
    from inpaintzoo.cli import main

    spec = tmp_path / "m.toml"
    from inpaintzoo.zoo import get

    text = get("medfe-tiny").spec_path.read_text().replace("size = 512", "size = 8").replace("epochs = 4", "steps = 2")
    text = text.replace("batch_size = 8", "batch_size = 4").replace("weight = 250.0", "weight = 250.0")
    spec.write_text(text)
    assert main(["train", str(spec), "--out", str(tmp_path / "run"), "--quiet"]) == 0
    import json

    rows = [json.loads(l) for l in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert {"train/d_loss", "train/adversarial", "train/style", "train/intermediate"} <= set(rows[-1])


def test_vgg_weights_offline_error_names_the_key(capsys, tmp_path):
    from inpaintzoo.cli import main

    assert main(["build", "medfe-celeba256", "--out", str(tmp_path / "m")]) == 2
    err = capsys.readouterr().err
    assert "losses.perceptual ('medfe.perceptual'): VGG16 weights could not be loaded" in err and "weights = 'random'" in err


def test_release_partial_conv_divides_by_the_stored_mask_kernel_response():
    """What the release computed: an all-valid mask and W·X / conv(1, K_mask), K_mask its (random) stored kernel."""
    torch.manual_seed(0)
    conv = PartialConv2d(4, 2, 3, padding=1, bias=False, release=True)
    x = torch.randn(1, 4, 6, 6)
    hole = torch.zeros(1, 4, 6, 6)
    hole[..., 2:4, 2:4] = 1
    out, new = conv(x, 1 - hole)  # the hole is ignored, as in the release
    d = F.conv2d(torch.ones(1, 4, 6, 6), conv.mask_weight, padding=1)
    assert torch.allclose(out, F.conv2d(x, conv.weight, padding=1) / d, atol=1e-5)
    assert torch.equal(new, torch.ones_like(new))
    assert "mask_weight" in conv.state_dict()  # converted checkpoints fill it


def test_release_initialisation():
    enc = MEDFEEncoder(MEDFEEncoder.Config(ngf=16))
    w = torch.cat([m.weight.flatten() for m in enc.modules() if isinstance(m, torch.nn.Conv2d)])
    assert float(w.std()) == pytest.approx(0.02, rel=0.05) and float(w.mean()) == pytest.approx(0.0, abs=1e-3)
    assert all(float(m.bias.abs().max()) == 0 for m in enc.modules() if isinstance(m, torch.nn.Conv2d) and m.bias is not None)
    default = MEDFEEncoder(MEDFEEncoder.Config(ngf=16, init="pytorch")).e1[0].weight
    assert float(default.std()) > 0.04  # PyTorch's kaiming-uniform default: 1/√(3·96) ≈ 0.059 for E1's fan-in of 96


def test_decoder_does_not_modify_its_inputs():
    """The release's decoder ReLU is not in place; an in-place one changed the equalizer's skips (latent.h)."""
    skips = [torch.randn(1, c, s, s) for c, s in zip([4, 8, 16, 32, 32, 32], [128, 64, 32, 16, 8, 4])]
    before = [t.clone() for t in skips]
    MEDFEDecoder(MEDFEDecoder.Config(ngf=4))(skips[-1], skips)
    assert all(torch.equal(a, b) for a, b in zip(skips, before))
