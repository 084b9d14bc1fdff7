"""The zoo index, `registry.toml`: named models with their specs, data set, licence, paper and weights.

An entry's weights come from one of:
- `weights = "shipped"`: trained here and shipped inside the package (`zoo/weights/NAME/`), loaded offline;
- `[models.NAME.release]`: a checkpoint its authors (or a re-host such as IOPaint) released, fetched on first use
  from one of its `sources` (an HTTPS URL or a Hub file at a revision), checked against the recorded size and
  checksums, converted once into `INPAINTZOO_HOME/models/NAME` and loaded from there (see `inpaintzoo.fetch`);
  a source that cannot be fetched by a script (a Google Drive folder) names the page to download it from;
- `hub = "org/name"`: published on the Hugging Face Hub in inpaintzoo's format;
- none: an architecture to train.

`INPAINTZOO_INDEX=PATH` adds the entries of another registry file (a private zoo) to the packaged ones.
"""
from __future__ import annotations

import fnmatch
import hashlib
import json
import os
import re
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from .errors import LoadError, SpecError, did_you_mean
from .tomlfile import read_toml

INDEX = "registry.toml"
LEGEND = ("weights: shipped = inside the package, loads offline (smoke test: weights that show the pipeline runs and score "
          "below OpenCV Telea on their own data); cached = fetched and converted into INPAINTZOO_HOME; "
          "fetched on first use = downloaded, checked and converted by the first load (unpinned: no published "
          "checksum, the first download's is recorded and later ones must match it); download by hand = a page "
          "that cannot be fetched by a script, then `inpaintzoo fetch NAME --source FILE`; hub = on the Hugging "
          "Face Hub; none = an untrained architecture (train it)")


@dataclass(frozen=True)
class Source:
    """One place a release's file is published, and what the file must be."""

    file: str  # the file's name as published
    url: str | None = None  # a direct HTTPS download
    hub: str | None = None  # a Hugging Face Hub repo holding `file`
    revision: str | None = None  # the Hub revision (a commit hash pins it)
    manual: str | None = None  # a page to download from by hand (a Google Drive folder)
    size: int | None = None
    sha256: str | None = None  # or its first 8+ hex digits, as OpenMMLab's file names carry them
    md5: str | None = None  # where public code pins only an md5 (IOPaint)
    note: str = ""

    @property
    def fetchable(self) -> bool:
        return bool(self.url or self.hub)

    @property
    def pinned(self) -> bool:
        return bool(self.sha256 or self.md5)

    @property
    def where(self) -> str:
        if self.url:
            return self.url
        if self.hub:
            return f"https://huggingface.co/{self.hub}/blob/{self.revision or 'main'}/{self.file}"
        return self.manual or ""

    @property
    def key(self) -> str:
        """Identifies the source in the local record of first-download checksums."""
        return self.url or (f"hf://{self.hub}/{self.file}" if self.hub else f"manual:{self.file}")

    def mismatch(self, path: Path, size: int | None = None, sha256: str | None = None, md5: str | None = None) -> str:
        """'' when the file at `path` is this source's file (size and every pinned checksum), else what differs.
        The digests may be given when already computed while downloading."""
        real = size if size is not None else path.stat().st_size
        if self.size is not None and real != self.size:
            return f"{real:,} bytes, expected {self.size:,}"
        if self.sha256:
            got = sha256 or file_digest(path, "sha256")
            if not got.startswith(self.sha256.lower()):
                return f"sha256 {got[:16]}…, expected {self.sha256[:16]}…"
        if self.md5:
            got = md5 or file_digest(path, "md5")
            if got != self.md5:
                return f"md5 {got}, expected {self.md5}"
        return ""


