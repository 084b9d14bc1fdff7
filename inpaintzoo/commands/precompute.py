"""`inpaintzoo precompute SPEC`: compute the losses' per-image data targets (e.g. MEDFE's RTV structure images)
for a training set ahead of training, with DataLoader workers, into the cache training reads from."""
from __future__ import annotations

import argparse
import time

from . import positive_int


def _add(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("precompute", help="compute and cache the per-image targets a spec's losses need (e.g. RTV)")
    p.add_argument("spec", help="a spec.toml or a zoo name")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a spec value (repeatable)")
    p.add_argument("--data", help="data root (shorthand for --set data.dataset.root=DIR)")
    p.add_argument("--split", default="train", choices=["train", "val", "test", "all"], help="data split (default train)")
    p.add_argument("--workers", type=positive_int, help="worker processes (default: all cores but one)")


def cmd_precompute(a: argparse.Namespace) -> int:
    import os

    from torch.utils.data import DataLoader

    from .. import plugins
    from ..build import build_model, data_targets
    from ..errors import InputError
    from ..overrides import parse_sets, resolve, shorthands
    from ..paths import targets_dir
    from ..spec import validate
    from ..train.data import TrainItems, build_dataset, build_masks, targets_key
    from ..zoo import resolve_spec

    reg = plugins.registry()
    raw, source = resolve_spec(a.spec)
    spec = validate(resolve(raw, {**shorthands(data=a.data), **parse_sets(a.set)}), reg, source)
    model = build_model(spec, reg)
    targets = data_targets(model.train_components(reg, check=False), model.contract)
    if not targets:
        raise InputError(f"{a.spec}: its losses ask for no per-image targets; nothing to precompute")
    ds = build_dataset(spec, reg, a.split)
    if getattr(ds, "random_augmentation", False):
        raise InputError(f"{a.spec}: the data set augments at random, so targets are computed per item while training "
                         f"and cannot be cached ahead")
    items = TrainItems(ds, build_masks(spec, reg), spec.train.seed, targets, cache_root=targets_dir())
    workers = a.workers or max(1, (os.cpu_count() or 2) - 1)
    loader = DataLoader(range(len(ds)), batch_size=1, num_workers=workers, collate_fn=lambda k: items[k[0]])
    t0 = time.perf_counter()
    for i, _ in enumerate(loader, 1):
        if i % 100 == 0 or i == len(ds):
            print(f"{i}/{len(ds)} images ({(time.perf_counter() - t0) / i:.3f} s/image with {workers} workers)", flush=True)
    names = ", ".join(f"{t.name} → {targets_dir() / targets_key(t, ds)}" for t in targets)
    print(f"cached {len(ds)} image(s): {names}")
    return 0


COMMANDS = {"precompute": (_add, cmd_precompute)}
