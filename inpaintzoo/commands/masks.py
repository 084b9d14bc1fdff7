"""`inpaintzoo masks`: write a fixed, seeded evaluation mask set with its checksums."""
from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

from . import positive_int, seed, side

PRESETS = {
    "center": ("core.center", {}),
    "boxes": ("core.boxes", {}),
    "freeform": ("core.freeform", {}),
    **{f"random_{k}_{r}": ("core.lama", {"preset": k, "resolution": r}) for k in ("thin", "medium", "thick") for r in (256, 512)},
}
LAMA_SHORT = ("thin", "medium", "thick")  # LaMa's configuration for the size: 512 from 512 px up, else 256


def preset_names() -> list[str]:
    return list(PRESETS) + list(LAMA_SHORT)


def mask_generator(preset: str, size: int = 256):
    from .. import plugins
    from ..errors import InputError, did_you_mean

    reg = plugins.registry()
    if preset in LAMA_SHORT:
        preset = f"random_{preset}_{512 if size >= 512 else 256}"
    if preset in PRESETS:
        name, cfg = PRESETS[preset]
        return reg.get(name, "masks").build(cfg)
    if preset in reg and reg.get(preset).kind == "masks":
        return reg.get(preset).build()
    raise InputError(f"--preset {preset}: unknown; expected one of {', '.join(preset_names())} or a registered mask "
                     f"generator{did_you_mean(preset, preset_names() + reg.names(kind='masks'))}")


def _add(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("masks", help="write a seeded mask set (PNG, 255 = hole) and its checksums")
    p.add_argument("--preset", required=True, help=f"{', '.join(preset_names())} (thin/medium/thick: LaMa's configuration "
                   f"for the size) or a registered masks.* name")
    p.add_argument("--size", type=side, default=256, help="mask side in pixels (default 256)")
    p.add_argument("-n", type=positive_int, default=100, help="number of masks (default 100)")
    p.add_argument("--seed", type=seed, default=0, help="random seed (default 0)")
    p.add_argument("-o", "--out", required=True, help="output folder (must not exist)")


def write_mask_set(preset: str, size: int, n: int, seed: int, out: Path, progress: bool = False) -> dict:
    import torch
    from PIL import Image

    from ..artifact import atomic_dir
    from ..progressbar import steps

    gen = mask_generator(preset, size)
    g = torch.Generator().manual_seed(seed)
    manifest: dict = {"preset": preset, "size": size, "n": n, "seed": seed, "files": {}}

    def write(tmp: Path) -> None:
        with steps(n if progress else 0, "drawing masks", "masks") as advance:
            for i in range(n):
                m = gen(1, size, size, g)[0, 0]
                name = f"{i:05d}.png"
                arr = (m * 255).byte().numpy()
                Image.fromarray(arr).save(tmp / name)
                manifest["files"][name] = hashlib.sha256(arr.tobytes()).hexdigest()
                advance()
        manifest["checksum"] = hashlib.sha256("".join(manifest["files"].values()).encode()).hexdigest()
        (tmp / "masks.json").write_text(json.dumps(manifest, indent=1) + "\n")

    atomic_dir(out, write)
    return manifest


def cmd_masks(a: argparse.Namespace) -> int:

    from ..errors import InputError

    out = Path(a.out)
    if out.exists():
        raise InputError(f"-o {a.out}: {'a file' if not out.is_dir() else 'the folder'} exists; choose a new folder name")
    for anc in out.parents:
        if anc.exists():
            if not anc.is_dir():
                raise InputError(f"-o {a.out}: {anc} is a file, not a folder")
            break
    mask_generator(a.preset, a.size)  # an unknown preset is reported before anything is written
    m = write_mask_set(a.preset, a.size, a.n, a.seed, out, progress=True)
    print(f"wrote {a.n} masks to {a.out} (checksum {m['checksum'][:16]})")
    return 0


COMMANDS = {"masks": (_add, cmd_masks)}
