"""inpaintzoo: compose inpainting models from registered components, train, evaluate, share, load."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from .model import InpaintModel


def load(source: Any, device: Any = "cpu", token: Any = None) -> "InpaintModel":
    """Load a model from a folder, `local-dir:PATH`, `hf-hub:ORG/NAME[@REV]` or a zoo name."""
    from .loader import load as _load

    return _load(source, device=device, token=token)


def create_model(spec_or_name: Any, check: bool = True) -> "InpaintModel":
    """Build a freshly initialised model from a spec path, a zoo name or a spec dict."""
    from . import plugins
    from .build import build_model
    from .spec import validate
    from .zoo import resolve_spec

    if isinstance(spec_or_name, dict):
        raw, source = spec_or_name, "<dict>"
    else:
        raw, source = resolve_spec(str(spec_or_name))
    return build_model(validate(raw, plugins.registry(), source), plugins.registry(), check=check)


def list_models(pattern: str = "*") -> list[str]:
    """Zoo names matching a shell wildcard."""
    from .zoo import list_zoo

    return [e.name for e in list_zoo(pattern)]


__all__ = ["load", "create_model", "list_models", "__version__"]
