"""A hostile sweep: hundreds of inputs an attacker or a careless user gives, each run as its own `inpaintzoo` process.

Every case runs `python -m inpaintzoo.cli ...` in an empty working folder, offline (`HF_HUB_OFFLINE=1`, a fresh
`INPAINTZOO_HOME`), under a 90 s limit, and is judged by what a user sees:

- `traceback`: a Python traceback, or an exit status other than 0 and 2 (a signal, an abort);
- `hang`: still running after the limit;
- `memory`: peak resident memory (the child's ru_maxrss, from wait4) above 1 GiB (a successful `export` of the
  smallest model peaks at 1.00·10⁹ bytes: torch's exporter, onnxscript and ONNX Runtime loaded, nothing hostile);
- `silent`: exit 0 for an input that must be refused;
- `lines`: a refusal that is not `error:` lines (one per problem; warning lines aside), or says nothing;
- `leftover`: a refusal that left a file in the working folder or the output's folder, or changed an input;
- `code ran`: a pickle's payload ran (it would create a marker file);
- `refused`: a valid input (`expect = ok`) that was refused.

    python benchmarks/hostile_sweep.py [--jobs 2] [--only convert]

Results: benchmarks/results/hostile_sweep.{json,md}; the failing cases are listed with their first lines.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import zipfile
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).parent))
from _common import write  # noqa: E402

LIMIT_S = 90
GIB = 1 << 30
MARKER = "PWNED"


@dataclass
class Case:
    family: str
    name: str
    argv: list[str]
    expect: str = "refuse"  # or "ok"


# -- inputs -----------------------------------------------------------------------------------------------------------
def _pickle_global(module: str, name: str, arg: str) -> bytes:
    """A protocol-2 pickle calling module.name(arg): the classic code-execution payload."""
    return b"\x80\x02c" + f"{module}\n{name}\n".encode() + b"X" + struct.pack("<I", len(arg)) + arg.encode() + b"\x85R."


def _torch_zip(path: Path, data_pkl: bytes, members: dict | None = None, root: str = "archive") -> Path:
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(f"{root}/data.pkl", data_pkl)
        z.writestr(f"{root}/byteorder", "little")
        for name, data in (members or {}).items():
            z.writestr(name, data)
    return path


def checkpoints(d: Path, marker: Path) -> dict[str, Path]:
    """~40 hostile or broken checkpoint files and folders."""
    import torch

    d.mkdir()
    f: dict[str, Path] = {}

    def put(name: str, data: bytes) -> None:
        (d / name).write_bytes(data)
        f[name] = d / name

    rng = np.random.default_rng(0)
    put("empty.ckpt", b"")
    put("one-byte.ckpt", b"\x80")
    put("random-1k.ckpt", rng.bytes(1024))
    put("random-1m.ckpt", rng.bytes(1 << 20))
    put("text.ckpt", b"hello, this is not a checkpoint\n" * 10)
    put("json.ckpt", b'{"state_dict": {"a": [1, 2, 3]}}')
    put("gzip.ckpt", zlib.compress(b"x" * 1000))
    cmd = f"touch {marker}"
    put("os-system.ckpt", _pickle_global("os", "system", cmd))
    put("posix-system.ckpt", _pickle_global("posix", "system", cmd))
    put("subprocess.ckpt", _pickle_global("subprocess", "getoutput", cmd))
    put("eval.ckpt", _pickle_global("builtins", "eval", f"__import__('os').system('{cmd}')"))
    put("exec.ckpt", _pickle_global("builtins", "exec", f"__import__('os').system('{cmd}')"))
    put("getattr.ckpt", b"\x80\x02cbuiltins\ngetattr\nq\x00cos\nsystem\n" + b"X\x06\x00\x00\x00systemq\x01\x86R.")
    put("inst-opcode.ckpt", b"(S'" + cmd.encode() + b"'\nios\nsystem\n.")
    put("torch-load.ckpt", _pickle_global("torch", "load", "/etc/passwd"))
    put("numpy-load.ckpt", _pickle_global("numpy", "load", "/etc/passwd"))
    _torch_zip(d / "zip-os-system.ckpt", _pickle_global("os", "system", cmd))
    _torch_zip(d / "zip-eval.ckpt", _pickle_global("builtins", "eval", "1+1"))
    _torch_zip(d / "zip-webbrowser.ckpt", _pickle_global("webbrowser", "open", "http://example.invalid"))
    _torch_zip(d / "zip-traversal.ckpt", b"\x80\x02}.", {"../../escaped.txt": b"x", "/tmp/abs-escaped.txt": b"x"})
    _torch_zip(d / "zip-no-data-pkl.ckpt", b"", root="other")
    _torch_zip(d / "zip-persid-unknown.ckpt", b"\x80\x02(X\x07\x00\x00\x00storageq\x00tQ.")
    # a tensor whose storage member is missing, and one claiming 2**40 elements of a 4-byte storage
    storage = b"ctorch\nFloatStorage\nX\x01\x00\x00\x000X\x03\x00\x00\x00cpuK\x01tQ"
    rebuild = b"ctorch._utils\n_rebuild_tensor_v2\n(" + b"(X\x07\x00\x00\x00storage" + storage + \
        b"K\x00(K\x01tK\x01\x85)\x89ccollections\nOrderedDict\n)RtR"
    _torch_zip(d / "zip-missing-storage.ckpt", b"\x80\x02}X\x01\x00\x00\x00w" + rebuild + b"s.")
    big = rebuild.replace(b"(K\x01tK\x01\x85", b"(\x8a\x06\x00\x00\x00\x00\x00\x01tK\x01\x85")
    _torch_zip(d / "zip-huge-view.ckpt", b"\x80\x02}X\x01\x00\x00\x00w" + big + b"s.", {"archive/data/0": b"\x00" * 4})
    with zipfile.ZipFile(d / "zip-of-zip.ckpt", "w") as z:
        z.writestr("inner.zip", (d / "zip-eval.ckpt").read_bytes())
    with zipfile.ZipFile(d / "zip-many-members.ckpt", "w") as z:
        z.writestr("archive/data.pkl", b"\x80\x02}.")
        for i in range(20000):
            z.writestr(f"archive/data/{i}", b"")
    with zipfile.ZipFile(d / "zip-bomb.ckpt", "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("archive/data.pkl", b"\x80\x02}.")
        with z.open("archive/data/0", "w", force_zip64=True) as w:
            for _ in range(1500):  # 1.5 GB of zeros in about 1.5 MB
                w.write(bytes(1 << 20))
    for name in ("zip-os-system.ckpt", "zip-eval.ckpt", "zip-webbrowser.ckpt", "zip-traversal.ckpt",
                 "zip-no-data-pkl.ckpt", "zip-persid-unknown.ckpt", "zip-missing-storage.ckpt", "zip-huge-view.ckpt",
                 "zip-of-zip.ckpt", "zip-many-members.ckpt", "zip-bomb.ckpt"):
        f[name] = d / name
    torch.save([1, 2, 3], d / "torch-list.ckpt")
    torch.save({"state_dict": {"x": "not a tensor"}}, d / "torch-strings.ckpt")
    torch.save({"state_dict": {"generator.nothing": torch.zeros(3)}}, d / "torch-wrong-keys.ckpt")
    torch.save({"state_dict": {"a": torch.zeros(2, dtype=torch.complex64)}}, d / "torch-complex.ckpt")
    torch.save({"a": torch.zeros(4)}, d / "torch-legacy.ckpt", _use_new_zipfile_serialization=False)
    data = (d / "torch-wrong-keys.ckpt").read_bytes()
    put("torch-truncated.ckpt", data[: len(data) // 2])
    for name in ("torch-list.ckpt", "torch-strings.ckpt", "torch-wrong-keys.ckpt", "torch-complex.ckpt",
                 "torch-legacy.ckpt"):
        f[name] = d / name
    (d / "empty-folder").mkdir()
    f["empty-folder"] = d / "empty-folder"
    (d / "folder-of-junk").mkdir()
    (d / "folder-of-junk" / "best.ckpt").write_bytes(b"junk")
    (d / "folder-of-junk" / "G0000000.pt").write_bytes(b"junk")
    f["folder-of-junk"] = d / "folder-of-junk"
    os.mkfifo(d / "fifo.ckpt")
    f["fifo.ckpt"] = d / "fifo.ckpt"
    for name, target in (("dev-zero.ckpt", "/dev/zero"), ("dev-urandom.ckpt", "/dev/urandom"),
                         ("dangling.ckpt", str(d / "nowhere")), ("loop.ckpt", str(d / "loop.ckpt"))):
        (d / name).symlink_to(target)
        f[name] = d / name
    return f


def model_folders(d: Path, good: Path) -> dict[str, Path]:
    """~25 broken model folders, each a copy of a good one with one thing wrong."""
    import safetensors.torch
    import torch

    d.mkdir()
    out: dict[str, Path] = {}
    cfg = json.loads((good / "config.json").read_text())
    weights = safetensors.torch.load_file(str(good / "model.safetensors"))
    key = next(k for k, v in weights.items() if v.ndim == 4)

    def folder(name: str, config=None, tensors=None, raw_config: str | None = None, raw_weights: bytes | None = None):
        p = d / name
        p.mkdir()
        if raw_config is not None:
            (p / "config.json").write_text(raw_config)
        elif config is not None:
            (p / "config.json").write_text(json.dumps(config))
        if raw_weights is not None:
            (p / "model.safetensors").write_bytes(raw_weights)
        elif tensors is not None:
            safetensors.torch.save_file(tensors, str(p / "model.safetensors"))
        out[name] = p

    def changed(path: list, value) -> dict:
        c = json.loads(json.dumps(cfg))
        node = c
        for k in path[:-1]:
            node = node[k]
        node[path[-1]] = value
        return c

    folder("no-config", tensors=weights)
    folder("config-empty", tensors=weights, raw_config="")
    folder("config-list", tensors=weights, raw_config="[1, 2]")
    folder("config-invalid-json", tensors=weights, raw_config="{\"format\": ")
    folder("config-nested", tensors=weights, raw_config='{"a":' * 50000 + "1" + "}" * 50000)
    folder("config-huge-number", tensors=weights, raw_config=json.dumps(cfg).replace("{", '{"n": 1' + "0" * 5000 + ",", 1))
    folder("config-future-format", changed(["format"], "inpaintzoo/99"), weights)
    folder("config-no-spec", {k: v for k, v in cfg.items() if k != "spec"}, weights)
    folder("config-channels-text", changed(["spec", "model", "channels"], "three"), weights)
    folder("config-image-size-zero", changed(["spec", "model", "image_size"], [0, 0]), weights)
    folder("config-image-size-huge", changed(["spec", "model", "image_size"], [10**9, 10**9]), weights)
    folder("config-unknown-encoder", changed(["spec", "encoder", "type"], "nowhere.encoder"), weights)
    folder("config-unknown-key", changed(["spec", "encoder", "colour"], 3), weights)
    folder("config-encoder-huge", changed(["spec", "encoder", "channels"], [2**20, 2**20]), weights)
    folder("config-std-zero", changed(["spec", "model", "std"], [0.0]), weights)
    folder("no-weights", cfg)
    folder("weights-empty", cfg, raw_weights=b"")
    data = (good / "model.safetensors").read_bytes()
    folder("weights-truncated", cfg, raw_weights=data[: len(data) // 2])
    folder("weights-header-huge", cfg, raw_weights=struct.pack("<Q", 2**62) + b"{}")
    folder("weights-header-not-json", cfg, raw_weights=struct.pack("<Q", 8) + b"notjson!")
    header = json.dumps({"w": {"dtype": "F32", "shape": [1000, 1000], "data_offsets": [0, 4000000]}}).encode()
    folder("weights-offsets-beyond", cfg, raw_weights=struct.pack("<Q", len(header)) + header + b"\x00" * 16)
    folder("weights-dtype-f64", cfg, {k: v.double() for k, v in weights.items()})
    folder("weights-shape-mismatch", cfg, {**weights, key: torch.zeros(1, 1, 1, 1)})
    folder("weights-missing-one", cfg, {k: v for k, v in weights.items() if k != key})
    folder("weights-extra-one", cfg, {**weights, "extra.weight": torch.zeros(3)})
    folder("weights-nan", cfg, {k: v * float("nan") if v.is_floating_point() else v for k, v in weights.items()})
    folder("weights-inf", cfg, {k: v * float("inf") if v.is_floating_point() else v for k, v in weights.items()})
    folder("pickle-only", cfg)
    (out["pickle-only"] / "pytorch_model.bin").write_bytes(_pickle_global("os", "system", "true"))
    folder("weights-is-folder", cfg)
    (out["weights-is-folder"] / "model.safetensors").mkdir()
    folder("config-is-fifo", tensors=weights)
    os.mkfifo(out["config-is-fifo"] / "config.json")
    return out


def _png_header(w: int, h: int) -> bytes:
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    chunk = lambda t, b: struct.pack(">I", len(b)) + t + b + struct.pack(">I", zlib.crc32(t + b) & 0xFFFFFFFF)  # noqa: E731
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b"")


def images(d: Path) -> dict[str, Path]:
    d.mkdir()
    rng = np.random.default_rng(0)
    out: dict[str, Path] = {}

    def save(name: str, arr: np.ndarray, **kw) -> None:
        Image.fromarray(arr).save(d / name, **kw)
        out[name] = d / name

    def raw(name: str, data: bytes) -> None:
        (d / name).write_bytes(data)
        out[name] = d / name

    save("img.png", (rng.random((40, 48, 3)) * 255).astype(np.uint8))
    m = np.zeros((40, 48), np.uint8)
    m[10:25, 12:30] = 255
    save("mask.png", m)
    save("mask-black.png", np.zeros((40, 48), np.uint8))
    save("mask-white.png", np.full((40, 48), 255, np.uint8))
    save("mask-grey.png", (m // 2).astype(np.uint8))
    save("mask-small.png", m[:20, :20])
    save("mask-rgba-clear.png", np.zeros((40, 48, 4), np.uint8))
    save("img16.png", (rng.random((40, 48)) * 65535).astype(np.uint16))
    save("img-1x1.png", np.zeros((1, 1, 3), np.uint8))
    save("mask-1x1.png", np.full((1, 1), 255, np.uint8))
    Image.fromarray((rng.random((40, 48, 3)) * 255).astype(np.uint8)).convert("CMYK").save(d / "cmyk.jpg")
    out["cmyk.jpg"] = d / "cmyk.jpg"
    Image.fromarray((rng.random((40, 48, 3)) * 255).astype(np.uint8)).convert("P").save(d / "palette.png",
                                                                                           transparency=0)
    out["palette.png"] = d / "palette.png"
    frames = [Image.fromarray((rng.random((40, 48, 3)) * 255).astype(np.uint8)) for _ in range(3)]
    frames[0].save(d / "animated.gif", save_all=True, append_images=frames[1:])
    out["animated.gif"] = d / "animated.gif"
    raw("empty.png", b"")
    good = (d / "img.png").read_bytes()
    raw("truncated.png", good[: len(good) // 2])
    raw("text.png", b"just text")
    raw("bomb.png", _png_header(60000, 60000))
    raw("wide.png", _png_header(16384 * 4, 1))
    Image.fromarray((rng.random((40, 48, 3)) * 255).astype(np.uint8)).save(d / "photo.jpg", quality=90)
    jpg = (d / "photo.jpg").read_bytes()
    raw("truncated.jpg", jpg[: len(jpg) // 3])
    out["photo.jpg"] = d / "photo.jpg"
    (d / "a-folder.png").mkdir()
    out["a-folder.png"] = d / "a-folder.png"
    os.mkfifo(d / "fifo.png")
    out["fifo.png"] = d / "fifo.png"
    (d / "zero.png").symlink_to("/dev/zero")
    out["zero.png"] = d / "zero.png"
    return out


def specs(d: Path, tiny: str) -> dict[str, Path]:
    d.mkdir()
    out: dict[str, Path] = {}

    def put(name: str, text: str | bytes) -> None:
        p = d / f"{name}.toml"
        p.write_bytes(text if isinstance(text, bytes) else text.encode())
        out[name] = p

    put("invalid-toml", "[model\nname = 1")
    put("binary", bytes(range(256)) * 10)
    put("huge-string", 'x = "' + "a" * 5_000_000 + '"')
    put("deep-tables", "[" + ".".join(["a"] * 5000) + "]\nx = 1")
    put("deep-inline", "x = " + "[" * 20000 + "]" * 20000)
    put("only-model", "[model]\nname = \"x\"")
    put("unknown-encoder", tiny.replace('type = "core.conv_encoder"', 'type = "core.no_such_encoder"'))
    put("misspelt-key", tiny.replace("[encoder]", "[encoder]\nchanels = [8]"))
    put("channels-negative", tiny.replace("channels = [8, 16]", "channels = [-8, 16]"))
    put("channels-huge", tiny.replace("channels = [8, 16]", "channels = [1048576, 1048576]"))
    put("channels-allocatable", tiny.replace("channels = [8, 16]", "channels = [20000, 20000]"))  # 14 GB, allocatable
    put("image-size-huge", tiny.replace("image_size = [16, 16]", "image_size = [100000, 100000]", 1))
    put("batch-zero", tiny.replace("batch_size = 4", "batch_size = 0"))
    put("epochs-negative", tiny.replace("epochs = 1", "epochs = -1"))
    put("lr-text", tiny.replace("lr = 0.001", 'lr = "fast"'))
    put("duplicate-key", tiny.replace("[model]", "[model]\nname = \"a\"\nname = \"b\""))
    put("name-traversal", tiny.replace('name = "t"', 'name = "../../evil"'))
    put("latin1", "[model]\nname = \"caf\xe9\"\n".encode("latin-1"))
    put("dataset-missing-root", tiny.replace('type = "core.shapes"\nsize = 16', 'type = "core.image_folder"\nroot = "/nowhere/at/all"'))
    put("nan-weight", tiny.replace("[losses.l1]\ntype = \"core.l1\"", "[losses.l1]\ntype = \"core.l1\"\nweight = nan"))
    put("masks-min-over-max", tiny + '\n[data.masks]\ntype = "core.boxes"\nmin_size = 50\nmax_size = 10\n')
    return out


TINY = """[model]
name = "t"
image_size = [16, 16]
mean = [0.5]
std = [0.5]
size_multiple = 4
resize = "pad"

