"""The model spec: a TOML file validated by pydantic before anything is built.

Sections: [model] (name and usage contract), [encoder], [prior], [decoder], optional [discriminator],
[losses.NAME], optional [data], [train]. A component section's `type` names a registered component of
the right kind; its other keys are validated by that component's own config model. Every problem is
reported as one line with its TOML key path.
"""
from __future__ import annotations

import math
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .errors import RegistryError, SpecError, choices_text, did_you_mean
from .interfaces import ImageSize
from .registry import Registry
from .tomlfile import read_toml  # noqa: F401  (re-exported: specs are read here too)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)  # every number a spec gives must be finite


Finite = Annotated[float, Field(allow_inf_nan=False)]


class Contract(Strict):
    """How images must be prepared for the network; stored with the weights so users never guess."""

    image_size: ImageSize = Field((64, 64), description="[height, width] the network is trained at")
    channels: int = Field(3, ge=1, description="image channels (3 RGB, 4 RGBA, 1 grey)")
    mean: list[Finite] = Field([0.0], description="per-channel mean subtracted from images in [0, 1]")
    std: list[Finite] = Field([1.0], description="per-channel std dividing images in [0, 1]")
    hole_fill: float | list[float] = Field(0.0, description="value written into holes, in [0, 1] image units")
    size_multiple: int = Field(1, ge=1, description="spatial sizes the network accepts are multiples of this")
    resize: Literal["fixed", "pad"] = Field(
        "fixed", description="'fixed': resize any input to image_size; 'pad': pad to size_multiple and crop back"
    )
    min_size: int = Field(1, ge=1, description="with resize = 'pad': smaller sides are padded up to this (reflection "
                                              "pads deep in the network need a few pixels there)")
    pad_mode: Literal["reflect", "symmetric", "replicate", "constant"] = Field(
        "reflect", description="with resize = 'pad': how image and mask are extended to the size multiple, as "
                               "numpy.pad's modes ('symmetric' repeats the edge pixel: LaMa's predict.py)")
    channel_order: Literal["RGB", "BGR"] = Field(
        "RGB", description="the colour order the network was trained in ('BGR': OpenCV-read training images, as "
                           "mmagic's DeepFill checkpoints); images are given and returned in RGB either way")
    mask_polarity: Literal["1=hole"] = Field("1=hole", description="masks are 1 in the hole, 0 where kept")
    normalize_in: Literal["unit", "levels", "scaled"] = Field(
        "unit", description="the arithmetic of (x − mean) / std: 'unit' on [0, 1] values; 'levels' on 8-bit levels, "
                            "(255·x − 255·mean) / (255·std), as releases that normalise uint8 images compute it "
                            "(mmagic: (u8 − 127.5) / 127.5); 'scaled', 255·x / (255·std) − mean / std (StyleGAN-family "
                            "releases: u8 / 127.5 − 1): for 8-bit inputs the same numbers to the bit")
    layout: Literal["channels_last", "contiguous"] = Field(
        "channels_last", description="the memory layout load() puts the network in: channels_last runs convolutions "
                                     "fastest on CPUs and tensor cores; 'contiguous' (NCHW) computes as a release "
                                     "run in NCHW does, to the bit (the ported releases' entries)")

    @field_validator("mean", "std", "hole_fill")
    @classmethod
    def _non_empty(cls, v: Any) -> Any:
        if isinstance(v, list) and not v:
            raise ValueError("must not be empty")
        return v

    @field_validator("hole_fill")
    @classmethod
    def _in_unit_range(cls, v: Any) -> Any:
        for x in v if isinstance(v, list) else [v]:
            if not 0.0 <= x <= 1.0:
                raise ValueError("must lie in [0, 1] (image units)")
        return v

    @model_validator(mode="after")
    def _check_lengths(self) -> "Contract":
        for name in ("mean", "std", "hole_fill"):
            v = getattr(self, name)
            if isinstance(v, list) and len(v) not in (1, self.channels):
                raise ValueError(f"{name} has {len(v)} values; expected 1 or channels={self.channels}")
        if any(s == 0 for s in self.std):
            raise ValueError("std must not contain 0")
        h, w = self.image_size
        if h % self.size_multiple or w % self.size_multiple:
            raise ValueError(f"image_size {h}x{w} is not a multiple of size_multiple={self.size_multiple}")
        return self


