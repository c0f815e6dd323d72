"""What a reproduction provides, and how the harness finds and configures one.

The papers differ most in what happens inside one training step (n_critic, penalties, clipping,
labels, two domains, growing resolution, mixtures), so a reproduction owns its step and the harness
owns everything around it (data, budget, logging, checkpoints, evaluation, the run directory).

A reproduction module (`reproductions/<paper>.py`) defines:
- `Hyperparameters`: a dataclass of the paper's settings, with the paper's values as defaults;
- a subclass of `Reproduction` that builds networks and optimisers from them and implements
  `train_step` (`update` does one optimiser step, `frozen` holds D fixed for G's); `noise`,
  `random_labels` and `sample` have defaults (z ~ N(0, I); uniform labels; G, given labels when
  `conditional`, in the declared `sampling` mode) that papers drawing otherwise override;
- `REPRODUCTION = <that subclass>`, which is what the registry entry's `module` points at.
"""

from __future__ import annotations

import dataclasses
import importlib
import math
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, ClassVar, Iterator, Literal, Sequence

import torch
from pydantic import TypeAdapter, ValidationError

from harness.batches import Batch
from harness.errors import GanBenchError, ReproductionImportError
from harness.hyperparameter_layers import HyperparameterLayer, merge_layers
from harness.overrides import bool_for_number
from harness.yaml_limits import short_repr
from harness.schema import MODULE_NAME


SamplingMode = Literal["running-stats", "batch-stats"]

@dataclass(frozen=True)
class DataSpec:
    """What a reproduction may know about its data: shape and classes, never the files."""

    name: str
    channels: int
    resolution: int
    num_classes: int
    # A two-domain dataset (CoGAN's digits/edges, CycleGAN's trainA/trainB) names its domains; then
    # `Batch.labels` hold the domain index and every batch has `batch_size` images of each domain.
    domains: tuple[str, ...] = ()
    # "images", or "points": 2D points (channels = 2, resolution = 1, num_classes = mixture modes);
    # batches then hold (N, 2) points and `sample` returns (n, 2) points, in the data's coordinates.
    kind: str = "images"
    # A semi-supervised run's label count (`--labels N`: N labelled training examples in all, N / K per
    # class); None in an ordinary run. Batches then carry `Batch.labelled` (harness.labelled).
    labels: int | None = None

    @property
    def shape(self) -> tuple[int, ...]:
        """One example's shape: (C, H, W) for images, (2,) for points."""
        if self.kind == "points":
            return (self.channels,)
        return (self.channels, self.resolution, self.resolution)

    @property
    def features(self) -> int:
        """Numbers per example (an MLP's input size): C·H·W, or 2 for points."""
        return math.prod(self.shape)


