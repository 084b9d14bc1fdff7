"""Conformance checks every registered component must pass (timm style), for our tests and plugins'.

`inpaintzoo check PLUGIN` runs them on one plugin's components; tests/test_conformance.py
parametrises them over the whole registry.
"""
from __future__ import annotations

import dataclasses
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import safetensors.torch
import torch
from torch import Tensor, nn

from .interfaces import Component, ImageDataset, LatentOutput, LossContext, MaskGenerator, Metric
from .registry import Entry

MODULE_KINDS = {"block", "encoder", "prior", "decoder", "loss", "discriminator"}


def dummy_loss_context(batch_size: int = 2, channels: int = 3, size: int = 8) -> LossContext:
    g = torch.Generator().manual_seed(0)
    target = torch.rand(batch_size, channels, size, size, generator=g) * 2 - 1
    pred = (torch.rand(batch_size, channels, size, size, generator=g) * 2 - 1).requires_grad_()
    mask = torch.zeros(batch_size, 1, size, size)
    mask[..., size // 4 : 3 * size // 4, size // 4 : 3 * size // 4] = 1
    kl = {"g0": (torch.rand(batch_size, generator=g) + 0.1).requires_grad_()}
    latent = LatentOutput(h=pred, skips=None, kl=kl)
    return LossContext(target, mask, pred, pred, torch.where(mask.bool(), pred, target), latent, [pred], None, None, 0.5, 10)


def tensors(obj: Any) -> Iterator[Tensor]:
    """Every tensor inside an output (tensors, sequences, dicts, dataclasses)."""
    if isinstance(obj, Tensor):
        yield obj
    elif isinstance(obj, (list, tuple)):
        for o in obj:
            yield from tensors(o)
    elif isinstance(obj, dict):
        for o in obj.values():
            yield from tensors(o)
    elif dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        for f in dataclasses.fields(obj):
            if f.name not in ("model",):
                yield from tensors(getattr(obj, f.name))


def _call(comp: nn.Module, inputs: tuple) -> Any:
    return comp(*inputs)


def _build(entry: Entry, workdir: Path) -> Any:
    """From defaults, or from the factory's `example_config(workdir)` where defaults need outside resources."""
    if hasattr(entry.factory, "example_config"):
        return entry.factory(entry.factory.example_config(workdir))
    return entry.build()


def check_module(entry: Entry) -> None:
    with tempfile.TemporaryDirectory() as d:
        _check_module(entry, Path(d))


def _check_module(entry: Entry, workdir: Path) -> None:
    torch.manual_seed(0)
    comp = _build(entry, workdir)
    assert isinstance(comp, Component), f"{entry.name}: factory must return an inpaintzoo Component"
    inputs = comp.example_inputs(2)
    comp.train()
    out = _call(comp, inputs)
    outs = [t for t in tensors(out) if t.is_floating_point()]
    assert outs, f"{entry.name}: forward returned no tensors"
    for t in outs:
        assert torch.isfinite(t).all(), f"{entry.name}: forward gave non-finite values"
    total = sum(t.float().mean() for t in outs if t.requires_grad)
    trainable = [p for p in comp.parameters() if p.requires_grad]
    if trainable:
        assert isinstance(total, Tensor), f"{entry.name}: no output depends on its trainable parameters"
        total.backward()
        got = [p for p in trainable if p.grad is not None]
        assert got, f"{entry.name}: backward reached none of its parameters"
    comp.eval()
    torch.manual_seed(123)
    ref = [t.detach().clone() for t in tensors(_call(comp, inputs))]
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "w.safetensors"
        safetensors.torch.save_model(comp, str(path))
        torch.manual_seed(1)
        fresh = _build(entry, workdir)
        missing, unexpected = safetensors.torch.load_model(fresh, str(path), strict=False)
        assert not missing and not unexpected, f"{entry.name}: save→load keys differ: {missing} {unexpected}"
    fresh.eval()
    torch.manual_seed(123)
    again = [t.detach() for t in tensors(_call(fresh, inputs))]
    assert len(ref) == len(again), f"{entry.name}: output structure changed after save→load"
    for a, b in zip(ref, again):
        assert torch.equal(a, b), f"{entry.name}: outputs differ after save→load"


def check_masks(entry: Entry) -> None:
    gen = entry.build()
    assert isinstance(gen, MaskGenerator)
    a = gen(3, 40, 56, torch.Generator().manual_seed(5))
    b = gen(3, 40, 56, torch.Generator().manual_seed(5))
    assert a.shape == (3, 1, 40, 56), f"{entry.name}: expected 3×1×40×56, got {tuple(a.shape)}"
    assert torch.equal(a, b), f"{entry.name}: not deterministic for a fixed generator seed"
    assert bool(((a == 0) | (a == 1)).all()), f"{entry.name}: masks must be binary"
    if gen.draws_holes:
        assert float(a.sum()) > 0, f"{entry.name}: drew no hole at all"


def check_dataset(entry: Entry, workdir: Path | None = None) -> None:
    factory = entry.factory
    with tempfile.TemporaryDirectory() as d:
        cfg = factory.example_config(Path(workdir or d)) if hasattr(factory, "example_config") else entry.config()
        ds = factory(cfg)
        assert isinstance(ds, ImageDataset)
        assert len(ds) > 0, f"{entry.name}: empty"
        item = ds[0]
        img = item["image"]
        assert img.ndim == 3 and img.is_floating_point(), f"{entry.name}: image must be a C×H×W float tensor"
        assert float(img.min()) >= 0 and float(img.max()) <= 1, f"{entry.name}: image values must lie in [0, 1]"
        assert torch.equal(img, ds[0]["image"]), f"{entry.name}: item 0 differs between reads"
        if "labels" in item:
            assert item["labels"].shape == (len(ds.label_names),), f"{entry.name}: labels do not match label_names"


def check_metric(entry: Entry) -> None:
    """Per-image values of shape [N], finite, deterministic, a named source, and a near output told from a random one."""
    with tempfile.TemporaryDirectory() as d:
        factory = entry.factory
        build = lambda: factory(factory.example_config(Path(d)) if hasattr(factory, "example_config") else entry.config())  # noqa: E731
        g = torch.Generator().manual_seed(0)
        target = torch.rand(4, 3, 32, 32, generator=g)
        near = (target + 0.05 * torch.randn(4, 3, 32, 32, generator=g)).clamp(0, 1)
        far = torch.rand(4, 3, 32, 32, generator=g)
        mask = torch.zeros(4, 1, 32, 32)
        mask[..., 8:24, 8:24] = 1
        results = []
        for pred in (near, near, far):
            metric = build()
            assert isinstance(metric, Metric), f"{entry.name}: factory must return an inpaintzoo Metric"
            per = metric.update(pred, target, mask)
            for k, v in per.items():
                assert v.shape == (4,), f"{entry.name}: '{k}' must have one value per image, got {tuple(v.shape)}"
                assert torch.isfinite(v).all(), f"{entry.name}: '{k}' is not finite"
            whole = metric.compute()
            assert per or whole, f"{entry.name}: returned no values"
            assert isinstance(metric.source, str) and metric.source, f"{entry.name}: no source"
            results.append({**{k: float(v.mean()) for k, v in per.items()}, **{k: v for k, v in whole.items() if isinstance(v, float)}})
        assert results[0] == results[1], f"{entry.name}: not deterministic"
        for k in results[0]:
            assert results[0][k] != results[2][k], f"{entry.name}: '{k}' does not tell a near output from a random one"


def check_converter(entry: Entry) -> None:
    """Its spec validates and builds; its mapping is a function of release keys (exercised by the tests)."""
    from . import plugins
    from .build import build_model
    from .interfaces import Converter
    from .spec import validate

    conv = entry.build()
    assert isinstance(conv, Converter), f"{entry.name}: factory must return an inpaintzoo Converter"
    spec = validate(conv.spec(), plugins.registry(), f"{entry.name} spec")
    model = build_model(spec, plugins.registry(), check=False)
    assert sum(p.numel() for p in model.parameters()) > 0, f"{entry.name}: its spec builds an empty model"


def check_entry(entry: Entry) -> None:
    if entry.kind == "converter":
        check_converter(entry)
    elif entry.kind in MODULE_KINDS:
        check_module(entry)
    elif entry.kind == "masks":
        check_masks(entry)
    elif entry.kind == "dataset":
        check_dataset(entry)
    elif entry.kind == "metric":
        check_metric(entry)
    else:  # pragma: no cover - every kind is covered above
        raise AssertionError(f"{entry.name}: no conformance check for kind '{entry.kind}'")


def check_plugin(name: str) -> list[tuple[str, str | None]]:
    """Run every check on one plugin's components: [(component, error or None)]."""
    from . import plugins

    host = plugins.host()
    if name not in host.plugins:
        from .errors import PluginError, did_you_mean

        raise PluginError(f"no plugin named '{name}'{did_you_mean(name, host.plugins)}; see `inpaintzoo plugins`")
    from .progressbar import steps

    results = []
    components = host.plugins[name].components
    with steps(len(components), f"checking {name}", "components") as advance:
        for comp in components:
            try:
                check_entry(host.registry.get(comp))
                results.append((comp, None))
            except Exception as exc:  # report every failing component, not only the first
                results.append((comp, f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"))
            advance()
    return results
