"""A model composed from a spec: encoder → latent prior → decoder (the generator), and its training parts.

`InpaintModel` holds only what inference needs. Losses and the discriminator are `TrainingParts`, built from
the same spec by `model.train_components()` when a model is trained or fine-tuned: loading a published model
never builds a loss, so it never downloads VGG weights or opens a path named in a loss's config.
"""
from __future__ import annotations

import hashlib
import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from . import contract as C
from . import hd
from .hd import HDOptions
from .errors import InputError
from .catalog import draws_noise
from .interfaces import Decoder, Discriminator, Encoder, LatentOutput, LatentPrior, Loss, LossContext
from .spec import ModelSpec


@dataclass
class ModelOutput:
    """One generator pass: raw decoder output, image, composite, and the context every loss reads."""

    raw: Tensor
    pred: Tensor
    composite: Tensor
    latent: LatentOutput
    features: list[Tensor]
    context: LossContext


class TrainingParts(nn.Module):
    """The spec's losses (weighted) and discriminator: everything training needs beyond the generator."""

    def __init__(self, losses: dict[str, Loss], weights: dict[str, float], discriminator: Discriminator | None = None):
        super().__init__()
        self.losses = nn.ModuleDict(losses)
        self.weights = dict(weights)
        self.discriminator = discriminator

    @property
    def adversarial(self) -> list[str]:
        return [n for n, loss in self.losses.items() if loss.adversarial]

    @property
    def step_order(self) -> str:
        """How an iteration orders its generator and discriminator steps: what the adversarial losses name (their
        config's `step_order`, else their class's), which must agree."""
        from .gan import STEP_ORDERS

        orders = {n: getattr(self.losses[n].cfg, "step_order", type(self.losses[n]).step_order) for n in self.adversarial}
        found = sorted(set(orders.values()))
        if len(found) > 1:
            raise ValueError("the adversarial losses name different step orders (" + ", ".join(
                f"losses.{n}: {o}" for n, o in orders.items()) + "); set one step_order for all")
        order = found[0] if found else "d_first"
        if order not in STEP_ORDERS:
            raise ValueError(f"step_order '{order}': expected one of {', '.join(STEP_ORDERS)}")
        return order

    @property
    def discriminator_frozen(self) -> bool:
        """Whether the generator's terms leave the discriminator's gradients alone: always, unless an adversarial loss
        reproduces a release whose trainer let them through (AOT-GAN's `release_gradients`)."""
        return not any(getattr(self.losses[n].cfg, "release_gradients", False) for n in self.adversarial)

    def generator_losses(self, ctx: LossContext) -> dict[str, Tensor]:
        """Every weighted term the generator minimises, by name."""
        return {name: self.weights[name] * loss(ctx) for name, loss in self.losses.items()}

    def discriminator_loss(self, ctx: LossContext) -> Tensor:
        """The discriminator's objective: its adversarial losses' own terms, unweighted (a spec weight scales the
        generator's adversarial term only, as in every release this toolkit ports)."""
        return sum(self.losses[n].discriminator_loss(ctx, self.discriminator) for n in self.adversarial)

    def discriminator_terms(self, ctx: LossContext) -> list[Tensor]:
        """The discriminator's objective as the terms to backpropagate in turn (see `Loss.discriminator_terms`)."""
        return [t for n in self.adversarial for t in self.losses[n].discriminator_terms(ctx, self.discriminator)]


