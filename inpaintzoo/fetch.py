"""Released weights on first use: download, verify, convert once, cache (what timm and diffusers users expect).

    ensure(entry)   → INPAINTZOO_HOME/models/NAME, fetched and converted if it is not there yet

Sources (see `zoo.Source`): a Hugging Face Hub file goes through `hf_hub_download` (its cache, `HF_ENDPOINT`,
`HF_HUB_OFFLINE`, tokens and revisions); a plain HTTPS file is streamed into `INPAINTZOO_HOME/downloads/NAME/`
with a progress bar, a timeout and resume of an interrupted download (HTTP Range), as `FILE.part` until it
is complete and checked. A file is only ever renamed to its final name after its size and checksums matched:
a killed, cut or disk-full download leaves a `.part` that a later run resumes and never mistakes for the file.

Checksums: those the registry pins (size, sha256, md5) are checked; for a source without any ("unpinned"), the
first download's size and sha256 are recorded in `INPAINTZOO_HOME/pins/NAME.json` and every later download must
match them. A mismatch removes the file and caches nothing. One lock per model (`INPAINTZOO_HOME/locks/`) makes
concurrent fetches of the same model download and convert once; the converted folder appears in one rename.
Offline (`HF_HUB_OFFLINE=1`, or `local_files_only`): cached models load; otherwise one line says what to get.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from .errors import LoadError
from .network import OFFLINE_HINT, hub_endpoint, unreachable
from .paths import home
from .zoo import Source, ZooEntry

log = logging.getLogger(__name__)

TIMEOUT = float(os.environ.get("INPAINTZOO_DOWNLOAD_TIMEOUT", "30"))  # seconds without data before giving up
CHUNK = 1 << 20
LOCK_WAIT = 3600.0  # a concurrent fetch of a large file may take this long


def offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().upper() in {"1", "ON", "YES", "TRUE"}


def downloads_dir(name: str) -> Path:
    return home() / "downloads" / name


def ensure(entry: ZooEntry, token: str | bool | None = None, local_files_only: bool = False,
           source_file: Path | None = None, force: bool = False) -> Path:
    """The converted model folder of a zoo entry with a release; fetched and converted first when needed."""
    from filelock import FileLock, Timeout

    release = entry.release
    if release is None:
        raise LoadError(f"zoo model '{entry.name}' has no released checkpoint to fetch")
    out = entry.converted_dir
    if (out / "model.safetensors").is_file() and not force and source_file is None:
        return out
    if source_file is None and (local_files_only or offline() or not release.fetchable):
        raise _not_here(entry, local_files_only)
    locks = home() / "locks"
    locks.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(locks / f"{entry.name}.lock"))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        log.warning("waiting for another process that is fetching %s", entry.name)
        try:
            lock.acquire(timeout=LOCK_WAIT)
        except Timeout:
            raise LoadError(f"zoo model '{entry.name}': another process has been fetching it for over "
                            f"{LOCK_WAIT / 60:.0f} minutes ({locks / (entry.name + '.lock')})") from None
    try:
        if (out / "model.safetensors").is_file() and not force and source_file is None:
            return out  # the other process finished it
        if source_file is not None:
            if source_file.is_file():
                release.check_file(source_file)
            path, source = source_file, _source_named(entry, source_file.name)
        else:
            path, source = _download_first(entry, token)
        return _convert(entry, path, source)
    finally:
        lock.release()


def _source_named(entry: ZooEntry, name: str) -> Source | None:
    return next((s for s in entry.release.sources if s.file == name), None)


def _download_first(entry: ZooEntry, token: str | bool | None) -> tuple[Path, Source]:
    """Try the fetchable sources in order; the first that downloads and verifies wins."""
    errors = []
    for source in (s for s in entry.release.sources if s.fetchable):
        try:
            path = _download_hub(entry, source, token) if source.hub else _download_url(entry, source)
        except _Unreachable as exc:
            errors.append(str(exc))
            continue
        return path, source
    raise _none_reached(entry, errors)


def _not_here(entry: ZooEntry, local_files_only: bool = False) -> LoadError:
    why = "offline (HF_HUB_OFFLINE=1)" if offline() else "local_files_only" if local_files_only else "not downloadable by a script"
    return LoadError(f"zoo model '{entry.name}' is not in {entry.converted_dir} and is {why}: "
                     f"{entry.release.how_to_get(entry.name)}")


def _none_reached(entry: ZooEntry, errors: list[str]) -> LoadError:
    return LoadError(f"zoo model '{entry.name}': no source could be reached ({'; '.join(errors)}); "
                     f"{entry.release.how_to_get(entry.name)}" + (f" ({OFFLINE_HINT})" if any("cannot resolve" in e for e in errors) else ""))


def precheck(name: str) -> None:
    """The refusal a fetch of zoo model `name` would end in (offline, nothing reachable), said before a command
    imports torch and builds anything: one line within the host lookups' time. Silent when the model is here, can
    be had, or `name` is no released zoo model."""
    from .zoo import index

    entry = index().get(name)
    if entry is None or entry.release is None or (entry.converted_dir / "model.safetensors").is_file():
        return
    if offline() or not entry.release.fetchable:
        raise _not_here(entry)
    errors = []
    for source in (s for s in entry.release.sources if s.fetchable):
        if not source.hub and (downloads_dir(entry.name) / source.file).is_file():
            return
        why = unreachable(hub_endpoint() if source.hub else source.url)
        if not why:
            return
        errors.append(f"{'hf-hub:' + source.hub if source.hub else source.url}: {why}")
    raise _none_reached(entry, errors)


class _Unreachable(Exception):
    """A source that could not be reached (network, HTTP error): the next source is tried."""


def _convert(entry: ZooEntry, path: Path, source: Source | None) -> Path:
    from .convert import convert_release

    extra = {"fetched_from": source.where if source is not None else None}
    if source is not None and source.hub:
        extra["revision"] = _pins(entry).get(source.key, {}).get("revision") or source.revision
    out, _ = convert_release(entry.release.converter, path, entry.converted_dir, overwrite=True, extra=extra,
                             zoo_entry=entry.name)
    log.info("converted %s → %s", path, out)
    return out


# -- verification and the record of unpinned sources -----------------------------------------------------------
def _pins(entry: ZooEntry) -> dict:
    path = home() / "pins" / f"{entry.name}.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _record_pin(entry: ZooEntry, source: Source, size: int, sha256: str, revision: str | None = None) -> None:
    from .artifact import atomic_write_text

    pins = _pins(entry)
    pins[source.key] = {"size": size, "sha256": sha256, **({"revision": revision} if revision else {}),
                        "recorded": time.strftime("%Y-%m-%d")}
    atomic_write_text(home() / "pins" / f"{entry.name}.json", json.dumps(pins, indent=2) + "\n")


def verify(entry: ZooEntry, source: Source, path: Path, size: int, sha256: str, md5: str,
           revision: str | None = None) -> None:
    """The file must be the release: pinned checksums, else the recorded first download; else record it now."""
    problem = source.mismatch(path, size, sha256, md5)
    recorded = _pins(entry).get(source.key)
    if not problem and not source.pinned and recorded:
        if recorded.get("size") != size or recorded.get("sha256") != sha256:
            problem = (f"{size:,} bytes, sha256 {sha256[:16]}…, but the first download (recorded "
                       f"{recorded.get('recorded', '')} in {home() / 'pins' / (entry.name + '.json')}) was "
                       f"{recorded.get('size', 0):,} bytes, sha256 {str(recorded.get('sha256'))[:16]}…")
    if problem:
        path.unlink(missing_ok=True)
        raise LoadError(f"zoo model '{entry.name}': {source.file} from {source.where} is not the release: {problem}; "
                        f"nothing was cached. The file may have changed upstream, or the download was corrupted")
    if not source.pinned and not recorded:
        _record_pin(entry, source, size, sha256, revision)
        log.warning("%s: no published checksum; recorded this download's sha256 %s (later downloads must match)",
                    source.file, sha256)


def _digests(path: Path) -> tuple[int, str, str]:
    s, m = hashlib.sha256(), hashlib.md5()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(CHUNK), b""):
            s.update(chunk)
            m.update(chunk)
    return path.stat().st_size, s.hexdigest(), m.hexdigest()


# -- HTTPS ------------------------------------------------------------------------------------------------------
def _download_url(entry: ZooEntry, source: Source) -> Path:
    folder = downloads_dir(entry.name)
    final = folder / source.file
    if final.is_file():  # downloaded and verified before (converted since, or conversion failed)
        size, sha, md5 = _digests(final)
        verify(entry, source, final, size, sha, md5)
        return final
    why = unreachable(source.url)
    if why:  # before anything is created: a failed offline fetch leaves no empty folder
        raise _Unreachable(f"{source.url}: {why}")
    folder.mkdir(parents=True, exist_ok=True)
    part = folder / (source.file + ".part")
    hashes = (hashlib.sha256(), hashlib.md5())
    have = part.stat().st_size if part.is_file() else 0
    if have:
        with open(part, "rb") as f:
            for chunk in iter(lambda: f.read(CHUNK), b""):
                for h in hashes:
                    h.update(chunk)
    request = urllib.request.Request(source.url, headers={"User-Agent": "inpaintzoo", **({"Range": f"bytes={have}-"} if have else {})})
    try:
        response = urllib.request.urlopen(request, timeout=TIMEOUT)  # noqa: S310 - https URLs from the registry
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and have:  # nothing left to send: the part is complete (verified below)
            response = None
        else:
            raise _Unreachable(f"{source.url}: HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise _Unreachable(f"{source.url}: {getattr(exc, 'reason', exc)}") from None
    if response is not None:
        with response:
            if have and response.status != 206:  # the server ignored the range: start again
                have = 0
                hashes = (hashlib.sha256(), hashlib.md5())
            length = response.headers.get("Content-Length")
            total = have + int(length) if length and length.isdigit() else source.size
            with open(part, "ab" if have else "wb") as f, _Progress(source.file, total, have) as bar:
                while True:
                    try:
                        chunk = response.read(CHUNK)
                    except (TimeoutError, OSError) as exc:
                        raise LoadError(f"{source.url}: the download stalled ({exc}); {part} keeps what arrived, "
                                        f"run the command again to resume") from None
                    if not chunk:
                        break
                    f.write(chunk)
                    for h in hashes:
                        h.update(chunk)
                    bar.advance(len(chunk))
            if total is not None and part.stat().st_size < total:
                raise LoadError(f"{source.url}: the connection closed after {part.stat().st_size:,} of {total:,} bytes; "
                                f"{part} keeps them, run the command again to resume")
    size = part.stat().st_size
    verify(entry, source, part, size, hashes[0].hexdigest(), hashes[1].hexdigest())
    os.replace(part, final)
    return final


class _Progress:
    """A rich bar on a terminal; plain lines (every 10 %) on the log when stderr is not one."""

    def __init__(self, what: str, total: int | None, done: int = 0):
        self.what, self.total, self.done, self.shown = what, total, done, -1
        self.bar = None

    def __enter__(self) -> "_Progress":
        if sys.stderr.isatty():
            from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn

            self.bar = Progress("[bold]{task.description}", BarColumn(), DownloadColumn(), TransferSpeedColumn(),
                                transient=True)
            self.bar.start()
            self.task = self.bar.add_task(self.what, total=self.total, completed=self.done)
        else:
            log.info("downloading %s%s", self.what, f" ({self.total:,} bytes)" if self.total else "")
        return self

    def advance(self, n: int) -> None:
        self.done += n
        if self.bar is not None:
            self.bar.advance(self.task, n)
        elif self.total:
            tenth = int(10 * self.done / self.total)
            if tenth != self.shown:
                self.shown = tenth
                log.info("%s: %d%% (%s of %s bytes)", self.what, 10 * tenth, f"{self.done:,}", f"{self.total:,}")

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            self.bar.stop()


# -- Hugging Face Hub -------------------------------------------------------------------------------------------
def _download_hub(entry: ZooEntry, source: Source, token: str | bool | None) -> Path:
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import (EntryNotFoundError, HfHubHTTPError, LocalEntryNotFoundError,
                                        RepositoryNotFoundError, RevisionNotFoundError)

    recorded = _pins(entry).get(source.key, {})
    revision = recorded.get("revision") or source.revision  # an unpinned revision is pinned by the first download
    why = unreachable(hub_endpoint())
    if why:  # at once, not after the client's retries
        raise _Unreachable(f"hf-hub:{source.hub}: {why}")
    try:
        path = Path(hf_hub_download(source.hub, source.file, revision=revision, token=token))
    except RepositoryNotFoundError:
        raise _Unreachable(f"hf-hub:{source.hub}: repository not found, or private and the token does not grant access") from None
    except RevisionNotFoundError:
        raise _Unreachable(f"hf-hub:{source.hub}@{revision}: no such revision") from None
    except EntryNotFoundError:
        raise _Unreachable(f"hf-hub:{source.hub}: no file {source.file}") from None
    except LocalEntryNotFoundError:
        raise _Unreachable(f"hf-hub:{source.hub}: the Hub cannot be reached") from None
    except HfHubHTTPError as exc:
        raise _Unreachable(f"hf-hub:{source.hub}: {_hub_message(exc)}") from None
    except OSError as exc:
        raise _Unreachable(f"hf-hub:{source.hub}: {exc}") from None
    commit = path.parent.name if path.parent.parent.name == "snapshots" else None
    size, sha, md5 = _digests(path)
    try:
        verify(entry, source, path, size, sha, md5, revision=commit)
    except LoadError:
        blob = path.resolve()
        path.unlink(missing_ok=True)  # the snapshot link, and the blob it points to: nothing stays cached
        blob.unlink(missing_ok=True)
        raise
    return path


def _hub_message(exc: Exception) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if "401" in text:
        return "the token was refused (401 Unauthorized): check HF_TOKEN or `hf auth login`"
    return text


# -- single files that training needs (a loss's pretrained backbone) --------------------------------------------
def fetch_file(name: str, source: Source) -> Path:
    """A file a loss needs (a perceptual backbone), fetched like a release: downloaded once into
    INPAINTZOO_HOME/downloads/NAME with resume, checked against its pinned checksum or else the first download's
    recorded one, under one lock per NAME. Offline, one line says where to get it."""
    from types import SimpleNamespace

    from filelock import FileLock

    final = downloads_dir(name) / source.file
    if offline() and not final.is_file():
        raise LoadError(f"{name}: {source.file} is not in {final.parent} and this machine is offline (HF_HUB_OFFLINE=1); "
                        f"download it from {source.where} into that folder, or give the file's path")
    locks = home() / "locks"
    locks.mkdir(parents=True, exist_ok=True)
    with FileLock(str(locks / f"{name}.lock"), timeout=LOCK_WAIT):
        try:
            return _download_url(SimpleNamespace(name=name), source)  # type: ignore[arg-type]
        except _Unreachable as exc:
            raise LoadError(f"{name}: {exc}; download {source.file} from {source.where} into {final.parent}, or give "
                            f"the file's path") from None
