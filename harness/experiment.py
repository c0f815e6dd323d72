"""One run end to end: registry entry → reproduction → trainer → evaluator → run store.

`train_paper` is `gan-bench run`, `resume_run` is `gan-bench resume`, `evaluate_run` is
`gan-bench evaluate`. Each reads what it was asked (a request, or a run's config.json), `assemble`s
what all three share (the reproduction, its data, budget and scorers, and the `Distributed` object),
then runs the phases it needs (harness.phases: training, then finishing; evaluate only scores).
Nothing here depends on which paper runs: the entry names the module, the module builds the model.
"""

from __future__ import annotations

import dataclasses
import random
import warnings
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from harness import distributed
from harness.acceleration import Acceleration
from harness.budget import MIN_SCORED_SAMPLES, Budget, resolve_budget
from harness.checkpoints import load_checkpoint, load_reproduction
from harness.data import DATASETS, dataset_info, load_dataset
from harness.distributed import SINGLE_PROCESS, Distributed
from harness.errors import CheckpointError, GanBenchError
from harness.hyperparameter_layers import registry_layers
from harness.metrics.extractors import ExtractorSpec, resolve_extractor
from harness.labelled import read_indices, semi_supervised_batches, subset_sha256, write_indices
from harness.metrics.suites import metric_suite, run_metric
from harness.method_identity import identity_fields
from harness.paper_code import paper_code
from harness.phases import Phases, score_entry, timed_score
from harness.provenance import provenance
from harness.reproduction import DataSpec, Reproduction, load_reproduction_class, resolve_hyperparameters
from harness.run_checks import check_generates, checked_config, checked_progress, nonfinite_reason
from harness.run_inputs import check_data_kind, make_batches, pick_variant, scoring_line, spec_of
from harness.run_lock import run_locked, run_locked_here
from harness.runstore import RunDir, open_run, row_name
from harness.schema import PaperEntry
from harness.scoring import Scorer, build_scorers
from harness.seeds import check_seed
from harness.storage import remove_stale_temporaries
from harness.trainer import Trainer

D_STEPS_SURVEYED = 10_000  # G steps whose D step counts give a run's recorded D steps per G step


@dataclass
class RunRequest:
    """Everything `gan-bench run` was asked for, before resolution."""

    paper: str
    dataset: str | None = None
    variant: str | None = None  # a registry variant (Unrolled GAN's k5, PacGAN's m3); default: the entry's
    budget: str = "quick"
    seed: int = 0
    device: str = "auto"
    data_root: Path | None = None
    download: bool = True
    runs_root: Path = Path("runs")
    extractor: str = "auto"
    extractor_weights: Path | None = None
    evaluate: bool = True
    budget_overrides: dict[str, Any] = field(default_factory=dict)
    hyperparameters: dict[str, Any] = field(default_factory=dict)
    cache: Path | None = None
    acceleration: Acceleration = field(default_factory=Acceleration)
    # The seeds trained together with this one (harness.stacked_training), recorded in the config.
    stacked_seeds: tuple[int, ...] = ()
    # Semi-supervised: N labelled training examples in all (N / K per class; harness.labelled). None: the
    # entry's default for the dataset (`labels:` in its reproduction block), if any.
    labels: int | None = None


def pick_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise GanBenchError(f"unknown device {name!r}; use cpu, cuda, cuda:N or auto") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise GanBenchError(f"device {name!r} requested but CUDA is not available; use --device cpu")
    return device


def seed_everything(seed: int) -> None:
    random.seed(seed)
    torch.manual_seed(seed)  # seeds CUDA too


def configure(entry: PaperEntry, dataset: str, *layers: dict, variant: str | None = None) -> tuple[type[Reproduction], Any, int]:
    """The reproduction class, its hyperparameters (paper defaults < registry < per-dataset < variant <
    layers) and resolution."""
    spec = entry.reproduction
    cls = load_reproduction_class(spec.module)
    hp = resolve_hyperparameters(cls, *registry_layers(entry, dataset, variant), *layers)
    return cls, hp, getattr(hp, "resolution", None) or dataset_info(dataset).resolution