_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_+-]*(\.[A-Za-z0-9_+-]+)*$")


class ModelSection(Contract):
    name: str = Field("unnamed", description="model name, 'family-variant' (letters, digits, - _ + .: it names the "
                                             "default run folder runs/NAME, so it holds no path)")
    description: str = ""
    paper: str = ""

    @field_validator("name")
    @classmethod
    def _plain_name(cls, v: str) -> str:
        if not _NAME.match(v) or len(v) > 100:
            raise ValueError("must be a plain name of letters, digits and - _ + . (it names runs/NAME; no path, no '..')")
        return v


class OptimizerSpec(Strict):
    name: Literal["adam", "adamw", "adamax", "sgd"] = "adam"
    lr: float = Field(1e-3, gt=0)
    betas: tuple[Annotated[float, Field(ge=0, lt=1)], Annotated[float, Field(ge=0, lt=1)]] = (0.9, 0.999)
    eps: float = Field(1e-8, gt=0)
    weight_decay: float = Field(0.0, ge=0)
    momentum: float = Field(0.0, ge=0, lt=1)


class ScheduleSpec(Strict):
    name: Literal["constant", "cosine", "linear"] = "constant"
    warmup_fraction: float = Field(0.0, ge=0, le=1, description="linear LR warm-up over this fraction of steps")
    hold_fraction: float = Field(0.0, ge=0, le=1, description="constant LR for this fraction before the decay (MEDFE: 20 of 120 epochs)")
    min_lr: float = Field(0.0, ge=0)


class TrainSpec(Strict):
    epochs: int = Field(10, ge=1)
    steps: int | None = Field(None, ge=1, description="stop after this many steps (overrides epochs)")
    batch_size: int = Field(16, ge=1)
    optimizer: OptimizerSpec = OptimizerSpec()
    discriminator_optimizer: OptimizerSpec = OptimizerSpec(lr=2e-4, betas=(0.5, 0.999))
    schedule: ScheduleSpec = ScheduleSpec()
    grad_clip: float | None = Field(None, gt=0, description="clip the generator's gradient norm to this")
    discriminator_grad_clip: float | None = Field(None, gt=0, description="clip the discriminator's gradient norm "
                                                                        "to this (LaMa: 1, as Lightning clips both)")
    discriminator_init: Literal["auto", "required", "fresh"] = Field(
        "auto", description="with --init: 'auto' starts the discriminator from the model folder's "
                            "discriminator.safetensors when it has one (a converted release that published its "
                            "discriminator), else fresh; 'required' refuses a folder without one; 'fresh' never uses it")
    ema: float | None = Field(None, gt=0, lt=1, description="EMA decay of the weights; none when unset")
    amp: bool = False
    channels_last: bool = Field(True, description="NHWC memory layout: 2–4× faster depthwise convs on CPU")
    seed: int = Field(0, ge=0, lt=2**63, description="random seed, 0 … 2⁶³ − 1")
    eval_every: int = Field(1, ge=1, description="epochs between evaluations")
    eval_batches: int = Field(4, ge=1)
    checkpoint_every: int = Field(1, ge=1, description="epochs between checkpoints")
    keep_last: int = Field(2, ge=1)
    best_metric: str = "psnr_hole"
    best_mode: Literal["max", "min"] = "max"
    num_workers: int | Literal["auto"] = Field(
        "auto", description="DataLoader worker processes; 'auto': none for in-memory data sets without per-image "
                            "targets, else all cores but one (at most 8)")
    prefetch_factor: int = Field(2, ge=1, description="batches each worker loads ahead")

    @field_validator("num_workers")
    @classmethod
    def _workers(cls, v: Any) -> Any:
        if isinstance(v, int) and v < 0:
            raise ValueError("must be 'auto' or a count ≥ 0")
        return v


