"""One run on several processes (GPUs) with torch DistributedDataParallel, started by `torchrun`.

`torchrun --nproc_per_node N -m harness.cli run dcgan ...` sets RANK/WORLD_SIZE/LOCAL_RANK; the
process group is joined here (`join`) and nowhere else. `join` returns one `Distributed` object that
the experiment passes to every phase, which ask it and nothing else (`ddp.main`, `ddp.barrier()`, …).
Without those variables it is `SINGLE_PROCESS`, every method a no-op, and a run is exactly the
single-process run.

How a DDP run differs from one process, and why:
- Data: every rank builds the same seeded `DeviceBatches` at the *global* (budget) batch size and
  keeps its own contiguous slice of each batch. The union of the ranks' shards is exactly the batch
  a single process would draw, the data order in the checkpoint is one state valid for every rank
  (so a run resumes with any world size), and no shard can overlap another. The cost, every rank
  holding the dataset, is what `DeviceBatches` already does on one process.
- Noise: ranks share the seed for building the networks (identical initial weights) and then draw
  training noise from per-rank streams, or every rank would generate the same fakes.
- Networks: every network of the reproduction (`Reproduction.networks()`) with trainable parameters is wrapped
  in place, so the reproduction's own `self.G(...)`/`self.D(...)` go through DDP. The wrapper hands
  unknown attributes to the wrapped module and saves/loads the unwrapped state_dict, so
  checkpoints are the single-process format.
- Writing: only rank 0 writes the run directory (other ranks get a `RunDir` whose writes do nothing)
  and only rank 0 evaluates, on the unwrapped networks (DDP's forward would wait for the others).
- Decisions: stopping on a signal and divergence are agreed across ranks (a collective), so no
  rank leaves the loop while another waits in an all-reduce.
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import torch
import torch.distributed as dist
from torch.nn.modules.utils import consume_prefix_in_state_dict_if_present
from torch.nn.parallel import DistributedDataParallel

from harness.batches import Batch, DeviceBatches
from harness.errors import GanBenchError
from harness.runstore import RunDir

# Rank 0 may score 50k samples at the end while the others wait in a barrier: far longer than
# the default 10/30-minute collective timeouts.
COLLECTIVE_TIMEOUT = datetime.timedelta(hours=6)
# Agreeing on "stop now" costs a collective (a device sync under NCCL); once every few steps is
# enough for a scheduler's SIGTERM, which leaves tens of seconds before SIGKILL.
STOP_CHECK_EVERY = 10


@dataclass(frozen=True)
class Ranks:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        return self.rank == 0

    @property
    def active(self) -> bool:
        return self.world_size > 1


def from_env() -> Ranks:
    """The ranks torchrun declared in the environment (one process when it did not)."""
    try:
        return Ranks(int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1)),
                     int(os.environ.get("LOCAL_RANK", 0)))
    except ValueError:
        raise GanBenchError("RANK, WORLD_SIZE and LOCAL_RANK must be integers (as torchrun sets them)") from None


def join(device: torch.device) -> tuple["Distributed", torch.device]:
    """Join torchrun's process group (once per process) and pick this rank's device.

    CUDA ranks use NCCL on `cuda:LOCAL_RANK`; CPU ranks use gloo. Ranks other than 0 print
    nothing to stdout: the run's messages and result are rank 0's (errors still reach stderr).
    """
    ranks = from_env()
    if not ranks.active:
        return SINGLE_PROCESS, device
    if device.type == "cuda":
        if ranks.local_rank >= torch.cuda.device_count():
            raise GanBenchError(f"LOCAL_RANK {ranks.local_rank} but only {torch.cuda.device_count()} GPUs are visible")
        device = torch.device("cuda", ranks.local_rank)
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        backend = "nccl" if device.type == "cuda" else "gloo"
        dist.init_process_group(backend, timeout=COLLECTIVE_TIMEOUT)
        if not ranks.main:
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - lives as long as the process
    return Distributed(ranks), device


# ------------------------------------------------------------------------------------- the run dir
class ReadOnlyRun(RunDir):
    """Rank > 0's view of the run directory: same path, every write a no-op."""

    def write_config(self, config: dict) -> None: ...
    def write_result(self, result: dict) -> None: ...
    def log(self, record: dict) -> None: ...
    def rewrite_curves(self, records: list[dict]) -> None: ...
    def save_checkpoint(self, state: dict) -> None: ...
    def save_samples(self, images, modes=None, title: str = "") -> None: ...


