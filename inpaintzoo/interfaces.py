"""The component kinds a model is composed of, and the tensors that flow between them.

Tensors are NCHW. Images reach the encoder already normalised to the model's contract and with
holes filled; masks are N×1×H×W floats with 1 = hole. A composed model runs

    features = encoder(x, mask)                  # list of maps, fine → coarse
    latent   = prior(features, labels)           # LatentOutput: decoder input, skips, KL terms
    raw      = decoder(latent.h, latent.skips)   # raw output (image, logits or mixture params)
    image    = decoder.to_image(raw)             # an image in the contract's normalised range

and every loss reads what it needs from a LossContext.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from typing import Annotated

import torch
from pydantic import AfterValidator, BaseModel, ConfigDict
from torch import Tensor, nn

if TYPE_CHECKING:
    from .model import InpaintModel


MAX_SIDE = 16384


def _bounded_size(v: tuple[int, int]) -> tuple[int, int]:
    if not all(1 <= s <= MAX_SIDE for s in v):
        raise ValueError(f"sides must lie in 1…{MAX_SIDE} pixels, got {v[0]}×{v[1]}")
    return v


#: [height, width] in pixels, each side in 1…16384: use for every image-size field
ImageSize = Annotated[tuple[int, int], AfterValidator(_bounded_size)]


class ComponentConfig(BaseModel):
    """Base of every component's config: unknown keys are errors, values are checked on assignment.

    `derive` names where a field's value comes from when the spec leaves it out, so sizes are written once:
    'model.FIELD' (the [model] section: image_size, channels, …), 'SECTION.FIELD' (the validated config of an
    earlier section: encoder, prior, decoder), or a function of those sections (a dict of validated
    configs) returning the value or None. A field left as None may instead be inferred at build, from the
    previous component's dry-run output, by the component's `infer_config`.
    """

    model_config = ConfigDict(extra="forbid", validate_assignment=True, frozen=False, allow_inf_nan=False)
    derive: ClassVar[dict[str, Any]] = {}


class Component(nn.Module):
    """A registered building block. Built from its validated config alone: `cls(cfg)`.

    Weights and buffers go into the published artefact. State that only training needs (a power-
    iteration vector, a Lagrange multiplier) stays out of it: a component exposes such state with
    `train_state() -> dict` and `load_train_state(d)`, and the training loop checkpoints it.
    A component may also define `on_evaluate(model, dataset, folder, step) -> dict[str, float]`: the
    loop calls it at each evaluation to write its plots and add its metrics (e.g. a learned graph's SHD);
    `prepare_training(dataset) -> str | None`: called once before the first step of a fresh run (not when
    resuming, nor when fine-tuning from a published model), with the
    training set (e.g. to discover a causal graph from the labels), its returned line shown to the user;
    whatever it sets must live in weights or buffers, so a resumed run does not redo it;
    `evaluation_report(model, dataset, n) -> dict`: what `inpaintzoo eval` adds for it (metrics and tables).
    """

    Config: ClassVar[type[ComponentConfig]] = ComponentConfig

    def __init__(self, cfg: ComponentConfig):
        super().__init__()
        self.cfg = cfg

    def example_inputs(self, batch_size: int = 2) -> tuple:
        """A tiny valid input for the conformance checks (build, forward, backward, save→load)."""
        raise NotImplementedError(f"{type(self).__name__} does not define example_inputs()")

    @classmethod
    def infer_config(cls, cfg: ComponentConfig, upstream: Any) -> dict[str, Any]:
        """Values for this config's unset (None) fields, from the previous stage's dry-run output (encoder
        features for a prior, the LatentOutput for a decoder). {} when nothing needs inferring."""
        return {}

    #: Whether the component draws random numbers at inference (a sampled latent, noise): True, False, or the name
    #: of the bool config field that decides. A model that samples takes `inpaint(..., seed=)`, and `inpaintzoo
    #: list` says so from the spec alone (this is declared, not computed, so the zoo needs no model built).
    samples: ClassVar[bool | str] = False


class Block(Component):
    """A reusable cell that encoders and decoders name in a spec.

    Contract: `Block(cfg)` where cfg has `in_channels`, `out_channels` and `stride`
    (1 keeps the size, 2 halves it, -1 doubles it); `forward(x) -> y`.
    """

    def example_inputs(self, batch_size: int = 2) -> tuple:
        return (torch.randn(batch_size, self.cfg.in_channels, 8, 8),)


class Encoder(Component):
    """Maps the hole-filled image and its mask to a list of feature maps, fine → coarse."""

    def forward(self, x: Tensor, mask: Tensor) -> list[Tensor]:  # pragma: no cover - interface
        raise NotImplementedError


@dataclass
class LatentOutput:
    """What a latent prior hands the decoder and the losses.

    h: decoder input. skips: feature maps for decoder skip connections (None if unused).
    kl: per-group KL terms, each of shape [N] (summed over the group's dimensions).
    extras: named tensors other losses or plots read (e.g. a causal adjacency matrix).
    """

    h: Tensor
    skips: list[Tensor] | None = None
    kl: dict[str, Tensor] = field(default_factory=dict)
    extras: dict[str, Any] = field(default_factory=dict)


class LatentPrior(Component):
    """The latent stage between encoder and decoder: posterior, prior and KL, or a deterministic bottleneck.

    `forward(features, labels, mask)`: labels are per-sample concept labels (if the prior uses them), mask
    the N×1×H×W hole mask at image size (for priors that condition on it, e.g. partial convolutions).
    """

    supports_interventions: ClassVar[bool] = False

    @property
    def label_dim(self) -> int:
        """Length of the per-sample label vector this prior conditions on (0: none)."""
        return 0

    def forward(self, features: list[Tensor], labels: Tensor | None = None, mask: Tensor | None = None) -> LatentOutput:  # pragma: no cover
        raise NotImplementedError

    def intervene(
        self, features: list[Tensor], values: dict[str, float], labels: Tensor | None = None, mask: Tensor | None = None
    ) -> LatentOutput:
        raise NotImplementedError(f"{type(self).__name__} has no named concepts to intervene on")

    def concept_names(self) -> list[str]:
        return []

    def grid_values(self, n: int = 5) -> dict[str, list[float]]:
        """n values per concept (label units) for intervention grids: the same in training plots and in
        `inpaintzoo intervene --grid`."""
        raise NotImplementedError(f"{type(self).__name__} has no named concepts")

    def concept_ranges(self) -> dict[str, tuple[float, float]]:
        """Each concept's (low, high) in label units, the span its grid and sliders cover; {} without concepts."""
        return {}

    def concept_descendants(self) -> dict[str, list[str]]:
        """Each concept's descendants in the graph in use: the concepts a do() on it moves too."""
        return {}

    def concept_edges(self) -> list[tuple[str, str, float]]:
        """(cause, effect, weight) for every edge of the graph in use."""
        return []

    def read_concepts(self, model: Any, images01: Tensor) -> dict[str, list[float]]:
        """Each concept's value (label units) as the model's encoder reads it from whole images in [0, 1]."""
        return {}


class Decoder(Component):
    """Maps the latent stage's output (and skips) to a raw output; `to_image` turns it into an image."""

    def forward(self, h: Tensor, skips: list[Tensor] | None = None) -> Tensor:  # pragma: no cover
        raise NotImplementedError

    def to_image(self, raw: Tensor) -> Tensor:
        """The image the raw output stands for, in the contract's normalised range."""
        return raw


class Discriminator(Component):
    """Scores images (real vs generated); used by adversarial losses in their own optimiser step.

    `forward(image, mask)` returns the scores; a discriminator whose intermediate activations feed a loss (LaMa's
    feature matching) also defines `forward_features(image, mask) -> (scores, [activations])`.
    """

    def forward(self, image: Tensor, mask: Tensor | None = None) -> Tensor:  # pragma: no cover
        raise NotImplementedError

    def forward_features(self, image: Tensor, mask: Tensor | None = None) -> tuple[Tensor, list[Tensor]]:
        raise NotImplementedError(f"{type(self).__name__} does not expose its intermediate activations "
                                  f"(feature matching needs a discriminator that does, e.g. lama.nlayer_discriminator)")


@dataclass
class LossContext:
    """Everything a loss may read after one forward pass. Images are in the normalised range.

    `targets` holds the per-image data targets losses asked for (see `Loss.data_target`), batched;
    `shared` carries values that the discriminator and generator steps of one iteration must agree on
    (e.g. MEDFE's local crop), since both read the same context.
    """

    target: Tensor
    mask: Tensor
    raw: Tensor
    pred: Tensor
    composite: Tensor
    latent: LatentOutput
    features: list[Tensor]
    labels: Tensor | None = None
    model: InpaintModel | None = None
    progress: float = 1.0
    step: int = 0
    discriminator: Discriminator | None = None
    targets: dict[str, Tensor] = field(default_factory=dict)
    shared: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class DataTarget:
    """A per-image target a loss needs, computed once per image in the data pipeline (DataLoader workers).

    `fn(image01)` maps one C×H×W image in [0, 1] to its target tensor; it must be picklable (a module-level
    function or a functools.partial of one). `version` names the computation for the on-disk cache: change
    it whenever `fn`'s output would change.
    """

    name: str
    fn: Callable[[Tensor], Tensor]
    version: str


class Loss(Component):
    """A named, weighted training objective. `forward(ctx)` returns a scalar; the spec's weight scales it.

    Adversarial losses also define `discriminator_loss(ctx, discriminator)`, the discriminator's own objective
    (never scaled by the generator term's weight: every release weighs only the generator's adversarial term),
    and say in which order the two steps of an iteration run (`step_order`, the release's own):
    'd_first' (the discriminator on the detached output, then the generator against the updated discriminator:
    mmagic, MEDFE), 'g_first' (the generator step, then the generator is run again and the discriminator steps on
    its new output: LaMa under Lightning) or 'joint' (both gradients from one pass and the same weights, then both
    steps: AOT-GAN).
    """

    adversarial: ClassVar[bool] = False
    step_order: ClassVar[str] = "d_first"

    def forward(self, ctx: LossContext) -> Tensor:  # pragma: no cover
        raise NotImplementedError

    def discriminator_loss(self, ctx: LossContext, discriminator: Discriminator) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} is not an adversarial loss")

    def discriminator_terms(self, ctx: LossContext, discriminator: Discriminator) -> list[Tensor]:
        """`discriminator_loss` as the terms its release backpropagates one at a time, in that order (their sum is
        the loss). One term unless a release calls backward per term (mmagic: fake, then real), which accumulates
        the gradients in another order: the same step up to float rounding, but not to the bit."""
        return [self.discriminator_loss(ctx, discriminator)]

    def after_step(self, ctx: LossContext) -> None:
        """Called once after each optimiser step (e.g. to update a Lagrange multiplier)."""

    def data_target(self, contract: Any) -> DataTarget | None:
        """A target this loss needs per training image, computed in the data workers (e.g. MEDFE's RTV
        structure image), or None. The batch's targets reach `forward` as `ctx.targets[name]`."""
        return None

    def example_inputs(self, batch_size: int = 2) -> tuple:
        from .testing import dummy_loss_context

        return (dummy_loss_context(batch_size),)


class MaskGenerator:
    """Draws masks, 1 = hole: `gen(n, height, width, generator) -> n×1×H×W float tensor`.

    Deterministic for a given torch.Generator state, so evaluation mask sets are reproducible.
    """

    Config: ClassVar[type[ComponentConfig]] = ComponentConfig
    draws_holes: ClassVar[bool] = True

    def __init__(self, cfg: ComponentConfig):
        self.cfg = cfg

    def __call__(self, n: int, height: int, width: int, generator: torch.Generator) -> Tensor:  # pragma: no cover
        raise NotImplementedError


class ImageDataset(torch.utils.data.Dataset):
    """Yields {'image': C×H×W float in [0, 1], 'labels': float vector (if any), 'mask' (if it has its own)}.

    Config fields `root` and `split` are set by the training loop; value range and normalisation come
    from the model's contract, never from the dataset. Random augmentation must draw from torch's global
    RNG, which the data pipeline seeds per sample (so workers and resumes see the same items).

    Class attributes: `procedural` (generated, so `--data` does not apply), `in_memory` (items cost no
    decoding: DataLoader workers would only add transfer), `random_augmentation` (items differ between reads
    of the same index, so per-image targets are not cached).
    """

    Config: ClassVar[type[ComponentConfig]] = ComponentConfig
    label_names: list[str] = []
    procedural: ClassVar[bool] = False
    in_memory: ClassVar[bool] = False
    random_augmentation: bool = False

    def __init__(self, cfg: ComponentConfig):
        self.cfg = cfg


class Converter:
    """Turns an authors' released checkpoint into an inpaintzoo model folder (`inpaintzoo convert`).

    `spec()`: the converted model's spec (architecture, contract, and the release-compatible computations its
    weights need). `read(source)`: the release's tensors by their own key names (read with
    `inpaintzoo.convert.read_checkpoint`, never plain pickle). `mapping(keys)`: which release key fills which
    parameter, and why each other key is dropped (training-only parts, optimiser state).
    """

    Config: ClassVar[type[ComponentConfig]] = ComponentConfig
    source_help: ClassVar[str] = "the released checkpoint"

    def __init__(self, cfg: ComponentConfig):
        self.cfg = cfg

    def spec(self) -> dict[str, Any]:  # pragma: no cover - interface
        raise NotImplementedError

    def read(self, source: Any) -> dict[str, Tensor]:  # pragma: no cover - interface
        raise NotImplementedError

    def mapping(self, release_keys: list[str]) -> Any:  # pragma: no cover - interface
        raise NotImplementedError

    def reference_keys(self) -> list[str]:
        """Every key of the release as published (shipped with the plugin), so a tensor missing from a file can
        be named as the release names it; [] when unknown."""
        return []

    def where(self, key: str) -> str:
        """The file of the last `read` source that holds (or should hold) release key `key`, for messages."""
        return ""

    def variant(self, release: dict[str, Tensor]) -> str | None:
        """The zoo entry a file read by `read` belongs to, told from its tensors (MI-GAN's 256 and 512 generators),
        for a conversion that named the converter rather than an entry; None: the configured one."""
        return None

    def discriminator_mapping(self, release_keys: list[str]) -> Any:
        """Which release key fills which parameter of the spec's [discriminator], for files that publish it (LaMa's
        big-lama-with-discr, AOT-GAN's D*.pt, mmagic's checkpoints); None when the file holds none. The converted
        folder then keeps it as discriminator.safetensors, where a fine-tune (`train --init`) starts from it."""
        return None


class Metric:
    """Scores composited outputs against the ground truth: images in [0, 1], masks 1 = hole.

    `update(pred, target, mask)` returns per-image values by key, each of shape [N] (a metric may report
    over the whole image and inside the hole: `psnr`, `psnr_hole`), or {} for a metric of the whole set;
    `compute()` returns the set-level values once every batch was seen (FID with its image count), and
    `source` names the implementation and weights, so every number carries where it came from.
    """

    Config: ClassVar[type[ComponentConfig]] = ComponentConfig

    def __init__(self, cfg: ComponentConfig):
        self.cfg = cfg

    @property
    def source(self) -> str:  # pragma: no cover - interface
        raise NotImplementedError

    def update(self, pred01: Tensor, target01: Tensor, mask: Tensor) -> dict[str, Tensor]:
        return {}

    def compute(self) -> dict[str, Any]:
        return {}
