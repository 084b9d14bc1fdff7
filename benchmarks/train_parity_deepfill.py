"""DeepFill v2's training against mmagic's own code: each loss and the discriminator, and one whole iteration.

    python benchmarks/train_parity_deepfill.py --mmagic /tmp/mmco --photos /tmp/in1k

`--mmagic`: a folder holding mmagic's `mmagic/` package and `configs/` (its PyPI wheel unpacked: `mmagic/.mim/configs`
linked as `configs`), with mmengine and mmcv-lite installed. mmagic's modules are imported file by file through a
stand-in for its registry (parity_deepfill.py): the generator (`DeepFillEncoderDecoder`), the discriminator
(`MultiLayerDiscriminator` with spectral norm, built from `base_deepfillv2.py`'s `disc`), `GANLoss('hinge', 0.1)`
and `L1Loss` (its masked mean). mmagic's `TwoStageInpaintor.train_step` is re-enacted with those modules (its
model wrapper and data preprocessor need MMEngine's runner): the discriminator on the detached composite ‖ mask
(fake, then real, each backward, one Adam step), then the generator's six terms (L1 in and outside the hole for
both stages, the hinge term ×0.1 with the discriminator frozen), one Adam step; Adam 1e-4 for both, as its config.

Both networks are written as mmagic's checkpoint (`generator.*` beside `disc.*`), converted with `inpaintzoo convert`
and trained through inpaintzoo's Trainer as `inpaintzoo train deepfillv2-places --init` does. Photos: two ImageNet
sample photos (EliSchwartz/imagenet-sample-images) at 128², LaMa's thick masks.
"""
from __future__ import annotations

import argparse
import importlib.util
import runpy
import sys
import tempfile
import types
from pathlib import Path

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).parent))
from _common import write  # noqa: E402
from parity_deepfill import mmagic_encdec, randomise  # noqa: E402
from train_parity import compare_params, discriminator_rows, masks, rel, speed_rows  # noqa: E402

PHOTOS = ["n01440764_tench.JPEG", "n09472597_volcano.JPEG"]


