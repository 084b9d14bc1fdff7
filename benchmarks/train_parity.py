"""Training exactness against the releases' own code: each loss and discriminator, and one whole iteration.

    git clone <advimman/lama> /tmp/lama; git clone <researchmm/AOT-GAN-for-Inpainting> /tmp/aotgan
    python benchmarks/train_parity.py --lama /tmp/lama --aotgan /tmp/aotgan

Random weights (the generator's batch norms calibrated and its output layer scaled so the sigmoid/tanh is in range),
real photographs from AOT-GAN's repository (its Places2 example and a photo of its logo examples), LaMa's and
AOT-GAN's own modules imported from the checkouts (what they import and these steps do not use is stubbed:
Lightning, kornia, the evaluators, the data sets). Both releases' checkpoints are written in their layouts (LaMa's
`big-lama-with-discr`-style Lightning checkpoint with generator and discriminator, AOT-GAN's G/D files), converted
with `inpaintzoo convert`, and trained through inpaintzoo's Trainer as `inpaintzoo train --init` does, from the
release-compatible settings (LaMa: `resnet_pl.bn = 'batch'`; AOT-GAN: `mode = 'release'`, `release_gradients = true`,
`share = false` for style and perceptual, whose shared VGG pass sums the gradients in another order); the speed rows
add AOT-GAN with the shared pass.

- per loss: the value and its gradient with respect to the generator's output, release against ours (relative);
- per discriminator: the scores on the same images;
- one iteration (generator and discriminator step, each release's order): every parameter after the Adam steps.
LaMa's iteration re-enacts Lightning 1.2.9's loop around the release's `_do_step` (Lightning itself does not run on
this torch): optimiser 0 (generator) then 1 (discriminator), each `_do_step`, backward, gradient norm clipped to 1,
step. AOT-GAN's is its trainer's loop body with its modules.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
import types
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import nn

sys.path.insert(0, str(Path(__file__).parent))
from _common import write  # noqa: E402
from parity_lama import randomise, save_lightning_zip  # noqa: E402


def photos(aotgan: Path, size: int, n: int = 2) -> torch.Tensor:
    """Centre squares of the release repository's example photographs, resized to size², in [0, 1]."""
    files = [aotgan / "examples/object/image/alcove_00003905.png", aotgan / "examples/logos/image/252027220.jpg",
             aotgan / "examples/face/image/imgHQ02076.png"][:n]
    out = []
    for f in files:
        im = Image.open(f).convert("RGB")
        s = min(im.size)
        im = im.crop(((im.width - s) // 2, (im.height - s) // 2, (im.width + s) // 2, (im.height + s) // 2))
        out.append(torch.from_numpy(np.array(im.resize((size, size), Image.BICUBIC))).permute(2, 0, 1).float() / 255)
    return torch.stack(out)


def masks(n: int, size: int) -> torch.Tensor:
    from inpaintzoo.data.masks import LamaConfig, LamaMask

    return LamaMask(LamaConfig(preset="thick", resolution=256))(n, size, size, torch.Generator().manual_seed(3))


def rel(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).abs().max() / b.abs().max().clamp_min(1e-12))


def compare_params(ours: dict[str, torch.Tensor], theirs: dict[str, torch.Tensor], rename) -> tuple[float, float, int]:
    """max abs and max relative (to the tensor's scale) difference over every float tensor `rename` maps."""
    worst_abs = worst_rel = 0.0
    n = 0
    for k, v in theirs.items():
        mine = rename(k)
        if mine is None or not v.is_floating_point():
            continue
        d = (ours[mine].float() - v.float()).abs().max().item()
        worst_abs = max(worst_abs, d)
        worst_rel = max(worst_rel, d / max(v.float().abs().max().item(), 1e-12))
        n += 1
    return worst_abs, worst_rel, n


def discriminator_rows(release: str, name: str, release_fn, release_d: nn.Module, ours_fn, ours_d: nn.Module,
                       rename) -> dict:
    """A discriminator loss: its value, and its gradient with respect to every discriminator parameter."""
    v1 = release_fn()
    g1 = dict(zip([k for k, _ in release_d.named_parameters()], torch.autograd.grad(v1, list(release_d.parameters()))))
    v2 = ours_fn()
    g2 = dict(zip([k for k, _ in ours_d.named_parameters()], torch.autograd.grad(v2, list(ours_d.parameters()))))
    worst = max(rel(g2[rename(k)], g) for k, g in g1.items())
    row = {"release": release, "what": name + " (gradient: the discriminator's parameters)",
           "value_rel": abs(float(v1) - float(v2)) / max(abs(float(v1)), 1e-12), "grad_rel": worst}
    print(row, flush=True)
    return row


# -- LaMa -----------------------------------------------------------------------------------------------------------
LAMA_FOURIER = dict(input_nc=4, output_nc=3, ngf=64, n_downsampling=3, n_blocks=9, add_out_act="sigmoid",
                    init_conv_kwargs=dict(ratio_gin=0, ratio_gout=0, enable_lfu=False),
                    downsample_conv_kwargs=dict(ratio_gin=0, ratio_gout=0, enable_lfu=False),
                    resnet_conv_kwargs=dict(ratio_gin=0.75, ratio_gout=0.75, enable_lfu=False))


def lama_modules(checkout: Path):
    class LightningModule(nn.Module):
        def save_hyperparameters(self, *a, **k):
            pass

    stubs = {
        "pytorch_lightning": {"LightningModule": LightningModule, "seed_everything": lambda *a, **k: None},
        "kornia": {}, "kornia.geometry": {}, "kornia.geometry.transform": {"rotate": lambda *a, **k: None},
        "kornia.constants": {"SamplePadding": None}, "kornia.augmentation": {"RandomAffine": None, "CenterCrop": None},
        "saicinpainting.evaluation": {"make_evaluator": lambda **k: None},
        "saicinpainting.training.data.datasets": {"make_constant_area_crop_params": None,
                                                  "make_default_train_dataloader": None,
                                                  "make_default_val_dataloader": None},
        "saicinpainting.training.visualizers": {"make_visualizer": lambda **k: None},
    }
    for name, attrs in stubs.items():
        mod = sys.modules.setdefault(name, types.ModuleType(name))
        for k, v in attrs.items():
            setattr(mod, k, v)
    sys.path.insert(0, str(checkout))
    import saicinpainting.training.losses.adversarial as adversarial
    import saicinpainting.training.losses.feature_matching as fm
    import saicinpainting.training.losses.perceptual as perceptual
    from models.ade20k.base import ModelBuilder
    from saicinpainting.training.modules.pix2pixhd import NLayerDiscriminator
    from saicinpainting.training.trainers.default import DefaultInpaintingTrainingModule

    return types.SimpleNamespace(adversarial=adversarial, fm=fm, perceptual=perceptual, ModelBuilder=ModelBuilder,
                                 NLayerDiscriminator=NLayerDiscriminator, Module=DefaultInpaintingTrainingModule)


def lama_config(weights_path: Path):
    from omegaconf import OmegaConf

    return OmegaConf.create({
        "generator": {"kind": "ffc_resnet", **LAMA_FOURIER},
        "discriminator": {"kind": "pix2pixhd_nlayer", "input_nc": 3, "ndf": 64, "n_layers": 4},
        "losses": {"l1": {"weight_missing": 0, "weight_known": 10}, "perceptual": {"weight": 0},
                   "adversarial": {"kind": "r1", "weight": 10, "gp_coef": 0.001, "mask_as_fake_target": True,
                                   "allow_scale_mask": True},
                   "feature_matching": {"weight": 100}, "resnet_pl": {"weight": 30, "weights_path": str(weights_path)}},
        "optimizers": {"generator": {"kind": "adam", "lr": 0.001}, "discriminator": {"kind": "adam", "lr": 0.0001}},
        "visualizer": {"kind": "noop"}, "evaluator": {"kind": "default"}, "data": {},
    })


def ade20k_file(rel_mods, folder: Path) -> Path:
    """A random-weight ADE20k ResNet-50-dilated encoder in the release's file layout (a torch.save'd state dict)."""
    from saicinpainting.training.losses import perceptual  # noqa: F401

    torch.manual_seed(5)
    enc = rel_mods.ModelBuilder.build_encoder(arch="resnet50dilated", fc_dim=2048, weights="")  # random: not pretrained
    path = folder / "ade20k" / "ade20k-resnet50dilated-ppm_deepsup" / "encoder_epoch_20.pth"
    path.parent.mkdir(parents=True)
    torch.save(enc.state_dict(), path)
    return path


def run_lama(checkout: Path, aotgan: Path, work: Path, size: int) -> list[dict]:
    from inpaintzoo import plugins
    from inpaintzoo.convert import convert_release
    from inpaintzoo.interfaces import LatentOutput, LossContext

    # the ADE20k builder's resnet50(pretrained=True) would download ImageNet weights it then overwrites: not used here
    rm = lama_modules(checkout)
    import models.ade20k.resnet as ade_resnet

    ade_resnet.load_url = lambda *a, **k: {}
    weights = ade20k_file(rm, work)
    cfg = lama_config(work)
    torch.manual_seed(0)
    module = rm.Module(cfg, use_ddp=False, predict_only=False, visualize_each_iters=10**9, concat_mask=True)
    module.get_ddp_rank = lambda: None
    randomise(module.generator, 0, torch.rand(2, 4, size, size))
    module.train()  # as Lightning leaves it: every submodule, the ResNet-PL encoder included, in training mode

    # the release's checkpoint (generator + discriminator) → inpaintzoo, as `inpaintzoo fetch --source` would
    zipped = save_lightning_zip(work / "big-lama-with-discr.zip", module.generator, module.discriminator)
    folder, _ = convert_release("lama.big_lama", zipped, work / "lama-fourier", zoo_entry="lama-fourier")
    assert (folder / "discriminator.safetensors").is_file()

    image, mask = photos(aotgan, size), masks(2, size)
    rows = []
    # -- each loss and the discriminator on the same images ------------------------------------------------------
    reg = plugins.registry()
    from inpaintzoo.spec import validate
    from inpaintzoo import zoo
    from inpaintzoo.overrides import resolve

    raw = resolve(zoo.get("lama-fourier").spec(), {
        "model.image_size": [size, size], "losses.resnet_pl.weights": str(weights), "losses.resnet_pl.bn": "batch",
        "data.dataset.root": str(work), "train.batch_size": 2, "train.num_workers": 0})
    spec = validate(raw, reg, "lama-fourier (release-exact)")
    from inpaintzoo.build import build_model

    ours_model = build_model(spec, reg, check=False)
    parts = ours_model.train_components(reg, check=False)
    parts.discriminator.load_state_dict(module.discriminator.state_dict())
    parts.train()
    pred = torch.rand(2, 3, size, size, generator=torch.Generator().manual_seed(1)) * 0.8 + 0.1

    def context(p: torch.Tensor) -> LossContext:
        return LossContext(image, mask, p, p, torch.where(mask.bool(), p, image), LatentOutput(p), [p],
                           model=ours_model, discriminator=parts.discriminator)

    def release_and_ours(name: str, release_fn, ours_fn) -> dict:
        p1 = pred.clone().requires_grad_(True)
        v1 = release_fn(p1)
        g1, = torch.autograd.grad(v1, p1)
        p2 = pred.clone().requires_grad_(True)
        v2 = ours_fn(p2)
        g2, = torch.autograd.grad(v2, p2)
        row = {"release": "LaMa", "what": name, "value_rel": abs(v1.item() - v2.item()) / max(abs(float(v1)), 1e-12),
               "grad_rel": rel(g2, g1)}
        print(row, flush=True)
        return row

    adv = rm.adversarial.NonSaturatingWithR1(gp_coef=0.001, weight=10, mask_as_fake_target=True, allow_scale_mask=True)
    d_state = {k: v.clone() for k, v in module.discriminator.state_dict().items()}

    def fresh_d():  # batch norms update their statistics: every comparison starts from the same state
        module.discriminator.load_state_dict(d_state)
        parts.discriminator.load_state_dict(d_state)

    fresh_d()
    rows.append(release_and_ours("masked L1 (known ×10)",
                                 lambda p: rm.fm.masked_l1_loss(p, image, mask, 10, 0),
                                 lambda p: parts.losses["l1"](context(p))))
    fresh_d()
    rows.append(release_and_ours(
        "adversarial, generator term ×10",
        lambda p: (module.discriminator(image), adv.generator_loss(image, p, None, module.discriminator(p)[0], mask)[0])[1],
        lambda p: 10 * parts.losses["adversarial"](context(p))))
    fresh_d()
    rows.append(release_and_ours(
        "feature matching ×100",
        lambda p: rm.fm.feature_matching_loss(module.discriminator(p)[1], module.discriminator(image)[1]) * 100,
        lambda p: 100 * parts.losses["feature_matching"](context(p))))
    rows.append(release_and_ours("ResNet-PL ×30 (batch statistics)", lambda p: module.loss_resnet_pl(p, image),
                                 lambda p: 30 * parts.losses["resnet_pl"](context(p))))

    def release_d() -> torch.Tensor:
        real = image.clone()
        adv.pre_discriminator_step(real, pred, None, module.discriminator)
        rp, _ = module.discriminator(real)
        fp, _ = module.discriminator(pred)
        return adv.discriminator_loss(real, pred, rp, fp, mask)[0]

    fresh_d()
    rows.append(discriminator_rows("LaMa", "discriminator loss (R1 0.001, mask as fake target)", release_d,
                                   module.discriminator,
                                   lambda: parts.losses["adversarial"].discriminator_loss(context(pred), parts.discriminator),
                                   parts.discriminator, lambda k: k))
    fresh_d()
    with torch.no_grad():
        s1, s2 = module.discriminator(image)[0], parts.discriminator(image)
    rows.append({"release": "LaMa", "what": "N-layer discriminator scores", "value_rel": rel(s2, s1), "grad_rel": None})

    # -- one iteration: the release's, and ours through the Trainer in both layouts -------------------------------
    g0 = {k: v.clone() for k, v in module.generator.state_dict().items()}

    def release_iteration() -> tuple[dict, dict]:
        module.generator.load_state_dict(g0)
        fresh_d()
        opt_g = torch.optim.Adam(module.generator.parameters(), lr=1e-3)
        opt_d = torch.optim.Adam(module.discriminator.parameters(), lr=1e-4)
        batch = {"image": image.clone(), "mask": mask.clone()}
        for idx, opt in enumerate((opt_g, opt_d)):  # Lightning 1.2.9's automatic optimisation, one optimiser at a time
            out = module._do_step(batch, 1, mode="train", optimizer_idx=idx)
            opt.zero_grad()
            out["loss"].backward()
            torch.nn.utils.clip_grad_norm_([p for g in opt.param_groups for p in g["params"] if p.grad is not None], 1.0)
            opt.step()
        return module.generator.state_dict(), module.discriminator.state_dict()

    for i in range(3):  # the image folder the Trainer insists on (each step below is given its batch)
        Image.fromarray((image[i % 2].permute(1, 2, 0).numpy() * 255).astype(np.uint8)).save(work / f"p{i}.png")
    from inpaintzoo.train.loop import RunOptions, Trainer
    from inpaintzoo_lama.convert import BigLamaConverter

    def our_trainer(channels_last: bool, order: str = "g_first") -> Trainer:
        r = resolve(raw, {"data.dataset.split": "all", "data.dataset.val_fraction": 0.0,
                          "train.channels_last": channels_last, "losses.adversarial.step_order": order})
        tr = Trainer(validate(r, reg, "lama-fourier"), RunOptions(out=work / "run", init=str(folder),
                                                                  val_data=str(work), tensorboard=False))
        return tr

    mapping = BigLamaConverter(BigLamaConverter.Config(zoo="lama-fourier")).mapping(
        [f"generator.{k}" for k in g0]).renamed
    back = {theirs.removeprefix("generator."): ours for ours, theirs in mapping.items()}
    rel_g, rel_d = release_iteration()
    rel_g = {k: v.clone() for k, v in rel_g.items()}
    rel_d = {k: v.clone() for k, v in rel_d.items()}
    for layout in ("contiguous (the release's)", "channels_last (inpaintzoo's training default)"):
        tr = our_trainer(layout.startswith("channels"))
        tr.train_step({"image": image.clone(), "mask": mask.clone()})
        ga, gr, gn = compare_params(tr.model.state_dict(), rel_g, back.get)
        da, dr, dn = compare_params(tr.parts.discriminator.state_dict(), rel_d, lambda k: k)
        rows.append({"release": "LaMa", "what": f"one iteration, {layout}: generator ({gn} tensors, BN statistics "
                     f"included)", "value_rel": gr, "abs": ga})
        rows.append({"release": "LaMa", "what": f"one iteration, {layout}: discriminator ({dn} tensors)",
                     "value_rel": dr, "abs": da})
        print(rows[-2], rows[-1], sep="\n", flush=True)

    # -- speed and memory: warm, then the median of 3 iterations each --------------------------------------------
    batch = {"image": image.clone(), "mask": mask.clone()}
    variants = {"release (its _do_step, Lightning's order)": release_iteration}
    for name, cl, order in (("ours, contiguous, g_first (exact)", False, "g_first"),
                            ("ours, channels_last, g_first", True, "g_first"),
                            ("ours, contiguous, d_first (no second generator pass)", False, "d_first")):
        tr = our_trainer(cl, order)
        variants[name] = (lambda tr=tr: tr.train_step(dict(batch)))
    return rows + speed_rows("LaMa", variants, size)


def speed_rows(release: str, variants: dict, size: int) -> list[dict]:
    """One row per variant (the release's first): median seconds, peak memory, speed-up over the release."""
    rows = []
    for name, fn in variants.items():
        seconds, peak = timed(fn)
        rows.append({"release": release, "what": f"iteration at batch 2, {size}²: {name}", "seconds": seconds,
                     "peak_mb": peak})
        print(rows[-1], flush=True)
    for r in rows:
        r["speedup"] = rows[0]["seconds"] / r["seconds"]
    return rows


def timed(fn, n: int = 3) -> tuple[float, float]:
    """Median seconds of `n` calls after one warm-up, and the peak resident memory above what was resident before the
    warm-up (MB, sampled every 5 ms; glibc's free lists trimmed first, so memory other variants freed is not reused
    unseen)."""
    import ctypes
    import statistics
    import threading

    def rss() -> int:
        return int(Path("/proc/self/statm").read_text().split()[1]) * 4096

    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except OSError:
        pass
    start, peak, done = rss(), [0], threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], rss())
            time.sleep(0.005)

    th = threading.Thread(target=sample, daemon=True)
    th.start()
    fn()
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    done.set()
    th.join()
    return statistics.median(times), max(0, peak[0] - start) / 2**20


