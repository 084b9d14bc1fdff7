"""One training loop for every model: VAEs, adversarial models and auto-encoders alike.

How a step runs is decided by the model's components, not by its name: if the model has a
discriminator and an adversarial loss, a discriminator step (its own optimiser) precedes each
generator step. Resume restores everything (weights, optimisers, schedulers, scaler, EMA, RNG
states, step), so a stopped and resumed run reaches the weights of an uninterrupted one.
"""
from __future__ import annotations

import json
import math
import os
import time
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torch import Tensor, nn

from .. import plugins
from ..artifact import atomic_dir, save_model, weight_mismatch
from ..build import build_model
from ..errors import InpaintzooError
from ..evaluation import evaluate_model, fixed_masks
from ..model import InpaintModel
from ..spec import ModelSpec, OptimizerSpec, TrainSpec
from . import checkpoint as ckpt
from .data import DataError, build_dataset, build_masks, check_against_contract, collate


class TrainingError(InpaintzooError):
    pass


@dataclass
class RunOptions:
    out: Path
    data: str | None = None
    resume: bool = False
    device: str = "cpu"
    quiet: bool = False
    stop_after: int | None = None  # stop (with a checkpoint) after this many steps of this invocation
    max_minutes: float | None = None  # finish (evaluate, write final/) at the first step past this wall time
    overrides: dict[str, Any] = field(default_factory=dict)


def make_optimizer(params: list[nn.Parameter], o: OptimizerSpec) -> torch.optim.Optimizer:
    if o.name == "adam":
        return torch.optim.Adam(params, lr=o.lr, betas=o.betas, eps=o.eps, weight_decay=o.weight_decay)
    if o.name == "adamw":
        return torch.optim.AdamW(params, lr=o.lr, betas=o.betas, eps=o.eps, weight_decay=o.weight_decay)
    if o.name == "adamax":
        return torch.optim.Adamax(params, lr=o.lr, betas=o.betas, eps=o.eps, weight_decay=o.weight_decay)
    return torch.optim.SGD(params, lr=o.lr, momentum=o.momentum, weight_decay=o.weight_decay)


def make_schedule(opt: torch.optim.Optimizer, t: TrainSpec, total: int) -> torch.optim.lr_scheduler.LambdaLR:
    warm = int(t.schedule.warmup_fraction * total)
    base = opt.param_groups[0]["lr"]
    floor = t.schedule.min_lr / base if base else 0.0

    def factor(step: int) -> float:
        if warm and step < warm:
            return (step + 1) / warm
        hold = max(warm, int(t.schedule.hold_fraction * total))
        if step < hold:
            return 1.0
        p = (step - hold) / max(1, total - hold)
        if t.schedule.name == "cosine":
            return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * min(p, 1.0)))
        if t.schedule.name == "linear":
            return floor + (1 - floor) * max(0.0, 1 - p)
        return 1.0

    return torch.optim.lr_scheduler.LambdaLR(opt, factor)


def _dist_info() -> tuple[int, int]:
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