# -------------------------------------------------------------------------------------- networks
class Wrapped(DistributedDataParallel):
    """DDP that still looks like the module it wraps to the reproduction and to checkpoints."""

    def __getattr__(self, name: str):
        try:
            return super().__getattr__(name)
        except AttributeError:  # e.g. `self.G.z_dim`: the reproduction's own attributes
            if name == "module":  # not set yet (inside DDP's own __init__): no recursion
                raise
            return getattr(self.module, name)

    def state_dict(self, *args, **kwargs):
        return self.module.state_dict(*args, **kwargs)  # no `module.` prefix: the single-process format

    def load_state_dict(self, state_dict, strict: bool = True, assign: bool = False):
        state_dict = dict(state_dict)
        consume_prefix_in_state_dict_if_present(state_dict, "module.")  # a checkpoint saved wrapped
        return self.module.load_state_dict(state_dict, strict=strict, assign=assign)


def wrap(repro) -> None:
    """Wrap each trainable `nn.Module` attribute of the reproduction in DDP, in place."""
    device = repro.device
    for name, value in repro.networks().items():
        if (not isinstance(value, DistributedDataParallel)
                and any(p.requires_grad for p in value.parameters())):  # e.g. an EMA copy is left alone
            ids = [device.index] if device.type == "cuda" else None
            # Buffers (BatchNorm statistics) follow rank 0's at each forward: DDP's default.
            # A growing network (ProGAN) leaves the layers of levels not yet reached without gradient.
            setattr(repro, name, Wrapped(value, device_ids=ids,
                                         find_unused_parameters=getattr(repro, "has_unused_parameters", False)))


@contextlib.contextmanager
def unwrapped(repro) -> Iterator[None]:
    """The plain networks for work one rank does alone (sampling, scoring): no collectives."""
    wrapped = {n: v for n, v in vars(repro).items() if isinstance(v, DistributedDataParallel)}
    for name, value in wrapped.items():
        setattr(repro, name, value.module)
    try:
        yield
    finally:
        for name, value in wrapped.items():
            setattr(repro, name, value)


# -------------------------------------------------------------------------------------------- data
class ShardedBatches:
    """This rank's contiguous slice of each global batch; the data state is the global one."""

    def __init__(self, batches: DeviceBatches, ranks: Ranks):
        self.inner = batches
        self.batch_size = batches.batch_size  # global
        share = batches.batch_size // ranks.world_size
        self._slice = slice(ranks.rank * share, (ranks.rank + 1) * share)

    def next(self) -> Batch:
        batch = self.inner.next()
        if batch.domains:  # a two-domain batch: this rank's slice of each domain, still paired up
            size = len(batch) // batch.domains
            pick = torch.cat([torch.arange(d * size, (d + 1) * size)[self._slice] for d in range(batch.domains)])
            pick = pick.to(batch.images.device)
            return Batch(images=batch.images[pick], labels=batch.labels[pick], domains=batch.domains)
        return Batch(images=batch.images[self._slice], labels=batch.labels[self._slice])

    def state_dict(self) -> dict:
        return self.inner.state_dict()

    def load_state_dict(self, state: dict) -> None:
        self.inner.load_state_dict(state)

    def __getattr__(self, name: str):  # epoch, device, images…
        return getattr(self.inner, name)


