"""One run end to end: registry entry → reproduction → trainer → evaluator → run store.

`train_paper` is what `gan-bench run` does; `evaluate_run` is what `gan-bench evaluate` does.
Nothing here depends on which paper runs: the entry names the module, the module builds the model.
"""

from __future__ import annotations

import dataclasses
import random
import signal
import time
import warnings
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import torch

from harness import distributed
from harness.acceleration import Acceleration
from harness.batches import DeviceBatches
from harness.budget import MIN_SCORED_SAMPLES, Budget, resolve_budget
from harness.data import DATASETS, dataset_info, load_dataset
from harness.errors import CheckpointError, GanBenchError, Interrupted
from harness.hyperparameter_layers import registry_layers
from harness.metrics.evaluate import Protocol
from harness.metrics.extractors import resolve_extractor
from harness.metrics.suites import metric_suite
from harness.monitor import RunMonitor
from harness.run_inputs import check_data_kind, make_batches, pick_variant, scatter_of, scored_with, spec_of
from harness.provenance import provenance
from harness.reproduction import DataSpec, Reproduction, load_reproduction_class, resolve_hyperparameters
from harness.run_checks import check_generates, checked_config, checked_progress, nonfinite_reason
from harness.run_lock import run_locked, run_locked_here
from harness.runstore import RunDir, open_run
from harness.storage import remove_stale_temporaries
from harness.schema import PaperEntry
from harness.seeds import check_seed
from harness.scoring import Scorer, build_scorers, fixed_samples
from harness.trainer import Callbacks, Progress, StopOnSignal, Trainer

CHECKPOINT_FORMAT = "gan-bench-checkpoint/1"
EVAL_SEED_OFFSET = 1_000_003  # evaluation noise is seeded apart from training noise


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
    try:
        with warnings.catch_warnings():  # a zero width warns before check_generates refuses it in one line
            warnings.filterwarnings("ignore", message="Initializing zero-element tensors")
            return cls(data, hp, device)
    except (ValueError, RuntimeError) as exc:  # a resolution the architecture cannot build, a negative width
        raise GanBenchError(f"{paper} on {data.name}: {str(exc).splitlines()[0][:200]}") from None


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
    device = pick_device(request.device)
    ranks, device = distributed.setup(device)  # under torchrun: join the group, take this rank's device
    # Everything that can fail on bad input fails here, before any training or any file is written.
    cls, hp, resolution = configure(entry, dataset, request.hyperparameters, variant=variant)
    info = check_data_kind(entry.id, cls, dataset)
    suite = metric_suite(info.metric)
    extractor = None
    if request.evaluate and suite.needs_extractor:
        extractor = resolve_extractor(request.extractor, request.extractor_weights)
    train_set = load_dataset(dataset, "train", request.data_root, resolution, request.download)
    distributed.check_budget(budget.batch_size, budget.wall_clock_s, ranks)

    seed_everything(request.seed)
    data = spec_of(train_set.info, resolution)
    repro = instantiate(cls, hp, data, device, entry.id)
    check_generates(repro, entry.id)
    request.acceleration.apply(repro)
    batches = make_batches(train_set, budget, device, request.seed, request.acceleration)
    scorers = []
    if request.evaluate and ranks.main:
        scorers = build_scorers(repro, budget, extractor, device, request.data_root, request.cache, train_set)

    # Under torchrun rank 0 creates the directory and alone writes to it.
    row = entry.id + (f"@{variant}" if variant else "")  # a variant's runs sit (and rank) apart from the others
    run = distributed.create_run(lambda: RunDir.create(request.runs_root, row, dataset, budget.name, request.seed))
    config = {
        "paper": entry.id, **({"variant": variant} if variant else {}), "module": spec.module, "dataset": dataset, "seed": request.seed,
        "resolution": data.resolution, "channels": data.channels, "num_classes": data.num_classes,
        **({"domains": list(data.domains)} if data.domains else {}),
        **({"kind": data.kind} if data.kind != "images" else {}),
        "metric": suite.name, "evaluate": request.evaluate,
        "hyperparameters": dataclasses.asdict(hp), "budget": budget.to_dict(),
        # nominal n_critic; a schedule (WGAN's warm-up) shows in progress.d_steps, which counts every D step
        "d_steps_per_g_step": getattr(hp, "d_steps_per_g_step", 1), "device": str(device),
        "data_root": str(request.data_root) if request.data_root else None,
        "extractor": extractor.to_dict() if extractor else None,
        "acceleration": request.acceleration.to_dict(),
        **({"stacked_seeds": list(request.stacked_seeds)} if request.stacked_seeds else {}),
        # The code that trains is the code at the start: later commits must not claim this run.
        "provenance": provenance(device),
    }
    with run_locked_here(run.path, "training"):
        run.write_config(config)
        say(f"run directory: {run.path}")
        return _train(entry, run, repro, batches, budget, scorers, request.seed, device, say,
                      acceleration=request.acceleration, data_root=request.data_root, trainer_class=trainer)