@dataclass
class ComponentRef:
    """A resolved component section: registered type plus its validated config."""

    type: str
    kind: str
    config: BaseModel
    weight: float | None = None  # losses only

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"type": self.type}
        if self.weight is not None:
            d["weight"] = self.weight
        d.update(self.config.model_dump(mode="json"))
        return d


@dataclass
class ModelSpec:
    model: ModelSection
    encoder: ComponentRef
    prior: ComponentRef
    decoder: ComponentRef
    losses: dict[str, ComponentRef]
    discriminator: ComponentRef | None
    data: dict[str, ComponentRef]
    train: TrainSpec
    source: str = "<spec>"
    raw: dict[str, Any] | None = None  # the dict it was validated from
    scope: Literal["all", "data", "inference"] = "all"  # which sections were validated (see `validate`)

    @property
    def inference_only(self) -> bool:
        return self.scope != "all"

    def full(self, registry: Registry) -> "ModelSpec":
        """This spec with its training sections validated too (losses, discriminator, data, train)."""
        return validate(self.raw, registry, self.source) if self.inference_only else self

    @property
    def contract(self) -> Contract:
        return Contract(**self.model.model_dump(include=set(Contract.model_fields)))

    def to_dict(self) -> dict[str, Any]:
        """The fully resolved spec, defaults filled in; validates back to an equal spec."""
        if self.inference_only:  # training sections as they were given
            return {**(self.raw or {}), **self._inference_dict()}
        d = self._inference_dict()
        if self.discriminator is not None:
            d["discriminator"] = self.discriminator.to_dict()
        d["losses"] = {k: v.to_dict() for k, v in self.losses.items()}
        if self.data:
            d["data"] = {k: v.to_dict() for k, v in self.data.items()}
        d["train"] = self.train.model_dump(mode="json")
        return d

    def _inference_dict(self) -> dict[str, Any]:
        return {"model": self.model.model_dump(mode="json"), "encoder": self.encoder.to_dict(),
                "prior": self.prior.to_dict(), "decoder": self.decoder.to_dict()}

    def components(self) -> list[tuple[str, ComponentRef]]:
        out = [("encoder", self.encoder), ("prior", self.prior), ("decoder", self.decoder)]
        if self.discriminator is not None:
            out.append(("discriminator", self.discriminator))
        out += [(f"losses.{k}", v) for k, v in self.losses.items()]
        return out


_SECTIONS = {"model", "encoder", "prior", "decoder", "discriminator", "losses", "data", "train"}
_DATA_KEYS = {"dataset": "dataset", "masks": "masks", "eval_masks": "masks"}


_TRAINING_SECTIONS = ("losses", "discriminator", "data", "train")