def rank_seed(seed: int, rank: int, step: int) -> int:
    """A training-noise seed per (run seed, rank, step), far from any other run's seed."""
    return int.from_bytes(hashlib.sha256(f"gan-bench:{seed}:{rank}:{step}".encode()).digest()[:8], "little")


# ------------------------------------------------------------------------------------ the object
@dataclass(frozen=True)
class Distributed:
    """This process's part in a run: what the experiment's phases ask instead of torch.distributed."""

    ranks: Ranks

    @property
    def main(self) -> bool:
        """Rank 0: the one process that writes the run directory, prints and scores."""
        return self.ranks.main

    @property
    def world_size(self) -> int:
        return self.ranks.world_size

    def check_budget(self, batch_size: int, wall_clock_s: float | None) -> None:
        """Budgets a DDP run cannot honour exactly fail before anything is written."""
        if not self.ranks.active:
            return
        if batch_size % self.world_size:
            raise GanBenchError(f"batch size {batch_size} does not split over {self.world_size} processes; "
                                f"the global batch must be a multiple of the number of processes")
        if wall_clock_s is not None:  # each rank's clock would stop it at a different step
            raise GanBenchError("a wall-clock budget is not supported with torchrun; use --g-steps or --kimg")

    def create_run(self, create: Callable[[], RunDir]) -> RunDir:
        """Rank 0 creates the run directory; the others learn its path and may not write to it."""
        if not self.ranks.active:
            return create()
        path = [str(create().path) if self.main else None]
        dist.broadcast_object_list(path, src=0)
        return RunDir(Path(path[0])) if self.main else ReadOnlyRun(Path(path[0]))

    def writable(self, run: RunDir) -> RunDir:
        """An existing run directory (resume): writable on rank 0 only."""
        return run if self.main else ReadOnlyRun(run.path)

    def barrier(self) -> None:
        """The end of a run: rank 0 has written the result before any rank returns and reads it."""
        if self.ranks.active:
            dist.barrier()

    def prepare(self, repro, batches: DeviceBatches, seed: int, step: int):
        """Make a single-process (or just restored) run a DDP one; returns the batches to train on.

        Rank 0 keeps its random streams, so a one-process torchrun equals a plain run; other ranks
        reseed their noise. Only rank 0's streams are in a checkpoint, so a resumed DDP run reseeds
        the others from the step: it resumes correctly, but not bit-identically.
        """
        if not self.ranks.active:
            return batches
        wrap(repro)
        if not self.main:
            torch.manual_seed(rank_seed(seed, self.ranks.rank, step))
        return ShardedBatches(batches, self.ranks)

    def unwrapped(self, repro):
        """The plain networks for work rank 0 does alone (sampling, scoring): no collectives."""
        return unwrapped(repro)

    def agreed_stop(self, requested: Callable[[], bool]) -> Callable[[], bool]:
        """`should_stop` for the trainer: true on every rank at the same step when any rank was signalled."""
        if not self.ranks.active:
            return requested
        calls = 0

        def should_stop() -> bool:
            nonlocal calls
            calls += 1
            if calls % STOP_CHECK_EVERY:
                return False
            flag = torch.tensor([1.0 if requested() else 0.0], device=_collective_device())
            dist.all_reduce(flag, op=dist.ReduceOp.MAX)
            return bool(flag.item())

        return should_stop

    def mean_record(self, record: dict[str, float]) -> dict[str, float]:
        """A loss record averaged over ranks: every rank logs and judges divergence on the same numbers."""
        if not self.ranks.active or not record:
            return record
        names = sorted(record)
        values = torch.tensor([record[n] for n in names], dtype=torch.float64, device=_collective_device())
        dist.all_reduce(values)  # NaN/inf on any rank stays NaN/inf in the sum
        values /= self.world_size
        return dict(zip(names, values.tolist()))


SINGLE_PROCESS = Distributed(Ranks())


def _collective_device() -> torch.device:
    return torch.device("cuda", torch.cuda.current_device()) if dist.get_backend() == "nccl" else torch.device("cpu")