@dataclass(frozen=True)
class Release:
    """A checkpoint released by a model's authors, where it is published, and the converter that reads it."""

    converter: str
    sources: tuple[Source, ...]
    license: str = ""
    page: str = ""
    note: str = ""

    @property
    def fetchable(self) -> bool:
        return any(s.fetchable for s in self.sources)

    @property
    def pinned(self) -> bool:
        return any(s.pinned for s in self.sources if s.fetchable) or not self.fetchable

    def how_to_get(self, name: str) -> str:
        s = self.sources[0]
        size = f", {s.size / 1e6:,.0f} MB" if s.size else ""
        return f"download {s.file}{size} from {s.where}, then run `inpaintzoo fetch {name} --source {s.file}`"

    def check_file(self, path: Path) -> None:
        """A file the user downloaded by hand: checked against the source of the same name, when one is pinned."""
        for s in self.sources:
            if s.file == path.name and s.pinned:
                problem = s.mismatch(path)
                if problem:
                    raise LoadError(f"{path}: not the released {s.file} ({problem}); download it again from {s.where}")


def file_digest(path: Path, algorithm: str) -> str:
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _release(body: dict[str, Any], where: str) -> Release:
    try:
        sources = tuple(Source(**s) for s in body.get("sources", []))
        rest = {k: v for k, v in body.items() if k != "sources"}
        release = Release(sources=sources, **rest)
    except TypeError as exc:
        raise SpecError(where, [f"release: {exc}"]) from None
    if not release.sources:
        raise SpecError(where, ["release: no [[…release.sources]]; name where the file is published"])
    return release


