"""One run on two processes: torchrun + gloo on CPU, DistributedDataParallel, rank 0 writing.

The unit tests check the pieces (sharding, the wrapper's state_dict) in this process; the slow ones
start `python -m torch.distributed.run --nproc_per_node 2 -m harness.cli run …` as a user would.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import torch.distributed as dist

from harness import distributed
from harness.batches import DeviceBatches
from harness.data import ImageSet, dataset_info

TORCHRUN = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"]
SMOKE = ["dcgan", "--budget", "smoke", "--device", "cpu", "--no-eval", "--seed", "3"]


# ------------------------------------------------------------------------------------------ unit
def tiny_images(n: int = 40) -> ImageSet:
    images = torch.arange(n, dtype=torch.uint8).view(n, 1, 1, 1).expand(n, 1, 2, 2).contiguous()
    return ImageSet(info=dataset_info("mnist"), split="train", images=images, labels=torch.arange(n))


def test_ranks_draw_disjoint_shards_whose_union_is_the_global_batch():
    def draws(rank: int | None) -> list[torch.Tensor]:
        batches = DeviceBatches(tiny_images(), 8, torch.device("cpu"), seed=7)
        if rank is not None:
            batches = distributed.ShardedBatches(batches, distributed.Ranks(rank, 2, rank))
        return [batches.next().labels for _ in range(12)]  # more than one epoch

    whole, rank0, rank1 = draws(None), draws(0), draws(1)
    for full, a, b in zip(whole, rank0, rank1):
        assert len(a) == len(b) == 4 and not set(a.tolist()) & set(b.tolist())
        assert torch.equal(torch.cat([a, b]), full)  # same order as one process: resumable with any world size


@pytest.fixture
def process_group(tmp_path):
    dist.init_process_group("gloo", init_method=f"file://{tmp_path / 'store'}", rank=0, world_size=1)
    try:
        yield
    finally:
        dist.destroy_process_group()


class TwoNets:
    """What `distributed.wrap` needs of a reproduction: `device`, `networks()`, network attributes."""

    def __init__(self):
        self.device = torch.device("cpu")
        self.G = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4))
        self.G.z_dim = 3  # an attribute the reproduction reads through the wrapper
        self.ema = torch.nn.Linear(3, 4).requires_grad_(False)  # nothing to train: left unwrapped
        self.opt = torch.optim.SGD(self.G.parameters(), lr=0.1)

    def networks(self) -> dict:
        return {"G": self.G, "ema": self.ema}


def test_wrapped_networks_keep_their_names_attributes_and_checkpoint_format(process_group):
    repro = TwoNets()
    plain = {k: v.clone() for k, v in repro.G.state_dict().items()}
    distributed.wrap(repro)
    assert isinstance(repro.G, distributed.Wrapped) and not isinstance(repro.ema, distributed.Wrapped)
    assert repro.G.z_dim == 3
    assert list(repro.G.state_dict()) == list(plain)  # no `module.` prefix
    prefixed = {f"module.{k}": torch.zeros_like(v) for k, v in plain.items()}
    repro.G.load_state_dict(prefixed)  # a checkpoint written from a wrapped module loads too
    assert all(float(v.abs().sum()) == 0 for v in repro.G.state_dict().values())
    with distributed.unwrapped(repro):
        assert type(repro.G) is torch.nn.Sequential
    assert isinstance(repro.G, distributed.Wrapped)


def test_one_process_is_untouched():
    single, device = distributed.join(torch.device("cpu"))
    assert single == distributed.SINGLE_PROCESS and single.main and device == torch.device("cpu")
    flag = lambda: True  # noqa: E731
    assert single.agreed_stop(flag) is flag and single.mean_record({"a": 1.0}) == {"a": 1.0}


# ---------------------------------------------------------------------------------- end to end
def torchrun(*args, runs: Path, **popen) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.Popen([*TORCHRUN, "-m", "harness.cli", *map(str, args)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, **popen)


@pytest.mark.slow
def test_two_process_ddp_run_writes_one_run_directory(tmp_path):
    runs = tmp_path / "runs"
    proc = torchrun("run", *SMOKE, "--runs-dir", runs, runs=runs)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    (run,) = runs.glob("dcgan/mnist/smoke/*")
    names = sorted(p.name for p in run.iterdir())
    events = [name for name in names if name.startswith("events.out.tfevents.")]
    assert len(events) == 1  # rank 0's TensorBoard view only
    assert [n for n in names if n not in events] == ["checkpoint.pt", "config.json", "curves.jsonl", "result.json",
                                                     "samples.png"]
    assert out.count("results: ") == 1  # rank 1 prints nothing
    result = json.loads((run / "result.json").read_text())
    assert result["status"] == "finished"
    assert result["progress"]["images_seen"] == 20 * 16  # the global batch, counted over both ranks
    assert [r["g_step"] for r in map(json.loads, (run / "curves.jsonl").read_text().splitlines())] == [5, 10, 15, 20]
    # The checkpoint is the single-process format: it loads into an unwrapped DCGAN.
    from harness.experiment import configure, instantiate
    from harness.registry import load_registry
    from harness.reproduction import DataSpec

    cls, hp, resolution = configure(load_registry().get("dcgan"), "mnist")
    repro = instantiate(cls, hp, DataSpec("mnist", 1, resolution, 10), torch.device("cpu"), "dcgan")
    repro.load_state_dict(torch.load(run / "checkpoint.pt", weights_only=True)["reproduction"])


@pytest.mark.slow
def test_sigterm_stops_every_rank_at_one_step_and_the_run_resumes_under_torchrun(tmp_path):
    runs = tmp_path / "runs"
    proc = torchrun("run", *SMOKE, "--runs-dir", runs, runs=runs)
    deadline = time.monotonic() + 240
    while not [p for p in runs.glob("dcgan/mnist/smoke/*/curves.jsonl") if p.read_text()]:
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()[1]
        time.sleep(0.02)
    proc.send_signal(signal.SIGTERM)  # as a scheduler would: torchrun passes it to both ranks
    _, err = proc.communicate(timeout=120)
    (run,) = runs.glob("dcgan/mnist/smoke/*")
    assert proc.returncode != 0 and not (run / "result.json").exists(), err
    assert "interrupted by SIGTERM" in err and "Timeout" not in err  # both ranks stopped; none waited forever
    stopped = torch.load(run / "checkpoint.pt", weights_only=True)["progress"]["g_steps"]
    assert stopped % distributed.STOP_CHECK_EVERY == 0  # the step the ranks agreed on

    resumed = torchrun("resume", run, runs=runs)
    out, err = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, err
    assert list(runs.glob("dcgan/mnist/smoke/*")) == [run]
    result = json.loads((run / "result.json").read_text())
    assert result["resumed"] is True and result["progress"]["g_steps"] == 20
    assert result["progress"]["images_seen"] == 20 * 16
