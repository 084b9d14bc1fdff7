"""Small specs and release-layout files shared by several test files."""
import copy
from pathlib import Path

import torch
from torch import nn

CAUSAL_TINY = {
    "model": {"name": "cv-tiny", "image_size": [16, 16], "channels": 3, "resize": "fixed"},
    "encoder": {"type": "causalvae.mlp_encoder", "in_channels": 3, "image_size": [16, 16], "hidden": [64, 32]},
    "prior": {"type": "causalvae.causal_layer", "in_features": 32, "dims_per_concept": 2},
    "decoder": {"type": "causalvae.mlp_decoder", "dims_per_concept": 2, "hidden": [32], "out_channels": 3, "image_size": [16, 16]},
    "losses": {"recon": {"type": "causalvae.bernoulli"}, "kl": {"type": "causalvae.kl"},
               "label": {"type": "causalvae.label"}, "dag": {"type": "causalvae.dag"}},
}


def tiny_causal_spec() -> dict:
    return copy.deepcopy(CAUSAL_TINY)


def write_torchscript(path: Path, state: dict[str, torch.Tensor]) -> Path:
    """A TorchScript trace holding `state` under the same attribute paths (how IOPaint's big-lama.pt, a trace of
    the release's training module, stores its 989 generator tensors)."""

    class Holder(nn.Module):
        def forward(self, x):
            return x

    root = Holder()
    for key, value in state.items():
        *path_, leaf = key.split(".")
        mod = root
        for part in path_:
            if not hasattr(mod, part):
                mod.add_module(part, Holder())
            mod = getattr(mod, part)
        if value.is_floating_point() and not leaf.startswith("running_"):
            mod.register_parameter(leaf, nn.Parameter(value.clone(), requires_grad=False))
        else:
            mod.register_buffer(leaf, value.clone())
    traced = torch.jit.trace(root, torch.zeros(1))
    traced.save(str(path))
    return path


def private_zoo(folder: Path, monkeypatch, name: str, spec: str, converter: str, file: str) -> Path:
    """A one-entry zoo index in `folder` (INPAINTZOO_INDEX) whose spec is `spec` (TOML text), converted by `converter`
    from a hand-downloaded `file`; INPAINTZOO_HOME inside `folder`."""
    (folder / "zoo").mkdir()
    (folder / "zoo" / f"{name}.toml").write_text(spec)
    reg = folder / "registry.toml"
    reg.write_text(f'[models.{name}]\nspec = "zoo/{name}.toml"\n[models.{name}.release]\nconverter = "{converter}"\n'
                   f'[[models.{name}.release.sources]]\nfile = "{file}"\nmanual = "https://example.org"\n')
    monkeypatch.setenv("INPAINTZOO_INDEX", str(reg))
    monkeypatch.setenv("INPAINTZOO_HOME", str(folder / "home"))
    return folder
