"""Sweeps on a real SLURM cluster: one node on localhost (tests/slurm_cluster.py), real sbatch/squeue/
scontrol/scancel, submitit's SLURM executor as `gan-bench sweep` uses it, real `gan-bench run` jobs.

Skipped, saying why, where the daemons cannot be started (not root, slurm-wlm/munge not installed);
`.ci/run` installs them. Against a site's own SLURM instead: `GAN_BENCH_SLURM_PARTITION=<partition>
python -m pytest -q tests/test_slurm_cluster.py --basetemp <dir>` from a login node (no daemons are
started then; the jobs must see this checkout, its Python and <dir> at the same paths: a shared file system).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import yaml

from tests.slurm_cluster import LocalSlurm, missing_reason
from tests.test_resume import assert_same_training

pytestmark = pytest.mark.slow
SITE_PARTITION = os.environ.get("GAN_BENCH_SLURM_PARTITION")


class SiteSlurm(LocalSlurm):
    """A site's running cluster: the same queries, nothing started or stopped."""

    def __init__(self, partition: str):
        self.partition = partition

    @property
    def env(self) -> dict[str, str]:
        return {}

    def stop(self) -> None:
        pass


@pytest.fixture(scope="session")
def slurm(tmp_path_factory):
    if SITE_PARTITION:
        yield SiteSlurm(SITE_PARTITION)
        return
    reason = missing_reason()
    if reason:
        pytest.skip(reason)
    cluster = LocalSlurm(tmp_path_factory.mktemp("slurm"))
    with pytest.MonkeyPatch.context() as patch:
        try:
            cluster.start()
            for name, value in cluster.env.items():
                patch.setenv(name, value)  # sbatch/squeue/scontrol in this process and its children
            yield cluster
        finally:
            cluster.stop()


