"""MEDFE plugin: shapes per scale, real partial convolutions, batched equalization, RTV, RaLSGAN, G/D steps."""
import pytest
import torch
import torch.nn.functional as F

from inpaintzoo import create_model
from inpaintzoo_medfe.equalizer import Equalizer, gaussian_weights, range_term
from inpaintzoo_medfe.losses import ralsgan
from inpaintzoo_medfe.networks import MEDFEDecoder, MEDFEEncoder
from inpaintzoo_medfe.pconv import PartialConv2d
from inpaintzoo_medfe.rtv import rtv_smooth, total_variation


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
