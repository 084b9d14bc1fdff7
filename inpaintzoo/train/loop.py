"""One training loop for every model: VAEs, adversarial models and auto-encoders alike.

How a step runs is decided by the model's components, not by its name. Each step runs the generator; if the
training parts include an adversarial loss, the discriminator takes its own step, in the order that loss names
(its release's: `steps.py`), with the discriminator frozen during the generator's.
Resume restores everything (weights, optimisers, schedulers, scaler, EMA, RNG states, step), and data
are drawn from per-sample seeds (see `data.py`), so a stopped and resumed run — by `--stop-after`,
Ctrl-C or a budget — reaches the weights of an uninterrupted one.
"""
from __future__ import annotations

import shutil
import time
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torch import Tensor, nn

from .. import plugins
from ..artifact import remove_stale_temps, save_model
from ..build import build_model, data_targets
from ..errors import InpaintzooError
from ..interfaces import LossContext
from ..model import InpaintModel, TrainingParts
from ..devices import resolve_device  # noqa: F401  (the training loop's device, as every command's)
from ..spec import ModelSpec
from . import checkpoint as ckpt
from . import memory
from .data import (DataError, EpochBatches, TrainItems, auto_workers, build_dataset, build_masks,
                   check_against_contract, make_loader, offset_seed)
from .finetune import init_discriminator, init_generator
from .logs import RunLog
from .optim import Schedule, make_optimizer
from .outputs import evaluate, write_json, write_sample_grid
from .runtime import StopRequest, _dist_info
from .budget import UNBOUNDED, TimeBudget
from .state import RunState
from .steps import run_iteration


class TrainingError(InpaintzooError):
    pass


class Interrupted(InpaintzooError):
    """Ctrl-C: the run stopped at a step boundary with a checkpoint (exit status 130)."""

    exit_code = 130


@dataclass
class RunOptions:
    out: Path
    data: str | None = None
    val_data: str | None = None  # a separate validation folder (its whole content)
    resume: bool = False
    device: str = "cpu"
    quiet: bool = False
    stop_after: int | None = None  # stop (with a checkpoint) after this many steps of this invocation
    max_minutes: float | None = None  # finish (evaluate, write final/) at the first step past this wall time
    until_budget: bool = False  # --max-minutes without --epochs/--steps: the budget, not the spec's epochs, ends the run
    overrides: dict[str, Any] = field(default_factory=dict)
    init: str | None = None  # start from a published model's weights (fine-tuning)
    tensorboard: bool = True
    progress_interval: float = 30.0