def validate(raw: dict[str, Any], registry: Registry, source: str = "<spec>",
             scope: Literal["all", "data", "inference"] = "all") -> ModelSpec:
    """Validate a parsed spec; raise SpecError listing every problem, one line each.

    scope 'inference' validates what inference builds ([model], [encoder], [prior], [decoder]), 'data' adds
    [data]; the other sections are kept as given, so loading a model never needs the plugins, files or
    weights its losses name.
    """
    problems: list[str] = []
    if not isinstance(raw, dict):
        raise SpecError(source, [f"expected a table of sections, got {type(raw).__name__}"])
    if not raw:
        raise SpecError(source, ["empty: a spec needs [model], [encoder], [prior] and [decoder] tables (and [losses] to "
                                 "train); start from one of the zoo's: `inpaintzoo spec NAME > my.toml`"])
    for key in raw:
        if key not in _SECTIONS:
            problems.append(f"{key}: unknown section; expected one of {choices_text(_SECTIONS)}{did_you_mean(key, _SECTIONS)}")

    missing = [n for n in ("model", "encoder", "prior", "decoder") + (("losses",) if scope == "all" else ())
               if raw.get(n) is None]
    if len(missing) > 1:  # one line for all of them, not one each
        problems.append(f"{', '.join(missing)}: missing sections; add a table for each ([{'], ['.join(missing)}])")

    def section(name: str, required: bool = True) -> dict[str, Any] | None:
        val = raw.get(name)
        if val is None:
            if required and not (len(missing) > 1 and name in missing):
                problems.append(f"{name}: missing section; add a [{name}] table")
            return None
        if not isinstance(val, dict):
            problems.append(f"{name}: expected a table, got {type(val).__name__}")
            return None
        return val

    def strict(model: type[BaseModel], data: dict[str, Any] | None, path: str) -> Any:
        try:
            return model(**(data or {}))
        except ValidationError as exc:
            problems.extend(_pydantic_problems(exc, path, model))
            return None

    resolved: dict[str, Any] = {}  # validated sections so far, for derived fields

    def component(path: str, kind: str, data: dict[str, Any] | None, loss: bool = False) -> ComponentRef | None:
        if data is None:
            return None
        if not isinstance(data, dict):
            problems.append(f"{path}: expected a table with a 'type' key")
            return None
        data = dict(data)
        type_name = data.pop("type", None)
        weight = data.pop("weight", 1.0) if loss else None
        if type_name is None:
            pool = registry.names(kind=kind)
            problems.append(f"{path}.type: missing; expected a registered {kind}: {choices_text(pool) or 'none installed'}")
            return None
        try:
            entry = registry.get(str(type_name), kind)
        except RegistryError as exc:
            problems.append(f"{path}.type: {exc}")
            return None
        if loss and (not isinstance(weight, (int, float)) or isinstance(weight, bool)):
            problems.append(f"{path}.weight: expected a number, got {weight!r}")
            return None
        if loss and not (math.isfinite(weight) and weight >= 0):
            problems.append(f"{path}.weight: must be a finite number ≥ 0, got {weight!r}")
            return None
        for fld, src in getattr(entry.config, "derive", {}).items():
            if fld not in data and fld in entry.config.model_fields:
                value = _derived(src, resolved, data)
                if value is not None:
                    data[fld] = value
        if kind == "dataset" and "root" in data and getattr(entry.factory, "procedural", False):
            from .zoo import folder_starter

            problems.append(f"{path}.root: dataset '{entry.name}' is generated, not read from a folder; remove root "
                            f"(or --data); {folder_starter()}")
            return None
        try:
            cfg = entry.config(**data)
        except ValidationError as exc:
            problems.extend(_pydantic_problems(exc, path, entry.config))
            return None
        return ComponentRef(entry.name, kind, cfg, float(weight) if loss else None)

    model = strict(ModelSection, section("model"), "model")
    resolved["model"] = model
    enc = component("encoder", "encoder", section("encoder"))
    resolved["encoder"] = enc.config if enc else None
    prior = component("prior", "prior", section("prior"))
    resolved["prior"] = prior.config if prior else None
    dec = component("decoder", "decoder", section("decoder"))
    resolved["decoder"] = dec.config if dec else None
    data: dict[str, ComponentRef] = {}
    if scope == "inference":
        if problems:
            raise SpecError(source, problems)
        return ModelSpec(model, enc, prior, dec, {}, None, {}, TrainSpec(), source, raw=raw, scope=scope)
    disc = component("discriminator", "discriminator", section("discriminator", required=False)) if scope == "all" else None
    losses: dict[str, ComponentRef] = {}
    for name, body in (section("losses") or {}).items() if scope == "all" else ():
        ref = component(f"losses.{name}", "loss", body, loss=True)
        if ref is not None:
            losses[name] = ref
    if scope == "all" and "losses" in raw and not raw["losses"]:
        problems.append("losses: empty; add at least one [losses.NAME] table with a 'type'")
    for name, body in (section("data", required=False) or {}).items():
        if name not in _DATA_KEYS:
            problems.append(f"data.{name}: unknown key; expected one of {choices_text(_DATA_KEYS)}{did_you_mean(name, _DATA_KEYS)}")
            continue
        ref = component(f"data.{name}", _DATA_KEYS[name], body)
        if ref is not None:
            data[name] = ref
    train = strict(TrainSpec, section("train", required=False), "train") if scope == "all" else TrainSpec()
    if problems:
        raise SpecError(source, problems)
    return ModelSpec(model, enc, prior, dec, losses, disc, data, train, source, raw=raw, scope=scope)


