"""`gan-bench run PAPER --seeds 0-4`: the seeds of one cell trained together, one run directory each.

Each seed goes through `train_paper` exactly as a lone run does — checks, seeding, networks, batches,
its own run directory and config, and afterwards its own checkpoint, scatter plot, scoring and
result — in a thread of its own. Only its training loop is different: the `Trainer` it is given is a
`SeedSlot` that waits until every seed has reached training, and the main thread trains all of them
at once (harness.stacked_seeds) before handing each its outcome. The threads never run at the same
time: the main thread starts seed s only after seed s − 1 is waiting for training, and lets seed s
finish (checkpoint, score, write) before seed s + 1, with that seed's own random state in place, so
every random draw a seed makes is the one its lone run makes.
"""

from __future__ import annotations

import dataclasses
import math
import threading
import time
from typing import Sequence

import torch

from harness.batches import Batch
from harness.errors import GanBenchError
from harness.per_seed import PerSeed, seed_values
from harness.reproduction import load_reproduction_class
from harness.runstore import RunDir
from harness.seeds import check_seed
from harness.stacked_seeds import FusedSeeds, RandomStreams, StackingError
from harness.trainer import Outcome, Progress, StopOnSignal


class _Aborted(GanBenchError):
    """Another seed of the stack failed before training: this one stops too (its run dir holds its config)."""


class SeedSlot:
    """Stands in for `Trainer` in one seed's `train_paper`: the same constructor, `run` and state."""

    def __init__(self, group: "SeedGroup", index: int, reproduction, batches, budget, callbacks=None,
                 progress: Progress | None = None, acceleration=None, world_size: int = 1):
        if world_size != 1 or (progress is not None and progress.g_steps):
            raise StackingError("stacked seeds run on one process, from scratch (not under torchrun, not resumed)")
        self.group, self.index = group, index
        self.reproduction, self.batches, self.budget = reproduction, batches, budget
        self.callbacks, self.acceleration = callbacks, acceleration
        self.progress = Progress()
        self.outcome: Outcome | None = None
        self.sums: dict[str, float] = {}  # the half-filled logging window at the end (Trainer.state_dict)
        self.window = 0
        self.released = threading.Event()

    def run(self) -> Outcome:
        self.group.arrived(self)
        self.released.wait()
        if self.outcome is None:
            raise _Aborted("stacked seeds: another seed of this stack failed before training; this one stopped too")
        return self.outcome

    def state_dict(self) -> dict:
        return {"sums": dict(self.sums), "window": self.window}

    def load_state_dict(self, state: dict) -> None:
        raise StackingError("stacked seeds do not resume; resume each run with `gan-bench resume`")


class SeedGroup:
    def __init__(self, seeds: int, device: torch.device):
        self.size = seeds
        self.slots: list[SeedSlot | None] = [None] * seeds
        self.streams = RandomStreams(device)
        self.final_streams: dict[int, tuple] = {}  # each seed's random state when its training ended
        self._arrival = threading.Condition()

    def trainer_for(self, index: int):
        return lambda *args, **kwargs: SeedSlot(self, index, *args, **kwargs)

    def arrived(self, slot: SeedSlot) -> None:
        with self._arrival:
            self.slots[slot.index] = slot
            # The global random state a lone run of this seed has at its first step.
            self.streams.states.append(self.streams.capture())
            self._arrival.notify_all()

    def wait_for(self, index: int, thread: threading.Thread) -> None:
        with self._arrival:
            while self.slots[index] is None and thread.is_alive():
                self._arrival.wait(0.1)

    def train(self) -> None:
        """Trainer.run for every seed at once; each slot ends up with its outcome and its copy written back."""
        slots = self.slots
        first = slots[0]
        budget, repro = first.budget, first.reproduction
        try:
            repro.check_stackable(budget.batch_size)
        except ValueError as exc:
            raise StackingError(f"stacked seeds: {exc}") from None
        fused = FusedSeeds([slot.reproduction for slot in slots])
        model = fused.reproduction
        g_steps = budget.g_steps
        if budget.kimg is not None:
            g_steps = min(g_steps, math.ceil(budget.kimg * 1000 / (budget.batch_size * repro.d_steps(0))))
        for target in [model, *(slot.reproduction for slot in slots)]:
            target.plan(g_steps, budget.batch_size)
        model.train(True)
        active = list(range(self.size))
        sums: list[dict[str, torch.Tensor]] = [{} for _ in slots]
        window = 0
        started = time.monotonic()

        def finish(index: int, outcome: Outcome, logged: bool = False) -> None:
            fused.write_back(index)
            slot = slots[index]
            slot.progress.wall_clock_s = time.monotonic() - started
            slot.outcome = outcome
            if not logged:  # the window a lone Trainer would still hold (empty right after a log record)
                slot.sums = {name: float(total) for name, total in sums[index].items()}
                slot.window = window
            self.final_streams[index] = self.streams.states[index]
            active.remove(index)

        with StopOnSignal() as stop:
            while active:
                elapsed = time.monotonic() - started
                for index in active:
                    slots[index].progress.wall_clock_s = elapsed
                lead = slots[active[0]].progress
                reason = budget.stop_reason(lead.g_steps, lead.images_seen, elapsed)
                if reason is not None:
                    for index in list(active):
                        finish(index, Outcome("finished", reason, slots[index].progress))
                    break
                per_seed = [[slot.batches.next() for _ in range(repro.d_steps(lead.g_steps))] for slot in slots]
                real = [_stack([batches[d] for batches in per_seed]) for d in range(len(per_seed[0]))]
                with first.acceleration.autocast(repro.device), PerSeed(self.size, self.streams):
                    losses = model.train_step(real, lead.g_steps)
                for index in active:  # a seed that stopped keeps the counts it stopped at
                    progress = slots[index].progress
                    progress.g_steps += 1
                    progress.d_steps += len(real)
                    progress.images_seen += sum(len(batch) for batch in per_seed[index])
                values = {name: seed_values(value, self.size) for name, value in losses.items()}
                for index in active:
                    for name, value in values.items():
                        own = value[index]
                        sums[index][name] = sums[index][name] + own if name in sums[index] else own
                window += 1
                for index in active:
                    slots[index].callbacks.step(slots[index].progress, g_steps)
                step = lead.g_steps
                if step % budget.log_every == 0 or budget.stop_reason(step, lead.images_seen, 0.0) is not None:
                    self._log(fused, slots, active, sums, window, started, finish)
                    sums[:], window = [{} for _ in slots], 0
                for every, name in ((budget.eval_every, "evaluate"), (budget.checkpoint_every, "checkpoint")):
                    if every and step % every == 0:
                        for index in active:
                            callback = getattr(slots[index].callbacks, name)
                            if callback is not None:
                                fused.write_back(index)
                                self.streams.run_as(index, lambda: callback(slots[index].progress))
                if stop.requested():
                    for index in list(active):
                        finish(index, Outcome("interrupted", "signal", slots[index].progress))

    def _log(self, fused, slots, active, sums, window, started, finish) -> None:
        """The trainer's log record per seed; a seed whose losses or weights went non-finite stops here."""
        broken = fused.nonfinite_seeds()
        for index in list(active):
            slot = slots[index]
            record = slot.callbacks.reduce({name: float(total) / window for name, total in sums[index].items()})
            slot.progress.wall_clock_s = time.monotonic() - started
            slot.callbacks.log({"g_step": slot.progress.g_steps, "kimg": slot.progress.kimg,
                                "wall_clock_s": slot.progress.wall_clock_s, **record})
            bad = [name for name, value in record.items() if not math.isfinite(value)]
            step = slot.progress.g_steps
            if bad:
                finish(index, Outcome("diverged", "non-finite loss", slot.progress,
                                      {"g_step": step, "reason": f"non-finite loss {', '.join(bad)}"}), logged=True)
            elif broken[index]:
                finish(index, Outcome("diverged", "non-finite weights", slot.progress,
                                      {"g_step": step, "reason": f"non-finite weights in {', '.join(broken[index])}"}),
                       logged=True)