@pytest.fixture(autouse=True)
def one_thread(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # jobs inherit the submitter's environment (sbatch --export=ALL)


def write_spec(path: Path, slurm, papers: list[str], seeds: list[int], parallelism: int, **run) -> Path:
    spec = {"papers": papers, "datasets": ["mnist"], "budgets": ["smoke"], "seeds": seeds,
            "runs_dir": str(path.parent / "runs"), "device": "cpu", "evaluate": False, **run,
            "executor": {"kind": "slurm", "partition": slurm.partition, "timeout_min": 30, "cpus_per_task": 1,
                         "slurm_array_parallelism": parallelism}}
    path.write_text(yaml.safe_dump(spec), encoding="utf-8")
    return path


def ledger(spec: Path) -> list[dict]:
    path = spec.parent / "runs" / ".submitit" / "ledger.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.is_file() else []


STATUS_ROW = re.compile(r"(\S+)\s+(\S+)\s+(\S+)\s+(\d+)\s+(failed \(resumable\)|\S+)\s*(.*)")


def status_rows(cli, spec: Path) -> dict[str, tuple[str, str]]:
    """`gan-bench status`'s table as {"paper/seed": (state, detail)}."""
    result = cli("status", "--sweep", spec)
    assert result.exit_code == 0, result.output
    rows = {}
    for line in result.output.splitlines()[1:-1]:  # header, the cells, a summary
        paper, _, _, seed, state, detail = STATUS_ROW.match(line).groups()
        rows[f"{paper}/{seed}"] = (state, detail)
    return rows


def wait_for(predicate, what: str, timeout: float = 300, every: float = 0.5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out waiting for {what}")


def checkpoint_step(runs: Path, paper: str, seed: int) -> int:
    """The G step of the newest checkpoint of the cell's run (0 while there is none)."""
    for path in sorted(runs.glob(f"{paper}/mnist/*/{seed}-*/checkpoint.pt")):
        try:
            return torch.load(path, map_location="cpu", weights_only=True)["progress"]["g_steps"]
        except Exception:  # noqa: BLE001 - being replaced between glob and load
            return 0
    return 0


def only_run(runs: Path, paper: str, seed: int) -> Path:
    (path,) = runs.glob(f"{paper}/mnist/*/{seed}-*")
    return path


# ---------------------------------------------------------------------------------------- tests
def test_the_daemons_serve_one_idle_node(slurm):
    if isinstance(slurm, SiteSlurm):
        pytest.skip("a site's cluster: its nodes are its own")
    assert slurm.node_idle()
    assert "accounting storage is disabled" in subprocess.run(["sacct"], capture_output=True, text=True).stderr


def test_a_sweep_is_one_array_job_with_a_concurrency_limit_and_status_reads_the_queue(slurm, cli, tmp_path):
    spec = write_spec(tmp_path / "sweep.yaml", slurm, ["gan", "cgan"], [0, 1], parallelism=1)
    result = cli("sweep", "--sweep", spec)
    assert result.exit_code == 0, result.output
    jobs = [record["job_id"] for record in ledger(spec)]
    array_ids = {job.split("_")[0] for job in jobs}
    assert len(jobs) == 4 and len(array_ids) == 1  # one array job, one task per cell
    (array,) = array_ids
    assert sorted(jobs) == [f"{array}_{i}" for i in range(4)]
    assert slurm.job_field(array, "ArrayTaskThrottle") == "1"

    seen_running, seen_queued = set(), set()
    while slurm.queue(array):
        running = slurm.command("squeue", "--noheader", "--array", "--states=RUNNING", "--format=%i", "-j", array).split()
        assert len(running) <= 1, running  # the concurrency limit holds
        for cell, (state, detail) in status_rows(cli, spec).items():
            if state == "running" and detail.startswith(f"job {array}_"):
                seen_running.add(cell)
            if state == "pending" and detail.startswith(f"queued as job {array}_"):
                seen_queued.add(cell)
        time.sleep(1)
    assert seen_queued and seen_running  # status read the live queue, not the files
    assert {state for state, _ in status_rows(cli, spec).values()} == {"done"}

    again = cli("sweep", "--sweep", spec)
    assert again.exit_code == 0 and "4 cells: 0 to start, 0 to resume, 4 skipped (4 done)" in again.output
    assert len(ledger(spec)) == 4  # nothing submitted


LONG_RUN = {"g_steps": 300, "checkpoint_every": 20}  # long enough to be caught running, on a loaded CPU


def test_a_cancelled_cell_is_resumed_by_the_relaunch_and_nothing_else_is_submitted(slurm, cli, tmp_path):
    spec = write_spec(tmp_path / "sweep.yaml", slurm, ["gan"], [0, 1], parallelism=2, **LONG_RUN)
    runs = tmp_path / "runs"
    assert cli("sweep", "--sweep", spec).exit_code == 0
    jobs = {record["cell"].split(" ")[0].rsplit("/", 1)[1]: record["job_id"] for record in ledger(spec)}  # "<row>/…/<seed> v1"
    wait_for(lambda: checkpoint_step(runs, "gan", 1) >= 40, "a checkpoint of seed 1")
    slurm.command("scancel", jobs["1"])
    wait_for(lambda: not slurm.queue(*jobs.values()), "both jobs to leave the queue")
    assert slurm.job_field(jobs["1"], "JobState") == "CANCELLED"
    cancelled = only_run(runs, "gan", 1)
    assert not (cancelled / "result.json").exists()
    assert status_rows(cli, spec)["gan/1"][0] == "failed (resumable)"

    relaunch = cli("sweep", "--sweep", spec)
    assert "2 cells: 0 to start, 1 to resume, 1 skipped (1 done)" in relaunch.output, relaunch.output
    records = ledger(spec)
    assert len(records) == 3 and records[-1]["action"] == "resume" and records[-1]["run_dir"] == str(cancelled)
    wait_for(lambda: not slurm.queue(records[-1]["job_id"]), "the resumed cell")
    result = json.loads((cancelled / "result.json").read_text())
    assert result["status"] == "finished" and result["resumed"] is True
    assert result["progress"]["g_steps"] == LONG_RUN["g_steps"]
    assert only_run(runs, "gan", 1) == cancelled  # resumed in place, not started again


def test_a_preempted_cell_checkpoints_requeues_and_ends_as_an_uninterrupted_run(slurm, cli, tmp_path, data_root):
    spec = write_spec(tmp_path / "sweep.yaml", slurm, ["gan"], [3], parallelism=1, **LONG_RUN)
    runs = tmp_path / "runs"
    reference_runs = tmp_path / "reference"
    reference = subprocess.Popen(  # the same run, uninterrupted and without SLURM, meanwhile
        [sys.executable, "-m", "harness.cli", "run", "gan", "--dataset", "mnist", "--budget", "smoke", "--seed", "3",
         "--device", "cpu", "--no-eval", "--runs-dir", str(reference_runs), "--g-steps", "300",
         "--checkpoint-every", "20"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    assert cli("sweep", "--sweep", spec).exit_code == 0
    (job,) = [record["job_id"] for record in ledger(spec)]
    wait_for(lambda: checkpoint_step(runs, "gan", 3) >= 40, "a checkpoint")
    slurm.command("scancel", "--signal=USR2", job)  # what SLURM sends on preemption or near the time limit
    wait_for(lambda: slurm.job_field(job, "Restarts") == "1" and slurm.job_field(job, "JobState") == "PENDING",
             "the job to be requeued")
    wait_for(lambda: slurm.job_field(job, "JobState") == "COMPLETED", "the requeued job to complete", timeout=400)
    run = only_run(runs, "gan", 3)
    result = json.loads((run / "result.json").read_text())
    assert result["status"] == "finished" and result["resumed"] is True  # stopped at a checkpoint, then resumed
    assert reference.wait(timeout=300) == 0, reference.stderr.read()
    assert_same_training(run, only_run(reference_runs, "gan", 3), g_steps=LONG_RUN["g_steps"])
