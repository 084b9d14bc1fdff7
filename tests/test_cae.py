"""CAE plugin: code shapes, the frozen pre-trained encoders really in use, loss zero at equality."""
import json

import safetensors.torch
import torch

from inpaintzoo import create_model
from inpaintzoo.cli import main
from inpaintzoo.interfaces import LatentOutput
from inpaintzoo_cae.autoencoders import CAEDecoder, StructureEncoder, TextureEncoder
from inpaintzoo_cae.fixtures import write_tiny_caes
from inpaintzoo_cae.loss import GroundTruthCodes, encode


def test_paper_code_shapes_and_layers():
    x, m = torch.randn(1, 3, 256, 256), torch.zeros(1, 1, 256, 256)
    tex = TextureEncoder(TextureEncoder.Config(ngf=32, max_channels=256)).eval()
    st = StructureEncoder(StructureEncoder.Config(ngf=32, max_channels=256)).eval()
    assert tex(x, m)[-1].shape == (1, 256, 32, 32) and st(x, m)[-1].shape == (1, 256, 32, 32)
    convs = [(c.in_channels, c.out_channels, c.stride[0]) for c in tex.modules() if isinstance(c, torch.nn.Conv2d)]
    assert convs == [(3, 32, 1), (32, 64, 2), (64, 128, 2), (128, 256, 2)]
    downs = [c for c in st.modules() if isinstance(c, torch.nn.Conv2d)]
    ups = [c for c in st.modules() if isinstance(c, torch.nn.ConvTranspose2d)]
    assert len(downs) == 6 and len(ups) == 2  # stem + 5 downs to 8², 2 ups to 32²
    code = st(x, m)[-1]
    assert code.abs().max() < 1  # Tanh code
    dec = CAEDecoder(CAEDecoder.Config(ngf=32, max_channels=256, n_up=3))
    assert dec(code).shape == (1, 3, 256, 256)


def test_loss_is_zero_when_features_equal_codes(tmp_path):
    tex_dir, st_dir = write_tiny_caes(tmp_path, size=32)
    loss = GroundTruthCodes(GroundTruthCodes.Config(texture=str(tex_dir), structure=str(st_dir)))
    (ctx,) = loss.example_inputs(2)
    tex, st = loss.encoders("cpu")
    ctx.latent = LatentOutput(h=ctx.pred, extras={"x_DE_fi": encode(tex, ctx.target), "x_ST_fi": encode(st, ctx.target)})
    assert loss(ctx).item() == 0.0
    ctx.latent.extras["x_DE_fi"] = ctx.latent.extras["x_DE_fi"] + 0.5
    assert loss(ctx).item() > 0.4


def test_pretrained_encoders_are_the_ones_in_use_and_stay_frozen(tmp_path):
    tex_dir, st_dir = write_tiny_caes(tmp_path / "caes", size=128)
    from inpaintzoo.zoo import get

    spec = get("medfe-cae-tiny").spec_path.read_text()
    spec = spec.replace('"cae-texture-tiny"', f'"{tex_dir}"').replace('"cae-structure-tiny"', f'"{st_dir}"')
    spec = spec.replace("size = 512", "size = 8").replace("epochs = 4", "steps = 2").replace("batch_size = 8", "batch_size = 4")
    (tmp_path / "s.toml").write_text(spec)
    assert main(["train", str(tmp_path / "s.toml"), "--out", str(tmp_path / "run"), "--quiet"]) == 0
    rows = [json.loads(l) for l in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert "train/cae" in rows[-1] and rows[-1]["train/cae"] > 0
    # the loss inside a built model uses exactly the weights in the CAE folders, frozen, before and after steps
    import tomllib

    model = create_model(tomllib.loads(spec))
    parts = model.train_components()
    image, mask = model.dummy_batch(2)
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    for _ in range(2):
        out = model.train()(image, mask, discriminator=parts.discriminator)
        opt.zero_grad()
        parts.losses["cae"](out.context).backward()
        opt.step()
    tex, st = parts.losses["cae"].encoders("cpu")
    for enc, folder in ((tex, tex_dir), (st, st_dir)):
        saved = safetensors.torch.load_file(str(folder / "model.safetensors"))
        for k, v in enc.state_dict().items():
            assert torch.equal(v, saved[k]), k
        assert not any(p.requires_grad for p in enc.parameters()) and not enc.training
    # the CAEs (and every loss) are training-only: not part of MEDFE-CAE's published weights
    assert {k.split(".")[0] for k in model.state_dict()} == {"encoder", "prior", "decoder"}


def test_missing_cae_says_how_to_pretrain(tmp_path, capsys):
    from inpaintzoo.zoo import get

    spec = get("medfe-cae-tiny").spec_path.read_text().replace('"cae-texture-tiny"', f'"{tmp_path / "nope"}"')
    spec = spec.replace("size = 512", "size = 8").replace("epochs = 4", "steps = 1").replace("batch_size = 8", "batch_size = 4")
    (tmp_path / "s.toml").write_text(spec)
    assert main(["train", str(tmp_path / "s.toml"), "--out", str(tmp_path / "run"), "--quiet"]) == 2
    assert "cae.ground_truth texture: cannot load" in capsys.readouterr().err


def test_the_zoo_spec_names_the_shipped_caes_and_builds(tmp_path):
    """medfe-cae-tiny's CAEs are model references to the shipped zoo entries: building it needs no runs/ folder."""
    assert main(["build", "medfe-cae-tiny", "--out", str(tmp_path / "m")]) == 0