def instantiate(cls: type[Reproduction], hp: Any, data: DataSpec, device: torch.device, paper: str) -> Reproduction:
    """The paper's reproduction; a constructor that cannot build these settings is one line, its own bug
    (a TypeError, an AttributeError) a `PaperCodeError`."""
    try:
        with warnings.catch_warnings(), paper_code(paper, cls, "constructor", (ValueError, RuntimeError)):
            warnings.filterwarnings("ignore", message="Initializing zero-element tensors")  # check_generates refuses it
            return cls(data, hp, device)
    except (ValueError, RuntimeError) as exc:  # a resolution the architecture cannot build, a negative width
        raise GanBenchError(f"{paper} on {data.name}: {str(exc).splitlines()[0][:200]}") from None


# ------------------------------------------------------------------------------------------ assembly
@dataclass(frozen=True)
class Setup:
    """How to assemble a run beyond its config: what the phases to come need, and where data lives here."""

    train: bool = True  # load the training set, build its batches, apply the acceleration (not for evaluate)
    fresh_start: bool = False  # seed every stream before building the networks: a new run, or one without a checkpoint
    score: bool = False  # build the scorers now (evaluate builds them once it has checked the weights)
    extractor: ExtractorSpec | None = None
    data_root: Path | None = None  # default: the one the config records
    download: bool = True
    cache: Path | None = None


@dataclass
class Assembly:
    """What `run`, `resume` and `evaluate` share, built before any phase starts (and, for a new run,
    before its run directory exists: everything that can fail on bad input has failed by then)."""

    entry: PaperEntry
    repro: Reproduction
    budget: Budget
    seed: int
    device: torch.device
    ddp: Distributed
    acceleration: Acceleration
    extractor: ExtractorSpec | None
    data_root: Path | None
    cache: Path | None
    train_set: Any = None  # None when only scoring
    batches: Any = None
    scorers: list[Scorer] = field(default_factory=list)
    labelled_indices: Any = None  # a semi-supervised run's labelled subset (a tensor of train-split indices)

    def build_scorers(self, num_samples: int | None = None) -> list[Scorer]:
        return build_scorers(self.repro, self.budget, self.extractor, self.device, self.data_root, self.cache,
                             self.train_set, num_samples=num_samples)


def assemble(entry: PaperEntry, config: dict, device: torch.device, ddp: Distributed = SINGLE_PROCESS,
             setup: Setup = Setup()) -> Assembly:
    """Build a run from its config: a recorded config.json, or a new run's config before it is written.

    The networks are rebuilt from the config's resolved hyperparameters, so a new run and its resume
    build the same model by the same code. A new run's config has no data shape yet (`channels`):
    the loaded training set gives it; a recorded run keeps the shape it was trained with.
    """
    budget = Budget(**config["budget"])
    ddp.check_budget(budget.batch_size, budget.wall_clock_s)
    cls, hp, resolution = configure(entry, config["dataset"], config["hyperparameters"])
    data_root = setup.data_root or _path(config.get("data_root"))
    train_set = load_dataset(config["dataset"], "train", data_root, resolution, setup.download) if setup.train else None
    data = _data_spec(config, resolution) if "channels" in config else spec_of(train_set.info, resolution)
    data = dataclasses.replace(data, labels=config.get("labels"))
    if setup.fresh_start:
        seed_everything(config["seed"])  # same weights, same data order, whenever the run starts from nothing
    repro = instantiate(cls, hp, data, device, entry.id)
    acceleration = Acceleration(**config.get("acceleration", {}))
    batches = None
    if setup.fresh_start:
        check_generates(repro, entry.id)
    if setup.train:
        acceleration.apply(repro)
        batches = make_batches(train_set, budget, device, config["seed"], acceleration)
    indices = None
    if setup.train and data.labels:  # the unlabelled stream, each batch with a batch of the labelled subset
        labelled_batch = int(getattr(hp, "labelled_batch_size", None) or budget.batch_size)
        batches, indices = semi_supervised_batches(batches, train_set, data.labels, config["seed"], labelled_batch, device)
    parts = Assembly(entry, repro, budget, config["seed"], device, ddp, acceleration, setup.extractor, data_root,
                     setup.cache, train_set, batches, labelled_indices=indices)
    if setup.score and ddp.main:  # rank 0 alone scores
        parts.scorers = parts.build_scorers()
    return parts


