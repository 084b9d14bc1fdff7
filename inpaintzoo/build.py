"""Instantiating a validated spec, and checking that its components fit together.

`build_model` builds the generator (encoder, prior, decoder): what inference needs. `build_training_parts`
builds the spec's losses and discriminator for a model that is about to be trained.
"""
from __future__ import annotations

from typing import Any

import torch
from torch import nn

from .errors import InpaintzooError
from .model import InpaintModel, TrainingParts
from .registry import Registry
from .spec import ComponentRef, ModelSpec


class BuildError(InpaintzooError):
    pass


def _make(ref: ComponentRef, registry: Registry, where: str, probe: bool = True) -> Any:
    entry = registry.get(ref.type, ref.kind)
    if probe:  # not for losses: some load a backbone's weights while built, which a probe would do twice
        _check_size(ref, entry, where)
    try:
        return entry.factory(ref.config)
    except InpaintzooError as exc:
        raise type(exc)(f"{where} ('{ref.type}'): {exc}") from None
    except Exception as exc:
        raise BuildError(f"{where} ('{ref.type}'): could not be built: {_short(exc)}") from exc


def build_model(spec: ModelSpec, registry: Registry, check: bool = True) -> InpaintModel:
    """Build the generator of `spec` and (by default) run one forward pass on a dummy batch.

    Config fields left unset (None) that a component can infer from the previous stage's output (e.g. the
    causal layer's `in_features`) are inferred from a dry run and written into `spec`, so config.json holds
    concrete values.
    """
    enc = _make(spec.encoder, registry, "encoder")
    spec.prior = _inferred(spec.prior, registry, "prior", lambda: _dry_features(spec, enc))
    prior = _make(spec.prior, registry, "prior")
    spec.decoder = _inferred(spec.decoder, registry, "decoder", lambda: _dry_latent(spec, enc, prior))
    dec = _make(spec.decoder, registry, "decoder")
    model = InpaintModel(spec, enc, prior, dec)
    if check:
        check_model(model)
    return model


def _check_size(ref: ComponentRef, entry: Any, where: str) -> None:
    """Refuse a component whose parameters would not fit in half this machine's memory, counted on the meta device
    (nothing allocated) before it is built: a spec asking for 20,000-channel convolutions would otherwise allocate and
    initialise 14 GB before anything could say so. A component that computes while it is built (reads a file) cannot
    be built on the meta device; it is built for real, as before."""
    try:
        with torch.device("meta"):
            probe = entry.factory(ref.config)
        size = sum(t.numel() * t.element_size() for t in (*probe.parameters(), *probe.buffers()))
    except Exception:
        return
    import os

    try:
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return
    if size > memory // 2:
        raise BuildError(f"{where} ('{ref.type}'): its parameters would take {size / 1e9:,.1f} GB, more than half of "
                         f"this machine's {memory / 1e9:.0f} GB; check the sizes in [{where}] (channels, widths)")


def _inferred(ref: ComponentRef, registry: Registry, where: str, upstream) -> ComponentRef:
    """`ref` with its unset (None) fields filled by the component's `infer_config` from the upstream output."""
    entry = registry.get(ref.type, ref.kind)
    unset = [k for k, v in ref.config if v is None]
    if not unset or not hasattr(entry.factory, "infer_config"):
        return ref
    updates = entry.factory.infer_config(ref.config, upstream())
    if not updates:
        return ref
    try:
        cfg = type(ref.config)(**{**ref.config.model_dump(), **updates})
    except Exception as exc:
        raise BuildError(f"{where} ('{ref.type}'): inferred {updates} do not validate: {_short(exc)}") from None
    return ComponentRef(ref.type, ref.kind, cfg, ref.weight)


def _dry_inputs(spec: ModelSpec) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    from . import contract as C

    ct = spec.contract
    h, w = ct.image_size
    image = torch.rand(1, ct.channels, h, w, generator=torch.Generator().manual_seed(0))
    mask = torch.zeros(1, 1, h, w)
    return C.normalize(C.fill_holes(image, mask, ct), ct), mask, None


def _dry_features(spec: ModelSpec, enc: nn.Module) -> list[torch.Tensor]:
    from .model import eval_mode

    x, mask, _ = _dry_inputs(spec)
    with torch.no_grad(), eval_mode(enc):
        return _stage(lambda: enc(x, mask), f"encoder '{spec.encoder.type}'", "the contract's image")