def _load(checkout: Path, rel_path: str) -> types.ModuleType:
    dotted = "mmagic.models." + rel_path[:-3].replace("/", ".")
    parent = dotted.rsplit(".", 1)[0]
    if parent not in sys.modules:
        sys.modules[parent] = types.ModuleType(parent)
        sys.modules[parent].__path__ = []
    spec = importlib.util.spec_from_file_location(dotted, checkout / "mmagic/models" / rel_path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[dotted] = mod
    spec.loader.exec_module(mod)
    return mod


def mmagic_training(checkout: Path):
    """mmagic's generator, discriminator and losses, built from base_deepfillv2.py."""
    if not hasattr(np, "bool8"):
        np.bool8 = np.bool_  # mmcv-lite's import on numpy 2
    encdec = mmagic_encdec(checkout)  # registers the stand-in registry as mmagic.registry.MODELS
    registry = sys.modules["mmagic.registry"].MODELS
    sys.modules["mmagic.models.archs"].LinearModule = _load(checkout, "archs/linear_module.py").LinearModule
    _load(checkout, "archs/multi_layer_disc.py")
    _load(checkout, "losses/loss_wrapper.py")
    _load(checkout, "losses/pixelwise_loss.py")
    _load(checkout, "losses/gan_loss.py")
    cfg = runpy.run_path(str(checkout / "configs/_base_/models/base_deepfillv2.py"))["model"]
    return encdec, registry.build(cfg["disc"]), registry.build(cfg["loss_gan"]), registry.build(cfg["loss_l1_hole"]), \
        registry.build(cfg["loss_l1_valid"])


def photos(folder: Path, size: int) -> torch.Tensor:
    out = []
    for name in PHOTOS:
        im = Image.open(folder / name).convert("RGB")
        s = min(im.size)
        im = im.crop(((im.width - s) // 2, (im.height - s) // 2, (im.width + s) // 2, (im.height + s) // 2))
        out.append(torch.from_numpy(np.array(im.resize((size, size), Image.BICUBIC))).permute(2, 0, 1).float() / 255)
    return torch.stack(out)


def run(checkout: Path, photo_dir: Path, work: Path, size: int, speed: bool = True) -> list[dict]:
    from inpaintzoo import plugins, zoo
    from inpaintzoo.build import build_model
    from inpaintzoo.cli import main
    from inpaintzoo.interfaces import LatentOutput, LossContext
    from inpaintzoo.overrides import resolve
    from inpaintzoo.spec import validate
    from inpaintzoo.train.loop import RunOptions, Trainer
    from inpaintzoo_deepfill.convert import DeepFillConverter as MMagicConverter

    encdec, disc, loss_gan, l1_hole, l1_valid = mmagic_training(checkout)
    randomise(encdec, 0)
    torch.manual_seed(3)
    disc.train()
    encdec.train()
    state = {**{f"generator.{k}": v for k, v in encdec.state_dict().items()},
             **{f"disc.{k}": v for k, v in disc.state_dict().items()}}
    torch.save({"meta": {"mmagic": "1.x"}, "state_dict": state}, work / "deepfillv2.pth")
    folder = work / "deepfill-converted"
    assert main(["convert", "deepfillv2-places", str(work / "deepfillv2.pth"), "--out", str(folder)]) == 0
    assert (folder / "discriminator.safetensors").is_file()

    for i in range(3):  # the image folder the Trainer insists on (each step below is given its batch)
        Image.fromarray((photos(photo_dir, size)[i % 2].permute(1, 2, 0).numpy() * 255).astype(np.uint8)).save(
            work / f"p{i}.png")
    reg = plugins.registry()
    raw = resolve(zoo.get("deepfillv2-places").spec(), {
        "model.image_size": [size, size], "data.dataset.root": str(work), "data.dataset.split": "all",
        "data.dataset.val_fraction": 0.0, "train.batch_size": 2, "train.num_workers": 0})
    spec = validate(raw, reg, "deepfillv2-places")
    model = build_model(spec, reg, check=False)
    parts = model.train_components(reg, check=False)
    conv = MMagicConverter(MMagicConverter.Config())
    d0 = {k: v.clone() for k, v in disc.state_dict().items()}
    dmap = conv.discriminator_mapping([f"disc.{k}" for k in d0]).renamed
    to_ours = {theirs.removeprefix("disc."): ours for ours, theirs in dmap.items()}

    def fresh_d() -> None:  # each train-mode call advances the spectral norms' power iteration
        disc.load_state_dict(d0)
        parts.discriminator.load_state_dict({to_ours[k]: v for k, v in d0.items()})

    image01, mask = photos(photo_dir, size), masks(2, size)
    gt = (image01.flip(1) * 255 - 127.5) / 127.5  # mmagic's data preprocessor: BGR, (u8 − 127.5) / 127.5
    masked = gt * (1 - mask)
    target = gt.flip(1)  # ours: RGB, the same numbers
    g = torch.Generator().manual_seed(1)
    stage1, stage2 = (torch.rand(2, 3, size, size, generator=g) * 1.6 - 0.8 for _ in range(2))
    rows: list[dict] = []

    def context(s1: torch.Tensor, s2: torch.Tensor) -> LossContext:
        """Our loss context from mmagic's BGR stage outputs: the refined image RGB, the coarse one as the encoder's
        second output (network order)."""
        pred = s2.flip(1)
        return LossContext(target, mask, pred, pred, torch.where(mask.bool(), pred, target), LatentOutput(pred),
                           [pred, s1], model=model, discriminator=parts.discriminator)

    def both(name: str, release_fn, ours_fn, which: int) -> None:
        grads, values = [], []
        for fn in (release_fn, ours_fn):
            s1, s2 = stage1.clone().requires_grad_(True), stage2.clone().requires_grad_(True)
            v = fn(s1, s2)
            values.append(float(v))
            grads.append(torch.autograd.grad(v, (s1, s2)[which])[0])
        rows.append({"release": "DeepFill v2", "what": name,
                     "value_rel": abs(values[0] - values[1]) / max(abs(values[0]), 1e-12), "grad_rel": rel(grads[1], grads[0])})
        print(rows[-1], flush=True)

    for stage, which in (("stage 1 (coarse)", 0), ("stage 2 (refined)", 1)):
        prefix = "coarse_" if which == 0 else ""
        both(f"L1 in the hole, {stage}", lambda s1, s2, w=which: l1_hole((s1, s2)[w], gt, weight=mask),
             lambda s1, s2, p=prefix: parts.losses[f"{p}l1_hole"](context(s1, s2)), which)
        both(f"L1 outside the hole, {stage}", lambda s1, s2, w=which: l1_valid((s1, s2)[w], gt, weight=1 - mask),
             lambda s1, s2, p=prefix: parts.losses[f"{p}l1_valid"](context(s1, s2)), which)
    fresh_d()
    both("hinge, generator term ×0.1",
         lambda s1, s2: loss_gan(disc(torch.cat([masked * (1 - mask) + s2 * mask, mask], 1)), True, is_disc=False),
         lambda s1, s2: 0.1 * parts.losses["adversarial"](context(s1, s2)), 1)
    fresh_d()

    def release_d_loss() -> torch.Tensor:
        fake = masked * (1 - mask) + stage2 * mask
        return loss_gan(disc(torch.cat([fake, mask], 1)), False, is_disc=True) + \
            loss_gan(disc(torch.cat([gt, mask], 1)), True, is_disc=True)

    rows.append(discriminator_rows("DeepFill v2", "hinge discriminator loss (fake, then real)", release_d_loss, disc,
                                   lambda: parts.losses["adversarial"].discriminator_loss(context(stage1, stage2),
                                                                                          parts.discriminator),
                                   parts.discriminator, to_ours.get))
    fresh_d()
    with torch.no_grad():
        rows.append({"release": "DeepFill v2", "what": "SN-PatchGAN discriminator scores (train mode, one power "
                     "iteration)", "value_rel": rel(parts.discriminator(gt, mask), disc(torch.cat([gt, mask], 1))),
                     "grad_rel": None})
    print(rows[-1], flush=True)

    g0 = {k: v.clone() for k, v in encdec.state_dict().items()}

    def release_iteration() -> None:
        """TwoStageInpaintor.train_step's body with disc_step 1, on mmagic's modules."""
        encdec.load_state_dict(g0)
        disc.load_state_dict(d0)
        opt_g = torch.optim.Adam(encdec.parameters(), lr=1e-4)
        opt_d = torch.optim.Adam(disc.parameters(), lr=1e-4)
        s1, s2 = encdec(torch.cat([masked, torch.ones_like(mask), mask], 1))
        fake2 = masked * (1 - mask) + s2 * mask
        for p in disc.parameters():
            p.requires_grad_(True)
        opt_d.zero_grad()
        loss_gan(disc(torch.cat([fake2.detach(), mask], 1)), False, is_disc=True).backward()
        loss_gan(disc(torch.cat([gt, mask], 1)), True, is_disc=True).backward()
        opt_d.step()
        for p in disc.parameters():
            p.requires_grad_(False)
        losses = [l1_hole(s1, gt, weight=mask), l1_valid(s1, gt, weight=1 - mask), l1_hole(s2, gt, weight=mask),
                  l1_valid(s2, gt, weight=1 - mask), loss_gan(disc(torch.cat([fake2, mask], 1)), True, is_disc=False)]
        opt_g.zero_grad()
        sum(losses).backward()
        opt_g.step()
        for p in disc.parameters():
            p.requires_grad_(True)

    def our_trainer(channels_last: bool) -> Trainer:
        return Trainer(validate(resolve(raw, {"train.channels_last": channels_last}), reg, "deepfillv2-places"),
                       RunOptions(out=work / "run", init=str(folder), val_data=str(work), tensorboard=False))

    back = {theirs.removeprefix("generator."): ours
            for ours, theirs in conv.mapping([f"generator.{k}" for k in g0]).renamed.items()}
    release_iteration()
    rel_g = {k: v.clone() for k, v in encdec.state_dict().items()}
    rel_d = {k: v.clone() for k, v in disc.state_dict().items()}
    for layout in ("contiguous (the release's)", "channels_last (inpaintzoo's training default)"):
        tr = our_trainer(layout.startswith("channels"))
        tr.train_step({"image": image01.clone(), "mask": mask.clone()})
        ga, gr, gn = compare_params(tr.model.state_dict(), rel_g, back.get)
        da, dr, dn = compare_params(tr.parts.discriminator.state_dict(), rel_d, to_ours.get)
        rows.append({"release": "DeepFill v2", "what": f"one iteration, {layout}: generator ({gn} tensors)",
                     "value_rel": gr, "abs": ga})
        rows.append({"release": "DeepFill v2", "what": f"one iteration, {layout}: discriminator ({dn} tensors, "
                     f"spectral-norm vectors included)", "value_rel": dr, "abs": da})
        print(rows[-2], rows[-1], sep="\n", flush=True)
    batch = {"image": image01.clone(), "mask": mask.clone()}
    variants = {"release (TwoStageInpaintor.train_step's body)": release_iteration}
    for name, cl in (("ours, contiguous (exact)", False), ("ours, channels_last", True)):
        tr = our_trainer(cl)
        variants[name] = (lambda tr=tr: tr.train_step(dict(batch)))
    return rows + (speed_rows("DeepFill v2", variants, size) if speed else [])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mmagic", type=Path, required=True, help="mmagic's package and configs (see above)")
    ap.add_argument("--photos", type=Path, required=True, help="the ImageNet sample photos")
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--no-speed", action="store_true", help="the exactness rows only")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        rows = run(a.mmagic, a.photos, Path(d), a.size, speed=not a.no_speed)
    write("train_parity_deepfill", rows, ["release", "what", "value_rel", "grad_rel", "abs", "seconds", "speedup",
                                          "peak_mb"],
          notes="value_rel: |release − ours| / |release| (for parameters: the largest difference over a tensor's "
                "largest value); grad_rel: the same for the gradient with respect to the stage's output. Random "
                "weights (parity_deepfill.py's scaling), two ImageNet sample photos at 128², LaMa's thick masks. "
                "Command: python benchmarks/train_parity_deepfill.py --mmagic /tmp/mmco --photos /tmp/in1k")


if __name__ == "__main__":
    main()
