"""The two phases of a run, once `experiment.assemble` has built it: training, then finishing.

`Phases.train` runs the trainer from scratch or from a checkpoint's state, with periodic evaluation
and checkpoints, until the budget, a divergence or a signal stops it. `Phases.finish` saves the sample
grid, judges divergence, scores and writes result.json. Neither builds anything: the reproduction,
batches, scorers, budget and the `Distributed` object all come in the assembly.
"""

from __future__ import annotations

import dataclasses
import signal
import time
from datetime import datetime, timezone
from typing import TYPE_CHECKING

import torch

from harness.checkpoints import checkpoint_state, restore
from harness.errors import GanBenchError, Interrupted
from harness.metrics.evaluate import Protocol
from harness.metrics.suites import metric_suite
from harness.method_identity import recorded_identity
from harness.monitor import RunMonitor
from harness.provenance import provenance
from harness.run_checks import nonfinite_reason
from harness.run_inputs import scatter_of, scoring_line
from harness.runstore import RunDir
from harness.scoring import Scorer, fixed_samples
from harness.trainer import Callbacks, Outcome, Progress, StopOnSignal, Trainer

if TYPE_CHECKING:
    from harness.experiment import Assembly

EVAL_SEED_OFFSET = 1_000_003  # evaluation noise is seeded apart from training noise


def timed_score(scorer: Scorer, seed: int) -> tuple[dict, float]:
    """One protocol's metrics for the networks as they are now, and the seconds scoring took."""
    started = time.monotonic()
    metrics = scorer.evaluator.score(scorer.sampler, seed + EVAL_SEED_OFFSET)
    return metrics, time.monotonic() - started


def protocol_tags(protocol: Protocol) -> dict:
    """Which score a metric record is, when a run has more than one (per domain, per direction)."""
    tags = {"domain": protocol.domain, "task": protocol.task}
    return {k: v for k, v in tags.items() if v is not None and v != "generation"}