def _derived(src: Any, resolved: dict[str, Any], data: dict[str, Any]) -> Any:
    """The value a `derive` entry points at, or None when that section or field is not there."""
    if callable(src):
        try:
            return src(resolved, data)
        except (AttributeError, TypeError, KeyError, ValueError, ZeroDivisionError):
            return None
    section, _, name = str(src).partition(".")
    obj = resolved.get(section)
    value = getattr(obj, name, None) if obj is not None else None
    return list(value) if isinstance(value, tuple) else value


def load_spec(path: str | Path, registry: Registry) -> ModelSpec:
    return validate(read_toml(path), registry, source=str(path))


# pydantic's loc entry for one member of a union (a user's unknown key is reported as extra_forbidden instead)
_UNION_MEMBER = re.compile(r"^(float|int|str|bool|none|(list|dict|tuple|set|literal|function-\w+)\[.*\])$")


def _pydantic_problems(exc: ValidationError, prefix: str, model: type[BaseModel]) -> list[str]:
    out = []
    seen: set[tuple] = set()
    for err in exc.errors():
        # a value refused by every member of a union (`hole_fill = nan`: neither a number nor a list) is one
        # problem of one key: report the first member's reason under the key, once
        members = [i for i, x in enumerate(err["loc"]) if i and isinstance(x, str) and _UNION_MEMBER.match(x)
                   and err["type"] != "extra_forbidden"]
        if members:
            if err["loc"][: members[0]] in seen:
                continue
            seen.add(err["loc"][: members[0]])
            err = {**err, "loc": err["loc"][: members[0]]}
        loc = ".".join(str(x) for x in (prefix, *err["loc"]))
        if err["type"] == "extra_forbidden":
            fields = _fields_at(model, err["loc"][:-1])
            key = str(err["loc"][-1])
            out.append(f"{loc}: unknown key; expected one of {choices_text(fields)}{did_you_mean(key, fields)}" if fields
                       else f"{loc}: unknown key; this table takes no options: remove it")
        elif err["type"] == "missing":
            out.append(f"{loc}: missing required key")
        else:
            msg = err["msg"].removeprefix("Value error, ")
            got = err.get("input")
            got_txt = f" (got {got!r})" if got is not None and not isinstance(got, dict) else ""
            hint = ""
            if err["type"] == "literal_error" and isinstance(got, str):
                hint = did_you_mean(got, re.findall(r"'([^']*)'", str(err.get("ctx", {}).get("expected", ""))))
            out.append(f"{loc}: {msg}{got_txt}{hint}")
    return out


def _fields_at(model: type[BaseModel], loc: tuple) -> list[str]:
    """Field names of the (nested) model at `loc`, for did-you-mean on unknown keys."""
    current: Any = model
    for part in loc:
        field = getattr(current, "model_fields", {}).get(part)
        if field is None:
            return list(getattr(current, "model_fields", {}))
        ann = field.annotation
        current = ann if isinstance(ann, type) and issubclass(ann, BaseModel) else None
        if current is None:
            return []
    return list(current.model_fields)