class Reproduction:
    """Base class of every paper's reproduction.

    Subclasses set `Hyperparameters` and implement `train_step` (and `sample` where the default,
    G(noise) in the declared `sampling` mode, is not how the paper samples). Attributes that are
    `nn.Module`s or optimisers are checkpointed automatically; anything else that must survive a
    resume goes into `extra_state` / `load_extra_state`.
    """

    Hyperparameters: ClassVar[type]
    # The data kinds (DataSpec.kind) the networks are built for; a dataset of another kind is refused
    # with one line before anything is written.
    data_kinds: ClassVar[tuple[str, ...]] = ("images",)
    # A conditional model is scored on labels drawn uniformly over the classes. On a two-domain
    # dataset the labels are domain indices, and each domain is scored on its own.
    conditional: ClassVar[bool] = False
    # A translation model (CycleGAN) maps real images of one domain to the other: it implements
    # `translate`, and is scored by FID of translated test images against the target domain.
    translates: ClassVar[bool] = False
    # Networks with layers that some steps do not use (ProGAN's levels not yet grown): DDP must know.
    has_unused_parameters: ClassVar[bool] = False
    # How G's normalisation layers run when the harness samples for scoring, as the paper's reference
    # code samples: "running-stats" (eval mode: a sample never depends on its batch-mates) or
    # "batch-stats" (train mode: each scoring batch is normalised by its own statistics, as
    # pytorch/examples' DCGAN or improved_wgan_training sample). Recorded in every result.
    sampling: ClassVar[SamplingMode] = "running-stats"
    # Whether several seeds of one cell may train as one stack of networks (`gan-bench run --seeds`,
    # harness.stacked_seeds): declared once tests/test_stacked_seeds.py shows each stacked seed
    # matches its lone run. Needs networks of Linear/BatchNorm1d layers and a step that never mixes
    # batch rows (a reduction over the batch is refused; `check_stackable` refuses what it cannot see).
    stackable_seeds: ClassVar[bool] = False
    # A semi-supervised reproduction (`gan-bench run PAPER --labels N`) trains a classifier from the
    # labelled batches (`Batch.labelled`) and the unlabelled stream, implements `classify`, and is scored
    # by the test-split classification error (the `semi-supervised` metric suite). Others refuse --labels.
    semi_supervised: ClassVar[bool] = False

    def __init__(self, data: DataSpec, hp: Any, device: torch.device):
        # A class-conditional model (not a two-domain one: its labels are the domains) needs classes.
        if type(self).conditional and not data.domains and data.num_classes < 2:
            raise ValueError(f"{type(self).__name__} is class-conditional: it needs a labelled dataset (num_classes ≥ 2)")
        self.data = data
        self.hp = hp
        self.device = device

    def check_stackable(self, batch_size: int) -> None:
        """Raise ValueError where stacked seeds at this batch size would mix seeds' rows (e.g. packs that
        straddle two seeds' batches); most reproductions have nothing to check."""

    # -- the training step --------------------------------------------------------------------------
    def plan(self, g_steps: int, batch_size: int) -> None:
        """Told once before training (and again on resume) how long the budget is, in G steps at most.

        Schedules that the paper states per image count (ProGAN's resolution phases) fit themselves
        to the budget here; most reproductions ignore it.
        """

    def d_steps(self, step: int) -> int:
        """Discriminator updates in G step `step` (n_critic); the harness fetches this many real batches."""
        return int(getattr(self.hp, "d_steps_per_g_step", 1))

    def train_step(self, real: Sequence[Batch], step: int) -> dict[str, torch.Tensor]:
        """One generator update and its `len(real)` discriminator updates, as the paper does them.

        Returns scalar tensors to log (not `.item()`-ed: the harness syncs only when it logs).
        """
        raise NotImplementedError

    def noise(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """G's input for `n` samples: z ~ N(0, I) of `hp.z_dim` dims unless the paper draws otherwise."""
        return torch.randn(n, self.hp.z_dim, device=self.device, generator=generator)

    def random_labels(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """`n` class labels drawn uniformly over `data.num_classes` (a conditional model's c ~ p_c)."""
        return torch.randint(self.data.num_classes, (n,), device=self.device, generator=generator)

    def update(self, optimizer: torch.optim.Optimizer, loss: torch.Tensor) -> None:
        """One optimiser step on `loss`: gradients cleared, back-propagated, applied."""
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    @torch.no_grad()
    def sample(self, n: int, labels: torch.Tensor | None = None, generator: torch.Generator | None = None) -> torch.Tensor:
        """`n` images in [-1, 1], shape (n, C, H, W), as the paper samples for evaluation (EMA, truncation…);
        on a points dataset `n` points (n, 2) in the data's coordinates.

        The default: `G(noise(n))` with G in the declared `sampling` mode; a `conditional` model's is
        `G(noise(n), labels)`, with `random_labels(n)` when no labels are given (z is drawn first, so one
        seed gives the same z for any labels). Papers that sample otherwise (EMA copies, truncation,
        codes, mixtures) override it and use `sampling_mode` likewise.
        """
        z = self.noise(n, generator)
        if not self.conditional:
            with self.sampling_mode(self.G):
                return self.G(z)
        labels = self.random_labels(n, generator) if labels is None else labels.to(self.device)
        with self.sampling_mode(self.G):
            return self.G(z, labels)

    def sampling_mode(self, *modules: torch.nn.Module):
        """A context in which `modules` run as this paper samples for evaluation (see `sampling`)."""
        return evaluating(*modules) if self.sampling == "running-stats" else batch_statistics(*modules)

    def classify(self, images: torch.Tensor) -> torch.Tensor:
        """Logits (N, K) over the dataset's K real classes for images in [-1, 1] (a K+1 discriminator:
        its K real-class logits). The harness calls it under torch.no_grad() with every network in eval
        mode, and restores their modes afterwards. Semi-supervised reproductions only."""
        raise NotImplementedError(f"{type(self).__name__} is not a semi-supervised reproduction")

    @torch.no_grad()
    def translate(self, images: torch.Tensor, target_domain: int) -> torch.Tensor:
        """Real images of the other domain, in [-1, 1], mapped into domain `target_domain` (translation models)."""
        raise NotImplementedError(f"{type(self).__name__} does not translate between domains")

    # -- checkpointing ------------------------------------------------------------------------------
    def _stateful(self) -> dict[str, Any]:
        return {
            name: value
            for name, value in vars(self).items()
            if isinstance(value, (torch.nn.Module, torch.optim.Optimizer, torch.optim.lr_scheduler.LRScheduler))
        }

    def state_dict(self) -> dict[str, Any]:
        state = {name: value.state_dict() for name, value in self._stateful().items()}
        state["extra"] = self.extra_state()
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        expected = set(self._stateful()) | {"extra"}
        if set(state) != expected:
            raise GanBenchError(
                f"checkpoint holds {sorted(state)} but {type(self).__name__} expects {sorted(expected)}"
            )
        for name, value in self._stateful().items():
            value.load_state_dict(state[name])
        self.load_extra_state(state["extra"])

    def extra_state(self) -> dict[str, Any]:
        return {}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        pass

    def networks(self) -> dict[str, torch.nn.Module]:
        return {n: m for n, m in self._stateful().items() if isinstance(m, torch.nn.Module)}

    def nonfinite_modules(self) -> list[str]:
        """Names of networks holding a NaN/inf weight: a diverged run, even if its losses still look finite."""
        modules = self.networks()
        flags = [torch.stack([p.isfinite().all() for p in m.parameters()]).all() for m in modules.values()
                 if any(True for _ in m.parameters())]
        if not flags or bool(torch.stack(flags).all()):  # one device sync for all networks
            return []
        return [n for n, m in modules.items() if any(not bool(p.isfinite().all()) for p in m.parameters())]

    def train(self, mode: bool = True) -> None:
        for value in self._stateful().values():
            if isinstance(value, torch.nn.Module):
                value.train(mode)


@contextmanager
def evaluating(*modules: torch.nn.Module) -> Iterator[None]:
    """`modules` in eval mode inside the block; each goes back to the mode it was in before."""
    modes = [module.training for module in modules]
    for module in modules:
        module.eval()
    try:
        yield
    finally:
        for module, mode in zip(modules, modes):
            module.train(mode)


@contextmanager
def frozen(*modules: torch.nn.Module) -> Iterator[None]:
    """`modules` without parameter gradients inside the block (G's update through a fixed D); each
    parameter's `requires_grad` is restored afterwards."""
    flags = [[p.requires_grad for p in module.parameters()] for module in modules]
    for module in modules:
        module.requires_grad_(False)
    try:
        yield
    finally:
        for module, module_flags in zip(modules, flags):
            for parameter, flag in zip(module.parameters(), module_flags):
                parameter.requires_grad_(flag)


@contextmanager
def batch_statistics(*modules: torch.nn.Module) -> Iterator[None]:
    """`modules` in train mode inside the block, so batchnorm normalises each batch by its own
    statistics; every buffer (running statistics, spectral-norm vectors) and each module's mode are
    restored afterwards, so sampling this way never changes the model or a resumed run."""
    modes = [module.training for module in modules]
    saved = [[buffer.clone() for buffer in module.buffers()] for module in modules]
    for module in modules:
        module.train()
    try:
        yield
    finally:
        for module, mode, buffers in zip(modules, modes, saved):
            for buffer, value in zip(module.buffers(), buffers):
                buffer.copy_(value)
            module.train(mode)


def load_reproduction_class(module_name: str) -> type[Reproduction]:
    """Import `reproductions.<paper>` and return its REPRODUCTION class (only modules in that package)."""
    if not MODULE_NAME.match(module_name):
        raise GanBenchError(f"reproduction module {module_name!r} is not inside reproductions/")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name in (module_name, module_name.rpartition(".")[0]):
            raise GanBenchError(f"reproduction module {module_name!r} does not exist") from None
        raise ReproductionImportError.of(module_name, exc) from exc
    except Exception as exc:  # the module's own code raised: point at its line, not at importlib
        raise ReproductionImportError.of(module_name, exc) from exc
    cls = getattr(module, "REPRODUCTION", None)
    if not (isinstance(cls, type) and issubclass(cls, Reproduction)):
        raise GanBenchError(f"{module_name} must define REPRODUCTION = <a harness.reproduction.Reproduction subclass>")
    if not dataclasses.is_dataclass(getattr(cls, "Hyperparameters", None)):
        raise GanBenchError(f"{module_name}: {cls.__name__}.Hyperparameters must be a dataclass")
    return cls


def resolve_hyperparameters(cls: type[Reproduction], *layers: dict[str, Any] | HyperparameterLayer) -> Any:
    """The paper's defaults overridden by each layer in turn (registry, per-dataset, command line).

    Unknown names and wrong types are errors that name the key (and, for a labelled layer, the file),
    so a typo never silently does nothing.
    """
    hp_cls = cls.Hyperparameters
    values, written_at = merge_layers(dataclasses.asdict(hp_cls()), layers, cls.__name__)
    wrong = bool_for_number(hp_cls, values)
    if wrong:
        raise GanBenchError(f"{written_at.get(wrong, 'hyperparameter ')}{wrong}: a number is expected, got {values[wrong]!r}")
    try:
        return TypeAdapter(hp_cls).validate_python(values)
    except ValidationError as exc:
        error = exc.errors()[0]
        field = ".".join(str(p) for p in error["loc"])
        where = written_at.get(str(error["loc"][0]) if error["loc"] else "", "hyperparameter ")
        raise GanBenchError(f"{where}{field}: {error['msg']} (got {short_repr(error.get('input'))})") from None