[encoder]
type = "core.conv_encoder"
channels = [8, 16]

[prior]
type = "core.identity"

[decoder]
type = "core.conv_decoder"
channels = [16, 8]

[losses.l1]
type = "core.l1"

[data.dataset]
type = "core.shapes"
size = 16
image_size = [16, 16]

[train]
epochs = 1
batch_size = 4
optimizer = { name = "adam", lr = 0.001 }
"""


def onnx_files(d: Path, good_onnx: Path) -> dict[str, Path]:
    import onnx

    d.mkdir()
    out: dict[str, Path] = {}
    (d / "garbage.onnx").write_bytes(b"\x08\x07garbage")
    (d / "empty.onnx").write_bytes(b"")
    out["garbage.onnx"], out["empty.onnx"] = d / "garbage.onnx", d / "empty.onnx"
    for name, edit in {"no-metadata": lambda m: m.metadata_props.clear(),
                       "contract-not-json": lambda m: _set_meta(m, "inpaintzoo.contract", "{nope"),
                       "contract-invalid": lambda m: _set_meta(m, "inpaintzoo.contract", '{"channels": -3}'),
                       "contract-a-list": lambda m: _set_meta(m, "inpaintzoo.contract", "[1, 2]"),
                       "graph-unknown": lambda m: _set_meta(m, "inpaintzoo.graph", "teleport")}.items():
        m = onnx.load(str(good_onnx))
        edit(m)
        onnx.save(m, str(d / f"{name}.onnx"))
        out[name] = d / f"{name}.onnx"
    (d / "folder.onnx").mkdir()
    out["folder.onnx"] = d / "folder.onnx"
    return out


def _set_meta(m, key: str, value: str) -> None:
    for p in m.metadata_props:
        if p.key == key:
            p.value = value


# -- the cases --------------------------------------------------------------------------------------------------------
def cases(root: Path) -> tuple[list[Case], Path]:
    py = [sys.executable, "-m", "inpaintzoo.cli"]
    marker = root / MARKER
    ck = checkpoints(root / "ckpt", marker)
    subprocess.run(py + ["build", str(_write(root / "tiny.toml", TINY)), "--out", str(root / "model")], check=True,
                   capture_output=True, env=_env(root / "home"))
    subprocess.run(py + ["export", "core-shapes-tiny", "-o", str(root / "good.onnx"), "--no-check"], check=True,
                   capture_output=True, env=_env(root / "home"))
    folders = model_folders(root / "models", root / "model")
    im = images(root / "img")
    sp = specs(root / "specs", TINY)
    ox = onnx_files(root / "onnx", root / "good.onnx")
    img, mask = str(im["img.png"]), str(im["mask.png"])
    out: list[Case] = []
    for conv in ("lama.big_lama", "aotgan.release", "deepfill.mmagic", "migan.release", "medfe.release"):
        for name, path in ck.items():
            out.append(Case("convert", f"{conv} {name}", ["convert", conv, str(path), "--out", "{w}/converted"]))
    for name in ("os-system.ckpt", "zip-os-system.ckpt", "zip-bomb.ckpt", "fifo.ckpt", "dev-zero.ckpt"):
        out.append(Case("fetch", f"fetch --source {name}", ["fetch", "lama-big", "--source", str(ck[name])]))
    for name, folder in folders.items():
        expect = "ok" if name == "weights-dtype-f64" else "refuse"  # the same numbers in double precision: loaded
        out.append(Case("model folder", f"inpaint {name}", ["inpaint", str(folder), img, mask, "-o", "{w}/o.png"],
                        expect))
        out.append(Case("model folder", f"eval {name}", ["eval", str(folder), "--n", "4"], expect))
        out.append(Case("model folder", f"export {name}", ["export", str(folder), "-o", "{w}/m.onnx"], expect))
    refuse_img = ["empty.png", "truncated.png", "text.png", "bomb.png", "wide.png", "truncated.jpg", "a-folder.png",
                  "fifo.png", "zero.png"]
    for name in refuse_img:
        out.append(Case("image", f"inpaint image {name}", ["inpaint", str(root / "model"), str(im[name]), mask, "-o",
                                                             "{w}/o.png"]))
        out.append(Case("image", f"inpaint mask {name}", ["inpaint", str(root / "model"), img, str(im[name]), "-o",
                                                            "{w}/o.png"]))
    for name in ("mask-black.png", "mask-grey.png", "mask-small.png", "mask-rgba-clear.png"):
        out.append(Case("image", f"inpaint mask {name}", ["inpaint", str(root / "model"), img, str(im[name]), "-o",
                                                            "{w}/o.png"]))
    for name, m in (("img16.png", mask), ("cmyk.jpg", mask), ("palette.png", mask), ("photo.jpg", mask),
                    ("img.png", str(im["mask-white.png"])), ("img-1x1.png", str(im["mask-1x1.png"]))):
        out.append(Case("image", f"inpaint ok {name}", ["inpaint", str(root / "model"), str(im[name]), m, "-o",
                                                          "{w}/o.png"], "ok"))
    out.append(Case("image", "inpaint animated gif", ["inpaint", str(root / "model"), str(im["animated.gif"]), mask,
                                                      "-o", "{w}/o.png"], "ok"))
    out.append(Case("image", "inpaint to a gif", ["inpaint", str(root / "model"), img, mask, "-o", "{w}/o.gif"]))
    for args in (["--mask-box", "1,2,3"], ["--mask-box", "-5,-5,10,10"], ["--mask-box", "a,b,c,d"],
                 ["--mask-box", "0,0,0,0"], ["--max-pixels", "0"], ["--max-pixels", "-1"], ["--batch-size", "0"],
                 ["--hd-crop-margin", "-1"], ["--threshold", "2"], ["--dtype", "int8"], ["--device", "tpu"],
                 ["--device", "cuda:7"], ["--workers", "-1"], ["--quality", "0"], ["--hd-strategy", "zoom"]):
        out.append(Case("options", "inpaint " + " ".join(args), ["inpaint", str(root / "model"), img, mask, "-o",
                                                                 "{w}/o.png", *args]))
    for dest, expect in (("{w}/missing/dir/o.png", "ok"), ("{w}/o.xyz", "refuse"), ("{w}", "ok"), (mask, "refuse"),
                         (img, "refuse")):  # a missing folder is made; a folder gets the image inside it
        out.append(Case("options", f"inpaint -o {dest.replace(str(root), '')}", ["inpaint", str(root / "model"), img,
                                                                                mask, "-o", dest], expect))
    for name, spec in sp.items():
        expect = "ok" if name == "dataset-missing-root" else "refuse"  # build reads no data; train must refuse
        out.append(Case("spec", f"build {name}", ["build", str(spec), "--out", "{w}/m"], expect))
        out.append(Case("spec", f"train {name}", ["train", str(spec), "--out", "{w}/r", "--steps", "1", "--quiet"]))
    for name, path in ox.items():
        out.append(Case("onnx", f"inpaint {name}", ["inpaint", str(path), img, mask, "-o", "{w}/o.png"]))
    for args in (["export", "core-shapes-tiny", "-o", "{w}/x.onnx", "--opset", "0"],
                 ["export", "core-shapes-tiny", "-o", "{w}/x.onnx", "--size", "0"],
                 ["export", "core-shapes-tiny", "-o", "{w}/x.onnx", "--dtype", "int4"],
                 ["export", "core-shapes-tiny", "-o", str(root / "good.onnx")],
                 ["export", str(root / "good.onnx"), "-o", "{w}/x.onnx"],
                 ["eval", str(root / "model"), "--metrics", ""], ["eval", str(root / "model"), "--metrics", "zzz*"],
                 ["eval", str(root / "model"), "--n", "0"],
                 ["train", str(sp["misspelt-key"].with_name("nothing.toml"))],
                 ["train", str(root / "tiny.toml"), "--max-minutes", "-1"],
                 ["train", str(root / "tiny.toml"), "--set", "train.epochs=1e400"],
                 ["train", str(root / "tiny.toml"), "--set", "nonsense"],
                 ["train", "--resume", str(root / "model")], ["train", "--resume", "{w}/nothing"],
                 ["masks", "--preset", "thick", "--size", "0", "-o", "{w}/m"],
                 ["masks", "--preset", "thick", "-n", "0", "-o", "{w}/m"],
                 ["masks", "--preset", "nope", "-o", "{w}/m"],
                 ["demo", "--port", "99999"], ["demo", "--host", "not a host"], ["demo", "no-such-model"],
                 ["push", str(root / "model"), "a/b/c"], ["push", str(folders["no-config"]), "org/name"],
                 ["fetch", "no-such-model"], ["fetch", "lama-big", "--source", "{w}/missing.zip"],
                 ["convert", "no.such_converter", img, "--out", "{w}/c"],
                 ["list", "--weights", "bogus"], ["components", "--kind", "bogus"],
                 ["spec", "no-such-zoo-model"], ["intervene", str(root / "model"), img, "--set", "a=1", "-o",
                                                  "{w}/o.png"]):
        out.append(Case("options", " ".join(a if not a.startswith(str(root)) else Path(a).name for a in args), args))
    out.append(Case("options", "eval --n beyond the split (a note, all images)", ["eval", str(root / "model"), "--n",
                                                                                 "100000000"], "ok"))
    return out, marker


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def _env(home: Path) -> dict:
    return {**os.environ, "HF_HUB_OFFLINE": "1", "INPAINTZOO_HOME": str(home), "OMP_NUM_THREADS": "1",
            "PYTHONWARNINGS": "ignore"}


def _digest(paths: list[Path]) -> dict[str, str]:
    out = {}
    for p in paths:
        try:
            if p.is_file() and not p.is_symlink() and p.stat().st_size < (64 << 20):
                out[str(p)] = hashlib.sha256(p.read_bytes()).hexdigest()
        except OSError:
            pass
    return out


def run_case(case: Case, root: Path, marker: Path, index: int) -> dict:
    work = root / "runs" / f"{index:04d}"
    work.mkdir(parents=True)
    (work / "w").mkdir()
    argv = [a.replace("{w}", str(work / "w")) for a in case.argv]
    inputs = [Path(a) for a in argv if a.startswith(str(root)) and not a.startswith(str(work))]
    before = _digest([p for p in inputs if p.exists()])
    started = time.perf_counter()
    with open(work / "stdout", "wb") as so, open(work / "stderr", "wb") as se:
        proc = subprocess.Popen([sys.executable, "-m", "inpaintzoo.cli", *argv], cwd=work / "w", stdout=so, stderr=se,
                                env=_env(work / "home"), start_new_session=True)
        hung, code, peak = False, None, 0
        while code is None:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)  # this child's own rusage: its peak memory
            if pid:
                code, peak = os.waitstatus_to_exitcode(status), usage.ru_maxrss * 1024
            elif time.perf_counter() - started > LIMIT_S:
                os.killpg(proc.pid, 9)
                _, status, usage = os.wait4(proc.pid, 0)
                hung, code, peak = True, os.waitstatus_to_exitcode(status), usage.ru_maxrss * 1024
            else:
                time.sleep(0.05)
        proc.returncode = code
    seconds = time.perf_counter() - started
    err = (work / "stderr").read_bytes()
    text = err.decode(errors="replace")
    lines = [l for l in text.splitlines() if l.strip() and not l.startswith("warning:")]
    left = sorted(str(p.relative_to(work / "w")) for p in (work / "w").rglob("*"))
    verdicts = []
    if marker.exists():
        verdicts.append("code ran")
    if hung:
        verdicts.append("hang")
    elif "Traceback (most recent call last)" in text or proc.returncode not in (0, 2):
        verdicts.append("traceback")
    if case.expect == "refuse" and not hung:
        if proc.returncode == 0:
            verdicts.append("silent")
        elif proc.returncode == 2:  # one error line per problem (a spec with three wrong keys gets three)
            if not lines or not all(line.startswith("error:") for line in lines):
                verdicts.append("lines")
            if left:
                verdicts.append("leftover")
    if case.expect == "ok" and proc.returncode != 0 and not hung:
        verdicts.append("refused")
    if _digest([Path(p) for p in before]) != before:
        verdicts.append("leftover")  # an input changed
    if peak > GIB:
        verdicts.append("memory")
    return {"family": case.family, "case": case.name, "expect": case.expect, "exit": proc.returncode,
            "seconds": round(seconds, 2), "first_line": (lines[0] if lines else text.strip()[:200])[:240],
            "left": left[:5], "peak_mb": round(peak / 1e6, 1), "verdicts": verdicts}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--only", help="families whose name contains this")
    ap.add_argument("--name", default="hostile_sweep")
    a = ap.parse_args()
    root = Path(tempfile.mkdtemp(prefix="hostile-"))
    try:
        all_cases, marker = cases(root)
        todo = [c for c in all_cases if not a.only or a.only in c.family]
        print(f"{len(todo)} cases", flush=True)

        def one(ic: tuple[int, Case]) -> dict:
            i, c = ic
            row = run_case(c, root, marker, i)
            print(f"{i:4d} {row['family']:12s} {row['case'][:60]:60s} exit {row['exit']} {row['seconds']:5.1f}s "
                  f"{row['peak_mb']:6.0f} MB {','.join(row['verdicts']) or 'ok'}", flush=True)
            return row

        with ThreadPoolExecutor(a.jobs) as pool:
            rows = list(pool.map(one, enumerate(todo)))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    bad = [r for r in rows if r["verdicts"]]
    summary = {v: sum(v in r["verdicts"] for r in rows) for v in
               ("traceback", "hang", "memory", "silent", "lines", "leftover", "code ran", "refused")}
    table = [{"family": f, "cases": sum(r["family"] == f for r in rows),
              "failing": sum(bool(r["verdicts"]) for r in rows if r["family"] == f),
              "slowest_s": max(r["seconds"] for r in rows if r["family"] == f),
              "peak_mb": max(r["peak_mb"] for r in rows if r["family"] == f)}
             for f in dict.fromkeys(r["family"] for r in rows)]
    notes = (f"{len(rows)} cases, {len(bad)} failing: " + ", ".join(f"{k} {v}" for k, v in summary.items()) + ". "
             + ("Failing: " + "; ".join(f"{r['case']} ({','.join(r['verdicts'])}: {r['first_line'][:120]})" for r in bad)
                if bad else "No case failed.")
             + " Command: python benchmarks/hostile_sweep.py")
    write(a.name, table, ["family", "cases", "failing", "slowest_s", "peak_mb"], notes,
          extra={"summary": summary, "cases": rows})
    print(notes)


if __name__ == "__main__":
    main()