def _train(entry: PaperEntry, run: RunDir, repro: Reproduction, batches: DeviceBatches, budget: Budget,
           scorers: list[Scorer], seed: int, device: torch.device, say, resume: dict | None = None,
           acceleration: Acceleration | None = None, data_root: Path | None = None, trainer_class=Trainer) -> RunDir:
    """Train (from scratch or from a checkpoint's state), score, and write the result."""

    def evaluate_now(progress: Progress, grid: bool = True) -> list[dict]:
        records = []
        for scorer in scorers:
            started = time.monotonic()
            with distributed.unwrapped(repro):  # rank 0 samples alone: no DDP collectives
                metrics = scorer.evaluator.score(scorer.sampler, seed + EVAL_SEED_OFFSET)
            record = {"g_step": progress.g_steps, "kimg": progress.kimg,
                      "eval_seconds": time.monotonic() - started, **_protocol_tags(scorer.protocol), **metrics}
            run.log({"kind": "metric", **record})
            monitor.metrics(record, _protocol_tags(scorer.protocol))
            records.append(record)
        if grid:  # the final evaluation's grid is the one saved as samples.png, logged there
            # forked random streams: a module that samples without `generator` cannot shift training
            with distributed.unwrapped(repro), torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
                monitor.samples(fixed_samples(repro, seed, data_root), progress.kimg)
        return records

    def checkpoint_now(progress: Progress) -> None:
        run.save_checkpoint({**_checkpoint(entry, repro, batches, progress), "trainer": trainer.state_dict()})

    progress = Progress()
    if resume is not None:
        progress = _restore(resume, repro, batches)
    monitor = RunMonitor(run.path, f"train {entry.id}", resume["progress"] if resume else None,
                         run.curves() if resume else (), enabled=distributed.current().main)
    batches = distributed.prepare(repro, batches, seed, progress.g_steps)  # DDP: wrap networks, shard batches
    stop = StopOnSignal()
    trainer = trainer_class(repro, batches, budget, Callbacks(
        log=lambda record: (run.log({"kind": "loss", **record}), monitor.losses(record)),
        evaluate=evaluate_now if scorers else None,
        checkpoint=checkpoint_now,
        should_stop=distributed.agreed_stop(stop.requested),
        reduce=distributed.mean_record,
        step=monitor.step,
    ), progress=progress, acceleration=acceleration, world_size=distributed.current().world_size)
    if resume is not None:
        trainer.load_state_dict(resume["trainer"])
    verb = f"resuming at G step {progress.g_steps}" if resume else "training"
    say(f"{verb} {entry.id} on {repro.data.name} ({repro.data.resolution}px) for {budget.g_steps} G steps at batch "
        f"{budget.batch_size} on {device} [{budget.name} budget]")
    with stop:
        try:
            outcome = trainer.run()
        finally:
            monitor.end_training()
    if outcome.progress.g_steps == 0 and outcome.status == "finished":  # e.g. --wall-clock 0.001
        monitor.close()
        raise GanBenchError(f"the budget stopped the run before its first G step ({outcome.stop_reason}): nothing "
                            f"was trained, so nothing is recorded; {run.path} holds only its config")
    checkpoint_now(outcome.progress)
    if outcome.status == "interrupted":
        monitor.close()
        say(f"interrupted at G step {outcome.progress.g_steps}; checkpoint saved, continue with: gan-bench resume {run.path}")
        raise Interrupted(f"interrupted by {stop.signal_name}; resume with `gan-bench resume {run.path}`",
                          128 + signal.Signals[stop.signal_name])
    with distributed.unwrapped(repro):
        grid = fixed_samples(repro, seed, data_root)
    run.save_samples(grid, **scatter_of(repro.data, entry.id, budget))
    monitor.samples(grid, outcome.progress.kimg)
    reason = nonfinite_reason(repro, grid) if outcome.status == "finished" else None
    if reason:  # finite losses, or no step left to take (a resume at the last step): still not scorable
        outcome = dataclasses.replace(outcome, status="diverged", stop_reason=reason.split(" in ")[0],
                                      divergence={"g_step": outcome.progress.g_steps, "reason": reason})

    scores = []
    if scorers and outcome.status == "finished":
        say(f"scoring {scorers[0].protocol.num_samples} samples"
            f"{f' per domain ({len(scorers)})' if len(scorers) > 1 else ''} with {scored_with(scorers[0].protocol)}")
        records = evaluate_now(outcome.progress, grid=False)
        scores = [_score_entry(scorer.protocol, record) for scorer, record in zip(scorers, records)]
    variant = run.read_config().get("variant")
    result = {
        "paper": entry.id, **({"variant": variant} if variant else {}), "dataset": repro.data.name, "seed": seed, "budget": budget.to_dict(),
        "status": outcome.status, "stop_reason": outcome.stop_reason, "divergence": outcome.divergence,
        "progress": outcome.progress.to_dict(), "scores": scores,
        # batch statistics depend on the scoring batch, so its size is part of how the samples were drawn
        "sampling": {"mode": repro.sampling, "batch_size": getattr(scorers[0].evaluator, "batch_size", None) if scorers else None},
        "provenance": run.read_config().get("provenance") or provenance(device),
        "finished_with": provenance(device)["git"],
        "resumed": resume is not None,
        "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    run.write_result(result)
    monitor.close()
    distributed.barrier()  # no rank returns (and reads result.json) before rank 0 wrote it
    return run


def _protocol_tags(protocol: Protocol) -> dict:
    """Which score a metric record is, when a run has more than one (per domain, per direction)."""
    tags = {"domain": protocol.domain, "task": protocol.task}
    return {k: v for k, v in tags.items() if v is not None and v != "generation"}


def _score_entry(protocol: Protocol, record: dict) -> dict:
    keys = metric_suite(getattr(protocol, "metric", "fid")).metric_keys
    metrics = {k: v for k, v in record.items() if k in keys}
    return {"protocol": protocol.to_dict(), "metrics": metrics, "g_step": record["g_step"],
            "eval_seconds": record["eval_seconds"],
            "evaluated_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}


def _checkpoint(entry: PaperEntry, repro: Reproduction, batches: DeviceBatches, progress: Progress) -> dict:
    return {
        "format": CHECKPOINT_FORMAT, "paper": entry.id, "module": entry.reproduction.module,
        "reproduction": repro.state_dict(), "batches": batches.state_dict(), "progress": progress.to_dict(),
        "rng": {"torch": torch.get_rng_state(), "python": random.getstate(),
                "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else []},
    }


def _restore(state: dict, repro: Reproduction, batches: DeviceBatches) -> Progress:
    """Put a checkpoint's state back: networks, optimisers, data order and every random stream."""
    try:
        repro.load_state_dict(state["reproduction"])
        batches.load_state_dict(state["batches"])
        rng = state["rng"]
        torch.set_rng_state(rng["torch"])
        random.setstate(_as_tuple(rng["python"]))
        if rng["cuda"] and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(rng["cuda"])
        return checked_progress(state["progress"], "checkpoint")
    except (RuntimeError, KeyError, ValueError, TypeError) as exc:
        raise CheckpointError(f"checkpoint does not fit this run ({type(exc).__name__}: {str(exc)[:120]})") from None


def _as_tuple(value):
    return tuple(_as_tuple(v) for v in value) if isinstance(value, (list, tuple)) else value


def load_checkpoint(run: RunDir, expected_paper: str) -> dict:
    path = run.checkpoint_path
    if not path.is_file():
        raise CheckpointError(f"{path}: no checkpoint in this run directory")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise CheckpointError(f"{path}: corrupt or unreadable checkpoint ({type(exc).__name__})") from None
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{path}: not a gan-bench checkpoint")
    if state.get("paper") != expected_paper:
        raise CheckpointError(f"{path}: checkpoint is of paper {state.get('paper')!r}, the run is {expected_paper!r}")
    return state


def evaluate_run(run_path: Path, registry, device_name: str = "auto", data_root: Path | None = None,
                 extractor: str | None = None, extractor_weights: Path | None = None,
                 num_samples: int | None = None, cache: Path | None = None, say=print) -> dict:
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
    entry = registry.get(config["paper"])
    if entry.reproduction is None or entry.reproduction.module != config["module"]:
        raise GanBenchError(f"{run.path}: the registry's {entry.id} no longer uses {config['module']}")
    device = pick_device(device_name)
    spec = None
    if metric_suite(dataset_info(config["dataset"]).metric).needs_extractor:
        if extractor is None and extractor_weights is None and config.get("extractor"):
            spec = resolve_extractor(config["extractor"]["kind"], config["extractor"]["weights_path"])
        else:
            spec = resolve_extractor(extractor or "auto", extractor_weights)
    state = load_checkpoint(run, entry.id)
    # The run's own resolved hyperparameters, so the rebuilt networks are exactly the trained ones.
    cls, hp, resolution = configure(entry, config["dataset"], config["hyperparameters"])
    repro = instantiate(cls, hp, _data_spec(config, resolution), device, entry.id)
    try:
        repro.load_state_dict(state["reproduction"])
    except (RuntimeError, KeyError, ValueError) as exc:
        raise CheckpointError(f"{run.checkpoint_path}: does not fit {entry.id}'s networks ({type(exc).__name__})") from None
    progress = checked_progress(state["progress"], str(run.checkpoint_path))
    reason = nonfinite_reason(repro)
    if reason:
        result.update(status="diverged", divergence={"g_step": progress.g_steps, "reason": reason})
        run.write_result(result)
        raise GanBenchError(f"{run.path}: {reason}; not scored, the run is now recorded as diverged")
    budget = Budget(**config["budget"])
    scorers = build_scorers(repro, budget, spec, device, data_root or _path(config.get("data_root")), cache,
                            num_samples=num_samples)
    say(f"scoring {scorers[0].protocol.num_samples} samples of {run.path} with {scored_with(scorers[0].protocol)}")
    scores = []
    for scorer in scorers:
        started = time.monotonic()
        metrics = scorer.evaluator.score(scorer.sampler, config["seed"] + EVAL_SEED_OFFSET)
        scores.append(_score_entry(scorer.protocol, {"g_step": progress.g_steps,
                                                     "eval_seconds": time.monotonic() - started, **metrics}))
    replaced = [score["protocol"] for score in scores]
    result["scores"] = [s for s in result["scores"] if s["protocol"] not in replaced] + scores
    run.write_result(result)
    return scores


def _data_spec(config: dict, resolution: int) -> DataSpec:
    """The DataSpec a run was trained with, from its config."""
    domains = tuple(config.get("domains") or ())
    return DataSpec(config["dataset"], config["channels"], resolution, config["num_classes"], domains,
                    config.get("kind", "images"))


def _path(value: str | None) -> Path | None:
    return Path(value) if value else None


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
    entry = registry.get(config["paper"])
    if entry.reproduction is None or entry.reproduction.module != config["module"]:
        raise GanBenchError(f"{run.path}: the registry's {entry.id} no longer uses {config['module']}")
    remove_stale_temporaries(run.path)
    # Killed before its first checkpoint: start again from the recorded config, with the same seed, so
    # the result is the one an uninterrupted run gives.
    state = load_checkpoint(run, entry.id) if run.checkpoint_path.exists() else None
    device = pick_device(device_name or config["device"])
    ranks, device = distributed.setup(device)
    run = distributed.for_rank(run)  # rank 0 alone writes
    budget = Budget(**config["budget"])
    distributed.check_budget(budget.batch_size, budget.wall_clock_s, ranks)
    data_root = data_root or _path(config.get("data_root"))
    cls, hp, resolution = configure(entry, config["dataset"], config["hyperparameters"])
    train_set = load_dataset(config["dataset"], "train", data_root, resolution)
    if state is None:
        seed_everything(config["seed"])  # what train_paper does at this point: same weights, same data order
    repro = instantiate(cls, hp, _data_spec(config, resolution), device, entry.id)
    acceleration = Acceleration(**config.get("acceleration", {}))
    acceleration.apply(repro)
    batches = make_batches(train_set, budget, device, config["seed"], acceleration)
    scorers = []
    spec = None
    if config.get("extractor"):
        recorded = config["extractor"]
        spec = resolve_extractor(recorded["kind"], recorded["weights_path"])
        if spec.weights_sha256 != recorded["weights_sha256"]:
            raise GanBenchError(f"{recorded['weights_path']}: extractor weights changed since the run started")
    # Runs from before `evaluate` was recorded were scored exactly when they recorded an extractor.
    if config.get("evaluate", spec is not None) and ranks.main:
        scorers = build_scorers(repro, budget, spec, device, data_root, cache, train_set)
    # Records written after the checkpoint would be written again: keep the curves up to it.
    done = checked_progress(state["progress"], str(run.checkpoint_path)).g_steps if state else 0
    run.rewrite_curves([r for r in run.curves() if isinstance(r.get("g_step", 0), int) and r.get("g_step", 0) <= done])
    say(f"run directory: {run.path}" + ("" if state else " (no checkpoint yet: restarting it from its config)"))
    return _train(entry, run, repro, batches, budget, scorers, config["seed"], device, say, resume=state,
                  acceleration=acceleration, data_root=data_root)
