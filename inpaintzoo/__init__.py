"""inpaintzoo: compose inpainting models from registered components, train, evaluate, share, load."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.3.0"

if TYPE_CHECKING:
    from .model import InpaintModel


class UntrainedWarning(UserWarning):
    """create_model() returned randomly initialised weights."""


class SmokeTestWarning(UserWarning):
    """load() returned weights that show the pipeline runs but inpaint worse than a classical method."""


def load(source: Any, device: Any = "cpu", token: Any = None, local_files_only: bool = False,
         dtype: Any = None) -> "InpaintModel":
    """Load a model from a folder, `local-dir:PATH`, `hf-hub:ORG/NAME[@REV]` or a zoo name (eval mode).

    A zoo model from a release is downloaded, checked, converted and cached on first use; `local_files_only=True`
    never downloads (as huggingface_hub's flag). `device`: "cpu", "cuda", "mps" or "auto" (the best present);
    `dtype` (torch.float16, torch.bfloat16 or their names) casts the weights, as diffusers' `torch_dtype`:
    `inpaint()` hands images to the network in that dtype and results back in the caller's.
    """
    from .loader import load as _load

    model = _load(source, device=device, token=token, local_files_only=local_files_only)
    if dtype is not None:
        import torch

        named = {"float16": torch.float16, "fp16": torch.float16, "half": torch.float16, "bfloat16": torch.bfloat16,
                 "bf16": torch.bfloat16, "float32": torch.float32}
        value = named.get(dtype, dtype) if isinstance(dtype, str) else dtype
        if value not in (torch.float16, torch.bfloat16, torch.float32):
            from .errors import InputError

            raise InputError(f"load(dtype={dtype!r}): expected float16, bfloat16 or float32")
        model = model.to(value)
    return model


def create_model(spec_or_name: Any, pretrained: bool = False, check: bool = True, **overrides: Any) -> "InpaintModel":
    """Build a model from a zoo name, a spec path or a spec dict, timm-style.

    `pretrained=True` loads the zoo entry's weights (shipped, converted or from the Hub) and fails with one
    line saying how to get them when there are none. `overrides` are dotted spec keys, e.g.
    `create_model("nvae-pendulum", **{"decoder.num_mixtures": 5})`; with weights they must keep the weights'
    shapes. Without `pretrained` the weights are random: a `UntrainedWarning` says so.
    """
    import warnings

    from . import plugins
    from .build import build_model
    from .errors import LoadError
    from .overrides import resolve
    from .spec import validate
    from .zoo import resolve_spec

    if pretrained:
        if not isinstance(spec_or_name, str):
            raise LoadError("create_model(pretrained=True) takes a zoo name; load(PATH) reads a model folder")
        model = load(spec_or_name)
        if not overrides:
            return model
        raw, source = model.config["spec"], f"{spec_or_name} with overrides"
        spec = validate(resolve(raw, overrides), plugins.registry(), source)
        changed = build_model(spec, plugins.registry(), check=check)
        from .artifact import weight_mismatch

        problem = weight_mismatch(changed, model.state_dict())
        if problem:
            raise LoadError(f"create_model({spec_or_name!r}, pretrained=True): the overrides change the architecture "
                            f"so the weights no longer fit: {problem}")
        changed.load_state_dict(model.state_dict())
        changed.config = model.config
        return changed.eval()
    if isinstance(spec_or_name, dict):
        raw, source = spec_or_name, "<dict>"
    else:
        raw, source = resolve_spec(str(spec_or_name))
    spec = validate(resolve(raw, overrides), plugins.registry(), source)
    model = build_model(spec, plugins.registry(), check=check)
    warnings.warn(f"create_model({source!r}): randomly initialised weights (pass pretrained=True for trained ones, "
                  f"or train it)", UntrainedWarning, stacklevel=2)
    return model


def list_models(pattern: str = "*", pretrained: bool = False) -> list[str]:
    """Zoo names matching a shell wildcard; `pretrained=True` keeps those with weights available now."""
    from .zoo import list_zoo

    return [e.name for e in list_zoo(pattern, pretrained=pretrained)]


__all__ = ["load", "create_model", "list_models", "UntrainedWarning", "SmokeTestWarning", "__version__"]
