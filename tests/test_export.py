"""`inpaintzoo export`: ONNX files run by ONNX Runtime give what `inpaint()` gives, and carry the model's contract.

Small shipped models and a 32² LaMa-shaped FFC network (its Fourier units become ONNX DFT); the photo-grade
models at three sizes and the speed are in benchmarks/export_onnx.py.
"""
from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
import torch

pytest.importorskip("onnxruntime")
pytest.importorskip("onnxscript")

from inpaintzoo import create_model, load  # noqa: E402
from inpaintzoo.artifact import save_model  # noqa: E402
from inpaintzoo.cli import main  # noqa: E402
from inpaintzoo.contract import pad_indices  # noqa: E402
from inpaintzoo.errors import InputError, LoadError  # noqa: E402
from inpaintzoo.export.graphs import _pad_index  # noqa: E402
from inpaintzoo.export.onnx import export_onnx, model_metadata  # noqa: E402

LAMA_TINY = {
    "model": {"name": "lama-tiny", "image_size": [32, 32], "mean": [0.0], "std": [1.0], "hole_fill": 0.0,
              "size_multiple": 4, "resize": "pad", "pad_mode": "symmetric"},
    "encoder": {"type": "lama.ffc_encoder", "ngf": 8, "n_downsampling": 2},
    "prior": {"type": "core.identity"},
    "decoder": {"type": "lama.ffc_decoder", "n_blocks": 1},
    "losses": {"l1": {"type": "core.l1"}},
}