class Trainer(TimeBudget, RunState):
    def __init__(self, spec: ModelSpec, opts: RunOptions):
        self.spec, self.opts, self.t = spec, opts, spec.train
        self.registry = plugins.registry()
        self.rank, self.world = _dist_info()
        self.device = resolve_device(opts.device)
        if self.t.batch_size % self.world:
            raise TrainingError(f"--batch-size {self.t.batch_size} is not divisible by the {self.world} processes")
        self.train_set = build_dataset(spec, self.registry, "train", opts.data)
        if opts.val_data:
            self.val_set = build_dataset(spec, self.registry, "all", opts.val_data)
        else:
            self.val_set = build_dataset(spec, self.registry, "val", opts.data)
        check_against_contract(self.train_set, spec, f"dataset '{spec.data['dataset'].type}'")
        if self.t.batch_size > len(self.train_set):
            raise DataError(f"--batch-size {self.t.batch_size} is larger than the training set ({len(self.train_set)} images)")
        self.masks = build_masks(spec, self.registry)
        self.eval_masks = build_masks(spec, self.registry, "eval_masks")
        from ..backbones import precheck

        precheck(spec)  # a loss backbone the Hub cannot give: said before the model is built
        torch.manual_seed(self.t.seed)
        self.model: InpaintModel = build_model(spec, self.registry).to(self.device)
        self.init_note = ""  # where a fine-tune's discriminator came from
        if opts.init:
            init_generator(self.model, opts.init)
        self.parts: TrainingParts = self.model.train_components(self.registry)
        try:
            self.parts.step_order  # the adversarial losses agree on one order before anything runs
        except ValueError as exc:
            raise TrainingError(f"{spec.source}: {exc}") from None
        if opts.init:
            self.init_note = init_discriminator(self.parts.discriminator, self.spec.discriminator,
                                                self.t.discriminator_init, opts.init)
        self.memory_format = torch.channels_last if self.t.channels_last else torch.contiguous_format
        self.model.to(memory_format=self.memory_format)
        self.parts.to(memory_format=self.memory_format)
        self.steps_per_epoch = len(self.train_set) // self.t.batch_size
        self.total = self.t.steps or self.t.epochs * self.steps_per_epoch
        if opts.until_budget:  # bounded by the budget alone; the plan (and this total) follow the first steps' speed
            self.total = UNBOUNDED
        self.plan = self.total  # the schedule's length: the total, or what a time budget allows
        disc = self.parts.discriminator
        self.loss_params = [p for n, p in self.parts.named_parameters() if p.requires_grad and not n.startswith("discriminator.")]
        self.opt = make_optimizer([p for p in self.model.parameters() if p.requires_grad] + self.loss_params, self.t.optimizer)
        self.sched = Schedule(self.opt, self.t, self.total)
        self.opt_d = self.sched_d = None
        if self.parts.adversarial:
            self.opt_d = make_optimizer(list(disc.parameters()), self.t.discriminator_optimizer)
            self.sched_d = Schedule(self.opt_d, self.t, self.total)
        self.use_amp = self.t.amp
        self.amp_dtype = torch.bfloat16 if self.device.type == "cpu" else torch.float16
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.use_amp and self.device.type == "cuda")
        self.ema = None
        if self.t.ema:
            from timm.utils import ModelEmaV3

            self.ema = ModelEmaV3(self.model, decay=self.t.ema)
        self.net: nn.Module = self.model
        if self.world > 1:
            self.net = nn.parallel.DistributedDataParallel(self.model)
        targets = data_targets(self.parts, self.model.contract)
        from ..paths import targets_dir

        self.items = TrainItems(self.train_set, self.masks, self.t.seed, targets, cache_root=targets_dir())
        self.sampler = EpochBatches(len(self.train_set), self.t.batch_size, self.t.seed, self.rank, self.world)
        self.num_workers = auto_workers(self.train_set, targets) if self.t.num_workers == "auto" else self.t.num_workers
        self.loader = make_loader(self.items, self.sampler, self.num_workers, self.t.prefetch_factor,
                                  pin_memory=self.device.type == "cuda", seed=self.t.seed)
        self.step = 0
        self.epoch = 0
        self.best: float | None = None
        self.elapsed = 0.0  # training wall time so far, across resumes
        self.out_of_time = False
        self.t_created = time.perf_counter()  # --max-minutes counts this invocation's set-up too
        self.eval_seconds: float | None = None  # the last evaluation's cost: the budget keeps it for the final one
        self.run = opts.out
        self.log = RunLog(self.run, tensorboard=opts.tensorboard, enabled=self.rank == 0)

    # -- setup -----------------------------------------------------------------------------------
    def notes(self) -> list[str]:
        """What the user should know when a run starts."""
        out = []
        cfg = getattr(self.train_set, "cfg", None)
        frac = getattr(cfg, "val_fraction", 0) if cfg is not None else 0
        if frac and not self.opts.val_data:
            out.append(f"note: {self.spec.data['dataset'].type} holds out {frac:.0%} of its folder for validation "
                       f"(val_fraction = {frac}); --val-data DIR validates on another folder instead")
        if self.init_note:
            out.append(self.init_note)
        out.append(f"data: {len(self.train_set)} training images, {len(self.val_set)} for validation; "
                   f"{self.num_workers} loader worker(s); training on {self.device}"
                   + (f" ({torch.get_num_threads()} threads)" if self.device.type == "cpu" else ""))
        return out

    def save(self, tag: str | None = None) -> Path | None:
        if self.rank != 0:
            return None
        folder = self.run / "checkpoints" / (tag or f"step-{self.step:08d}")
        ckpt.save_checkpoint(folder, self.state())
        if tag is None:
            ckpt.prune(self.run, self.t.keep_last)
        return folder

    # -- one step ------------------------------------------------------------------------------
    def train_step(self, batch: dict[str, Tensor]) -> dict[str, float]:
        """One iteration: the generator's step and, for adversarial losses, the discriminator's, in the order those
        losses name (`steps.py`)."""
        model, parts = self.model, self.parts
        model.train()
        parts.train()
        dev = self.device
        image = batch["image"].to(dev, non_blocking=True).contiguous(memory_format=self.memory_format)
        mask = batch["mask"].to(dev, non_blocking=True).contiguous(memory_format=self.memory_format)
        labels = batch["labels"].to(dev, non_blocking=True) if "labels" in batch else None
        targets = {k.removeprefix("target/"): v.to(dev, non_blocking=True) for k, v in batch.items() if k.startswith("target/")}
        progress = self.step / max(1, self.plan)
        amp = (lambda: torch.autocast(dev.type, dtype=self.amp_dtype)) if self.use_amp else nullcontext

        def forward() -> LossContext:
            with amp():
                ctx = self.net(image, mask, labels, progress, self.step, discriminator=parts.discriminator).context
            ctx.targets = targets
            return ctx

        logs = run_iteration(self, forward, amp)
        if self.ema is not None:
            self.ema.update(model, step=self.step)
        self.step += 1
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
            torch.manual_seed(offset_seed(self.t.seed, 7))
            metrics = evaluate(model, self.val_set, self.eval_masks, self.t.batch_size, self.t.eval_batches, seed=offset_seed(self.t.seed, 2))
            if self.rank == 0:
                grid = self.run / "samples" / f"step-{self.step:08d}.png"
                write_sample_grid(model, self.val_set, self.eval_masks, grid, seed=offset_seed(self.t.seed, 2), device=self.device)
                self.log.image("samples", grid, self.step)
                for module in model.modules():
                    hook = getattr(module, "on_evaluate", None)
                    if callable(hook) and module is not model:
                        metrics.update(hook(model, self.val_set, self.run / "plots", self.step) or {})
                for plot in sorted((self.run / "plots").glob(f"*-{self.step:08d}.png")):
                    self.log.image(f"plots/{plot.name.rsplit('-', 1)[0]}", plot, self.step)
        return metrics

    # -- the run -------------------------------------------------------------------------------
    def _start(self, progress_note) -> bool:
        """Fresh run folder, or the state of the newest readable checkpoint; False when the run is finished."""
        for folder in (self.run, self.run / "checkpoints", self.run / "samples", self.run / "plots"):
            for gone in remove_stale_temps(folder) if self.rank == 0 else []:
                progress_note(f"removed {gone.name}: left by a write that was killed")
        if not self.opts.resume:
            if self.rank == 0:
                if self.run.exists() and any(self.run.iterdir()):
                    raise TrainingError(f"--out {self.run}: folder exists and is not empty; pass --resume {self.run} or another --out")
                self.run.mkdir(parents=True, exist_ok=True)
                write_json(self.run / "spec.json", self.spec.to_dict())
                write_json(self.run / "overrides.json", self.opts.overrides)
                # what a resume must see again that the spec does not hold
                write_json(self.run / "options.json", {"val_data": self.opts.val_data, "init": self.opts.init})
            return True
        candidates = ckpt.checkpoints(self.run)[::-1] + [p for p in [self.run / "checkpoints" / "best"] if p.is_dir()]
        for i, folder in enumerate(candidates):
            try:
                state = ckpt.load_checkpoint(folder)
                self.load_state(state, folder)
            except ckpt.CheckpointError as exc:
                progress_note(f"warning: {exc}; trying an earlier checkpoint")
                continue
            except (KeyError, TypeError, ValueError, IndexError, RuntimeError) as exc:  # a hand-edited or damaged state
                progress_note(f"warning: {folder}: its state cannot be restored ({type(exc).__name__}: "
                              f"{str(exc).splitlines()[0][:80] if str(exc) else ''}); trying an earlier checkpoint")
                continue
            if self.rank == 0 and self.opts.overrides and (self.run / "spec.json").is_file():
                # the checkpoint fits the spec with this invocation's --set: only now is the run's record changed
                write_json(self.run / "spec.json", self.spec.to_dict())
                write_json(self.run / "overrides.json", self.opts.overrides)
            if i:
                progress_note(f"resuming from {folder.name} (step {self.step}), the newest intact checkpoint")
            dropped = self.log.truncate(self.step)
            if dropped:
                progress_note(f"metrics.jsonl: dropped {dropped} row(s) past step {self.step}; they are redone")
            if self.step >= self.total and (self.run / "final").is_dir():
                print(f"{self.run}: the run is finished (step {self.step} of {self.total}); its model is {self.run / 'final'}")
                return False
            return True
        progress_note(f"{self.run}: no checkpoint was written before the run stopped; starting again from step 0")
        self.log.truncate(-1)
        return True

    def _prepare_components(self, note) -> None:
        for module in self.model.modules():
            hook = getattr(module, "prepare_training", None)
            if callable(hook):
                line = hook(self.train_set)
                if line:
                    note(line)

    def fit(self) -> Path:
        """Train under a lock on the run folder (a second process on the same run stops with one line); a fresh run
        that fails before its first checkpoint leaves no folder behind."""
        from filelock import FileLock, Timeout

        self.run.parent.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(self.run.parent / f".{self.run.name}.lock"))
        if self.rank == 0:
            try:
                lock.acquire(timeout=0)
            except Timeout:
                raise TrainingError(f"{self.run}: another process is training this run; wait for it, or give another "
                                    f"--out") from None
        existed = self.run.exists()
        try:
            return self._fit()
        except BaseException as exc:
            if (self.rank == 0 and not existed and not self.opts.resume and not isinstance(exc, Interrupted)
                    and not ckpt.checkpoints(self.run)):
                self.log.close()
                shutil.rmtree(self.run, ignore_errors=True)  # nothing to resume: remove what this run created
            raise
        finally:
            if lock.is_locked:
                lock.release()
                Path(lock.lock_file).unlink(missing_ok=True)

    def _fit(self) -> Path:
        from .progress import Progress

        progress = Progress(None, self.t.batch_size, quiet=self.opts.quiet, silent=self.rank != 0,
                            interval=self.opts.progress_interval)
        estimate = memory.check(self)  # before anything is written: a batch that cannot fit is one line
        # components' prepare_training hooks: before a fresh run's folder exists (an error there leaves nothing),
        # or when a resumed run had no checkpoint and starts again from step 0; never when fine-tuning (--init)
        if not self.opts.resume and not self.opts.init:
            self._prepare_components(progress.note)
        if not self._start(progress.note):
            self.log.close()
            return self.run
        if self.opts.resume and self.step == 0 and not self.opts.init:
            self._prepare_components(progress.note)
        for line in self.notes() + getattr(self, "resume_notes", []) + ([estimate] if estimate else []):
            progress.note(line, always=line.startswith("note:"))
        progress.run_start = self.step
        progress.set_total(None if self.plan == UNBOUNDED else self.plan)  # a resumed run's plan is known by now
        start = self._budget_start = self.step
        self.t_start = time.perf_counter()
        progress.restart_clock()  # rates and ETAs from training steps only, not the set-up
        if self.opts.max_minutes:
            bound = ("training until it ends (no --epochs or --steps given; the spec's epochs do not bound it)"
                     if self.opts.until_budget else f"at most {self.total} steps")
            progress.note(f"budget: {self.opts.max_minutes:g} min for the whole command: set-up "
                          f"({self.t_start - self.t_created:.0f} s so far), training, evaluations and the final one; {bound}")
        stopped = False
        with StopRequest() as stop, progress:
            while self.step < self.total and not self.out_of_time:
                self.sampler.set_epoch(self.epoch, self.step - self.epoch * self.steps_per_epoch)
                for batch in self.loader:
                    logs = self.train_step(batch)
                    progress.update(self.step, self.epoch, logs)
                    self.log.step(self.step, logs, self.opt.param_groups[0]["lr"], progress.images_per_second())
                    self._plan_budget(start, progress)
                    if stop.requested:
                        where = self.save()
                        self.log.close()
                        raise Interrupted(f"interrupted at step {self.step}; saved {where}; continue with "
                                          f"`inpaintzoo train --resume {self.run}`")
                    if self.step >= self.total:
                        break
                    if self.opts.stop_after and self.step - start >= self.opts.stop_after:
                        stopped = True
                        break
                    if self.over_budget():
                        self.out_of_time = True  # the budget ends this epoch early; evaluate and finish
                        break
                if stopped:
                    break
                if (self.step - self.epoch * self.steps_per_epoch >= self.steps_per_epoch or self.step >= self.total
                        or self.out_of_time):
                    self.end_epoch(progress)
                if stop.requested:  # a Ctrl-C during an evaluation, the last one included
                    where = self.save()
                    self.log.close()
                    raise Interrupted(f"interrupted at step {self.step} (during the evaluation); saved {where}; "
                                      f"continue with `inpaintzoo train --resume {self.run}`")
        if stopped:
            self.save()
            self.log.close()
            return self.run
        if ckpt.checkpoints(self.run) == [] or ckpt.checkpoints(self.run)[-1].name != f"step-{self.step:08d}":
            self.save()
        self.finish()
        self.log.close()
        return self.run

    def end_epoch(self, progress: Any) -> None:
        if self.step - self.epoch * self.steps_per_epoch >= self.steps_per_epoch:
            self.epoch += 1  # a budget-cut partial epoch is evaluated but not counted, so resume stays exact
        if self.over_budget():
            self.out_of_time = True
        last = self.step >= self.total or self.out_of_time
        metrics: dict[str, float] = {}
        if self.epoch % self.t.eval_every == 0 or last:
            t = time.perf_counter()
            metrics = self.evaluate()
            self.eval_seconds = time.perf_counter() - t
            if self.rank == 0:
                self.log.evaluation({"step": self.step, "epoch": self.epoch, "elapsed_s": round(self.elapsed_now(), 2),
                                     **progress.means(), **{f"val/{k}": v for k, v in metrics.items()}})
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
        if self.world > 1:  # every rank must hold the same weights: the generator's and the discriminator's sums
            disc = self.parts.discriminator
            sums = torch.tensor([float(sum(p.double().sum() for p in self.model.parameters())),
                                 float(sum(p.double().sum() for p in disc.parameters())) if disc is not None else 0.0],
                                dtype=torch.float64)
            gathered = [torch.zeros_like(sums) for _ in range(self.world)]
            dist.all_gather(gathered, sums)
            if self.rank == 0:
                write_json(self.run / "distributed.json", {
                    "world_size": self.world, "rank_checksums": [float(g[0]) for g in gathered],
                    "discriminator_checksums": [float(g[1]) for g in gathered] if disc is not None else None})
        if self.rank == 0:
            extra = {"training": {"steps": self.step, "epochs": self.epoch, "ema": bool(self.ema), "overrides": self.opts.overrides,
                                  "data": self.opts.data, "val_data": self.opts.val_data, "init": self.opts.init}}
            save_model(final_model, self.run / "final", overwrite=True, extra=extra)
