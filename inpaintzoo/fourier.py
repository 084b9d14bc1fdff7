"""The orthonormal real 2-D FFT and its inverse, as Fourier layers (LaMa's FFC) use them, with an exported form.

In PyTorch these are `torch.fft.rfftn`/`irfftn`. In an exported graph they are, by default, the same sums written
as products with DFT matrices built from the graph's symbolic size (cos/sin of 2π·(k·n mod N)/N, the product taken
modulo N in integers so the angle stays in [0, 2π) and exact to float32 rounding): ONNX Runtime's `DFT` operator
is slow on CPU (1.4 s of lama-big's 4.3 s at 512², against PyTorch's 75 ms), while the maps a Fourier unit sees are
small (64² for a 512² image), so the products cost little. `exporting_dft("operator")` keeps the ONNX `DFT`
operator instead (benchmarks/export_onnx.py compares the two).
"""
from __future__ import annotations

import contextlib
import math
from typing import Iterator

import torch
from torch import Tensor

DFT_MODES = ("matmul", "operator")
_mode = "matmul"


@contextlib.contextmanager
def exporting_dft(mode: str) -> Iterator[None]:
    """While exporting: write Fourier transforms as DFT-matrix products ("matmul") or ONNX's DFT ("operator")."""
    global _mode
    if mode not in DFT_MODES:
        raise ValueError(f"dft mode {mode!r}: expected one of {DFT_MODES}")
    before, _mode = _mode, mode
    try:
        yield
    finally:
        _mode = before


def _as_matrices() -> bool:
    return _mode == "matmul" and torch.compiler.is_exporting()


def _cos_sin(rows: int, n: int, device: torch.device) -> tuple[Tensor, Tensor]:
    """rows×n matrices cos(2π·k·j/n), sin(2π·k·j/n) for k < rows, j < n (n may be symbolic)."""
    k = torch.arange(rows, device=device)[:, None]
    j = torch.arange(n, device=device)[None, :]
    turns = (k * j) % torch.full((), n, dtype=k.dtype, device=device)  # a tensor divisor: exportable remainder
    angle = turns.float() * (2 * math.pi) / n
    return torch.cos(angle), torch.sin(angle)


def rfft2(x: Tensor) -> tuple[Tensor, Tensor]:
    """Real and imaginary parts of `torch.fft.rfftn(x, dim=(-2, -1), norm="ortho")`: N×C×H×(W//2+1) each."""
    h, w = x.shape[-2], x.shape[-1]
    if not _as_matrices():
        f = torch.fft.rfftn(x, dim=(-2, -1), norm="ortho")
        return f.real, f.imag
    cw, sw = _cos_sin(w // 2 + 1, w, x.device)
    a, b = x @ cw.t(), -(x @ sw.t())  # along the width: Σ_j x_j e^{−2πi k j / W}
    ch, sh = _cos_sin(h, h, x.device)  # along the height, of the complex a + ib
    re, im = ch @ a + sh @ b, ch @ b - sh @ a
    scale = 1.0 / torch.sqrt(torch.full((), h * w, dtype=x.dtype, device=x.device))
    return re * scale, im * scale


def irfft2(re: Tensor, im: Tensor, size: tuple[int, int]) -> Tensor:
    """`torch.fft.irfftn(torch.complex(re, im), s=size, dim=(-2, -1), norm="ortho")`. As the FFT's c2r, the
    imaginary parts of the zero and Nyquist columns are ignored."""
    h, w = size
    if not _as_matrices():
        return torch.fft.irfftn(torch.complex(re, im), s=(h, w), dim=(-2, -1), norm="ortho")
    ch, sh = _cos_sin(h, h, re.device)  # inverse along the height: Σ_p X_p e^{+2πi p m / H}
    a, b = ch @ re - sh @ im, ch @ im + sh @ re
    k = torch.arange(w // 2 + 1, device=re.device)
    # the columns the half spectrum stands for twice (all but zero and, for an even width, Nyquist)
    twice = (k > 0) & (2 * k != torch.full((), w, dtype=k.dtype, device=re.device))
    weight = torch.where(twice, 2.0, 1.0)
    cw, sw = _cos_sin(w // 2 + 1, w, re.device)
    sw = torch.where(twice[:, None], sw, torch.zeros_like(sw))  # c2r ignores those columns' imaginary parts
    out = (a * weight) @ cw - (b * weight) @ sw
    return out / torch.sqrt(torch.full((), h * w, dtype=re.dtype, device=re.device))
