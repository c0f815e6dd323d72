"""The training loop: one generic loop for every paper, under a declared budget.

The loop asks the reproduction how many D steps this G step takes, hands it that many real batches,
and counts exactly what was done (G steps, D steps, real images shown to D). It syncs with the
device only every `log_every` steps, which is also when it checks for divergence (a non-finite
loss). It knows nothing of files: logging, evaluation and checkpoints are callbacks.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass
from typing import Callable, Literal

import torch

from harness.batches import DeviceBatches
from harness.budget import Budget
from harness.reproduction import Reproduction


@dataclass
class Progress:
    g_steps: int = 0
    d_steps: int = 0
    images_seen: int = 0  # real images shown to D
    wall_clock_s: float = 0.0

    @property
    def kimg(self) -> float:
        return self.images_seen / 1000

    def to_dict(self) -> dict:
        return {**asdict(self), "kimg": self.kimg}


@dataclass
class Outcome:
    status: Literal["finished", "diverged"]
    stop_reason: str
    progress: Progress
    divergence: dict | None = None


@dataclass
class Callbacks:
    """What the loop reports to, all optional: loss records, periodic evaluation, checkpoints."""

    log: Callable[[dict], None] = lambda record: None
    evaluate: Callable[[Progress], None] | None = None
    checkpoint: Callable[[Progress], None] | None = None


class Trainer:
    def __init__(self, reproduction: Reproduction, batches: DeviceBatches, budget: Budget, callbacks: Callbacks | None = None):
        self.reproduction = reproduction
        self.batches = batches
        self.budget = budget
        self.callbacks = callbacks or Callbacks()
        self.progress = Progress()

    def run(self) -> Outcome:
        budget, repro, progress = self.budget, self.reproduction, self.progress
        sums: dict[str, torch.Tensor] = {}
        window = 0
        started = time.monotonic() - progress.wall_clock_s  # a resumed run keeps its clock
        repro.train(True)
        while True:
            progress.wall_clock_s = time.monotonic() - started
            reason = budget.stop_reason(progress.g_steps, progress.images_seen, progress.wall_clock_s)
            if reason is not None:
                break
            real = [self.batches.next() for _ in range(repro.d_steps(progress.g_steps))]
            losses = repro.train_step(real, progress.g_steps)
            progress.g_steps += 1
            progress.d_steps += len(real)
            progress.images_seen += sum(len(batch) for batch in real)
            for name, value in losses.items():  # accumulate on the device: no sync per step
                sums[name] = sums[name] + value.detach().float() if name in sums else value.detach().float()
            window += 1

            step = progress.g_steps
            if step % budget.log_every == 0 or budget.stop_reason(step, progress.images_seen, 0.0) is not None:
                record = {name: float(total) / window for name, total in sums.items()}  # the one sync
                sums, window = {}, 0
                progress.wall_clock_s = time.monotonic() - started
                self.callbacks.log({"g_step": step, "kimg": progress.kimg, "wall_clock_s": progress.wall_clock_s, **record})
                bad = [name for name, value in record.items() if not math.isfinite(value)]
                if bad:
                    return Outcome("diverged", "non-finite loss", progress,
                                   {"g_step": step, "reason": f"non-finite {', '.join(bad)}"})
            if budget.eval_every and self.callbacks.evaluate and step % budget.eval_every == 0:
                self.callbacks.evaluate(progress)
            if budget.checkpoint_every and self.callbacks.checkpoint and step % budget.checkpoint_every == 0:
                self.callbacks.checkpoint(progress)
        progress.wall_clock_s = time.monotonic() - started
        return Outcome("finished", reason, progress)
