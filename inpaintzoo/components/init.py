"""The pix2pix family's weight initialisation (`init_weights`, type 'normal', gain 0.02): MEDFE and its CAEs use it.

Every module whose class name contains 'Conv' or 'Linear' gets weight ~ N(0, 0.02) and bias 0; BatchNorm
gets γ ~ N(1, 0.02) and β 0; InstanceNorm keeps PyTorch's (1, 0). A spectral-normalised conv is left at
PyTorch's default weights with bias 0: the release's initialiser wrote into the temporary `weight` that
`nn.utils.spectral_norm` recomputes from `weight_orig` at the next forward, so only its bias took effect.
"""
from __future__ import annotations

from torch import nn

GAIN = 0.02


def release_init(module: nn.Module) -> nn.Module:
    for m in module.modules():
        name = type(m).__name__
        if ("Conv" in name or "Linear" in name) and getattr(m, "weight", None) is not None:
            parametrized = hasattr(m, "parametrizations") and "weight" in m.parametrizations
            if not parametrized:
                nn.init.normal_(m.weight, 0.0, GAIN)
            if getattr(m, "bias", None) is not None:
                nn.init.zeros_(m.bias)
        elif "BatchNorm2d" in name and m.affine:
            nn.init.normal_(m.weight, 1.0, GAIN)
            nn.init.zeros_(m.bias)
    return module