class InpaintModel(nn.Module):
    def __init__(self, spec: ModelSpec, encoder: Encoder, prior: LatentPrior, decoder: Decoder):
        super().__init__()
        self.spec = spec
        self.contract = spec.contract
        self.encoder = encoder
        self.prior = prior
        self.decoder = decoder
        self.config: dict[str, Any] = {}  # config.json of a loaded model

    # -- training parts ----------------------------------------------------------------------------
    def train_components(self, registry: Any = None, check: bool = True) -> TrainingParts:
        """Build the spec's losses and discriminator (to train, resume or fine-tune this model)."""
        from .build import build_training_parts

        return build_training_parts(self, registry, check=check)

    # -- the network, in normalised units ----------------------------------------------------------
    def network_input(self, image01: Tensor, mask: Tensor) -> Tensor:
        """Hole-filled, normalised image: what the encoder sees."""
        return C.normalize(C.fill_holes(image01, mask, self.contract), self.contract)

    def run(
        self, image01: Tensor, mask: Tensor, labels: Tensor | None = None, intervention: dict[str, float] | None = None
    ) -> tuple[Tensor, Tensor, LatentOutput, list[Tensor]]:
        bgr = self.contract.channel_order == "BGR"  # the network's own colour order; callers always see RGB
        x = self.network_input(image01.flip(1) if bgr else image01, mask)
        features = self.encoder(x, mask)
        if intervention is not None:  # {} regenerates through the intervention path, changing nothing
            latent = self.prior.intervene(features, intervention, labels, mask)
        else:
            latent = self.prior(features, labels, mask)
        raw = self.decoder(latent.h, latent.skips)
        image = self.decoder.to_image(raw)
        if bgr:
            image = image.flip(1)
            raw = raw.flip(1) if raw.shape[1] == image.shape[1] else raw  # raw outputs that are images
        return raw, image, latent, features

    def forward(
        self, image: Tensor, mask: Tensor, labels: Tensor | None = None, progress: float = 1.0, step: int = 0,
        discriminator: Discriminator | None = None,
    ) -> ModelOutput:
        """Training pass. `image` is N×C×H×W in [0, 1] at the contract size; `mask` N×1×H×W, 1 = hole."""
        raw, pred, latent, feats = self.run(image, mask, labels)
        target = C.normalize(image, self.contract)
        composite = torch.where(mask.bool(), pred, target)
        ctx = LossContext(target, mask, raw, pred, composite, latent, feats, labels, self, progress, step,
                          discriminator=discriminator)
        return ModelOutput(raw, pred, composite, latent, feats, ctx)

    def to(self, *args: Any, **kwargs: Any) -> "InpaintModel":  # type: ignore[override]
        """`nn.Module.to`, except that a `memory_format` is given to the 4-D tensors only: weights of other ranks (MAT's
        5-D modulated-convolution weights, stored as its release stores them) keep theirs instead of failing."""
        layout = kwargs.pop("memory_format", None)
        super().to(*args, **kwargs)
        if layout is not None:
            with torch.no_grad():
                for t in list(self.parameters()) + list(self.buffers()):
                    if t.dim() == 4:
                        t.data = t.data.contiguous(memory_format=layout)
        return self

    def memory_format(self) -> torch.memory_format:
        """The layout the weights are in (`model.to(memory_format=torch.channels_last)`, which `load()` does):
        inputs are given the same, so no convolution converts them."""
        for p in self.parameters():
            if p.ndim == 4 and p.shape[-1] * p.shape[-2] > 1:
                return torch.channels_last if not p.is_contiguous() and p.is_contiguous(memory_format=torch.channels_last) \
                    else torch.contiguous_format
        return torch.contiguous_format

    def compile(self, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        """torch.compile the encoder, prior and decoder in place, so `inpaint()` and `intervene()` (which run them,
        not `forward`) run compiled. The first call per input size pays the compilation."""
        for part in (self.encoder, self.prior, self.decoder):
            part.compile(*args, **kwargs)

    # -- the user's calls --------------------------------------------------------------------------
    @torch.inference_mode()
    def inpaint(self, image: Any, mask: Any, threshold: float | None = None, hd_strategy: str = "auto",
                hd_crop_margin: int = 128, hd_crop_trigger: int | None = None, hd_resize_limit: int = 1280,
                dtype: torch.dtype | str | None = None, seed: int | Sequence[int] | None = None,
                steps: int | None = None) -> Any:
        """Fill the holes of `image` (PIL, numpy or tensor; single or batched; any size).

        `mask` is 1 (or 255) in the hole. The contract's preprocessing is applied and undone here;
        pixels outside the hole come back exactly as given, in the caller's own type. Always runs in eval
        mode (normalisation statistics are used, never updated), whatever mode the model is in.

        Large images (inpaintzoo.hd): `hd_strategy` 'original' runs the whole image, 'resize' scales it to
        `hd_resize_limit` first, 'crop' runs a window of `hd_crop_margin` pixels around each hole region; 'auto'
        crops when the longer side exceeds `hd_crop_trigger` (default: 800, or twice the trained size if larger).
        `dtype` (torch.bfloat16 / float16, or their names) runs the network under autocast.
        `seed`, for a model that samples (`model.samples`): image i of a batch draws its noise from
        `image_seed(seed, i)` (or from `seed[i]`, one per image), so the same seed gives the same images on the same
        device whatever else the process draws; None draws from the global generator. A model that does not
        sample computes the same image whatever the seed.
        `steps`, for a model with an iterative sampler (`model.sampler_steps` is its default): the number of sampling
        steps for this call (a diffusion model's DDIM steps); a model without one refuses it.
        """
        trigger = hd_crop_trigger if hd_crop_trigger is not None else self.crop_trigger()
        opts = HDOptions(hd_strategy, hd_crop_margin, trigger, hd_resize_limit)
        with self.sampling_steps(steps):
            return self._infer(image, mask, threshold, None, opts, dtype, seed)

    @property
    def sampler_steps(self) -> int | None:
        """The default step count of this model's iterative sampler (a component with a `steps` setting), or None."""
        found = [c.cfg.steps for c in (self.encoder, self.prior, self.decoder) if "steps" in type(c.cfg).model_fields]
        return found[0] if found else None

    @contextmanager
    def sampling_steps(self, steps: int | None) -> Iterator[None]:
        """Within the block, the sampler runs `steps` steps (None: its configured count); restored afterwards."""
        if steps is None:
            yield
            return
        parts = [c for c in (self.encoder, self.prior, self.decoder) if "steps" in type(c.cfg).model_fields]
        if not parts:
            raise InputError(f"steps={steps!r}: {self.spec.model.name} has no iterative sampler; leave steps out")
        if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)):
            raise InputError(f"steps={steps!r}: expected a whole number of sampling steps")
        before = [c.cfg.steps for c in parts]
        try:
            for c in parts:
                c.cfg.steps = int(steps)  # validated on assignment: the component's own bounds
        except ValueError as exc:
            for c, v in zip(parts, before):
                c.cfg.steps = v
            raise InputError(f"steps={steps}: {str(exc).splitlines()[-1].strip()}") from None
        try:
            yield
        finally:
            for c, v in zip(parts, before):
                c.cfg.steps = v

    @property
    def samples(self) -> bool:
        """Whether inference draws random numbers (a component configured to sample), so `seed=` matters."""
        return any(draws_noise(type(c).samples, c.cfg) for c in (self.encoder, self.prior, self.decoder))

    def crop_trigger(self) -> int:
        """The longer side above which hd_strategy 'auto' crops: 800, or twice the trained size if larger."""
        return max(800, 2 * max(self.contract.image_size))

    @torch.inference_mode()
    def intervene(self, image: Any, values: dict[str, float], mask: Any = None, threshold: float | None = None) -> Any:
        """The image under do(concept = value) for each named concept, propagated through the prior's graph.

        With no mask the whole image is regenerated; with a mask only the hole is.
        """
        if not self.prior.supports_interventions:
            raise InputError(f"intervene: prior '{self.spec.prior.type}' has no named concepts to intervene on")
        names = self.prior.concept_names()
        for key, value in values.items():
            if key not in names:
                from .errors import did_you_mean

                raise InputError(f"intervene: unknown concept '{key}'{did_you_mean(key, names)}; concepts: {', '.join(names)}")
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
                raise InputError(f"intervene: {key}={value!r}: expected a finite number")
        ranges = self.prior.concept_ranges()
        for key, value in values.items():  # allowed (an extrapolation), but said, in the API as on the command line
            lo, hi = ranges.get(key, (None, None))
            if lo is not None and not lo - (hi - lo) <= value <= hi + (hi - lo):
                import warnings

                warnings.warn(f"intervene: {key}={value:g} is far outside the concept's range {lo:g}…{hi:g}: the result "
                              f"is an extrapolation", ExtrapolationWarning, stacklevel=3)
        return self._infer(image, mask, threshold, dict(values), HDOptions("original"), None)

    def _infer(self, image: Any, mask: Any, threshold: float | None, intervention: dict[str, float] | None,
               opts: HDOptions, dtype: torch.dtype | str | None, seed: int | Sequence[int] | None = None) -> Any:
        batch = C.image_batch(image, self.contract.channels)
        x01 = batch.tensor
        grey = x01.shape[1] == 1 and self.contract.channels == 3  # grey arrays: run as RGB, return grey
        if grey:
            x01 = x01.expand(-1, 3, -1, -1)
        if x01.shape[1] != self.contract.channels:
            raise InputError(f"image: has {x01.shape[1]} channels; this model takes {self.contract.channels}")
        regenerate = mask is None  # intervene() without a mask: the encoder sees everything, all is redrawn
        m = torch.zeros_like(x01[:, :1]) if regenerate else C.mask_batch(mask, threshold)
        if m.shape[-2:] != x01.shape[-2:]:
            raise InputError(
                f"mask: size {m.shape[-1]}×{m.shape[-2]} differs from the image's {x01.shape[-1]}×{x01.shape[-2]} "
                f"(width×height); resize the mask to the image"
            )
        if m.shape[0] == 1 and x01.shape[0] > 1:
            m = m.expand(x01.shape[0], -1, -1, -1)
        if m.shape[0] != x01.shape[0]:
            raise InputError(f"mask: batch of {m.shape[0]} masks for {x01.shape[0]} images")
        param = next(self.parameters())
        autocast = _autocast_dtype(dtype)

        layout = self.memory_format()

        def net(xc: Tensor, mc: Tensor) -> Tensor:
            xn, mn, how = C.to_network_size(xc.to(param.device), mc.to(param.device), self.contract)
            xn, mn = xn.to(param.dtype).contiguous(memory_format=layout), mn.to(param.dtype).contiguous(memory_format=layout)
            with torch.autocast(param.device.type, dtype=autocast, enabled=autocast is not None):
                _, pred, _, _ = self.run(xn, mn, intervention=intervention)
            return C.from_network_size(C.denormalize(pred.float(), self.contract).clamp(0, 1), how)

        seeds = image_seeds(seed, x01.shape[0]) if seed is not None else None
        with eval_mode(self):
            if regenerate or intervention is not None:
                pred01 = net(x01, m)
            elif seeds is not None and self.samples:  # image by image, each from its own seed
                pred01 = torch.cat([seeded(s, param.device, hd.run, net, x01[i:i + 1], m[i:i + 1], opts,
                                           square=self.contract.resize == "fixed") for i, s in enumerate(seeds)])
            else:
                pred01 = hd.run(net, x01, m, opts, square=self.contract.resize == "fixed")
        if grey:
            pred01 = (0.299 * pred01[:, :1] + 0.587 * pred01[:, 1:2] + 0.114 * pred01[:, 2:3]).clamp(0, 1)
        return C.hand_back(pred01.cpu(), torch.ones_like(m) if regenerate else m.cpu(), batch)

    def dummy_batch(self, batch_size: int = 2) -> tuple[Tensor, Tensor]:
        h, w = self.contract.image_size
        g = torch.Generator().manual_seed(0)
        image = torch.rand(batch_size, self.contract.channels, h, w, generator=g)
        mask = torch.zeros(batch_size, 1, h, w)
        mask[..., h // 4 : 3 * h // 4, w // 4 : 3 * w // 4] = 1.0
        return image, mask


def image_seed(seed: int, key: int | str) -> int:
    """One image's noise seed from a run's seed and the image's key (its index in a batch, or its relative path in a
    folder run), so an image's result depends neither on the batch it is in nor on the rank that runs it."""
    digest = hashlib.sha256(f"{seed}\0{key}".encode()).digest()
    return int.from_bytes(digest[:8], "little") & (2**63 - 1)


def image_seeds(seed: int | Sequence[int], n: int) -> list[int]:
    """`seed` as one seed per image of a batch of n: an int spread by `image_seed`, or a sequence given per image."""
    def check(v: Any, what: str) -> int:
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or not 0 <= int(v) < 2**63:
            raise InputError(f"{what}={v!r}: expected an integer 0…2**63−1")
        return int(v)

    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
        return [image_seed(check(seed, "seed"), i) for i in range(n)]
    if isinstance(seed, (list, tuple)):
        if len(seed) != n:
            raise InputError(f"seed: {len(seed)} seeds for {n} images; give one per image or a single integer")
        return [check(v, f"seed[{i}]") for i, v in enumerate(seed)]
    raise InputError(f"seed={seed!r}: expected an integer 0…2**63−1 or one per image")


def seeded(seed: int, device: torch.device, fn: Any, *args: Any, **kwargs: Any) -> Any:
    """`fn(*args)` with the global generators (CPU and this CUDA device) seeded, restored afterwards."""
    cuda = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=cuda):
        torch.manual_seed(seed)
        return fn(*args, **kwargs)


class ExtrapolationWarning(UserWarning):
    """An intervention far outside the range its concept was trained on."""


def _autocast_dtype(dtype: torch.dtype | str | None) -> torch.dtype | None:
    if dtype is None or dtype in ("float32", torch.float32):
        return None
    named = {"bfloat16": torch.bfloat16, "bf16": torch.bfloat16, "float16": torch.float16, "fp16": torch.float16,
             "half": torch.float16}
    value = named.get(dtype, dtype) if isinstance(dtype, str) else dtype
    if value not in (torch.bfloat16, torch.float16):
        raise InputError(f"dtype={dtype!r}: expected bfloat16, float16 or float32")
    return value


@contextmanager
def eval_mode(module: nn.Module) -> Iterator[nn.Module]:
    """Run `module` in eval mode and restore each submodule's own mode afterwards."""
    modes = [(m, m.training) for m in module.modules()]
    module.eval()
    try:
        yield module
    finally:
        for m, was in modes:
            m.training = was
