"""`inpaintzoo masks`: write a fixed, seeded evaluation mask set with its checksums."""
from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

PRESETS = {
    "center": ("core.center", {}),
    "boxes": ("core.boxes", {}),
    "thin": ("core.lama", {"preset": "thin"}),
    "medium": ("core.lama", {"preset": "medium"}),
    "thick": ("core.lama", {"preset": "thick"}),
    "freeform": ("core.freeform", {}),
}


def mask_generator(preset: str):
    from .. import plugins
    from ..errors import InputError, did_you_mean

    reg = plugins.registry()
    if preset in PRESETS:
        name, cfg = PRESETS[preset]
        return reg.get(name, "masks").build(cfg)
    if preset in reg and reg.get(preset).kind == "masks":
        return reg.get(preset).build()
    raise InputError(f"--preset {preset}: unknown; expected one of {', '.join(PRESETS)} or a registered mask generator"
                     f"{did_you_mean(preset, list(PRESETS) + reg.names(kind='masks'))}")


def _add(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("masks", help="write a seeded mask set (PNG, 255 = hole) and its checksums")
    p.add_argument("--preset", required=True, help=f"{', '.join(PRESETS)} or a registered masks.* name")
    p.add_argument("--size", type=int, default=256)
    p.add_argument("-n", type=int, default=100)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("-o", "--out", required=True)


def write_mask_set(preset: str, size: int, n: int, seed: int, out: Path) -> dict:
    import torch
    from PIL import Image

    from ..artifact import atomic_dir

    gen = mask_generator(preset)
    g = torch.Generator().manual_seed(seed)
    manifest: dict = {"preset": preset, "size": size, "n": n, "seed": seed, "files": {}}

    def write(tmp: Path) -> None:
        for i in range(n):
            m = gen(1, size, size, g)[0, 0]
            name = f"{i:05d}.png"
            arr = (m * 255).byte().numpy()
            Image.fromarray(arr).save(tmp / name)
            manifest["files"][name] = hashlib.sha256(arr.tobytes()).hexdigest()
        manifest["checksum"] = hashlib.sha256("".join(manifest["files"].values()).encode()).hexdigest()
        (tmp / "masks.json").write_text(json.dumps(manifest, indent=1) + "\n")

    atomic_dir(out, write)
    return manifest


def cmd_masks(a: argparse.Namespace) -> int:
    m = write_mask_set(a.preset, a.size, a.n, a.seed, Path(a.out))
    print(f"wrote {a.n} masks to {a.out} (checksum {m['checksum'][:16]})")
    return 0


COMMANDS = {"masks": (_add, cmd_masks)}
