"""Frozen ImageNet feature networks that losses and metrics share (VGG16, VGG19, AlexNet), from safetensors only.

Both come in torchvision's `features` layout, so layer indices match the papers' code (relu1_2 = 3, …).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import torch
from torch import nn

from .errors import InpaintzooError

Arch = Literal["vgg16", "vgg19", "alexnet"]


def _untrained(arch: Arch) -> nn.Sequential:
    if arch in ("vgg16", "vgg19"):
        import timm

        return timm.create_model(arch, pretrained=False).features
    import torchvision

    return torchvision.models.alexnet(weights=None).features


def load_features(arch: Arch, weights: str, key: str) -> nn.Sequential:
    """The `features` part of `arch`, frozen and in eval mode.

    weights: 'timm' (VGGs only: `vgg16.tv_in1k` / `vgg19.tv_in1k`, torchvision's weights as safetensors on the Hub), a path to a
    safetensors state dict with `features.*` keys (torchvision or timm layout), or 'random' (seeded, so a model
    that names it is reproducible; only on purpose). `key` names the setting in error messages.
    """
    if weights == "timm":
        if arch == "alexnet":
            raise InpaintzooError(f"{key} = 'timm': timm has no {arch}; give a safetensors file of its state dict")
        import timm

        from .network import require_hub

        require_hub(f"{key} = 'timm': {arch.upper()} weights", key)  # at once, not after twenty retry lines
        try:
            features = timm.create_model(f"{arch}.tv_in1k", pretrained=True).features
        except Exception as exc:
            raise InpaintzooError(
                f"{arch.upper()} weights could not be loaded through timm ({type(exc).__name__}); set {key} = "
                f"'/path/to/{arch}.safetensors', or {key} = 'random' to use an untrained VGG on purpose"
            ) from None
    elif weights == "random":
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            features = _untrained(arch)
    else:
        import safetensors.torch

        path = Path(weights).expanduser()
        if not path.is_file():
            raise InpaintzooError(f"{key} = '{weights}': no such file (expected a state dict of {arch} in safetensors)")
        features = _untrained(arch)
        try:
            stored = safetensors.torch.load_file(str(path))
        except Exception as exc:  # safetensors' errors are its own type: a pickle, a PNG, a truncated file
            raise InpaintzooError(f"{key} = '{weights}': not a safetensors file ({str(exc).splitlines()[0][:80]}); give "
                                  f"the {arch} state dict as .safetensors (pickle files are never read)") from None
        state = {k.removeprefix("features."): v for k, v in stored.items() if k.startswith("features.")}
        missing = [k for k in features.state_dict() if k not in state]
        if missing:
            raise InpaintzooError(f"{key} = '{weights}': not a state dict of {arch} (missing features.{missing[0]})")
        features.load_state_dict({k: state[k] for k in features.state_dict()})
    features.eval()
    for p in features.parameters():
        p.requires_grad_(False)
    return features


def precheck(spec: Any, training: bool = True) -> None:
    """The refusal `load_features` would give once the model is built (a backbone from a Hub that cannot be reached),
    said before anything is built. `training=False`: the loss sections are not built."""
    from .catalog import hub_backbones
    from .network import refuse_unreachable_backbones

    refuse_unreachable_backbones(hub_backbones(spec.to_dict(), training, complete=True))