def _dry_latent(spec: ModelSpec, enc: nn.Module, prior: nn.Module):
    from .model import eval_mode

    feats = _dry_features(spec, enc)
    x, mask, _ = _dry_inputs(spec)
    labels = torch.zeros(1, prior.label_dim) if getattr(prior, "label_dim", 0) else None
    with torch.no_grad(), eval_mode(prior):
        return _stage(lambda: prior(feats, labels, mask), f"prior '{spec.prior.type}'", f"encoder '{spec.encoder.type}'")


def build_training_parts(model: InpaintModel, registry: Registry | None = None, check: bool = True) -> TrainingParts:
    """The spec's losses and discriminator; with `check`, one pass of each on the model's dummy output."""
    from . import plugins

    registry = registry or plugins.registry()
    spec = model.spec
    if not spec.losses:
        raise BuildError(f"{spec.source}: no [losses.NAME] table; training needs at least one loss")
    disc = _make(spec.discriminator, registry, "discriminator") if spec.discriminator else None
    losses = {k: _make(v, registry, f"losses.{k}", probe=False) for k, v in spec.losses.items()}
    parts = TrainingParts(losses, {k: spec.losses[k].weight for k in losses}, disc)
    adversarial = parts.adversarial
    if adversarial and disc is None:
        raise BuildError(f"losses.{adversarial[0]} is adversarial but the spec has no [discriminator]")
    device = next(model.parameters()).device
    parts.to(device)
    if check:
        check_parts(model, parts)
    return parts


def data_targets(parts: TrainingParts, contract: Any) -> list:
    """The per-image targets the losses ask the data pipeline for (`Loss.data_target`)."""
    return [t for t in (loss.data_target(contract) for loss in parts.losses.values()) if t is not None]


def dummy_labels(model: InpaintModel, n: int) -> torch.Tensor | None:
    d = model.prior.label_dim
    return torch.zeros(n, d) if d else None


def check_model(model: InpaintModel, batch_size: int = 2) -> None:
    """One forward pass at the contract's size; a mismatch names the two components at fault."""
    spec = model.spec
    image, mask = model.dummy_batch(batch_size)
    device = next(model.parameters()).device
    image, mask = image.to(device), mask.to(device)
    labels = dummy_labels(model, batch_size)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            x = model.network_input(image, mask)
            feats = _stage(lambda: model.encoder(x, mask), f"encoder '{spec.encoder.type}'",
                           f"the contract's {batch_size}×{spec.model.channels}×{spec.model.image_size[0]}×{spec.model.image_size[1]} image",
                           "encoder", spec.encoder.config)
            latent = _stage(lambda: model.prior(feats, labels, mask), f"prior '{spec.prior.type}'",
                            f"encoder '{spec.encoder.type}' (features {_shapes(feats)})", "prior", spec.prior.config)
            raw = _stage(lambda: model.decoder(latent.h, latent.skips), f"decoder '{spec.decoder.type}'",
                         f"prior '{spec.prior.type}' (h {_shapes([latent.h])}, skips {_shapes(latent.skips or [])})",
                         "decoder", spec.decoder.config)
            pred = model.decoder.to_image(raw)
            if tuple(pred.shape) != tuple(image.shape):
                hint_fn = getattr(type(model.decoder), "size_hint", None)
                hint = hint_fn(spec.decoder.config, tuple(spec.model.image_size)) if hint_fn else None
                raise BuildError(
                    f"decoder '{spec.decoder.type}' returns images of shape {tuple(pred.shape)} but [model] "
                    f"declares {tuple(image.shape)} (batch, channels, height, width); "
                    + (hint or f"set the decoder's size keys ({_size_keys(spec.decoder.config)}) or [model] image_size"))
    finally:
        model.train(was_training)


