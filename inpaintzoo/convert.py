"""Converting released checkpoints into model folders.

Reading them (the one place where pickle is read, through an allow-list) is `inpaintzoo.pickles`.
A converter (a registered component of kind `converter`) supplies the spec of the converted model, where the
release's files are, and how its keys map onto the model's: every key of the release must be mapped or
dropped by a stated rule, and every parameter of the model must be filled; an error lists what is left.
`load()` never calls any of this.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import torch
from torch import Tensor

from .interfaces import Converter
from .pickles import ConvertError, read_bytes_checkpoint, read_checkpoint, tensors, zip_member


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@dataclass
class Mapping:
    """How a release's keys become the model's: renamed keys, and keys dropped with the reason."""

    renamed: dict[str, str] = field(default_factory=dict)  # ours → theirs
    dropped: dict[str, str] = field(default_factory=dict)  # theirs → why it is not needed for inference


def rule_mapping(release_keys: list[str], rules: list[tuple[str, Any]], dropped: dict[str, str]) -> Mapping:
    """Each key dropped by the first `dropped` prefix it starts with (prefix → why), else renamed by the first rule
    (regex, function of the match → our key) it matches; a key neither touches is left for `apply_mapping` to name."""
    import re

    m = Mapping()
    for key in release_keys:
        why = next((w for p, w in dropped.items() if key.startswith(p)), None)
        if why:
            m.dropped[key] = why
            continue
        for pattern, rename in rules:
            hit = re.match(pattern, key)
            if hit:
                m.renamed[rename(hit)] = key
                break
    return m


class CheckpointConverter(Converter):
    """A converter of one released checkpoint file (a `state_dict`, possibly wrapped, as mmagic and most releases
    save) into the spec of the zoo entry its config names (`zoo`): the release's key list ships beside the plugin as
    `keys_file`; keys map by `rules` and `dropped` (see `rule_mapping`). Subclasses set those and a Config with `zoo`."""

    keys_file: ClassVar[str] = "release_keys.json"
    rules: ClassVar[list[tuple[str, Any]]] = []
    dropped: ClassVar[dict[str, str]] = {}
    file = "the checkpoint"

    def spec(self) -> dict[str, Any]:
        from . import zoo

        return zoo.get(self.cfg.zoo).spec()

    def where(self, key: str) -> str:
        return self.file

    def reference_keys(self) -> list[str]:
        import inspect
        import json

        folder = Path(inspect.getfile(type(self))).parent
        return list(json.loads((folder / self.keys_file).read_text(encoding="utf-8")))

    def read(self, source: Path) -> dict[str, Tensor]:
        self.file = source.name
        ckpt = read_checkpoint(source)
        return tensors(ckpt.get("state_dict", ckpt) if isinstance(ckpt, dict) else {})

    def mapping(self, release_keys: list[str]) -> Mapping:
        return rule_mapping(release_keys, self.rules, self.dropped)


def apply_mapping(mapping: Mapping, release: dict[str, Tensor], expected: dict[str, Tensor], source: str,
                  converter: Any = None) -> dict[str, Tensor]:
    """The model's state dict from the release's tensors; every key accounted for on both sides, shapes equal.

    A parameter the release does not fill is named as the release names it, with the file it belongs in, when
    the converter knows the release's full key list (`reference_keys`) and its files (`where`).
    """
    from .artifact import _keys

    missing = [k for k in expected if k not in mapping.renamed or mapping.renamed[k] not in release]
    used = set(mapping.renamed.values()) | set(mapping.dropped)
    left = [k for k in release if k not in used]
    shapes = [f"{ours} {tuple(expected[ours].shape)} ← {theirs} {tuple(release[theirs].shape)}"
              for ours, theirs in mapping.renamed.items()
              if ours in expected and theirs in release and tuple(expected[ours].shape) != tuple(release[theirs].shape)]
    kinds = [f"{theirs} is {str(release[theirs].dtype).removeprefix('torch.')} (for {ours}, "
             f"{str(expected[ours].dtype).removeprefix('torch.')})" for ours, theirs in mapping.renamed.items()
             if ours in expected and theirs in release
             and release[theirs].is_floating_point() != expected[ours].is_floating_point()]
    problems = []
    if kinds:
        problems.append(f"tensors of the wrong kind (not the release's numbers, or a damaged file): {_keys(kinds, 3)}")
    if left:
        problems.append(f"{len(left)} key(s) of the release are neither mapped nor dropped: {_keys(left)}")
    if missing:
        reference = converter.mapping(converter.reference_keys()).renamed if converter is not None else {}
        named = []
        for ours in missing:
            theirs = mapping.renamed.get(ours) or reference.get(ours)
            where = converter.where(theirs) if converter is not None and theirs else ""
            named.append(f"{theirs}{f' in {where}' if where else ''} (for {ours})" if theirs else ours)
        problems.append(f"{len(missing)} tensor(s) the model needs are missing from the release: {_keys(named)}")
    if shapes:
        problems.append(f"shapes differ: {_keys(shapes, 3)}")
    if problems:
        raise ConvertError(f"{source}: " + "; ".join(problems))
    return {ours: release[theirs].to(expected[ours].dtype).clone() for ours, theirs in mapping.renamed.items() if ours in expected}


def convert_release(converter: str, source: Path, out: Path, overwrite: bool = False, verify: bool = False,
                    extra: dict[str, Any] | None = None, zoo_entry: str | None = None) -> tuple[Path, Any]:
    """Convert `source` with the registered `converter` into the model folder `out` (written atomically).

    `zoo_entry`: the zoo model converted into, for converters whose config names one (`zoo`): its spec is the
    target (a fine-tune sharing the converter, a private zoo's smaller variant). config.json records the
    converter and every source file's name, size and sha256 (`converted_from`), and with `verify` the model's
    output on one fixed input. Returns the folder and the model.
    """
    from . import plugins
    from .artifact import save_model
    from .build import build_model
    from .spec import validate

    reg = plugins.registry()
    entry = reg.get(converter, "converter")
    conv = entry.build({"zoo": zoo_entry} if zoo_entry and "zoo" in entry.config.model_fields else None)
    if source.exists() and not source.is_dir() and not source.is_file():  # a FIFO blocks, a device never ends
        raise ConvertError(f"{source}: not a regular file or folder; give the released checkpoint")
    try:
        release = conv.read(source)
    except ConvertError as exc:  # a walk of the file's containers failed: say which file
        raise exc if str(source) in str(exc) else ConvertError(f"{source}: {exc}") from None
    told = conv.variant(release) if not zoo_entry and "zoo" in entry.config.model_fields else None
    if told and told != conv.cfg.zoo:  # the file says which variant it is (a 256 generator under a 512 default)
        import logging

        logging.getLogger("inpaintzoo").info("%s: a %s file; converting into that entry's spec", source.name, told)
        conv.cfg = conv.cfg.model_copy(update={"zoo": told})
    spec = validate(conv.spec(), reg, f"{converter} spec")
    model = build_model(spec, reg, check=False)
    state = apply_mapping(conv.mapping(list(release)), release, model.state_dict(), str(source), conv)
    disc = released_discriminator(conv, spec, release, str(source), reg)
    model.load_state_dict(state, strict=True)
    bad = [k for k, v in state.items() if v.is_floating_point() and not v.isfinite().all()]
    if bad:
        raise ConvertError(f"{source}: the release holds NaN or Inf values (e.g. {bad[0]})")
    files = [source] if source.is_file() else sorted(p for p in source.rglob("*") if p.is_file())
    provenance = {"converter": converter, "source": source.name,
                  "files": {str(p.relative_to(source.parent)): {"bytes": p.stat().st_size, "sha256": sha256(p)} for p in files}}
    model.eval()
    info = {"converted_from": {**provenance, **(extra or {})}}
    if verify:
        info["verify"] = verify_output(model)
    if disc is None:
        save_model(model, out, overwrite=overwrite, extra=info)
    else:
        from .artifact import atomic_dir, write_discriminator, write_model_files

        def write(folder: Path) -> None:
            write_model_files(model, folder, info)
            write_discriminator(folder, disc, spec.discriminator.to_dict())

        atomic_dir(out, write, overwrite)
    model.config = {**model.config, **info}
    return out, model


def released_discriminator(conv: Any, spec: Any, release: dict[str, Tensor], source: str, registry: Any) -> Any:
    """The release's discriminator built as the spec's [discriminator] and filled from the file, when the file holds
    one and the converter maps it (`discriminator_mapping`); None otherwise (a generator-only file)."""
    mapping_fn = getattr(conv, "discriminator_mapping", None)
    if spec.discriminator is None or mapping_fn is None:
        return None
    mapping = mapping_fn(list(release))
    if mapping is None or not mapping.renamed:
        return None
    disc = registry.get(spec.discriminator.type, "discriminator").factory(spec.discriminator.config)
    theirs = set(mapping.renamed.values()) | set(mapping.dropped)
    subset = {k: v for k, v in release.items() if k in theirs}
    try:
        disc.load_state_dict(apply_mapping(mapping, subset, disc.state_dict(), source), strict=True)
    except ConvertError as exc:  # the generator is what inference needs: a discriminator that does not fit is left out
        import logging

        logging.getLogger(__name__).warning("the release's discriminator does not fit [discriminator] '%s' and is not "
                                            "kept (a fine-tune starts a fresh one): %s", spec.discriminator.type, exc)
        return None
    return disc


def verify_output(model) -> dict[str, Any]:
    """The converted model on one fixed input (seeded image, centre hole): numbers to compare across machines."""
    h, w = model.contract.image_size
    g = torch.Generator().manual_seed(0)
    image = torch.rand(1, model.contract.channels, h, w, generator=g)
    mask = torch.zeros(1, 1, h, w)
    mask[..., h // 4 : 3 * h // 4, w // 4 : 3 * w // 4] = 1
    out = model.inpaint(image, mask, seed=0 if model.samples else None)  # a model that samples: its seed-0 draw
    hole = out[:, :, h // 4 : 3 * h // 4, w // 4 : 3 * w // 4]
    q = (hole.clamp(0, 1) * 255).round().to(torch.uint8)
    return {"input": f"torch.rand(1, {model.contract.channels}, {h}, {w}) seed 0, centre hole {h // 2}×{w // 2}"
                     + (", inpaint(seed=0)" if model.samples else ""),
            "hole_mean": round(float(hole.mean()), 6), "hole_std": round(float(hole.std()), 6),
            "hole_sha256_uint8": hashlib.sha256(q.numpy().tobytes()).hexdigest()[:16]}


__all__ = ["ConvertError", "Mapping", "apply_mapping", "convert_release", "read_bytes_checkpoint", "read_checkpoint", "tensors", "sha256",
           "verify_output", "zip_member"]