@dataclass(frozen=True)
class ZooEntry:
    name: str
    spec_path: Path
    description: str = ""
    dataset: str = ""
    license: str = ""
    paper: str = ""
    hub: str | None = None
    revision: str | None = None
    shipped: bool = False
    release: Release | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    overrides: dict[str, Any] = field(default_factory=dict)  # dotted keys applied to the spec file (shared specs)
    task: str = "inpaint"
    parameters: int | None = None  # the generator's (tests/test_zoo_catalogue.py checks it against the spec)
    cpu_seconds_512: float | None = None  # one 512² image through inpaint() on the reference 2-core CPU (benchmarks/zoo_speed.py)
    quality: str = ""  # "smoke test": shipped weights that show the pipeline runs, worse than OpenCV Telea
    baseline: dict[str, Any] = field(default_factory=dict)  # Telea's numbers on the same images and masks

    def headline(self) -> str:
        """Hole PSNR of the recorded evaluation, beside OpenCV Telea's on the same images and masks."""
        ours, telea = self.metrics.get("psnr_hole"), self.baseline.get("telea_psnr_hole")
        if ours is None or "encode" in self.task:
            return "—"
        return f"{ours:.1f} dB" + (f" (Telea {telea:.1f})" if telea is not None else "")

    def spec(self) -> dict[str, Any]:
        from .overrides import apply

        raw = read_toml(self.spec_path)
        return apply(raw, self.overrides) if self.overrides else raw

    def samples(self) -> bool:
        """Whether the model draws random numbers at inference (so `inpaint(seed=)` matters), from its spec."""
        from .catalog import spec_samples

        try:
            return spec_samples(self.spec())
        except (OSError, ValueError):
            return False

    def spec_text(self) -> str:
        """The spec file as written (its comments are the documentation), with this entry's overrides written into
        it: several entries share one file (lama-fourier is lama-big's file with 9 blocks)."""
        text = self.spec_path.read_text(encoding="utf-8")
        if not self.overrides:
            return text
        lines = text.splitlines()
        for dotted, value in self.overrides.items():
            table, _, key = dotted.rpartition(".")
            head = next((i for i, l in enumerate(lines) if l.strip() == f"[{table}]"), None)
            end = next((i for i in range(head + 1, len(lines)) if lines[i].lstrip().startswith("[")), len(lines)) \
                if head is not None else None
            line = f"{key} = {_toml_value(value)}  # {self.name}'s value (registry.toml)"
            at = next((i for i in range(head + 1, end) if re.match(rf"\s*{re.escape(key)}\s*=", lines[i])), None) \
                if head is not None else None
            if at is not None:
                lines[at] = line
            elif head is not None:
                lines.insert(head + 1, line)
            else:
                lines += ["", f"[{table}]", line]
        out = f"# zoo entry {self.name}: {self.spec_path.name} with this entry's values from registry.toml\n" + \
            "\n".join(lines) + "\n"
        if tomllib.loads(out) == self.spec():
            return out
        said = ", ".join(f"{k} = {_toml_value(v)}" for k, v in self.overrides.items())  # a layout the edit cannot place
        return f"# zoo entry {self.name}: {self.spec_path.name} with these values set in registry.toml: {said}\n" + text

    @property
    def shipped_dir(self) -> Path:
        return self.spec_path.parent / "weights" / self.name

    @property
    def converted_dir(self) -> Path:
        from .paths import models_dir

        return models_dir() / self.name

    def weights_status(self) -> str:
        if self.shipped and (self.shipped_dir / "model.safetensors").is_file():
            return "shipped" + (f" ({self.quality})" if self.quality else "")
        if self.release is not None:
            if (self.converted_dir / "model.safetensors").is_file():
                return "cached"
            if self.release.fetchable:
                return "fetched on first use" + ("" if self.release.pinned else " (unpinned)")
            return "download by hand"
        if self.hub:
            return f"hub {self.hub}"
        return "none"

    def has_weights(self) -> bool:
        """Weights are here or can be had by `load()` alone (shipped, cached, fetched on first use, Hub)."""
        status = self.weights_status()
        return status.startswith(("shipped", "cached", "hub ", "fetched on first use"))

    def resolution(self) -> str:
        """The size the network runs at: fixed (resized to it), or any size padded to a multiple."""
        model = self.spec().get("model", {})
        h, w = model.get("image_size", [64, 64])
        trained = f"{h}²" if h == w else f"{h}×{w}"
        if model.get("resize", "fixed") == "pad":
            return f"any (×{model.get('size_multiple', 1)}; trained at {trained})"
        return trained

    def as_dict(self) -> dict[str, Any]:
        d = {"name": self.name, "task": self.task, "samples": self.samples(), "description": self.description,
             "dataset": self.dataset,
             "resolution": self.resolution(), "parameters": self.parameters, "license": self.license,
             "cpu_seconds_512": self.cpu_seconds_512, "paper": self.paper, "weights": self.weights_status(),
             "quality": self.quality, "hole_psnr": self.metrics.get("psnr_hole"),
             "telea_hole_psnr": self.baseline.get("telea_psnr_hole"),
             "hub": self.hub, "revision": self.revision, "metrics": self.metrics}
        if self.release is not None:
            from dataclasses import asdict

            d["release"] = asdict(self.release)
        return d


def index_path() -> Path:
    """The installed copy (wheel) first, else the source checkout's top-level file."""
    packaged = resources.files("inpaintzoo") / "_zoo" / INDEX
    if packaged.is_file():
        return Path(str(packaged))
    return Path(__file__).resolve().parent.parent / INDEX


def index() -> dict[str, ZooEntry]:
    """The packaged zoo, plus the entries of `INPAINTZOO_INDEX` when it names another registry file."""
    out = dict(_read_index(index_path()))
    extra = os.environ.get("INPAINTZOO_INDEX")
    if extra:
        path = Path(extra).expanduser()
        if not path.is_file():
            raise SpecError(f"INPAINTZOO_INDEX={extra}", ["no such registry file"])
        out.update(_read_index(path))
    return out


