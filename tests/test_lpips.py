"""LPIPS: our safetensors implementation against the `lpips` package (the reference), same backbone weights."""
import lpips as reference
import pytest
import safetensors.torch
import torch

from inpaintzoo.errors import InpaintzooError
from inpaintzoo.lpips import LPIPS, lin_weights_path


def _backbone_file(ref, path):
    """The reference's (random) trunk as a torchvision-layout safetensors state dict: slice1.0.weight → features.0.weight."""
    state = {}
    for name, t in ref.net.state_dict().items():
        _, idx, kind = name.split(".")
        state[f"features.{idx}.{kind}"] = t.contiguous()
    safetensors.torch.save_file(state, str(path))
    return path


@pytest.mark.parametrize("net", ["vgg", "alex"])
def test_matches_the_reference_implementation(net, tmp_path):
    torch.manual_seed(0)
    ref = reference.LPIPS(net=net, pnet_rand=True, verbose=False)  # real v0.1 heads, random trunk (no download)
    ours = LPIPS(net, str(_backbone_file(ref, tmp_path / "trunk.safetensors")))
    g = torch.Generator().manual_seed(1)
    x = torch.rand(3, 3, 48, 64, generator=g)
    y = (x + 0.2 * torch.randn(3, 3, 48, 64, generator=g)).clamp(0, 1)
    want = ref(x, y, normalize=True).flatten().detach()
    got = ours(x, y)
    assert torch.allclose(got, want, rtol=1e-5, atol=1e-7)
    assert torch.equal(ours(x, x), torch.zeros(3))
    assert "LPIPS v0.1 " + net in ours.source and "sha256" in ours.source


@pytest.mark.parametrize("net", ["vgg", "alex"])
def test_shipped_heads_equal_the_reference_weights(net):
    ref = reference.LPIPS(net=net, pnet_rand=True, verbose=False)
    ours = safetensors.torch.load_file(str(lin_weights_path(net)))
    for i in range(5):
        assert torch.equal(ours[f"lin{i}"], ref.state_dict()[f"lin{i}.model.1.weight"])


def test_backbone_errors_name_the_setting(tmp_path):
    with pytest.raises(InpaintzooError, match="backbone = '.*missing.safetensors': no such file"):
        LPIPS("vgg", str(tmp_path / "missing.safetensors"))
    safetensors.torch.save_file({"features.0.weight": torch.zeros(1)}, str(tmp_path / "bad.safetensors"))
    with pytest.raises(InpaintzooError, match="not a state dict of alexnet"):
        LPIPS("alex", str(tmp_path / "bad.safetensors"))
    with pytest.raises(InpaintzooError, match="timm has no alexnet"):
        LPIPS("alex", "timm")