def d_steps_per_g_step(repro: Reproduction, budget: Budget) -> int:
    """The D steps most G steps of the budget take, asked of the reproduction (`d_steps`), not of a
    hyperparameter (SNGAN's n_dis comes from its paper settings). A schedule's exceptions (WGAN's
    warm-up and periodic boosts) show in the result's progress.d_steps, which counts every D step."""
    counts = Counter(repro.d_steps(step) for step in range(min(budget.g_steps, D_STEPS_SURVEYED)))
    return counts.most_common(1)[0][0] if counts else repro.d_steps(0)


def registry_entry(registry, config: dict, run: RunDir) -> PaperEntry:
    """The registry entry a recorded run was made from, if it still names the same module."""
    entry = registry.get(config["paper"])
    if entry.reproduction is None or entry.reproduction.module != config["module"]:
        raise GanBenchError(f"{run.path}: the registry's {entry.id} no longer uses {config['module']}")
    return entry


def _data_spec(config: dict, resolution: int) -> DataSpec:
    """The DataSpec a run was trained with, from its config."""
    domains = tuple(config.get("domains") or ())
    return DataSpec(config["dataset"], config["channels"], resolution, config["num_classes"], domains,
                    config.get("kind", "images"))


def _label_count(entry: PaperEntry, cls: type[Reproduction], dataset: str, asked: int | None, ddp: Distributed) -> int | None:
    """The run's label count: `--labels`, else the entry's default for the dataset; refused for a paper that is
    not semi-supervised, and under torchrun (the labelled batches are not sharded)."""
    if asked is not None and asked <= 0:
        raise GanBenchError(f"--labels {asked}: must be a positive number of labelled examples")
    if asked is not None and not cls.semi_supervised:
        raise GanBenchError(f"--labels: {entry.id} is not a semi-supervised reproduction (it has no classifier to score)")
    labels = asked if asked is not None else entry.reproduction.labels_for(dataset)
    if labels and ddp.world_size > 1:
        raise GanBenchError("--labels: semi-supervised runs train on one process (not under torchrun)")
    return labels


def _path(value: str | None) -> Path | None:
    return Path(value) if value else None


