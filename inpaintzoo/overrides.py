"""`--set KEY=VALUE` overrides: dotted key paths into a spec, TOML values, validated like the spec itself.

    --set train.batch_size=8 --set data.dataset.root=~/celeba --set losses.style.weight=0
    --set 'train.optimizer={name = "adam", lr = 1e-4}'

A value is read as TOML (numbers, booleans, strings in quotes, arrays, inline tables); anything that is not
valid TOML is taken as a plain string. The overridden spec is validated as a whole, so a wrong path gets
the spec's own one-line error with a did-you-mean.
"""
from __future__ import annotations

import copy
import tomllib
from typing import Any

from .errors import InputError
from .tomlfile import too_deep


def parse_value(text: str) -> Any:
    try:
        value = tomllib.loads(f"v = {text}")["v"]
        if too_deep(value):
            raise RecursionError
        return value
    except tomllib.TOMLDecodeError:
        return text
    except RecursionError:
        raise InputError(f"--set …={text[:40]}…: arrays or tables nested too deep") from None


def parse_sets(items: list[str]) -> dict[str, Any]:
    """['a.b=1', …] → {'a.b': 1, …} (later items win)."""
    out: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip()
        parts = key.split(".")
        if not sep or not key or any(not p.strip() for p in parts):
            raise InputError(f"--set {item}: expected KEY=VALUE with a dotted key, e.g. --set train.batch_size=8")
        out[key] = parse_value(value.strip())
    return out


def apply(raw: dict[str, Any], sets: dict[str, Any]) -> dict[str, Any]:
    """A copy of `raw` with each dotted key set (intermediate tables created as needed)."""
    out = copy.deepcopy(raw)
    for key, value in sets.items():
        node = out
        parts = key.split(".")
        for i, part in enumerate(parts[:-1]):
            nxt = node.get(part)
            if nxt is None:
                nxt = node[part] = {}
            if not isinstance(nxt, dict):
                raise InputError(f"--set {key}=…: '{'.'.join(parts[: i + 1])}' is a value, not a table; "
                                 f"set it whole, e.g. --set {'.'.join(parts[: i + 1])}=…")
            node = nxt
        node[parts[-1]] = value
    return out


def shorthands(epochs: int | None = None, steps: int | None = None, lr: float | None = None,
               batch_size: int | None = None, data: str | None = None, seed: int | None = None,
               amp: bool = False) -> dict[str, Any]:
    """The classic options as the overrides they stand for."""
    sets: dict[str, Any] = {}
    if epochs is not None:
        sets["train.epochs"] = epochs
    if steps is not None:
        sets["train.steps"] = steps
    if lr is not None:
        sets["train.optimizer.lr"] = lr
    if batch_size is not None:
        sets["train.batch_size"] = batch_size
    if data is not None:
        sets["data.dataset.root"] = data
    if seed is not None:
        sets["train.seed"] = seed
    if amp:
        sets["train.amp"] = True
    return sets


def resolve(raw: dict[str, Any], sets: dict[str, Any]) -> dict[str, Any]:
    """Apply `sets`; `train.epochs` given without `train.steps` clears a spec's step count (epochs win)."""
    out = apply(raw, sets)
    if "train.epochs" in sets and "train.steps" not in sets and isinstance(out.get("train"), dict):
        out["train"].pop("steps", None)
    return out


def keep_losses(raw: dict[str, Any], names: list[str], registry: Any, source: str) -> dict[str, Any]:
    """`raw` with only the loss terms `names` (`train --losses l1`: a release's recipe without its GAN, chosen
    explicitly); its [discriminator] goes too when none of the kept terms is adversarial."""
    losses = raw.get("losses") if isinstance(raw.get("losses"), dict) else {}
    unknown = [n for n in names if n not in losses]
    if unknown or not names:
        from .errors import choices_text, did_you_mean

        bad = unknown[0] if unknown else ""
        raise InputError(f"--losses {','.join(names)}: {source} has no loss term '{bad}'; its terms: "
                         f"{choices_text(losses) or 'none'}{did_you_mean(bad, losses) if bad else ''}")
    out = copy.deepcopy(raw)
    out["losses"] = {n: losses[n] for n in names}

    def adversarial(body: Any) -> bool:
        try:
            return bool(registry.get(str(body.get("type")), "loss").factory.adversarial)
        except Exception:  # an unknown type: spec validation names it
            return False

    if not any(adversarial(b) for b in out["losses"].values() if isinstance(b, dict)):
        out.pop("discriminator", None)
    return out
