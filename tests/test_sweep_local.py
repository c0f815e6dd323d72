"""Sweeps end to end through submitit's LocalExecutor: real jobs, real `gan-bench run`s, on CPU.

Each cell is a smoke-budget run without scoring (the numbers are not the point); the jobs run one
after another, as the local executor does on a machine without GPUs.
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

from harness.runstore import results_table

pytestmark = pytest.mark.slow
PAPERS = ("dcgan", "gan", "cgan")  # implemented, small, MNIST by default


@pytest.fixture(autouse=True)
def one_thread_per_job(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # the jobs share 2 cores with the test process


def sweep_args(runs: Path, papers=PAPERS, seeds="0,1", *extra: str) -> list[str]:
    return ["--papers", ",".join(papers), "--budgets", "smoke", "--seeds", seeds, "--runs-dir", str(runs), *extra]


def run_flags() -> list[str]:
    return ["--device", "cpu", "--no-eval"]


def ledger(runs: Path) -> list[dict]:
    path = runs / ".submitit" / "ledger.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def processes(*parts: str) -> list[int]:
    """Pids whose command line has every one of these arguments (Linux /proc)."""
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                cmdline = (proc / "cmdline").read_bytes().decode(errors="replace").split("\0")
            except OSError:
                continue
            if all(part in cmdline for part in parts):
                found.append(int(proc.name))
    return found


def wait_for(predicate, what: str, timeout: float = 180):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def test_three_papers_two_seeds_then_a_relaunch_submits_nothing(cli, tmp_path):
    runs = tmp_path / "runs"
    result = cli("sweep", *sweep_args(runs), *run_flags())
    assert result.exit_code == 0, result.output
    assert "6 cells: 6 to start, 0 to resume, 0 skipped" in result.output

    table = results_table(runs)
    assert sorted(zip(table["paper"], table["seed"])) == sorted((p, s) for p in PAPERS for s in (0, 1))
    assert set(table["status"]) == {"finished"} and set(table["budget"]) == {"smoke"}
    assert len(ledger(runs)) == 6

    again = cli("sweep", *sweep_args(runs), *run_flags())
    assert again.exit_code == 0 and "6 cells: 0 to start, 0 to resume, 6 skipped (6 done)" in again.output
    assert len(ledger(runs)) == 6  # nothing submitted

    status = cli("status", *sweep_args(runs))
    assert "6 cells: 6 done, 0 diverged, 0 running, 0 failed, 0 pending" in status.output

    report = cli("report", "--runs-dir", runs, "--out", tmp_path / "site")
    assert report.exit_code == 0, report.output
    index = (tmp_path / "site" / "index.html").read_text()
    assert all(Path(run).name in index for run in table["run_dir"])


def test_a_run_killed_mid_sweep_is_resumed_when_the_sweep_is_relaunched(cli, tmp_path):
    runs = tmp_path / "runs"
    args = sweep_args(runs, ("dcgan",), "3", *run_flags(), "--checkpoint-every", "5")
    sweep = subprocess.Popen([sys.executable, "-m", "harness.cli", "sweep", *args],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: list(runs.glob("dcgan/mnist/*/3-*/checkpoint.pt")), "the run's first checkpoint")
        (pid,) = processes("harness.cli", "run", str(runs))
        os.kill(pid, signal.SIGKILL)  # no chance to checkpoint or write anything more
        out, err = sweep.communicate(timeout=120)
    finally:
        sweep.kill()
    (run,) = runs.glob("dcgan/mnist/*/3-*")
    assert sweep.returncode == 1 and not (run / "result.json").exists()
    assert "failed dcgan/mnist/" in out and "relaunching the sweep resumes" in out, out + err

    status = cli("status", *sweep_args(runs, ("dcgan",), "3", "--checkpoint-every", "5"))
    assert "failed (resumable)" in status.output, status.output

    again = cli("sweep", *args)
    assert again.exit_code == 0, again.output
    assert "1 cells: 0 to start, 1 to resume, 0 skipped" in again.output
    assert list(runs.glob("dcgan/mnist/*/3-*")) == [run]  # resumed in place, not restarted
    result = json.loads((run / "result.json").read_text())
    assert result["status"] == "finished" and result["resumed"] is True and result["progress"]["g_steps"] == 20


def test_a_preempted_job_checkpoints_requeues_and_resumes_by_itself(tmp_path):
    """SIGUSR2 is SLURM's (and the local executor's) 'time is up' signal: submitit calls
    CellJob.checkpoint(), which stops the run at a checkpoint and requeues a job that resumes it."""
    runs = tmp_path / "runs"
    sweep = subprocess.Popen([sys.executable, "-m", "harness.cli", "sweep", *sweep_args(runs, ("dcgan",), "4"),
                              *run_flags()], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: [p for p in runs.glob("dcgan/mnist/smoke/4-*/curves.jsonl") if p.read_text()],
                 "the run to be training")
        (task,) = processes("submitit.core._submit", str(runs / ".submitit"))
        os.kill(task, signal.SIGUSR2)
        out, err = sweep.communicate(timeout=180)
    finally:
        sweep.kill()
    assert sweep.returncode == 0, out + err
    (run,) = runs.glob("dcgan/mnist/smoke/4-*")
    result = json.loads((run / "result.json").read_text())
    assert result["status"] == "finished" and result["resumed"] is True and result["progress"]["g_steps"] == 20
    log = next((runs / ".submitit").glob("*_0_log.err")).read_text()
    assert "interrupted by SIGTERM" in log  # the run stopped itself cleanly before the requeue