class Trainer:
    def __init__(self, spec: ModelSpec, opts: RunOptions):
        self.spec, self.opts, self.t = spec, opts, spec.train
        self.registry = plugins.registry()
        self.rank, self.world = _dist_info()
        self.device = torch.device(opts.device)
        if self.device.type == "cuda" and not torch.cuda.is_available():
            raise TrainingError("--device cuda: no CUDA device is available; use --device cpu")
        if self.t.batch_size % self.world:
            raise TrainingError(f"--batch-size {self.t.batch_size} is not divisible by the {self.world} processes")
        self.train_set = build_dataset(spec, self.registry, "train", opts.data)
        self.val_set = build_dataset(spec, self.registry, "val", opts.data)
        check_against_contract(self.train_set, spec, f"dataset '{spec.data['dataset'].type}'")
        if self.t.batch_size > len(self.train_set):
            raise DataError(f"--batch-size {self.t.batch_size} is larger than the training set ({len(self.train_set)} images)")
        self.masks = build_masks(spec, self.registry)
        self.eval_masks = build_masks(spec, self.registry, "eval_masks")
        torch.manual_seed(self.t.seed)
        self.model: InpaintModel = build_model(spec, self.registry).to(self.device)
        self.memory_format = torch.channels_last if self.t.channels_last else torch.contiguous_format
        self.model.to(memory_format=self.memory_format)
        self.steps_per_epoch = len(self.train_set) // self.t.batch_size
        self.total = self.t.steps or self.t.epochs * self.steps_per_epoch
        gen_params = [p for n, p in self.model.named_parameters() if p.requires_grad and not n.startswith("discriminator.")]
        self.opt = make_optimizer(gen_params, self.t.optimizer)
        self.sched = make_schedule(self.opt, self.t, self.total)
        self.adversarial = [n for n, l in self.model.losses.items() if l.adversarial]
        self.opt_d = self.sched_d = None
        if self.adversarial:
            if self.model.discriminator is None:
                raise TrainingError(f"losses.{self.adversarial[0]} is adversarial but the spec has no [discriminator]")
            self.opt_d = make_optimizer(list(self.model.discriminator.parameters()), self.t.discriminator_optimizer)
            self.sched_d = make_schedule(self.opt_d, self.t, self.total)
        self.use_amp = self.t.amp
        self.amp_dtype = torch.bfloat16 if self.device.type == "cpu" else torch.float16
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.use_amp and self.device.type == "cuda")
        self.ema = None
        if self.t.ema:
            from timm.utils import ModelEmaV3

            self.ema = ModelEmaV3(self.model, decay=self.t.ema)
        self.ddp = None
        if self.world > 1:
            self.ddp = nn.parallel.DistributedDataParallel(self.model, find_unused_parameters=bool(self.adversarial))
        self.mask_gen = torch.Generator().manual_seed(self.t.seed + 1)
        self.step = 0
        self.epoch = 0
        self.best: float | None = None
        self.elapsed = 0.0  # training wall time so far, across resumes
        self.out_of_time = False
        self.run = opts.out

    # -- state ---------------------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        s: dict[str, Any] = {
            "model": self.model.state_dict(),
            "opt": self.opt.state_dict(),
            "sched": self.sched.state_dict(),
            "scaler": self.scaler.state_dict(),
            "rng": {"torch": torch.get_rng_state(), "masks": self.mask_gen.get_state()},
            "step": self.step,
            "epoch": self.epoch,
            "best": self.best,
            "elapsed": self.elapsed_now(),
        }
        if torch.cuda.is_available():
            s["rng"]["cuda"] = torch.cuda.get_rng_state_all()
        if self.opt_d is not None:
            s["opt_d"], s["sched_d"] = self.opt_d.state_dict(), self.sched_d.state_dict()
        if self.ema is not None:
            s["ema"] = self.ema.module.state_dict()
        s["components"] = {n: m.train_state() for n, m in self.model.named_modules() if hasattr(m, "train_state")}
        return s

    def load_state(self, s: dict[str, Any], where: Path) -> None:
        weights = ckpt.strip_module_prefix(s["model"])
        problem = weight_mismatch(self.model, weights)
        if problem:
            raise TrainingError(f"--resume {where}: the checkpoint's architecture differs from the spec: {problem}")
        self.model.load_state_dict(weights)
        self.opt.load_state_dict(s["opt"])
        self.sched.load_state_dict(s["sched"])
        self.scaler.load_state_dict(s["scaler"])
        torch.set_rng_state(s["rng"]["torch"])
        self.mask_gen.set_state(s["rng"]["masks"])
        if "cuda" in s["rng"] and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(s["rng"]["cuda"])
        if self.opt_d is not None and "opt_d" in s:
            self.opt_d.load_state_dict(s["opt_d"])
            self.sched_d.load_state_dict(s["sched_d"])
        if self.ema is not None and "ema" in s:
            self.ema.module.load_state_dict(s["ema"])
        modules = dict(self.model.named_modules())
        for name, st in s.get("components", {}).items():
            modules[name].load_train_state(st)
        self.step, self.epoch, self.best = int(s["step"]), int(s["epoch"]), s["best"]
        self.elapsed = float(s.get("elapsed", 0.0))

    def save(self, tag: str | None = None) -> Path | None:
        if self.rank != 0:
            return None
        folder = self.run / "checkpoints" / (tag or f"step-{self.step:08d}")
        ckpt.save_checkpoint(folder, self.state())
        if tag is None:
            ckpt.prune(self.run, self.t.keep_last)
        return folder

    # -- data ----------------------------------------------------------------------------------
    def batches(self, epoch: int, skip: int):
        """The epoch's batches in a seeded order; each rank takes its slice of every global batch."""
        g = torch.Generator().manual_seed(self.t.seed * 100_003 + epoch)
        order = torch.randperm(len(self.train_set), generator=g).tolist()
        per_rank = self.t.batch_size // self.world
        for b in range(skip, self.steps_per_epoch):
            idx = order[b * self.t.batch_size : (b + 1) * self.t.batch_size]
            mine = idx[self.rank * per_rank : (self.rank + 1) * per_rank]
            batch = collate([self.train_set[i] for i in mine])
            h, w = batch["image"].shape[-2:]
            if "mask" not in batch:  # else the data set brings its own masks
                masks = self.masks(self.t.batch_size, h, w, self.mask_gen)  # every rank draws the global batch's masks
                batch["mask"] = masks[self.rank * per_rank : (self.rank + 1) * per_rank]
            yield batch

    # -- one step ------------------------------------------------------------------------------
    def train_step(self, batch: dict[str, Tensor]) -> dict[str, float]:
        model = self.model
        model.train()
        image = batch["image"].to(self.device).contiguous(memory_format=self.memory_format)
        mask = batch["mask"].to(self.device).contiguous(memory_format=self.memory_format)
        labels = batch.get("labels")
        labels = labels.to(self.device) if labels is not None else None
        progress = self.step / max(1, self.total)
        amp = torch.autocast(self.device.type, dtype=self.amp_dtype) if self.use_amp else nullcontext()
        logs: dict[str, float] = {}
        net = self.ddp or model
        if self.opt_d is not None:
            with amp:
                out = model(image, mask, labels, progress, self.step, compute_losses=False)
                d_loss = sum(model.loss_weights[n] * model.losses[n].discriminator_loss(out.context, model.discriminator)
                             for n in self.adversarial)
            self._check_finite({"discriminator": d_loss})
            self.opt_d.zero_grad(set_to_none=True)
            self.scaler.scale(d_loss).backward()
            self.scaler.step(self.opt_d)
            self.sched_d.step()
            logs["d_loss"] = float(d_loss.detach())
        with amp:
            out = net(image, mask, labels, progress, self.step)
        self._check_finite(out.losses)
        self.opt.zero_grad(set_to_none=True)
        self.scaler.scale(out.loss).backward()
        if self.t.grad_clip:
            self.scaler.unscale_(self.opt)
            nn.utils.clip_grad_norm_(self.opt.param_groups[0]["params"], self.t.grad_clip)
        self.scaler.step(self.opt)
        self.scaler.update()
        self.sched.step()
        for loss in model.losses.values():
            loss.after_step(out.context)
        if self.ema is not None:
            self.ema.update(model, step=self.step)
        self.step += 1
        logs.update({k: float(v.detach()) for k, v in out.losses.items()})
        logs["loss"] = float(out.loss.detach())
        return logs

    def _check_finite(self, losses: dict[str, Tensor]) -> None:
        for name, v in losses.items():
            if not torch.isfinite(v).all():
                last = ckpt.checkpoints(self.run)
                keep = f"; the last good checkpoint is {last[-1]}" if last else ""
                raise TrainingError(f"step {self.step}: loss term '{name}' is {float(v.detach())}; stopping{keep}")

    # -- evaluation ----------------------------------------------------------------------------
    @torch.no_grad()
    def evaluate(self) -> dict[str, float]:
        model = self.ema.module if self.ema is not None else self.model
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.t.seed + 7)
            metrics = evaluate(model, self.val_set, self.eval_masks, self.t.batch_size, self.t.eval_batches, seed=self.t.seed + 2)
            if self.rank == 0:
                write_sample_grid(model, self.val_set, self.eval_masks, self.run / "samples" / f"step-{self.step:08d}.png",
                                  seed=self.t.seed + 2, device=self.device)
                for module in model.modules():
                    hook = getattr(module, "on_evaluate", None)
                    if callable(hook) and module is not model:
                        metrics.update(hook(model, self.val_set, self.run / "plots", self.step) or {})
        return metrics

    # -- the run -------------------------------------------------------------------------------
    def fit(self) -> Path:
        from .progress import Progress

        if self.opts.resume:
            found = ckpt.checkpoints(self.run)
            if not found:
                raise TrainingError(f"--resume {self.run}: no checkpoint found under {self.run / 'checkpoints'}")
            self.load_state(ckpt.load_checkpoint(found[-1]), found[-1])
        elif self.rank == 0:
            if self.run.exists() and any(self.run.iterdir()):
                raise TrainingError(f"--out {self.run}: folder exists and is not empty; pass --resume {self.run} or another --out")
            self.run.mkdir(parents=True, exist_ok=True)
            write_json(self.run / "spec.json", self.spec.to_dict())
            write_json(self.run / "overrides.json", self.opts.overrides)
        start = self.step
        self.t_start = time.perf_counter()
        progress = Progress(self.total, self.t.batch_size, quiet=self.opts.quiet, silent=self.rank != 0)
        stopped = False
        try:
            with progress:
                while self.step < self.total and not self.out_of_time:
                    skip = self.step - self.epoch * self.steps_per_epoch
                    for batch in self.batches(self.epoch, skip):
                        logs = self.train_step(batch)
                        progress.update(self.step, self.epoch, logs)
                        if self.step >= self.total:
                            break
                        if self.opts.stop_after and self.step - start >= self.opts.stop_after:
                            stopped = True
                            break
                        if self.opts.max_minutes and self.elapsed_now() >= 60 * self.opts.max_minutes:
                            self.out_of_time = True  # the budget ends this epoch early; evaluate and finish
                            break
                    if stopped:
                        break
                    if (self.step - self.epoch * self.steps_per_epoch >= self.steps_per_epoch or self.step >= self.total
                            or self.out_of_time):
                        self.end_epoch(progress)
        except KeyboardInterrupt:
            where = self.save()
            raise TrainingError(f"interrupted at step {self.step}; saved {where}; continue with --resume {self.run}") from None
        if stopped:
            self.save()
            return self.run
        if ckpt.checkpoints(self.run) == [] or ckpt.checkpoints(self.run)[-1].name != f"step-{self.step:08d}":
            self.save()
        self.finish()
        return self.run

    def elapsed_now(self) -> float:
        return self.elapsed + (time.perf_counter() - self.t_start if hasattr(self, "t_start") else 0.0)

    def end_epoch(self, progress: Any) -> None:
        if self.step - self.epoch * self.steps_per_epoch >= self.steps_per_epoch:
            self.epoch += 1  # a budget-cut partial epoch is evaluated but not counted, so resume stays exact
        if self.opts.max_minutes and self.elapsed_now() >= 60 * self.opts.max_minutes:
            self.out_of_time = True
        last = self.step >= self.total or self.out_of_time
        metrics: dict[str, float] = {}
        if self.epoch % self.t.eval_every == 0 or last:
            metrics = self.evaluate()
            if self.rank == 0:
                with open(self.run / "metrics.jsonl", "a", encoding="utf-8") as f:
                    f.write(json.dumps({"step": self.step, "epoch": self.epoch, "elapsed_s": round(self.elapsed_now(), 2), **progress.means(), **{f"val/{k}": v for k, v in metrics.items()}}) + "\n")
            value = metrics.get(self.t.best_metric)
            better = value is not None and (self.best is None or (value > self.best if self.t.best_mode == "max" else value < self.best))
            if better:
                self.best = value
                self.save("best")
        progress.epoch_summary(self.epoch, metrics)
        if self.epoch % self.t.checkpoint_every == 0 or last:
            self.save()

    def finish(self) -> None:
        final_model = self.ema.module if self.ema is not None else self.model
        if self.world > 1:
            sums = torch.tensor([float(sum(p.double().sum() for p in self.model.parameters()))], dtype=torch.float64)
            gathered = [torch.zeros_like(sums) for _ in range(self.world)]
            dist.all_gather(gathered, sums)
            if self.rank == 0:
                write_json(self.run / "distributed.json", {"world_size": self.world, "rank_checksums": [float(g) for g in gathered]})
        if self.rank == 0:
            extra = {"training": {"steps": self.step, "epochs": self.epoch, "ema": bool(self.ema), "overrides": self.opts.overrides,
                                  "data": self.opts.data}}
            save_model(final_model, self.run / "final", overwrite=True, extra=extra)


