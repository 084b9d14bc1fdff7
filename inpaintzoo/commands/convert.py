"""`inpaintzoo convert`: an authors' released checkpoint → a model folder (model.safetensors + config.json).

    inpaintzoo convert lama-big big-lama.zip            # a zoo entry with a release: into INPAINTZOO_HOME
    inpaintzoo convert lama.big_lama big-lama/ --out m/ # a registered converter, anywhere
"""
from __future__ import annotations

import argparse
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
    import json

    from .. import plugins, zoo
    from ..artifact import save_model
    from ..build import build_model
    from ..convert import ConvertError, apply_mapping, sha256, verify_output
    from ..errors import InputError
    from ..spec import validate

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
    conv_entry = reg.get(name, "converter")
    source = Path(a.source).expanduser()
    if not source.exists():
        raise InputError(f"{source}: no such file or folder; download {entry.release.file} from {entry.release.url}"
                         if entry is not None else f"{source}: no such file or folder")
    if out.exists() and not a.overwrite:
        raise InputError(f"--out {out}: exists; pass --overwrite to replace it")
    conv = conv_entry.build()
    spec = validate(conv.spec(), reg, f"{name} spec")
    model = build_model(spec, reg, check=False)
    release = conv.read(source)
    state = apply_mapping(conv.mapping(list(release)), release, model.state_dict(), str(source))
    model.load_state_dict(state, strict=True)
    bad = [k for k, v in state.items() if v.is_floating_point() and not v.isfinite().all()]
    if bad:
        raise ConvertError(f"{source}: the release holds NaN or Inf values (e.g. {bad[0]})")
    files = [source] if source.is_file() else sorted(p for p in source.rglob("*") if p.is_file())
    provenance = {"converter": name, "source": source.name, "files": {str(p.relative_to(source.parent)): {"bytes": p.stat().st_size,
                  "sha256": sha256(p)} for p in files}}
    if entry is not None and entry.release.sha256 and source.is_file() and provenance["files"][source.name]["sha256"] != entry.release.sha256:
        raise ConvertError(f"{source}: sha256 {provenance['files'][source.name]['sha256'][:16]}… is not the release's "
                           f"({entry.release.sha256[:16]}…); download it again from {entry.release.url}")
    model.eval()
    extra = {"converted_from": provenance}
    if a.verify:
        extra["verify"] = verify_output(model)
    save_model(model, out, overwrite=a.overwrite, extra=extra)
    print(f"converted {source} with {name}: {sum(p.numel() for p in model.parameters()):,} parameters → {out}")
    if a.verify:
        print("verify: " + json.dumps(extra["verify"]))
    return 0


COMMANDS = {"convert": (_add, cmd_convert)}
