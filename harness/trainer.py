"""The training loop: one generic loop for every paper, under a declared budget.

The loop asks the reproduction how many D steps this G step takes, hands it that many real batches,
and counts exactly what was done (G steps, D steps, real images shown to D). It syncs with the
device only every `log_every` steps, which is also when it checks for divergence (a non-finite
loss). It knows nothing of files: logging, evaluation and checkpoints are callbacks.
"""

from __future__ import annotations

import math
import signal
import threading
import time
from dataclasses import asdict, dataclass
from typing import Callable, Literal

import torch

from harness.acceleration import Acceleration
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
    status: Literal["finished", "diverged", "interrupted"]
    stop_reason: str
    progress: Progress
    divergence: dict | None = None


@dataclass
class Callbacks:
    """What the loop reports to, all optional: loss records, periodic evaluation, checkpoints."""

    log: Callable[[dict], None] = lambda record: None
    evaluate: Callable[[Progress], None] | None = None
    checkpoint: Callable[[Progress], None] | None = None
    should_stop: Callable[[], bool] = lambda: False  # e.g. SIGTERM from a scheduler: checkpoint and leave
    # Under DDP (harness.distributed): the record averaged over ranks, so all ranks judge divergence alike.
    reduce: Callable[[dict], dict] = lambda record: record
    # After every G step, with the planned G steps: the live progress display (no device sync).
    step: Callable[[Progress, int], None] = lambda progress, planned: None


class StopOnSignal:
    """While active, SIGTERM/SIGINT only set a flag; the loop stops after the current step, cleanly."""

    def __init__(self):
        self.signal_name: str | None = None
        self._previous: dict = {}

    def requested(self) -> bool:
        return self.signal_name is not None

    def _handle(self, signum, frame) -> None:
        self.signal_name = signal.Signals(signum).name

    def __enter__(self) -> "StopOnSignal":
        if threading.current_thread() is threading.main_thread():  # handlers can only be set there
            for sig in (signal.SIGTERM, signal.SIGINT):
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


class Trainer:
    def __init__(self, reproduction: Reproduction, batches: DeviceBatches, budget: Budget,
                 callbacks: Callbacks | None = None, progress: Progress | None = None,
                 acceleration: Acceleration | None = None, world_size: int = 1):
        self.reproduction = reproduction
        self.acceleration = acceleration or Acceleration()
        self.batches = batches
        self.budget = budget
        self.callbacks = callbacks or Callbacks()
        self.progress = progress or Progress()  # a resumed run starts from its checkpoint's counts
        self.world_size = world_size  # DDP: each rank sees 1/world_size of every batch; budgets count all ranks
        self._sums: dict[str, torch.Tensor] = {}  # losses since the last log record, summed on the device
        self._window = 0

    def state_dict(self) -> dict:
        """The half-filled logging window, so a resumed run logs the same averages."""
        return {"sums": {name: float(total) for name, total in self._sums.items()}, "window": self._window}

    def load_state_dict(self, state: dict) -> None:
        self._sums = {name: torch.tensor(value) for name, value in state["sums"].items()}
        self._window = int(state["window"])

    def run(self) -> Outcome:
        budget, repro, progress = self.budget, self.reproduction, self.progress
        started = time.monotonic() - progress.wall_clock_s  # a resumed run keeps its clock
        g_steps = budget.g_steps
        if budget.kimg is not None:  # a kimg limit may end the run sooner: schedules fit the shorter one
            g_steps = min(g_steps, math.ceil(budget.kimg * 1000 / (budget.batch_size * repro.d_steps(0))))
        repro.plan(g_steps, budget.batch_size)
        repro.train(True)
        while True:
            progress.wall_clock_s = time.monotonic() - started
            reason = budget.stop_reason(progress.g_steps, progress.images_seen, progress.wall_clock_s)
            if reason is not None:
                break
            real = [self.batches.next() for _ in range(repro.d_steps(progress.g_steps))]
            with self.acceleration.autocast(repro.device):
                losses = repro.train_step(real, progress.g_steps)
            progress.g_steps += 1
            progress.d_steps += len(real)
            progress.images_seen += sum(len(batch) for batch in real) * self.world_size
            for name, value in losses.items():  # accumulate on the device: no sync per step
                value = value.detach().float()
                self._sums[name] = self._sums[name].to(value.device) + value if name in self._sums else value
            self._window += 1
            self.callbacks.step(progress, g_steps)

            step = progress.g_steps
            if step % budget.log_every == 0 or budget.stop_reason(step, progress.images_seen, 0.0) is not None:
                record = {name: float(total) / self._window for name, total in self._sums.items()}  # the one sync
                record = self.callbacks.reduce(record)
                self._sums, self._window = {}, 0
                progress.wall_clock_s = time.monotonic() - started
                self.callbacks.log({"g_step": step, "kimg": progress.kimg, "wall_clock_s": progress.wall_clock_s, **record})
                bad = [name for name, value in record.items() if not math.isfinite(value)]
                if bad:
                    return Outcome("diverged", "non-finite loss", progress,
                                   {"g_step": step, "reason": f"non-finite loss {', '.join(bad)}"})
                broken = repro.nonfinite_modules()
                if broken:
                    return Outcome("diverged", "non-finite weights", progress,
                                   {"g_step": step, "reason": f"non-finite weights in {', '.join(broken)}"})
            if budget.eval_every and self.callbacks.evaluate and step % budget.eval_every == 0:
                self.callbacks.evaluate(progress)
            if budget.checkpoint_every and self.callbacks.checkpoint and step % budget.checkpoint_every == 0:
                self.callbacks.checkpoint(progress)
            if self.callbacks.should_stop():
                progress.wall_clock_s = time.monotonic() - started
                return Outcome("interrupted", "signal", progress)
        progress.wall_clock_s = time.monotonic() - started
        return Outcome("finished", reason, progress)
