"""How much memory a run will need, measured before its first step, so a batch that cannot fit is refused in one line
(with the batch that fits) instead of being killed by the kernel minutes later.

The estimate: the weights, gradients and Adam moments of what trains (generator, trainable loss parts, discriminator),
the frozen loss networks, and, per image, every tensor autograd keeps for the backward pass of the generator's step
(the largest of an iteration), counted by `saved_tensors_hooks` on one image at the contract's size. The pass runs in
eval mode under a forked RNG, so it changes no statistic, no spectral-norm vector and no random stream of the run.
"""
from __future__ import annotations

import os
from typing import Any

import torch
from torch import Tensor


#: the saved activations ×1.25: the backward's transient gradients and the allocator's slack. Measured on LaMa-Fourier
#: at 128², batch 2 (this CPU): estimate 1.6 GB, resident growth of two training steps 0.8 GB plus the 0.2 GB of
#: weights already held: the estimate errs on the side of refusing
SLACK = 1.25


def available_bytes(device: torch.device) -> int | None:
    """Memory a run may still take: free GPU memory, or the kernel's MemAvailable; None when unknown."""
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return int(free)
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def _param_bytes(modules: list[torch.nn.Module]) -> int:
    """Trainable parameters ×4 (weights, gradients, two Adam moments); frozen ones and buffers ×1."""
    total, seen = 0, set()
    for m in modules:
        for p in m.parameters():
            if id(p) not in seen:
                seen.add(id(p))
                total += p.numel() * p.element_size() * (4 if p.requires_grad else 1)
        for b in m.buffers():
            total += b.numel() * b.element_size()
    return total


def measure(tr: Any) -> tuple[int, int]:
    """(bytes that do not grow with the batch, bytes per image) for trainer `tr`."""
    from ..model import eval_mode

    model, parts = tr.model, tr.parts
    frozen_nets = [v for m in parts.losses.values() for v in vars(m).values() if isinstance(v, torch.nn.Module)]
    fixed = _param_bytes([model, parts, *frozen_nets])
    h, w = model.contract.image_size
    image = torch.rand(1, model.contract.channels, h, w, device=tr.device)
    mask = torch.zeros(1, 1, h, w, device=tr.device)
    mask[..., h // 4: 3 * h // 4, w // 4: 3 * w // 4] = 1
    labels = torch.zeros(1, model.prior.label_dim, device=tr.device) if model.prior.label_dim else None
    storages: dict[int, int] = {}

    def pack(t: Tensor) -> Tensor:
        try:
            s = t.untyped_storage()
            storages[s.data_ptr()] = s.nbytes()
        except (RuntimeError, NotImplementedError):  # tensors without storage (sparse, nested)
            pass
        return t

    with torch.random.fork_rng(devices=[tr.device] if tr.device.type == "cuda" else []), eval_mode(model), \
            eval_mode(parts), torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = model(image, mask, labels, discriminator=parts.discriminator)
        try:
            losses = parts.generator_losses(out.context)
        except Exception:  # a loss that needs the data pipeline's targets: the generator's pass is the estimate
            losses = {}
        del out, losses
    return fixed, sum(storages.values())


def check(tr: Any) -> str:
    """Refuse a batch that the device cannot hold, naming the batch that fits; else the estimate, as a line to show."""
    from .loop import TrainingError

    avail = available_bytes(tr.device)
    if avail is None or os.environ.get("INPAINTZOO_MEMORY_CHECK", "1") == "0":
        return ""
    fixed, per_image = measure(tr)
    batch = tr.t.batch_size // tr.world
    need = fixed + SLACK * batch * per_image
    gb = 1024**3
    if need <= 0.9 * avail:
        return f"memory: about {need / gb:.1f} GB for batch {batch} ({available_str(avail)})"
    fits = int((0.9 * avail - fixed) // (SLACK * per_image)) if per_image else 0
    h, w = tr.model.contract.image_size
    advice = (f"--batch-size {fits * tr.world} fits" if fits >= 1 else
              f"not even one {h}×{w} image fits: train at a smaller model.image_size, or with --amp")
    raise TrainingError(f"train.batch_size {tr.t.batch_size}: needs about {need / gb:.1f} GB at {h}×{w} on {tr.device} "
                        f"({available_str(avail)}); {advice} (INPAINTZOO_MEMORY_CHECK=0 skips this check)")


def available_str(avail: int) -> str:
    return f"{avail / 1024**3:.1f} GB available"
