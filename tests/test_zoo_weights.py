"""The weights shipped inside the package: they load offline by name and still reach the metrics registry.toml
records for them, by the very command recorded there (benchmarks/train_zoo.py trains and measures them)."""
import shlex

import pytest
import torch

from inpaintzoo import create_model, list_models, load
from inpaintzoo.commands.evaluate import all_metrics, evaluate_source
from inpaintzoo.zoo import index

SHIPPED = sorted(name for name, e in index().items() if e.shipped)


def test_the_cpu_models_ship_with_weights():
    assert {"core-shapes-tiny", "nvae-pendulum", "causal-nvae-pendulum"} <= set(SHIPPED)
    assert set(SHIPPED) <= set(list_models(pretrained=True))
    total = sum((index()[n].shipped_dir / "model.safetensors").stat().st_size for n in SHIPPED)
    assert total < 40e6  # a few MB each


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_weights_reach_their_recorded_metrics(name, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    recorded = index()[name].metrics
    cmd = shlex.split(recorded["command"])
    assert cmd[:3] == ["inpaintzoo", "eval", name]
    measured = all_metrics(evaluate_source(name, *cmd[3:]))
    checked = [k for k, v in recorded.items() if isinstance(v, float) and k in measured]
    assert "psnr_hole" in checked
    for k in checked:
        assert measured[k] == pytest.approx(recorded[k], abs=0.02 if "psnr" in k else 2e-3), k


@pytest.mark.parametrize("name", SHIPPED)
def test_pretrained_create_model_is_the_shipped_model(name):
    a, b = load(name), create_model(name, pretrained=True)
    for (ka, va), (kb, vb) in zip(a.state_dict().items(), b.state_dict().items()):
        assert ka == kb and torch.equal(va, vb)
    assert not a.training