def check_parts(model: InpaintModel, parts: TrainingParts, batch_size: int = 2) -> None:
    """Each loss and the discriminator once on the model's output for a dummy batch."""
    spec = model.spec
    image, mask = model.dummy_batch(batch_size)
    device = next(model.parameters()).device
    image, mask = image.to(device), mask.to(device)
    labels = dummy_labels(model, batch_size)
    modes = [(m, m.training) for m in (model, parts)]
    model.eval()
    parts.eval()
    try:
        with torch.no_grad():
            out = model(image, mask, labels, discriminator=parts.discriminator)
            for t in data_targets(parts, model.contract):
                out.context.targets[t.name] = torch.stack([t.fn(im) for im in image.cpu()]).to(device)
            for name, loss in parts.losses.items():
                _stage(lambda loss=loss: loss(out.context), f"losses.{name} ('{spec.losses[name].type}')",
                       "the model's output")
            if parts.discriminator is not None:
                _stage(lambda: parts.discriminator(out.pred, mask), f"discriminator '{spec.discriminator.type}'",
                       f"decoder '{spec.decoder.type}' (images {_shapes([out.pred])})")
    finally:
        for m, was in modes:
            m.train(was)


def _stage(fn, who: str, given: str, section: str = "", cfg: Any = None) -> Any:
    try:
        return fn()
    except InpaintzooError:
        raise
    except (RuntimeError, ValueError, IndexError, TypeError) as exc:
        raise BuildError(f"{who} cannot take the output of {given}: {_short(exc)}{channel_hint(exc, section, cfg)}") from exc


def channel_hint(exc: BaseException, section: str, cfg: Any) -> str:
    """For torch's "expected input … to have X channels, but got Y": the config key of `section` that holds X (a
    width left at its default, or written for another encoder), and what to set; '' when none does."""
    import re

    found = re.search(r"to have (\d+) channels, but got (\d+)", str(exc))
    if not found or cfg is None:
        return ""
    want, got = int(found.group(1)), int(found.group(2))
    derived = getattr(type(cfg), "derive", {})
    for key in type(cfg).model_fields:
        value = getattr(cfg, key, None)
        if value == want or (isinstance(value, (list, tuple)) and value and value[0] == want):
            where = f"{section}.{key}" + ("[0]" if isinstance(value, (list, tuple)) else "")
            fix = f"set {where} = {got}" + (f", or leave {section}.{key} out to derive it" if key in derived else "")
            return f"; {where} is {want} ({'its default' if key not in cfg.model_fields_set else 'as written'}): {fix}"
    return ""


def _size_keys(cfg: Any) -> str:
    """The decoder's integer and list keys: those that can set its output size, for a decoder without size_hint."""
    keys = [k for k in type(cfg).model_fields if isinstance(getattr(cfg, k), (int, list, tuple))
            and not isinstance(getattr(cfg, k), bool)]
    return ", ".join(f"decoder.{k}" for k in keys) or "its keys"


def _shapes(ts: list[torch.Tensor]) -> str:
    return "[" + ", ".join("×".join(str(s) for s in t.shape) for t in ts) + "]"


def _short(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def count_parameters(module: nn.Module, trainable_only: bool = False) -> int:
    return sum(p.numel() for p in module.parameters() if p.requires_grad or not trainable_only)


def summary_tree(model: InpaintModel, parts: TrainingParts | None = None) -> Any:
    """A rich Tree of the components with their parameter counts (training parts when given)."""
    from rich.markup import escape
    from rich.tree import Tree

    spec = model.spec
    total = count_parameters(model)
    root = Tree(f"[bold]{escape(spec.model.name)}[/bold]  {total:,} parameters (inference)")
    mods: list[tuple[str, str, nn.Module]] = [
        ("encoder", spec.encoder.type, model.encoder),
        ("prior", spec.prior.type, model.prior),
        ("decoder", spec.decoder.type, model.decoder),
    ]
    if parts is not None and parts.discriminator is not None:
        mods.append(("discriminator", spec.discriminator.type, parts.discriminator))
    for role, type_, mod in mods:
        node = root.add(f"{role}: [cyan]{escape(type_)}[/cyan]  {count_parameters(mod):,}")
        for child_name, child in mod.named_children():
            n = count_parameters(child)
            if n:
                node.add(f"{escape(child_name)}: {type(child).__name__}  {n:,}")
    losses = root.add("losses" + ("" if parts is not None else " (built for training)"))
    for name, ref in spec.losses.items():
        loss = parts.losses[name] if parts is not None else None
        n = count_parameters(loss) if loss is not None else 0
        trainable = count_parameters(loss, trainable_only=True) if loss is not None else 0
        extra = f"  {n:,}" + (" (frozen)" if n and not trainable else "") if n else ""
        losses.add(f"{escape(name)}: [cyan]{escape(ref.type)}[/cyan] × {ref.weight:g}{extra}")
    return root