def _stack(batches: Sequence[Batch]) -> Batch:
    if any(batch.labelled is not None for batch in batches):
        raise StackingError("stacked seeds: semi-supervised batches (--labels) do not stack")
    if any(batch.domains for batch in batches):
        raise StackingError("stacked seeds: two-domain batches do not stack")
    return Batch(images=torch.cat([b.images for b in batches]), labels=torch.cat([b.labels for b in batches]))


def parse_seeds(text: str) -> list[int]:
    """'0-4' -> [0, 1, 2, 3, 4]; '1,3,5' -> [1, 3, 5]; ranges and lists mix ('0-2,7')."""
    seeds: list[int] = []
    try:
        for part in text.split(","):
            low, dash, high = part.strip().partition("-")
            seeds += list(range(int(low), int(high) + 1)) if dash else [int(low)]
    except ValueError:
        raise GanBenchError(f"--seeds: expected e.g. 0-4 or 0,2,5, got {text!r}") from None
    if not seeds:
        raise GanBenchError(f"--seeds: no seeds in {text!r}")
    if len(set(seeds)) != len(seeds):
        raise GanBenchError(f"--seeds: a seed is listed twice in {text!r}")
    for seed in seeds:
        check_seed(seed)
    return seeds


def train_seeds_together(entry, request, seeds: Sequence[int], say=print) -> list[RunDir]:
    """One run directory per seed, as `train_paper` writes it, the seeds trained as one stack."""
    from harness.experiment import pick_device, train_paper

    spec = entry.reproduction
    if spec is None:
        raise GanBenchError(f"{entry.id} is catalogued but not implemented (no reproduction block)")
    cls = load_reproduction_class(spec.module)
    if not getattr(cls, "stackable_seeds", False):
        raise GanBenchError(f"{entry.id} does not train stacked seeds (its reproduction does not declare "
                            f"stackable_seeds); run its seeds one at a time with --seed")
    if threading.current_thread() is not threading.main_thread():
        raise StackingError("stacked seeds are trained from the main thread")
    group = SeedGroup(len(seeds), pick_device(request.device))
    outcomes: list[RunDir | BaseException | None] = [None] * len(seeds)
    threads: list[threading.Thread] = []

    def work(index: int, seed: int) -> None:
        try:
            seeded = dataclasses.replace(request, seed=seed, stacked_seeds=tuple(seeds))
            outcomes[index] = train_paper(entry, seeded, say=say, trainer=group.trainer_for(index))
        except BaseException as exc:  # handed to the main thread, which raises it there
            outcomes[index] = exc

    try:
        for index, seed in enumerate(seeds):
            thread = threading.Thread(target=work, args=(index, seed), name=f"seed-{seed}", daemon=True)
            threads.append(thread)
            thread.start()
            group.wait_for(index, thread)
            if isinstance(outcomes[index], BaseException):
                raise outcomes[index]
        say(f"training seeds {', '.join(map(str, seeds))} together ({len(seeds)} stacked)")
        group.train()
    finally:
        for index, slot in enumerate(group.slots):  # release every waiting seed, in order, one at a time
            if slot is not None and not slot.released.is_set():
                if slot.outcome is not None:
                    group.streams.restore(group.final_streams[index])
                slot.released.set()
                threads[index].join()
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            raise outcome
    return outcomes
