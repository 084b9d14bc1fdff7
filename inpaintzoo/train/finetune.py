"""Starting a run from a published model (`--init`): its generator's weights, and, where the model folder keeps one
(a converted release that published it), its discriminator."""
from __future__ import annotations

from typing import Any

from torch import nn

from ..artifact import read_discriminator, weight_mismatch
from ..errors import InpaintzooError


class InitError(InpaintzooError):
    pass


def init_generator(model: nn.Module, source: str) -> None:
    from ..loader import load

    init = load(source)
    problem = weight_mismatch(model, init.state_dict())
    if problem:
        raise InitError(f"--init {source}: its weights do not fit this spec's generator: {problem}")
    model.load_state_dict(init.state_dict())


def init_discriminator(disc: nn.Module | None, ref: Any, how: str, source: str) -> str:
    """Load the --init folder's discriminator.safetensors into `disc` as `train.discriminator_init` says (auto,
    required, fresh); returns the line that tells the user where the discriminator came from."""
    from ..loader import resolve_folder

    if disc is None:
        return ""
    if how == "fresh":
        return "discriminator: fresh (train.discriminator_init = 'fresh')"
    folder = resolve_folder(source)
    stored = read_discriminator(folder, ref)
    if stored is None:
        if how == "required":
            raise InitError(f"--init {source}: {folder} holds no discriminator.safetensors for '{ref.type}' (a "
                            f"generator-only release); convert the release file that holds the discriminator, or set "
                            f"train.discriminator_init = 'fresh'")
        return f"discriminator: fresh ({source} holds only the generator)"
    problem = weight_mismatch(disc, stored)
    if problem:
        raise InitError(f"--init {source}: its discriminator does not fit [discriminator] '{ref.type}': {problem}")
    disc.load_state_dict(stored)
    return f"discriminator: from {folder / 'discriminator.safetensors'}"