def score_entry(protocol: Protocol, record: dict) -> dict:
    """A result.json score: the protocol, the suite's metrics of `record`, when and how long."""
    keys = metric_suite(getattr(protocol, "metric", "fid")).metric_keys
    metrics = {k: v for k, v in record.items() if k in keys}
    return {"protocol": protocol.to_dict(), "metrics": metrics, "g_step": record["g_step"],
            "eval_seconds": record["eval_seconds"],
            "evaluated_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}


class Phases:
    """Training, then finishing, of one assembled run in its run directory (rank 0's writes only)."""

    def __init__(self, parts: "Assembly", run: RunDir, say=print, trainer_class=Trainer):
        # trainer_class: Trainer's signature; harness.stacked_training passes one seed's slot of a stack.
        self.parts, self.run, self.say, self.trainer_class = parts, run, say, trainer_class
        self.monitor: RunMonitor | None = None
        self.resumed = False

    # -- training -----------------------------------------------------------------------------------
    def train(self, resume: dict | None = None) -> Outcome:
        """Train from scratch, or from a checkpoint's state; a checkpoint is saved at the end.

        Raises `Interrupted` (checkpoint saved) on SIGTERM/SIGINT, and GanBenchError if the budget
        stopped the run before its first G step.
        """
        parts, run = self.parts, self.run
        repro, ddp = parts.repro, parts.ddp
        self.resumed = resume is not None
        progress = Progress()
        if resume is not None:
            progress = restore(resume, repro, parts.batches, parts.entry.id)
        self.monitor = monitor = RunMonitor(run.path, f"train {parts.entry.id}", resume["progress"] if resume else None,
                                            run.curves() if resume else (), enabled=ddp.main)
        batches = ddp.prepare(repro, parts.batches, parts.seed, progress.g_steps)  # DDP: wrap networks, shard batches
        stop = StopOnSignal()
        trainer = self.trainer_class(repro, batches, parts.budget, Callbacks(
            log=lambda record: (run.log({"kind": "loss", **record}), monitor.losses(record)),
            evaluate=self.evaluate if parts.scorers else None,
            checkpoint=lambda progress: self._checkpoint(trainer, progress),
            should_stop=ddp.agreed_stop(stop.requested),
            reduce=ddp.mean_record,
            step=monitor.step,
        ), progress=progress, acceleration=parts.acceleration, world_size=ddp.world_size)
        if resume is not None:
            trainer.load_state_dict(resume["trainer"])
        verb = f"resuming at G step {progress.g_steps}" if resume else "training"
        budget = parts.budget
        self.say(f"{verb} {parts.entry.id} on {repro.data.name} ({repro.data.resolution}px) for {budget.g_steps} G "
                 f"steps at batch {budget.batch_size} on {parts.device} [{budget.name} budget]")
        with stop:
            try:
                outcome = trainer.run()
            finally:
                monitor.end_training()
        if outcome.progress.g_steps == 0 and outcome.status == "finished":  # e.g. --wall-clock 0.001
            monitor.close()
            raise GanBenchError(f"the budget stopped the run before its first G step ({outcome.stop_reason}): nothing "
                                f"was trained, so nothing is recorded; {run.path} holds only its config")
        self._checkpoint(trainer, outcome.progress)
        if outcome.status == "interrupted":
            monitor.close()
            self.say(f"interrupted at G step {outcome.progress.g_steps}; checkpoint saved, continue with: "
                     f"gan-bench resume {run.path}")
            raise Interrupted(f"interrupted by {stop.signal_name}; resume with `gan-bench resume {run.path}`",
                              128 + signal.Signals[stop.signal_name])
        return outcome

    def _checkpoint(self, trainer: Trainer, progress: Progress) -> None:
        parts = self.parts
        self.run.save_checkpoint(checkpoint_state(parts.entry, parts.repro, parts.batches, progress,
                                                  trainer.state_dict()))

    def evaluate(self, progress: Progress, grid: bool = True) -> list[dict]:
        """Score every protocol now (rank 0 alone), logged to curves.jsonl; with `grid`, the sample grid too."""
        parts, records = self.parts, []
        for scorer in parts.scorers:
            with parts.ddp.unwrapped(parts.repro):  # rank 0 samples alone: no DDP collectives
                metrics, seconds = timed_score(scorer, parts.seed)
            record = {"g_step": progress.g_steps, "kimg": progress.kimg, "eval_seconds": seconds,
                      **protocol_tags(scorer.protocol), **metrics}
            self.run.log({"kind": "metric", **record})
            self.monitor.metrics(record, protocol_tags(scorer.protocol))
            records.append(record)
        if grid:  # the final evaluation's grid is the one saved as samples.png, logged there
            device = parts.device
            # forked random streams: a module that samples without `generator` cannot shift training
            with parts.ddp.unwrapped(parts.repro), torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
                self.monitor.samples(fixed_samples(parts.repro, parts.seed, parts.data_root), progress.kimg)
        return records

    # -- finishing ----------------------------------------------------------------------------------
    def finish(self, outcome: Outcome, config: dict) -> RunDir:
        """The sample grid, the divergence verdict, the final scores and result.json, from the run's `config`."""
        parts, run, monitor = self.parts, self.run, self.monitor
        repro = parts.repro
        with parts.ddp.unwrapped(repro):
            grid = fixed_samples(repro, parts.seed, parts.data_root)
        run.save_samples(grid, **scatter_of(repro.data, parts.entry.id, parts.budget))
        monitor.samples(grid, outcome.progress.kimg)
        reason = nonfinite_reason(repro, grid) if outcome.status == "finished" else None
        if reason:  # finite losses, or no step left to take (a resume at the last step): still not scorable
            outcome = dataclasses.replace(outcome, status="diverged", stop_reason=reason.split(" in ")[0],
                                          divergence={"g_step": outcome.progress.g_steps, "reason": reason})
        scores = []
        scorers = parts.scorers
        if scorers and outcome.status == "finished":
            self.say(scoring_line(scorers[0].protocol, f" per domain ({len(scorers)})" if len(scorers) > 1 else ""))
            records = self.evaluate(outcome.progress, grid=False)
            scores = [score_entry(scorer.protocol, record) for scorer, record in zip(scorers, records)]
        run.write_result(self._result(outcome, scores, config))
        monitor.close()
        parts.ddp.barrier()  # no rank returns (and reads result.json) before rank 0 wrote it
        return run

    def _result(self, outcome: Outcome, scores: list[dict], config: dict) -> dict:
        parts = self.parts
        return {
            "paper": parts.entry.id, **recorded_identity(config), "dataset": parts.repro.data.name,
            "seed": parts.seed, "budget": parts.budget.to_dict(),
            **{k: config[k] for k in ("labels", "labelled_sha256") if config.get(k)},  # the semi-supervised protocol
            "status": outcome.status, "stop_reason": outcome.stop_reason, "divergence": outcome.divergence,
            "progress": outcome.progress.to_dict(), "scores": scores,
            # batch statistics depend on the scoring batch, so its size is part of how the samples were drawn
            "sampling": {"mode": parts.repro.sampling,
                         "batch_size": getattr(parts.scorers[0].evaluator, "batch_size", None) if parts.scorers else None},
            "provenance": config.get("provenance") or provenance(parts.device),
            "finished_with": provenance(parts.device)["git"],
            "resumed": self.resumed,
            "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
