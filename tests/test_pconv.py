"""PConv's partial convolution against its definition, and the encoder's frozen batch norms."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from inpaintzoo_pconv.network import EncoderConfig, PConvEncoder
from inpaintzoo_pconv.partial_conv import EPS, PartialConv2d


def reference(layer: PartialConv2d, x: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The paper's (and mmagic's) partial convolution with a full-width mask and an all-ones mask kernel."""
    ones = torch.ones(layer.out_channels, layer.in_channels, *layer.kernel_size)
    count = F.conv2d(mask, ones, stride=layer.stride, padding=layer.padding)
    valid = count.clamp(0, 1)
    ratio = layer.in_channels * layer.kernel_size[0] * layer.kernel_size[1] / (count + EPS) * valid
    raw = F.conv2d(x * mask, layer.weight, None, layer.stride, layer.padding)
    b = layer.bias.view(1, -1, 1, 1)
    return (raw * ratio + b) * valid, valid


def test_a_partial_convolution_over_two_masked_parts_is_the_definition():
    g = torch.Generator().manual_seed(0)
    layer = PartialConv2d(5, 4, 3, stride=1, padding=1)
    a, b = torch.randn(1, 3, 12, 10, generator=g), torch.randn(1, 2, 12, 10, generator=g)
    ma = (torch.rand(1, 1, 12, 10, generator=g) > 0.5).float()
    ma[..., 6:11, 0:5] = 0  # with mb, a block no window centred inside sees a valid pixel of
    mb = torch.zeros(1, 1, 12, 10)
    mb[..., 2:5, 3:7] = 1
    with torch.no_grad():
        out, valid = layer([(a, ma), (b, mb)])
        want, want_valid = reference(layer, torch.cat([a, b], 1), torch.cat([ma.expand(-1, 3, -1, -1),
                                                                              mb.expand(-1, 2, -1, -1)], 1))
    assert torch.allclose(out, want, atol=1e-5) and torch.equal(valid, want_valid[:, :1])
    # a window with no valid pixel gives 0 (not the bias) and stays a hole; a fully valid one is a plain conv
    assert float(out[..., valid[0, 0] == 0].abs().max()) == 0.0 and bool((valid == 0).any())
    ones = torch.ones(1, 1, 12, 10)
    with torch.no_grad():
        full, _ = layer([(a, ones), (b, ones)])
        plain = F.conv2d(torch.cat([a, b], 1), layer.weight, layer.bias, 1, 1)
    inner = (slice(None), slice(None), slice(1, -1), slice(1, -1))  # away from the zero-padded border
    assert torch.allclose(full[inner], plain[inner], atol=1e-5)


def test_the_encoders_batch_norms_stay_frozen_in_training_unless_asked():
    for frozen in (True, False):
        enc = PConvEncoder(EncoderConfig(width=0.0625, layers=4, norm_eval=frozen)).train()
        before = enc.enc2.bn.running_mean.clone()
        enc(*enc.example_inputs())
        assert torch.equal(enc.enc2.bn.running_mean, before) == frozen
        assert enc.enc2.bn.training == (not frozen) and enc.training


def test_an_exported_pconv_runs_in_onnx_runtime_as_in_pytorch(tmp_path):
    """Windows with no valid pixel: ONNX Runtime once turned mmagic's 9e11 × 0 ratio into NaN; the file must match."""
    import numpy as np
    import pytest

    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    from inpaintzoo import create_model
    from inpaintzoo.export.onnx import export_onnx
    from inpaintzoo.model import eval_mode

    spec = {"model": {"name": "pconv-tiny", "image_size": [32, 32], "mean": [0.5], "std": [0.5], "hole_fill": 0.5,
                      "size_multiple": 16, "resize": "pad", "normalize_in": "levels"},
            "encoder": {"type": "pconv.encoder", "layers": 4, "width": 0.0625},
            "prior": {"type": "core.identity"}, "decoder": {"type": "pconv.decoder"},
            "losses": {"l1": {"type": "core.l1"}}}
    torch.manual_seed(0)
    model = create_model(spec, pretrained=False).eval()
    export_onnx(model, tmp_path / "p.onnx", pipeline=False)
    session = ort.InferenceSession(str(tmp_path / "p.onnx"))
    x = torch.rand(1, 3, 48, 32)
    m = torch.zeros(1, 1, 48, 32)
    m[..., 8:40, 4:28] = 1  # a hole wider than the deepest windows
    from inpaintzoo.export.graphs import NetworkGraph

    with torch.no_grad(), eval_mode(model):
        want = NetworkGraph(model)(x, m).numpy()
    got = session.run(None, {"image": x.numpy(), "mask": m.numpy()})[0]
    assert np.isfinite(got).all() and np.abs(got - want).max() <= 1e-5