# -------------------------------------------------------------------------------------------- run
def train_paper(entry: PaperEntry, request: RunRequest, say=print, trainer=Trainer) -> RunDir:
    """`trainer` builds the training loop (Trainer's signature): harness.stacked_training passes its
    SeedSlot, so stacked seeds share every step before and after training with a lone run."""
    spec = entry.reproduction
    if spec is None:
        raise GanBenchError(f"{entry.id} is catalogued but not implemented (no reproduction block)")
    dataset = request.dataset or spec.dataset
    if dataset in DATASETS:  # a known dataset of the other kind (images vs points): the clearer line first
        check_data_kind(entry.id, load_reproduction_class(spec.module), dataset)
    if dataset not in spec.datasets:
        raise GanBenchError(f"{entry.id} does not support dataset {dataset!r}; supported: {', '.join(spec.datasets)}")
    check_seed(request.seed)
    variant = pick_variant(entry, request.variant)
    budget = resolve_budget(request.budget, spec.paper_budget_for(dataset, variant), request.budget_overrides,
                            spec.batch_size)
    ddp, device = distributed.join(pick_device(request.device))  # under torchrun: join the group, take this rank's device
    # Everything that can fail on bad input fails here or in `assemble`, before any file is written.
    cls, hp, resolution = configure(entry, dataset, request.hyperparameters, variant=variant)
    info = check_data_kind(entry.id, cls, dataset)
    labels = _label_count(entry, cls, dataset, request.labels, ddp)
    metric = run_metric(info.metric, labels)
    extractor = None
    if request.evaluate and metric_suite(metric).needs_extractor:
        extractor = resolve_extractor(request.extractor, request.extractor_weights)
    asked = {
        "paper": entry.id, **({"variant": variant} if variant else {}), "module": spec.module, "dataset": dataset,
        "seed": request.seed, "evaluate": request.evaluate, "hyperparameters": dataclasses.asdict(hp),
        "budget": budget.to_dict(), "data_root": str(request.data_root) if request.data_root else None,
        "acceleration": request.acceleration.to_dict(), **({"labels": labels} if labels else {}),
    }
    parts = assemble(entry, asked, device, ddp, Setup(fresh_start=True, score=request.evaluate, extractor=extractor,
                                                      download=request.download, cache=request.cache))
    data = parts.repro.data
    defaults = dataclasses.asdict(configure(entry, dataset, variant=variant)[1])  # what the run's identity is told from
    config = {  # config.json, in the order a reader looks for things
        "paper": entry.id,
        **identity_fields(entry, dataset, variant, defaults, asked["hyperparameters"], asked["budget"], request.budget),
        **{k: asked[k] for k in ("module", "dataset", "seed")},
        "resolution": data.resolution, "channels": data.channels, "num_classes": data.num_classes,
        **({"domains": list(data.domains)} if data.domains else {}),
        **({"kind": data.kind} if data.kind != "images" else {}),
        "metric": metric, "evaluate": request.evaluate,
        **({"labels": labels, "labelled_sha256": subset_sha256(parts.labelled_indices)} if labels else {}),
        "hyperparameters": asked["hyperparameters"], "budget": asked["budget"],
        "d_steps_per_g_step": d_steps_per_g_step(parts.repro, parts.budget), "device": str(device),
        "data_root": asked["data_root"], "extractor": extractor.to_dict() if extractor else None,
        "acceleration": asked["acceleration"],
        **({"stacked_seeds": list(request.stacked_seeds)} if request.stacked_seeds else {}),
        # The code that trains is the code at the start: later commits must not claim this run.
        "provenance": provenance(device),
    }
    # Under torchrun rank 0 creates the directory and alone writes to it.
    row = row_name(entry.id, variant)  # a variant's runs sit (and rank) apart from the others
    run = ddp.create_run(lambda: RunDir.create(request.runs_root, row, dataset, budget.name, request.seed))
    with run_locked_here(run.path, "training"):
        run.write_config(config)
        if labels and ddp.main:
            write_indices(run.path, parts.labelled_indices, dataset, request.seed)
        say(f"run directory: {run.path}")
        phases = Phases(parts, run, say, trainer_class=trainer)
        return phases.finish(phases.train(), config)


# ----------------------------------------------------------------------------------------- resume
def resume_run(run_path: Path, registry, device_name: str | None = None, data_root: Path | None = None,
               cache: Path | None = None, say=print) -> RunDir:
    """Continue an interrupted run from its last checkpoint, in the same run directory.

    On CPU with the run's seed, the resumed run ends with the same weights as one never interrupted:
    the checkpoint holds the networks, optimisers, data order and every random stream.
    """
    run = open_run(run_path)
    with run_locked_here(run.path, "training"):  # checked under the lock: another resume may just have finished it
        return _resume(run, registry, device_name, data_root, cache, say)


