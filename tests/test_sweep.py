"""Sweeps without training: the spec, its cells, each cell's state, the launch plan, SLURM submission.

The cells' states are decided from run directories laid out exactly as `gan-bench run` writes them
(config.json, checkpoint.pt, result.json), so these tests need no model and take about a second.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import cloudpickle
import pytest

from harness.errors import GanBenchError
from harness.executors import CellJob
from harness.registry import load_registry
from harness.sweep import Cell, Ledger, build_spec, cell_state, expand, plan, read_spec_file
from tests.test_report_support import write_run

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def registry():
    return load_registry()


def make_run(runs: Path, cell: Cell, name: str, result: str | None = None, checkpoint: bool = False,
             age_s: float = 0.0, overrides: dict | None = None, version: int | None = 1) -> Path:
    """A run directory as `gan-bench run` leaves it: config.json, maybe checkpoint.pt and result.json,
    of the cell's method unless `overrides` / `version` say otherwise."""
    path = write_run(runs, cell.paper, cell.seed, dataset=cell.dataset, budget=cell.budget, name=f"{cell.seed}-{name}",
                     status=result or "finished", finished=bool(result), variant=cell.variant,
                     overrides=dict(cell.overrides) if overrides is None else overrides, version=version)
    if checkpoint:
        (path / "checkpoint.pt").write_bytes(b"not read by the sweep")
    stamp = time.time() - age_s
    for item in [path, *path.iterdir()]:
        os.utime(item, (stamp, stamp))
    return path


def cell(paper="dcgan", seed=0, budget="smoke") -> Cell:
    return Cell(paper, "mnist", budget, seed, budget)


# ------------------------------------------------------------------------------------------ spec
def test_the_example_spec_expands_to_its_cells(registry):
    spec = build_spec(read_spec_file(REPO / "examples" / "sweep-smoke.yaml"))
    cells, left_out = expand(spec, registry)
    assert [c.key for c in cells] == [f"{p}/mnist/smoke/{s} v1" for p in ("dcgan", "gan", "cgan") for s in (0, 1)]
    assert left_out == [] and spec.executor.kind == "local"


def test_a_paper_without_a_dataset_is_left_out_not_failed(registry):
    spec = build_spec({"papers": ["dcgan", "gan"], "datasets": ["mnist", "imagefolder"], "budgets": ["smoke"]})
    cells, left_out = expand(spec, registry)
    assert {c.key for c in cells} == {"dcgan/mnist/smoke/0 v1", "dcgan/imagefolder/smoke/0 v1", "gan/mnist/smoke/0 v1"}
    assert left_out == ["gan/imagefolder"]


def test_a_checkpoint_override_is_looked_for_where_the_run_writes_it(registry):
    from harness.budget import resolve_budget

    spec = build_spec({"papers": ["dcgan"], "budgets": ["smoke"], "checkpoint_every": 5})
    (only,) = expand(spec, registry)[0]
    assert only.budget == "smoke" and only.budget_dir == resolve_budget("smoke", None, {"checkpoint_every": 5}).name


BAD_SPECS = [
    ({"papers": ["dcgan"], "budget": ["smoke"]}, "budget: unknown key"),
    ({"papers": ["dcgan"], "budgets": ["huge"]}, "budgets: unknown budget 'huge'"),
    ({"papers": ["dcgan"], "seeds": [-1]}, "seeds: a seed is between 0 and 4294967295, got -1"),
    ({"papers": ["dcgan"], "executor": {"kind": "kubernetes"}}, "executor.kind: Input should be"),
    ({"papers": ["dcgan"], "executor": {"partiton": "gpu"}}, "executor.partiton: unknown key"),
    ({"papers": []}, "papers: List should have at least 1 item"),
]


@pytest.mark.parametrize("data, expected", BAD_SPECS, ids=[e for _, e in BAD_SPECS])
def test_a_bad_spec_is_one_line_naming_the_field(data, expected):
    with pytest.raises(GanBenchError) as error:
        build_spec(data)
    assert expected in str(error.value) and "\n" not in str(error.value)