def photo(h: int, w: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    img = np.stack([xx * 255 // max(w - 1, 1), yy * 255 // max(h - 1, 1), (xx * yy) % 256], -1)
    img = np.clip(img + rng.integers(-30, 31, img.shape), 0, 255).astype(np.uint8)
    mask = np.zeros((h, w), np.uint8)
    mask[h // 5: h // 2 + 1, w // 3: 2 * w // 3 + 1] = 255
    return img, mask


def quiet_load(name: str):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load(name)


@pytest.fixture(scope="module")
def lama_tiny():
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = create_model(LAMA_TINY).eval()
    with torch.no_grad():  # random weights scaled so the output is not saturated (as the parity benchmarks do)
        for p in model.parameters():
            p.mul_(0.5)
    return model


@pytest.mark.parametrize("mode", ["reflect", "symmetric", "replicate"])
def test_the_graphs_padding_index_is_numpys(mode):
    for n in (1, 2, 3, 7):
        for extra in (0, 1, 2, 5, 13):
            assert torch.equal(_pad_index(n, extra, mode), pad_indices(n, extra, mode)), (mode, n, extra)


def test_a_pipeline_file_gives_inpaints_bytes_at_any_size_and_records_the_contract(tmp_path):
    import onnxruntime as ort

    model = quiet_load("core-shapes-tiny")
    from inpaintzoo.loader import resolve_folder

    out = tmp_path / "m.onnx"
    meta = model_metadata(model, "core-shapes-tiny", resolve_folder("core-shapes-tiny"))
    export_onnx(model, out, pipeline=True, metadata=meta)
    session = ort.InferenceSession(str(out))
    for h, w in [(32, 32), (37, 50), (3, 5), (61, 16)]:  # a multiple, two that are not, one below the multiple
        img, mask = photo(h, w)
        got = session.run(None, {"image": img, "mask": mask})[0]
        want = model.inpaint(img, mask, hd_strategy="original")
        assert got.dtype == np.uint8 and got.shape == img.shape
        assert np.array_equal(got, want), (h, w, int(np.abs(got.astype(int) - want).max()))
        assert np.array_equal(got[mask == 0], img[mask == 0])
    recorded = session.get_modelmeta().custom_metadata_map
    assert recorded["inpaintzoo.graph"] == "pipeline" and recorded["inpaintzoo.name"] == "core-shapes-tiny"
    assert json.loads(recorded["inpaintzoo.contract"]) == model.contract.model_dump(mode="json")
    assert recorded["inpaintzoo.revision"].startswith("sha256:") and len(recorded["inpaintzoo.revision"]) == 71


@pytest.mark.parametrize("dft", ["matmul", "operator"])
def test_a_network_file_with_fourier_units_matches_the_network_batched_and_at_other_sizes(lama_tiny, tmp_path, dft):
    import onnx
    import onnxruntime as ort

    out = tmp_path / "lama.onnx"
    export_onnx(lama_tiny, out, pipeline=False, dft=dft)
    ops = {n.op_type for n in onnx.load(str(out)).graph.node}
    assert ("DFT" in ops) == (dft == "operator")  # the Fourier unit is ONNX's DFT, or DFT-matrix products
    session = ort.InferenceSession(str(out))
    g = torch.Generator().manual_seed(1)
    for n, h, w in [(1, 32, 32), (2, 48, 40), (1, 44, 36)]:  # the Fourier units' maps: 8², 12×10, 11×9 (odd)
        x = torch.rand(n, 3, h, w, generator=g)
        m = (torch.rand(n, 1, h, w, generator=g) > 0.7).float()
        got = session.run(None, {"image": x.numpy(), "mask": m.numpy()})[0]
        with torch.no_grad():
            want = lama_tiny.run(x, m)[1].clamp(0, 1)
        assert np.abs(got - want.numpy()).max() <= 1e-4


@pytest.mark.parametrize("h, w", [(1, 1), (2, 3), (8, 8), (11, 9), (12, 10)])
def test_the_exported_fourier_transforms_are_torchs_fft(monkeypatch, h, w):
    from inpaintzoo import fourier

    g = torch.Generator().manual_seed(h * w)
    x = torch.randn(2, 3, h, w, generator=g)
    f = torch.fft.rfftn(x, dim=(-2, -1), norm="ortho")
    spectrum = torch.randn(2, 3, h, w // 2 + 1, 2, generator=g)
    want = torch.fft.irfftn(torch.complex(spectrum[..., 0], spectrum[..., 1]), s=(h, w), dim=(-2, -1), norm="ortho")
    monkeypatch.setattr(torch.compiler, "is_exporting", lambda: True)  # the matrices, as in an exported graph
    re, im = fourier.rfft2(x)
    assert torch.allclose(re, f.real, atol=1e-5) and torch.allclose(im, f.imag, atol=1e-5)
    # c2r ignores the imaginary parts of the zero and Nyquist columns; so do the matrices
    assert torch.allclose(fourier.irfft2(spectrum[..., 0], spectrum[..., 1], (h, w)), want, atol=1e-5)
    with fourier.exporting_dft("operator"):
        re, _ = fourier.rfft2(x)
    assert torch.equal(re, f.real)


def test_load_runs_an_exported_file_as_the_model_does_including_crops(lama_tiny, tmp_path):
    folder = save_model(lama_tiny, tmp_path / "lama-tiny")
    for pipeline in (False, True):
        out = tmp_path / f"lama-{pipeline}.onnx"
        assert main(["export", str(folder), "-o", str(out), "--no-check"] + (["--pipeline"] if pipeline else [])) == 0
        onnx_model = load(str(out))
        assert onnx_model.contract == lama_tiny.contract and onnx_model.graph == ("pipeline" if pipeline else "network")
        img, mask = photo(45, 70, seed=2)
        for strategy in ("original", "crop"):
            got = onnx_model.inpaint(img, mask, hd_strategy=strategy, hd_crop_trigger=40, hd_crop_margin=8)
            want = lama_tiny.inpaint(img, mask, hd_strategy=strategy, hd_crop_trigger=40, hd_crop_margin=8)
            assert np.abs(got.astype(int) - want.astype(int)).max() <= 1, (pipeline, strategy)
            assert np.array_equal(got[mask == 0], img[mask == 0])


def test_a_fixed_size_model_and_the_causal_layers_solve_export(tmp_path, capsys):
    for name in ("nvae-pendulum", "causal-nvae-pendulum"):  # resized to 32², and (I − Aᵀ)⁻¹ by elimination
        out = tmp_path / f"{name}.onnx"
        assert main(["export", name, "-o", str(out), "--pipeline"]) == 0
        assert "ONNX Runtime beside PyTorch: max 0 grey levels" in capsys.readouterr().out
        img, mask = photo(50, 41)
        assert np.array_equal(load(str(out)).inpaint(img, mask, hd_strategy="original"),
                              quiet_load(name).inpaint(img, mask, hd_strategy="original"))


def test_the_causal_elimination_agrees_with_solve():
    from inpaintzoo_causalvae.dag import eliminate

    g = torch.Generator().manual_seed(0)
    for k in (1, 2, 4, 7):
        m = torch.eye(k) - 0.5 * torch.randn(k, k, generator=g).t()
        b = torch.randn(3, k, 5, generator=g)
        assert torch.allclose(eliminate(m, b), torch.linalg.solve(m, b), atol=1e-5)
    swap = torch.tensor([[0.0, 1.0], [1.0, 0.0]])  # a zero pivot: only row exchange solves it
    b = torch.randn(1, 2, 3, generator=g)
    assert torch.allclose(eliminate(swap, b), torch.linalg.solve(swap, b))


def test_inpaint_on_an_onnx_file_writes_the_same_file_as_the_model(tmp_path, capsys):
    from PIL import Image

    img, mask = photo(40, 52)
    Image.fromarray(img).save(tmp_path / "p.png")
    Image.fromarray(mask).save(tmp_path / "m.png")
    assert main(["export", "core-shapes-tiny", "-o", str(tmp_path / "c.onnx")]) == 0
    assert main(["inpaint", str(tmp_path / "c.onnx"), str(tmp_path / "p.png"), str(tmp_path / "m.png"),
                 "-o", str(tmp_path / "a.png")]) == 0
    assert main(["inpaint", "core-shapes-tiny", str(tmp_path / "p.png"), str(tmp_path / "m.png"),
                 "-o", str(tmp_path / "b.png")]) == 0
    assert (tmp_path / "a.png").read_bytes() == (tmp_path / "b.png").read_bytes()


def test_bad_exports_are_one_line_and_write_nothing(tmp_path, capsys):
    cases = [
        (["--opset", "13"], "--opset 13: too old"),
        (["--opset", "99"], "--opset 99: newer than"),
        (["--size", "64"], None),  # a padding model takes --size: fine
    ]
    for extra, said in cases:
        out = tmp_path / "x.onnx"
        code = main(["export", "core-shapes-tiny", "-o", str(out), "--no-check"] + extra)
        err = capsys.readouterr().err
        if said is None:
            assert code == 0 and out.is_file()
            out.unlink()
        else:
            assert code == 2 and said in err and len(err.strip().splitlines()) == 1 and not out.exists()
    assert main(["export", "nvae-pendulum", "-o", str(tmp_path / "y.onnx"), "--size", "64"]) == 2
    assert "runs at 32×32 only" in capsys.readouterr().err
    assert main(["export", "core-shapes-tiny", "-o", str(tmp_path / "y.txt")]) == 2
    assert "ending in .onnx" in capsys.readouterr().err
    (tmp_path / "afile").write_text("x")
    assert main(["export", "core-shapes-tiny", "-o", str(tmp_path / "afile" / "x.onnx")]) == 2
    assert "afile is a file, not a folder" in capsys.readouterr().err
    (tmp_path / "afile").unlink()
    (tmp_path / "taken.onnx").write_bytes(b"keep")
    assert main(["export", "core-shapes-tiny", "-o", str(tmp_path / "taken.onnx")]) == 2
    assert "exists" in capsys.readouterr().err and (tmp_path / "taken.onnx").read_bytes() == b"keep"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken.onnx"]


def test_an_operator_onnx_lacks_is_named(tmp_path):
    from inpaintzoo.export.onnx import _export

    class Solve(torch.nn.Module):
        def forward(self, a, b):
            return torch.linalg.solve(a, b)

    with pytest.raises(InputError, match=r"solver: cannot export to ONNX: .*aten\._?linalg_solve"):
        _export(Solve(), (torch.eye(3) * 2, torch.ones(3, 2)), None, 18, (["a", "b"], ["x"]), "solver")


def test_an_onnx_file_that_is_not_ours_or_not_onnx_is_one_line(tmp_path):
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])])
    onnx.save(helper.make_model(graph), str(tmp_path / "other.onnx"))
    with pytest.raises(LoadError, match="without inpaintzoo's metadata"):
        load(str(tmp_path / "other.onnx"))
    model = helper.make_model(graph)
    for key, value, said in (("inpaintzoo.contract", '{"channels": -3}', "channels: Input should be greater"),
                             ("inpaintzoo.contract", "[1]", "not an object")):
        del model.metadata_props[:]
        for k, v in ((key, value), ("inpaintzoo.graph", "network")):
            entry = model.metadata_props.add()
            entry.key, entry.value = k, v
        onnx.save(model, str(tmp_path / "bad.onnx"))
        with pytest.raises(LoadError, match=said) as info:
            load(str(tmp_path / "bad.onnx"))
        assert "\n" not in str(info.value)
    (tmp_path / "junk.onnx").write_bytes(b"\x00not onnx")
    with pytest.raises(LoadError, match="not an ONNX model"):
        load(str(tmp_path / "junk.onnx"))
    with pytest.raises(LoadError, match="no such ONNX file"):
        load(str(tmp_path / "missing.onnx"))


def test_the_pipelines_mask_cells_are_area_resizings_at_any_size():
    import torch.nn.functional as F

    from inpaintzoo.export.graphs import _bins

    g = torch.Generator().manual_seed(0)
    for h, w, th, tw in [(333, 517, 256, 256), (17, 9, 32, 32), (32, 32, 32, 32), (1000, 31, 64, 7)]:
        m = (torch.rand(1, 1, h, w, generator=g) > 0.98).float()
        want = (F.interpolate(m, size=(th, tw), mode="area") > 0).float()
        assert torch.equal((_bins(th, h) @ m @ _bins(tw, w).t() > 0).float(), want), (h, w, th, tw)


def test_a_float16_file_holds_float16_weights_and_stays_within_a_few_levels(tmp_path):
    import onnx
    from onnx import numpy_helper

    model = quiet_load("core-shapes-tiny")
    out = tmp_path / "half.onnx"
    export_onnx(model, out, pipeline=True, dtype="float16")
    weights = [numpy_helper.to_array(t) for t in onnx.load(str(out)).graph.initializer if t.name.endswith(".weight")]
    assert weights and all(w.dtype == np.float16 for w in weights)
    assert next(model.parameters()).dtype == torch.float32  # the caller's model is not converted
    img, mask = photo(40, 52)
    got = load(str(out)).inpaint(img, mask, hd_strategy="original")
    want = model.inpaint(img, mask, hd_strategy="original")
    assert np.abs(got.astype(int) - want.astype(int)).max() <= 8 and np.array_equal(got[mask == 0], img[mask == 0])


def test_a_network_whose_batch_cannot_be_symbolic_is_written_at_batch_1_and_run_image_by_image(tmp_path):
    """DeepFill's contextual attention convolves each image with its own patches as one grouped convolution; ONNX's
    `group` is a constant, so the file has batch 1 and `load()` runs a batch image by image, to the same result."""
    import onnx

    torch.manual_seed(0)
    spec = {"model": {"name": "deepfill-tiny", "image_size": [80, 80], "mean": [0.5], "std": [0.5], "hole_fill": 0.5,
                      "size_multiple": 8, "resize": "pad", "min_size": 72},
            "encoder": {"type": "deepfill.coarse", "channel_factor": 0.125},
            "prior": {"type": "core.identity"},
            "decoder": {"type": "deepfill.refine", "decoder_factor": 0.125},
            "losses": {"l1": {"type": "core.l1"}}}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = create_model(spec).eval()
    out = tmp_path / "df.onnx"
    export_onnx(model, out, pipeline=False)
    assert onnx.load(str(out)).graph.input[0].type.tensor_type.shape.dim[0].dim_value == 1
    rng = np.random.default_rng(0)
    img = (rng.random((2, 80, 96, 3)) * 255).astype(np.uint8)
    mask = np.zeros((2, 80, 96), np.uint8)
    mask[:, 20:50, 30:70] = 255
    got = load(str(out)).inpaint(img, mask, hd_strategy="original")
    assert np.abs(got.astype(int) - model.inpaint(img, mask, hd_strategy="original").astype(int)).max() <= 1


def test_an_export_never_replaces_a_file_that_appeared_meanwhile_and_follows_the_umask(tmp_path, monkeypatch):
    """Two runs exporting to one name: the check before the export passes for both, so the final step is a hard link
    that fails when the other run's file is there (as folder inpaint's outputs); the file gets the umask's mode."""
    import inpaintzoo.export.onnx as E

    model = quiet_load("core-shapes-tiny")
    out = tmp_path / "m.onnx"
    real_save = __import__("onnx").save_model

    def save_and_race(proto, path):  # another run's file lands while this one writes
        real_save(proto, path)
        out.write_bytes(b"the other run's file")

    monkeypatch.setattr("onnx.save_model", save_and_race)
    with pytest.raises(InputError, match="appeared while exporting"):
        E.export_onnx(model, out, pipeline=False, overwrite=False)
    assert out.read_bytes() == b"the other run's file"
    assert [p.name for p in tmp_path.iterdir()] == ["m.onnx"]  # no temporary left
    monkeypatch.setattr("onnx.save_model", real_save)
    out.unlink()
    E.export_onnx(model, out, pipeline=False, overwrite=False)
    from inpaintzoo.paths import umask

    assert out.stat().st_mode & 0o777 == 0o666 & ~umask()


def test_exported_group_and_instance_norms_stay_precise_on_large_maps():
    """ONNX Runtime's one-pass normalisation drifted 1e-4 on a large map with a non-zero mean; the two-stage form
    the exporter writes equals torch's norms and stays within 1e-5 of float64 in the runtime."""
    import onnxruntime as ort

    from inpaintzoo.export.norms import two_stage_norms
    from inpaintzoo.export.onnx import warnings_off

    g = torch.Generator().manual_seed(0)
    x = torch.randn(1, 16, 256, 256, generator=g) * 3 + 5
    norms = [torch.nn.GroupNorm(1, 16), torch.nn.GroupNorm(4, 16), torch.nn.InstanceNorm2d(16, affine=True),
             torch.nn.InstanceNorm2d(16)]
    for norm in norms:
        net = torch.nn.Sequential(norm).eval()
        with torch.no_grad():
            if norm.weight is not None:
                norm.weight.uniform_(0.5, 2, generator=g)
                norm.bias.normal_(generator=g)
            want64 = net.double()(x.double())
            want = net.float()(x)
            assert two_stage_norms(net) == 1
            assert torch.allclose(net(x), want, atol=2e-6)
        if norm is norms[0]:  # the case that drifted (InstanceNormalization in the runtime)
            with warnings_off():
                program = torch.onnx.export(net, (x,), dynamo=True, opset_version=18, verbose=False)
            session = ort.InferenceSession(program.model_proto.SerializeToString())
            got = session.run(None, {session.get_inputs()[0].name: x.numpy()})[0]
            assert np.abs(got - want64.numpy()).max() <= 1e-5
