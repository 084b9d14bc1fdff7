"""`inpaintzoo fetch` and `inpaintzoo convert`: an authors' released checkpoint → a model folder.

    inpaintzoo fetch lama-big                           # download, check, convert into INPAINTZOO_HOME (once)
    inpaintzoo fetch lama-big --source big-lama.pt      # a file downloaded by hand, checked and converted
    inpaintzoo convert lama-big big-lama.zip            # convert a file for a zoo entry (into INPAINTZOO_HOME)
    inpaintzoo convert lama.big_lama big-lama/ --out m/ # a registered converter, anywhere
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path


def _add(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("convert", help="convert an authors' released checkpoint into a model folder")
    p.add_argument("converter", help="a zoo name with a release (see `inpaintzoo list`) or a registered converter "
                                     "(`inpaintzoo components --kind converter`)")
    p.add_argument("source", help="the released file or folder, as downloaded")
    p.add_argument("--out", help="output folder (default for a zoo name: INPAINTZOO_HOME/models/NAME)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output folder")
    p.add_argument("--verify", action="store_true", help="print the converted model's output on one fixed input")


def cmd_convert(a: argparse.Namespace) -> int:
    from .. import plugins, zoo
    from ..convert import convert_release
    from ..errors import InputError

    reg = plugins.registry()
    entry = zoo.index().get(a.converter)
    if entry is not None:
        if entry.release is None:
            raise InputError(f"zoo model '{a.converter}' has no released checkpoint to convert ({entry.weights_status()})")
        name, out = entry.release.converter, Path(a.out) if a.out else entry.converted_dir
    else:
        name, out = a.converter, Path(a.out) if a.out else None
        if out is None:
            raise InputError(f"convert {a.converter}: give --out DIR (only zoo names have a default place)")
    reg.get(name, "converter")  # an unknown converter is named before anything is read
    source = Path(a.source).expanduser()
    if not source.exists():
        raise InputError(f"{source}: no such file or folder; {entry.release.how_to_get(entry.name)}"
                         if entry is not None else f"{source}: no such file or folder")
    from ..artifact import check_replaceable

    check_replaceable(out, a.overwrite)
    if entry is not None and source.is_file():
        entry.release.check_file(source)  # a pinned checksum is checked before anything is read
    out, model = convert_release(name, source, out, overwrite=a.overwrite, verify=a.verify,
                                 zoo_entry=entry.name if entry is not None else None)
    print(f"converted {source} with {name}: {sum(p.numel() for p in model.parameters()):,} parameters → {out}")
    if a.verify:
        print("verify: " + json.dumps(model.config["verify"]))
    return 0


def _add_fetch(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("fetch", help="download, check and convert a zoo model's released weights (done by load on first use)")
    p.add_argument("name", help="a zoo name whose weights come from a release (see `inpaintzoo list`)")
    p.add_argument("--source", help="a file or folder you downloaded by hand: checked against the release and converted")
    p.add_argument("--force", action="store_true", help="download and convert again even when the model is cached")
    p.add_argument("--token", help="a Hugging Face token for Hub sources (default: HF_TOKEN or the stored login)")


def cmd_fetch(a: argparse.Namespace) -> int:
    from .. import zoo
    from ..errors import InputError
    from ..fetch import ensure

    entry = zoo.get(a.name)
    if entry.release is None:
        raise InputError(f"zoo model '{a.name}' is not converted from a release ({entry.weights_status()}); "
                         f"`inpaintzoo load`-able models with other weights need no fetch")
    source = Path(a.source).expanduser() if a.source else None
    if source is not None and not source.exists():
        raise InputError(f"--source {source}: no such file or folder")
    was = (entry.converted_dir / "model.safetensors").is_file()
    out = ensure(entry, token=a.token, source_file=source, force=a.force)
    cfg = json.loads((out / "config.json").read_text(encoding="utf-8")).get("converted_from", {})
    files = ", ".join(f"{k} ({v['bytes']:,} bytes, sha256 {v['sha256'][:12]}…)" for k, v in cfg.get("files", {}).items())
    if was and source is None and not a.force:
        print(f"{a.name}: already converted in {out} (from {files or 'a release file'})")
    else:
        print(f"{a.name}: converted {files} with {entry.release.converter} → {out}")
    return 0


COMMANDS = {"convert": (_add, cmd_convert), "fetch": (_add_fetch, cmd_fetch)}