def _resume(run: RunDir, registry, device_name: str | None, data_root: Path | None, cache: Path | None, say) -> RunDir:
    config = checked_config(run.read_config(), run.config_path)
    if run.result_path.exists():
        raise GanBenchError(f"{run.path} has already finished ({run.read_result()['status']}); nothing to resume")
    entry = registry_entry(registry, config, run)
    remove_stale_temporaries(run.path)
    # Killed before its first checkpoint: start again from the recorded config, with the same seed, so
    # the result is the one an uninterrupted run gives.
    state = load_checkpoint(run, entry.id) if run.checkpoint_path.exists() else None
    ddp, device = distributed.join(pick_device(device_name or config["device"]))
    run = ddp.writable(run)  # rank 0 alone writes
    extractor = None
    if config.get("extractor"):
        recorded = config["extractor"]
        extractor = resolve_extractor(recorded["kind"], recorded["weights_path"])
        if extractor.weights_sha256 != recorded["weights_sha256"]:
            raise GanBenchError(f"{recorded['weights_path']}: extractor weights changed since the run started")
    # Runs from before `evaluate` was recorded were scored exactly when they recorded an extractor.
    score = config.get("evaluate", extractor is not None)
    parts = assemble(entry, config, device, ddp, Setup(fresh_start=state is None, score=score, extractor=extractor,
                                                       data_root=data_root, cache=cache))
    if config.get("labels") and subset_sha256(torch.tensor(read_indices(run.path))) != subset_sha256(parts.labelled_indices):
        raise GanBenchError(f"{run.path}: its labelled subset is not the one this code draws for its seed; not resumed")
    # Records written after the checkpoint would be written again: keep the curves up to it.
    done = checked_progress(state["progress"], str(run.checkpoint_path)).g_steps if state else 0
    run.rewrite_curves([r for r in run.curves() if isinstance(r.get("g_step", 0), int) and r.get("g_step", 0) <= done])
    say(f"run directory: {run.path}" + ("" if state else " (no checkpoint yet: restarting it from its config)"))
    phases = Phases(parts, run, say)
    return phases.finish(phases.train(resume=state), config)


# --------------------------------------------------------------------------------------- evaluate
def evaluate_run(run_path: Path, registry, device_name: str = "auto", data_root: Path | None = None,
                 extractor: str | None = None, extractor_weights: Path | None = None,
                 num_samples: int | None = None, cache: Path | None = None, say=print) -> list[dict]:
    """Re-score a finished run from its checkpoint; the score is added to result.json (same protocol replaced)."""
    if num_samples is not None and num_samples < MIN_SCORED_SAMPLES:
        raise GanBenchError(f"--samples: at least {MIN_SCORED_SAMPLES} are needed for FID/KID/IS, got {num_samples}")
    run = open_run(run_path)
    with run_locked(run.path, "scoring"):
        return _evaluate(run, registry, device_name, data_root, extractor, extractor_weights, num_samples, cache, say)


def _evaluate(run: RunDir, registry, device_name, data_root, extractor, extractor_weights, num_samples, cache,
              say) -> list[dict]:
    config = checked_config(run.read_config(), run.config_path)
    result = run.read_result()  # a damaged result fails now, before minutes of scoring
    entry = registry_entry(registry, config, run)
    device = pick_device(device_name)
    spec = None
    if metric_suite(run_metric(dataset_info(config["dataset"]).metric, config.get("labels"))).needs_extractor:
        if extractor is None and extractor_weights is None and config.get("extractor"):
            spec = resolve_extractor(config["extractor"]["kind"], config["extractor"]["weights_path"])
        else:
            spec = resolve_extractor(extractor or "auto", extractor_weights)
    state = load_checkpoint(run, entry.id)
    # The run's own resolved hyperparameters, so the rebuilt networks are exactly the trained ones.
    parts = assemble(entry, config, device, SINGLE_PROCESS, Setup(train=False, extractor=spec, data_root=data_root,
                                                                  cache=cache))
    try:
        load_reproduction(parts.repro, state["reproduction"], entry.id)
    except (RuntimeError, KeyError, ValueError) as exc:
        raise CheckpointError(f"{run.checkpoint_path}: does not fit {entry.id}'s networks ({type(exc).__name__})") from None
    progress = checked_progress(state["progress"], str(run.checkpoint_path))
    reason = nonfinite_reason(parts.repro)
    if reason:
        result.update(status="diverged", divergence={"g_step": progress.g_steps, "reason": reason})
        run.write_result(result)
        raise GanBenchError(f"{run.path}: {reason}; not scored, the run is now recorded as diverged")
    scorers = parts.build_scorers(num_samples)
    say(scoring_line(scorers[0].protocol, f" of {run.path}"))
    scores = []
    for scorer in scorers:
        metrics, seconds = timed_score(scorer, config["seed"])
        scores.append(score_entry(scorer.protocol, {"g_step": progress.g_steps, "eval_seconds": seconds, **metrics}))
    replaced = [score["protocol"] for score in scores]
    result["scores"] = [s for s in result["scores"] if s["protocol"] not in replaced] + scores
    run.write_result(result)
    return scores