@lru_cache(maxsize=4)
def _read_index(path: Path) -> dict[str, ZooEntry]:
    if not path.is_file():
        return {}
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(str(path), [f"malformed TOML: {exc}"]) from None
    except (UnicodeDecodeError, RecursionError):
        raise SpecError(str(path), ["not a registry file (not UTF-8 text, or nested too deep)"]) from None
    out = {}
    for name, body in (raw.get("models") or {}).items():
        rel = body.get("release")
        out[name] = ZooEntry(
            name=name,
            spec_path=path.parent / body["spec"],
            description=body.get("description", ""),
            dataset=body.get("dataset", ""),
            license=body.get("license", ""),
            paper=body.get("paper", ""),
            hub=body.get("hub"),
            revision=body.get("revision"),
            shipped=body.get("weights") == "shipped",
            release=_release(rel, f"{path} [models.{name}]") if rel else None,
            metrics=body.get("metrics", {}),
            overrides=body.get("overrides", {}),
            task=body.get("task", "inpaint"),
            quality=body.get("quality", ""),
            baseline=body.get("baseline", {}),
            parameters=body.get("parameters"),
            cpu_seconds_512=body.get("cpu_seconds_512"),
        )
    return out


WEIGHTS_FILTERS = {"shipped": ("shipped",), "smoke": ("shipped (smoke test)",), "cached": ("cached",), "fetch": ("fetched on first use",),
                   "hand": ("download by hand",), "hub": ("hub ",), "none": ("none",)}


def list_zoo(pattern: str = "*", pretrained: bool = False, task: str | None = None, dataset: str | None = None,
             weights: str | None = None) -> list[ZooEntry]:
    """Entries whose name matches the wildcard; `task`/`dataset`: case-insensitive substrings; `weights`: one of
    WEIGHTS_FILTERS; `pretrained`: weights here or to be had by `load()` alone."""
    if weights is not None and weights not in WEIGHTS_FILTERS:
        from .errors import InputError

        raise InputError(f"--weights {weights}: expected one of {', '.join(WEIGHTS_FILTERS)}{did_you_mean(weights, WEIGHTS_FILTERS)}")
    out = []
    for name, e in sorted(index().items()):
        if not fnmatch.fnmatchcase(name, pattern) or (pretrained and not e.has_weights()):
            continue
        if task and task.lower() not in e.task.lower():
            continue
        if dataset and dataset.lower() not in e.dataset.lower():
            continue
        if weights and not e.weights_status().startswith(WEIGHTS_FILTERS[weights]):
            continue
        out.append(e)
    return out


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # a TOML basic string uses JSON's escapes
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return repr(value)


def folder_starter() -> str:
    """A sentence naming where to start training on one's own folder: the smallest zoo model with released weights
    whose data set reads image folders (fine-tuning a release is what a CPU budget can make good)."""
    from . import plugins

    reg = plugins.registry()
    best: ZooEntry | None = None
    for e in index().values():
        if e.release is None:
            continue
        try:
            kind = e.spec().get("data", {}).get("dataset", {}).get("type")
            factory = reg.get(kind, "dataset").factory if kind in reg else None
        except Exception:  # an unreadable spec must not turn a hint into a traceback
            continue
        if factory is not None and not getattr(factory, "procedural", False) and \
                (best is None or (e.parameters or 0) < (best.parameters or 0)):
            best = e
    if best is None:
        return "use a spec whose [data.dataset] reads a folder (core.image_folder)"
    return (f"for a folder of your own images, start from a model that reads folders, e.g. `inpaintzoo train "
            f"{best.name} --data DIR --max-minutes 15` (fine-tunes its release; `inpaintzoo list --weights fetch` "
            f"lists the others)")


def get(name: str) -> ZooEntry:
    zoo = index()
    if name not in zoo:
        raise LoadError(f"'{name}' is not a zoo model{did_you_mean(name, zoo)}; see `inpaintzoo list`")
    return zoo[name]


def resolve_spec(arg: str) -> tuple[dict[str, Any], str]:
    """A spec from a TOML path or a zoo name; never guesses between the two."""
    p = Path(arg)
    if p.suffix == ".toml" or p.exists():
        return read_toml(p), str(p)
    zoo = index()
    if arg in zoo:
        return zoo[arg].spec(), f"{arg} ({zoo[arg].spec_path.name})"
    raise SpecError(arg, [f"no such spec file or zoo model{did_you_mean(arg, zoo)}; see `inpaintzoo list`"])