BAD_COMMANDS = [
    (["sweep", "--papers", "nosuchgan", "--budgets", "smoke"], "unknown paper 'nosuchgan'"),
    (["sweep", "--papers", "3d-gan", "--budgets", "smoke"], "3d-gan is catalogued but not implemented"),
    (["sweep", "--papers", "dcgan", "--budgets", "huge"], "unknown budget 'huge'"),
    (["sweep", "--papers", "dcgan", "--datasets", "imagenet"], "no listed paper supports dataset 'imagenet'"),
    (["sweep", "--papers", "dcgan", "--seeds", "0,one"], "--seeds expects a comma-separated list of integers"),
    (["sweep", "--papers", "dcgan", "--executor", "kubernetes"], "executor.kind: Input should be"),
    (["sweep"], "give a sweep file (--sweep spec.yaml) or at least --papers"),
    (["status", "--papers", "dcgan", "--budgets", "huge"], "unknown budget 'huge'"),
]


@pytest.mark.parametrize("args, expected", BAD_COMMANDS, ids=[e for _, e in BAD_COMMANDS])
def test_bad_sweep_command_line(cli, tmp_path, args, expected):
    result = cli(*args, "--runs-dir", tmp_path / "runs")
    assert result.exit_code == 2, result.output
    (line,) = result.output.strip().splitlines()
    assert line.startswith("error: ") and expected in line
    assert not (tmp_path / "runs").exists()  # nothing submitted, no ledger