# -- AOT-GAN --------------------------------------------------------------------------------------------------------
def aotgan_modules(checkout: Path, vgg_state: dict):
    """The release's generator, discriminator and losses, on the CPU (its `.cuda()` calls made no-ops) and with the
    VGG19 `pretrained=True` asks for replaced by the same random weights ours are given."""
    import torchvision.models as tvm

    torch.Tensor.cuda = lambda self, *a, **k: self  # type: ignore[method-assign]
    nn.Module.cuda = lambda self, *a, **k: self  # type: ignore[method-assign]
    original = tvm.vgg19

    def vgg19(pretrained=False, **k):
        m = original(weights=None)
        m.features.load_state_dict(vgg_state)
        return m

    tvm.vgg19 = vgg19
    sys.path.insert(0, str(checkout / "src"))
    from loss import loss as L
    from model import aotgan as A

    return A, L


def run_aotgan(checkout: Path, work: Path, size: int) -> list[dict]:
    import safetensors.torch
    import torchvision.models as tvm

    from inpaintzoo import plugins, zoo
    from inpaintzoo.build import build_model
    from inpaintzoo.convert import convert_release
    from inpaintzoo.interfaces import LatentOutput, LossContext
    from inpaintzoo.overrides import resolve
    from inpaintzoo.spec import validate
    from inpaintzoo.train.loop import RunOptions, Trainer
    from inpaintzoo_aotgan.convert import AOTGANConverter

    torch.manual_seed(7)
    vgg = tvm.vgg19(weights=None).features
    safetensors.torch.save_file({f"features.{k}": v.contiguous() for k, v in vgg.state_dict().items()}, str(work / "vgg19.safetensors"))
    A, L = aotgan_modules(checkout, vgg.state_dict())
    args = types.SimpleNamespace(block_num=8, rates=[1, 2, 4, 8])
    torch.manual_seed(0)
    netG, netD = A.InpaintGenerator(args), A.Discriminator()
    with torch.no_grad():  # the output conv scaled so tanh is in range
        netG.decoder[-1].weight.mul_(4.0)
    exp = work / "aot-experiment"
    exp.mkdir()
    torch.save(netG.state_dict(), exp / "G0000000.pt")
    torch.save(netD.state_dict(), exp / "D0000000.pt")
    folder, _ = convert_release("aotgan.release", exp, work / "aotgan-places2", zoo_entry="aotgan-places2")
    assert (folder / "discriminator.safetensors").is_file()

    reg = plugins.registry()
    raw = resolve(zoo.get("aotgan-places2").spec(), {
        "model.image_size": [size, size], "losses.style.weights": str(work / "vgg19.safetensors"),
        "losses.perceptual.weights": str(work / "vgg19.safetensors"), "losses.adversarial.mode": "release",
        "losses.style.share": False, "losses.perceptual.share": False,
        "losses.adversarial.release_gradients": True, "data.dataset.root": str(work), "data.dataset.split": "all",
        "data.dataset.val_fraction": 0.0, "train.batch_size": 2, "train.num_workers": 0})
    spec = validate(raw, reg, "aotgan-places2 (release-exact)")
    model = build_model(spec, reg, check=False)
    parts = model.train_components(reg, check=False)
    parts.discriminator.load_state_dict(
        {k: v for k, v in safetensors.torch.load_file(str(folder / "discriminator.safetensors")).items()})
    image01, mask = photos(Path(str(checkout)), size), masks(2, size)
    image = image01 * 2 - 1
    pred = torch.rand(2, 3, size, size, generator=torch.Generator().manual_seed(1)) * 1.6 - 0.8
    rows = []

    def context(p: torch.Tensor) -> LossContext:
        return LossContext(image, mask, p, p, torch.where(mask.bool(), p, image), LatentOutput(p), [p], model=model,
                           discriminator=parts.discriminator)

    def both(name: str, release_fn, ours_fn) -> None:
        p1 = pred.clone().requires_grad_(True)
        v1 = release_fn(p1)
        g1, = torch.autograd.grad(v1, p1)
        p2 = pred.clone().requires_grad_(True)
        v2 = ours_fn(p2)
        g2, = torch.autograd.grad(v2, p2)
        rows.append({"release": "AOT-GAN", "what": name, "value_rel": abs(float(v1) - float(v2)) / max(abs(float(v1)), 1e-12),
                     "grad_rel": rel(g2, g1)})
        print(rows[-1], flush=True)

    l1, style, perc, sm = L.L1(), L.Style(), L.Perceptual(), L.smgan()
    both("L1", lambda p: l1(p, image), lambda p: parts.losses["l1"](context(p)))
    both("style ×250", lambda p: 250 * style(p, image), lambda p: 250 * parts.losses["style"](context(p)))
    both("perceptual ×0.1", lambda p: 0.1 * perc(p, image), lambda p: 0.1 * parts.losses["perceptual"](context(p)))
    comp = lambda p: (1 - mask) * image + mask * p  # noqa: E731
    d_state = {k: v.clone() for k, v in netD.state_dict().items()}
    dmap = AOTGANConverter(AOTGANConverter.Config()).discriminator_mapping([f"D:{k}" for k in netD.state_dict()]).renamed
    to_ours = {theirs.removeprefix("D:"): ours for ours, theirs in dmap.items()}

    def fresh_d():  # each call advances the spectral norms' power iteration: every comparison starts alike
        netD.load_state_dict(d_state)
        parts.discriminator.load_state_dict({to_ours[k]: v for k, v in d_state.items()})

    fresh_d()
    both("SM-PatchGAN generator ×0.01 (release mode)", lambda p: 0.01 * sm(netD, comp(p), image, mask)[1],
         lambda p: 0.01 * parts.losses["adversarial"](context(p)))
    fresh_d()

    def ours_d() -> torch.Tensor:
        ctx = context(pred)
        parts.losses["adversarial"](ctx)  # the generator's call comes first in an iteration, as in the release's loss
        return parts.losses["adversarial"].discriminator_loss(ctx, parts.discriminator)

    rows.append(discriminator_rows("AOT-GAN", "SM-PatchGAN discriminator loss", lambda: sm(netD, comp(pred), image, mask)[0],
                                   netD, ours_d, parts.discriminator, to_ours.get))
    fresh_d()
    with torch.no_grad():
        rows.append({"release": "AOT-GAN", "what": "SM-PatchGAN discriminator scores",
                     "value_rel": rel(parts.discriminator(image), netD(image)), "grad_rel": None})

    # one iteration: the release trainer's loop body, with its modules
    g0 = {k: v.clone() for k, v in netG.state_dict().items()}
    d0 = d_state  # as converted: the comparisons above advanced the spectral norms' vectors

    def release_iteration() -> None:
        netG.load_state_dict(g0)
        netD.load_state_dict(d0)
        optG = torch.optim.Adam(netG.parameters(), lr=1e-4, betas=(0.5, 0.999))
        optD = torch.optim.Adam(netD.parameters(), lr=1e-4, betas=(0.5, 0.999))
        images_masked = image * (1 - mask) + mask
        pred_img = netG(images_masked, mask)
        comp_img = (1 - mask) * image + mask * pred_img
        losses = {"L1": l1(pred_img, image), "Style": 250 * style(pred_img, image), "Perceptual": 0.1 * perc(pred_img, image)}
        dis_loss, gen_loss = sm(netD, comp_img, image, mask)
        losses["advg"] = gen_loss * 0.01
        optG.zero_grad()
        optD.zero_grad()
        sum(losses.values()).backward()
        dis_loss.backward()
        optG.step()
        optD.step()

    for i in range(3):
        Image.fromarray((image01[i % 2].permute(1, 2, 0).numpy() * 255).astype(np.uint8)).save(work / f"a{i}.png")

    def our_trainer(channels_last: bool, share: bool = False) -> Trainer:
        sets = {"train.channels_last": channels_last, "losses.style.share": share, "losses.perceptual.share": share}
        return Trainer(validate(resolve(raw, sets), reg, "aotgan-places2"),
                       RunOptions(out=work / "aot-run", init=str(folder), val_data=str(work), tensorboard=False))

    conv = AOTGANConverter(AOTGANConverter.Config())
    back = {theirs: ours for ours, theirs in conv.mapping(list(g0)).renamed.items()}
    release_iteration()
    rel_g = {k: v.clone() for k, v in netG.state_dict().items()}
    rel_d = {k: v.clone() for k, v in netD.state_dict().items()}
    for layout in ("contiguous (the release's)", "channels_last (inpaintzoo's training default)"):
        tr = our_trainer(layout.startswith("channels"))
        tr.train_step({"image": image01.clone(), "mask": mask.clone()})
        ga, gr, gn = compare_params(tr.model.state_dict(), rel_g, back.get)
        da, dr, dn = compare_params(tr.parts.discriminator.state_dict(), rel_d, to_ours.get)
        rows.append({"release": "AOT-GAN", "what": f"one iteration, {layout}: generator ({gn} tensors)", "value_rel": gr,
                     "abs": ga})
        rows.append({"release": "AOT-GAN", "what": f"one iteration, {layout}: discriminator ({dn} tensors, spectral-norm "
                     f"vectors included)", "value_rel": dr, "abs": da})
        print(rows[-2], rows[-1], sep="\n", flush=True)
    batch = {"image": image01.clone(), "mask": mask.clone()}
    variants = {"release (its trainer's loop body)": release_iteration}
    for name, cl, share in (("ours, contiguous, a VGG pass per loss (exact)", False, False),
                            ("ours, contiguous, one shared VGG pass", False, True), ("ours, channels_last, shared", True, True)):
        tr = our_trainer(cl, share)
        variants[name] = (lambda tr=tr: tr.train_step(dict(batch)))
    return rows + speed_rows("AOT-GAN", variants, size)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--lama", type=Path, required=True, help="a checkout of advimman/lama")
    ap.add_argument("--aotgan", type=Path, required=True, help="a checkout of researchmm/AOT-GAN-for-Inpainting")
    ap.add_argument("--size", type=int, default=128)
    a = ap.parse_args()
    torch.set_num_threads(max(1, torch.get_num_threads()))
    with tempfile.TemporaryDirectory() as d:
        (Path(d) / "lama").mkdir()
        (Path(d) / "aot").mkdir()
        rows = run_lama(a.lama, a.aotgan, Path(d) / "lama", a.size) + run_aotgan(a.aotgan, Path(d) / "aot", a.size)
    write("train_parity", rows, ["release", "what", "value_rel", "grad_rel", "abs", "seconds", "speedup", "peak_mb"],
          notes="value_rel: |release − ours| / |release| (for parameters: the largest difference over a tensor's largest "
                "value); grad_rel: the same for the gradient with respect to the generator's output. Random weights, "
                "the releases' example photographs. Command: python benchmarks/train_parity.py --lama /tmp/lama "
                "--aotgan /tmp/aotgan")


if __name__ == "__main__":
    main()