@torch.no_grad()
def evaluate(model: InpaintModel, dataset, masks, batch_size: int, batches: int, seed: int) -> dict[str, float]:
    """Mean standard metrics of the composited output on the first `batches` batches, with a fixed mask set."""
    n = min(len(dataset), batch_size * batches)
    h, w = dataset[0]["image"].shape[-2:]
    return evaluate_model(model, dataset, fixed_masks(dataset, masks, n, h, w, seed), batch_size)["metrics"]


@torch.no_grad()
def write_sample_grid(model: InpaintModel, dataset, masks, path: Path, seed: int, n: int = 8, device: Any = "cpu") -> None:
    """Rows of masked input | output | ground truth."""
    from torchvision.utils import make_grid

    from ..contract import denormalize

    n = min(n, len(dataset))
    image = collate([dataset[i] for i in range(n)])["image"].to(device)
    mask = fixed_masks(dataset, masks, n, image.shape[-2], image.shape[-1], seed).to(device)
    _, pred, _, _ = model.run(image, mask)
    out = torch.where(mask.bool(), denormalize(pred, model.contract).clamp(0, 1), image)
    shown = image * (1 - mask) + mask * torch.tensor([1.0, 1.0, 1.0, 1.0][: image.shape[1]], device=device).view(1, -1, 1, 1)
    rows = torch.stack([shown, out, image], dim=1).flatten(0, 1)[:, :3]
    save_png(make_grid(rows.cpu(), nrow=3, padding=2, pad_value=1.0), path)


def save_png(grid: Tensor, path: Path) -> None:
    from PIL import Image

    arr = (grid.clamp(0, 1) * 255).round().byte().permute(1, 2, 0).numpy()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.png")
    Image.fromarray(arr).save(tmp)
    os.replace(tmp, path)


def write_json(path: Path, obj: Any) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(obj, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)