@pytest.mark.parametrize("text, expected", [
    ("papers: [dcgan\nseeds: [0]\n", "not valid YAML"),
    ("- dcgan\n- wgan\n", "a sweep file is a mapping"),
    ("papers: [dcgan]\nexecutor: {kind: local, gpus: 2}\n", "executor.gpus: unknown key"),
])
def test_bad_sweep_file_is_one_error_line_and_exit_2(tmp_path, text, expected):
    spec = tmp_path / "sweep.yaml"
    spec.write_text(text)
    proc = subprocess.run([sys.executable, "-m", "harness.cli", "sweep", "--sweep", str(spec)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith(f"error: {spec}") and expected in line


# ---------------------------------------------------------------------------------------- states
STALE = 600.0


def test_cell_states_from_the_run_store(tmp_path):
    runs = tmp_path / "runs"
    make_run(runs, cell(seed=0), "a", result="finished")
    make_run(runs, cell(seed=1), "a", checkpoint=True, age_s=3600)  # killed long ago
    make_run(runs, cell(seed=1), "b", result="diverged")  # a later attempt that diverged
    make_run(runs, cell(seed=2), "a", checkpoint=True, age_s=3600)
    make_run(runs, cell(seed=3), "a", checkpoint=True, age_s=5)  # a hand-started run, writing
    make_run(runs, cell(seed=4), "a", age_s=3600)  # died before its first checkpoint
    states = {s.cell.seed: s for s in (cell_state(cell(seed=k), runs, None, STALE) for k in range(6))}
    assert {k: s.state for k, s in states.items()} == {
        0: "done", 1: "diverged", 2: "failed", 3: "running", 4: "failed", 5: "pending"}
    assert states[2].resumable and states[2].run_dir.name == "2-a"
    assert not states[4].resumable
    todo = plan(list(states.values()))
    assert [c.seed for c in todo.run] == [4, 5]  # no checkpoint: start afresh
    assert [(c.seed, d.name) for c, d in todo.resume] == [(2, "2-a")]
    assert sorted(s.cell.seed for s in todo.skip) == [0, 1, 3]


def test_the_newest_resumable_run_is_resumed(tmp_path):
    runs = tmp_path / "runs"
    make_run(runs, cell(), "20260101T000000Z-aaaa", checkpoint=True, age_s=7200)
    make_run(runs, cell(), "20260102T000000Z-bbbb", checkpoint=True, age_s=3600)
    make_run(runs, cell(), "20260103T000000Z-cccc", age_s=3500)  # no checkpoint: nothing to resume
    state = cell_state(cell(), runs, None, STALE)
    assert state.state == "failed" and state.run_dir.name == "0-20260102T000000Z-bbbb"


def test_a_failed_job_fails_its_cell_even_when_its_run_was_just_written(tmp_path):
    """Right after a crash the run dir is fresh; the job's own outcome says it is not running."""
    from harness.jobs import write_outcome

    runs, folder = tmp_path / "runs", tmp_path / "runs" / ".submitit"
    run = make_run(runs, cell(), "a", checkpoint=True)
    Ledger(folder).append(cell(), "local", "99999999", "run", None)
    write_outcome(folder, "99999999", "failed", "Traceback…\nRuntimeError: exited with code -9")
    state = cell_state(cell(), runs, Ledger(folder).latest()[cell().key], STALE, ledger_folder=folder)
    assert (state.state, state.resumable, state.run_dir) == ("failed", True, run)
    assert state.detail == "RuntimeError: exited with code -9"


def test_a_local_job_whose_process_is_gone_is_failed_and_a_live_one_is_running(tmp_path):
    runs, folder = tmp_path / "runs", tmp_path / "runs" / ".submitit"
    make_run(runs, cell(seed=0), "a", checkpoint=True)
    ledger = Ledger(folder)
    ledger.append(cell(seed=0), "local", "99999999", "run", None)  # no such process, no result
    fake = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", "submitit"])  # "a controller"
    try:
        deadline = time.monotonic() + 30
        while b"submitit" not in Path(f"/proc/{fake.pid}/cmdline").read_bytes():  # until it has exec'd
            assert time.monotonic() < deadline
            time.sleep(0.01)
        ledger.append(cell(seed=1), "local", str(fake.pid), "run", None)
        jobs = ledger.latest()
        assert cell_state(cell(seed=0), runs, jobs[cell(seed=0).key], STALE, ledger_folder=folder).state == "failed"
        queued = cell_state(cell(seed=1), runs, jobs[cell(seed=1).key], STALE, ledger_folder=folder)
        assert (queued.state, queued.queued) == ("pending", True)
        make_run(runs, cell(seed=1), "a")
        assert cell_state(cell(seed=1), runs, jobs[cell(seed=1).key], STALE, ledger_folder=folder).state == "running"
    finally:
        fake.kill()
        fake.wait()


# ----------------------------------------------------------------------------------------- SLURM
def test_slurm_sweep_is_one_array_with_a_concurrency_limit(cli, tmp_path, monkeypatch):
    """submitit's real SLURM path, with `sbatch` replaced by a script that keeps what it was given."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "sbatch").write_text(f'#!/bin/sh\ncp "$1" {tmp_path}/submitted.sh\necho "Submitted batch job 4242"\n')
    (bin_dir / "srun").write_text("#!/bin/sh\nexit 0\n")
    for tool in bin_dir.iterdir():
        tool.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    spec = tmp_path / "cluster.yaml"
    spec.write_text("papers: [dcgan, gan]\nbudgets: [standard]\nseeds: [0, 1, 2]\n"
                    f"runs_dir: {tmp_path / 'runs'}\n"
                    "executor: {kind: slurm, partition: gpu, gpus_per_task: 2, timeout_min: 600,\n"
                    "           slurm_array_parallelism: 4, mem_gb: 32}\n")
    result = cli("sweep", "--sweep", spec)
    assert result.exit_code == 0, result.output
    script = (tmp_path / "submitted.sh").read_text()
    for line in ("#SBATCH --array=0-5%4", "#SBATCH --partition=gpu", "#SBATCH --gpus-per-node=2",
                 "#SBATCH --time=600", "#SBATCH --signal=USR2@120", "#SBATCH --mem=32GB"):
        assert line in script
    jobs = Ledger(tmp_path / "runs" / ".submitit").latest()
    assert sorted(j["job_id"] for j in jobs.values()) == [f"4242_{i}" for i in range(6)]
    # Each array task unpickles a CellJob that runs the ordinary CLI under torchrun on its 2 GPUs.
    job = cloudpickle.loads((tmp_path / "runs" / ".submitit" / "4242_0_submitted.pkl").read_bytes()).function
    assert job.argv()[1:6] == ["-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"]
    assert job.argv()[6:10] == ["-m", "harness.cli", "run", "dcgan"]


def test_no_slurm_is_one_error_line(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # neither srun nor sbatch
    result = cli("sweep", "--papers", "dcgan", "--budgets", "smoke", "--executor", "slurm", "--runs-dir", tmp_path / "runs")
    assert result.exit_code == 2 and "error: executor slurm: " in result.output


# ------------------------------------------------------------------------------------ preemption
class FakeRunJob(CellJob):
    """A CellJob whose 'run' is a tiny script: it creates its run dir, checkpoints on SIGTERM, exits 2."""

    def argv(self) -> list[str]:
        if self.resume_dir:
            return [sys.executable, "-c", f"open({str(self.resume_dir / 'result.json')!r}, 'w').write('{{}}')"]
        folder = self.cell_folder / f"{self.cell.seed}-20260101T000000Z-abcd"
        script = (f"import os, signal, sys, time\nos.makedirs({str(folder)!r})\n"
                  f"def stop(*_):\n    open(os.path.join({str(folder)!r}, 'checkpoint.pt'), 'w').close()\n    sys.exit(2)\n"
                  "signal.signal(signal.SIGTERM, stop)\ntime.sleep(60)\n")
        return [sys.executable, "-c", script]


def test_preemption_checkpoints_the_run_and_requeues_a_job_that_resumes_it(tmp_path):
    c = cell()
    job = FakeRunJob(c, c.folder(tmp_path), run_args=[])
    worker = threading.Thread(target=lambda: pytest.raises(RuntimeError, job), daemon=True)
    worker.start()
    deadline = time.monotonic() + 30
    while not list(c.folder(tmp_path).glob("0-*")) and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)  # let the script install its SIGTERM handler
    requeued = job.checkpoint()  # what submitit calls on SIGUSR2 (preemption or time limit)
    worker.join(30)
    run = c.folder(tmp_path) / "0-20260101T000000Z-abcd"
    assert (run / "checkpoint.pt").is_file()  # the run was stopped cleanly, not killed
    again = cloudpickle.loads(cloudpickle.dumps(requeued)).function  # what the requeued job unpickles
    assert again.resume_dir == run and again is not job
    assert again() == str(run) and (run / "result.json").is_file()


def test_a_second_local_sweep_on_the_same_runs_is_refused(tmp_path):
    import fcntl

    from harness.executors import Submission, submit

    spec = build_spec({"papers": ["dcgan"], "budgets": ["smoke"], "runs_dir": str(tmp_path / "runs"), "device": "cpu"})
    spec.folder.mkdir(parents=True)
    with open(spec.folder / "local-sweep.lock", "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # as the first sweep holds it while its jobs run
        with pytest.raises(GanBenchError, match="another local sweep is running"):
            submit(spec, [Submission(cell(), "run")])
    assert Ledger(spec.folder).latest() == {}


def test_the_debug_executor_runs_jobs_in_this_process(tmp_path, monkeypatch):
    import harness.executors as executors

    spec = build_spec({"papers": ["dcgan"], "budgets": ["smoke"], "runs_dir": str(tmp_path / "runs"),
                       "executor": {"kind": "debug"}})
    run = make_run(spec.runs_dir, cell(), "a", checkpoint=True)
    monkeypatch.setattr(executors, "_job", lambda spec, s, processes: FakeRunJob(
        s.cell, s.cell.folder(spec.runs_dir), [], processes, s.resume_dir))
    said: list[str] = []
    assert executors.submit(spec, [executors.Submission(cell(), "resume", run)], said.append) == 0
    assert (run / "result.json").is_file() and said[-1] == f"done   {cell().key}: {run}"
    assert Ledger(spec.folder).latest()[cell().key]["kind"] == "debug"


def test_a_run_of_another_label_count_is_not_the_cells_run(tmp_path):
    """A semi-supervised cell's runs are those with its label count (config and result record it); a run of
    another count, or an ordinary run, in the same folder belongs to another cell."""
    runs = tmp_path / "runs"
    semi = Cell("dcgan", "mnist", "smoke", 0, "smoke", labels=100)
    for name, labels in (("a", 100), ("b", 20), ("c", None)):
        path = make_run(runs, semi, name, result="finished")
        for record in ("config.json", "result.json"):
            data = json.loads((path / record).read_text())
            (path / record).write_text(json.dumps({**data, **({"labels": labels} if labels else {})}))
    assert [p.name for p in semi.run_dirs(runs)] == ["0-a"]
    assert [p.name for p in cell().run_dirs(runs)] == ["0-c"]
