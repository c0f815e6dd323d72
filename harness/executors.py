"""Running sweep cells through submitit: its local executor, SLURM, or in-process (debug).

Every job is a `CellJob`: it starts the ordinary CLI (`python -m harness.cli run …`, or `resume
<run dir>`, under `torchrun` when the job has several GPUs) in a child process and waits for it.
A child process rather than calling `train_paper` in the job's own process, because submitit owns
that process's signals (SIGUSR2: checkpoint and requeue; SIGTERM: ignored), while the CLI owns the
run's (SIGTERM/SIGINT: checkpoint and stop, harness.trainer.StopOnSignal) — and torchrun needs a
command anyway. So a job's run directory, resume and results are exactly a hand-started run's.

Preemption and timeouts (SLURM, or the local executor's timeout): submitit calls
`CellJob.checkpoint()`, which SIGTERMs the run (it checkpoints and stops), notes its run directory
and hands submitit a copy of the job that resumes it; submitit requeues that copy.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import submitit

from harness.errors import GanBenchError
from harness.jobs import last_line, read_outcome, write_outcome
from harness.registry import Registry
from harness.runstore import RESULT_FILE, seed_runs
from harness.sweep import (DEFAULT_STALE_AFTER_MIN, Cell, Ledger, SweepSpec, absolute, cell_budget, counts, expand,
                           plan, survey)

GRACE_S = 60  # a SIGTERMed run's time to checkpoint and leave before it is killed
SIGNAL_DELAY_S = 120  # submitit signals a job this long before its time limit: room for GRACE_S
POLL_S = 0.5


# ------------------------------------------------------------------------------------------ job
def _child_signals() -> None:  # pragma: no cover - runs in the child between fork and exec
    # SLURM signals every process of the job with submitit's SIGUSR2, whose default action would
    # kill the run without a checkpoint; the job's checkpoint() stops the run with SIGTERM instead.
    signal.signal(signal.SIGUSR2, signal.SIG_IGN)
    try:  # and if the job process is killed outright, the run still gets SIGTERM (Linux only)
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


class CellJob(submitit.helpers.Checkpointable):
    """One cell as a submitit job: a fresh `gan-bench run`, or `gan-bench resume` of its run dir."""

    def __init__(self, cell: Cell, cell_folder: Path, run_args: list[str], processes: int = 1,
                 resume_dir: Path | None = None, ledger_folder: Path | None = None):
        self.cell = cell
        self.cell_folder = Path(cell_folder)  # runs/<paper>/<dataset>/<budget>: where its run dirs appear
        self.run_args = run_args
        self.processes = processes
        self.resume_dir = Path(resume_dir) if resume_dir else None
        self.ledger_folder = Path(ledger_folder) if ledger_folder else None  # where the job's outcome JSON goes
        self._child: subprocess.Popen | None = None
        self._before: set[Path] = set()

    def argv(self) -> list[str]:
        launcher = [sys.executable, "-m", "harness.cli"]
        if self.processes > 1:
            launcher = [sys.executable, "-m", "torch.distributed.run", "--standalone",
                        "--nproc_per_node", str(self.processes), "-m", "harness.cli"]
        return launcher + (["resume", str(self.resume_dir)] if self.resume_dir else ["run", *self.run_args])

    def _runs(self) -> set[Path]:
        return set(seed_runs(self.cell_folder, self.cell.seed))

    def _started_run(self) -> Path | None:
        """The run this job works on: the one it resumes, or the one its `run` created."""
        if self.resume_dir:
            return self.resume_dir
        new = sorted(self._runs() - self._before)
        return new[-1] if new else None

    def __call__(self) -> str:
        try:
            run = self._run()
        except Exception as exc:
            self._record_outcome("failed", last_line(str(exc)))
            raise
        self._record_outcome("ended")
        return run

    def _record_outcome(self, state: str, error: str = "") -> None:
        """The job's end as JSON, for `gan-bench status` (which never unpickles submitit's result)."""
        if self.ledger_folder is None:
            return
        try:
            job_id = submitit.JobEnvironment().job_id
        except (RuntimeError, KeyError):  # not inside a submitit job (a test, the debug executor)
            return
        write_outcome(self.ledger_folder, job_id, state, error)

    def _run(self) -> str:
        if self.resume_dir and (self.resume_dir / RESULT_FILE).is_file():
            return str(self.resume_dir)  # it finished just before a requeue
        self._before = self._runs()
        argv = self.argv()
        print(" ".join(argv), flush=True)
        self._child = subprocess.Popen(argv, preexec_fn=_child_signals)
        try:
            # Poll rather than wait(): a signal handler (checkpoint()) may need the child's lock.
            while self._child.poll() is None:
                time.sleep(POLL_S)
        except BaseException:  # cancelled (SIGINT): let the run checkpoint before this job goes
            self._stop_child()
            raise
        code, run = self._child.returncode, self._started_run()
        if code != 0:
            hint = ""
            if run is not None and (run / "checkpoint.pt").is_file() and not (run / RESULT_FILE).is_file():
                hint = f"; it left a checkpoint: relaunching the sweep resumes {run}"
            raise RuntimeError(f"{self.cell.key}: `{' '.join(argv[1:])}` exited with code {code}{hint}")
        return str(run)

    def _stop_child(self) -> None:
        child = self._child
        if child is None or child.poll() is not None:
            return
        child.send_signal(signal.SIGTERM)  # StopOnSignal: checkpoint at the current step, then exit
        deadline = time.monotonic() + GRACE_S
        while child.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        if child.poll() is None:
            child.kill()

    def checkpoint(self, *args, **kwargs) -> submitit.helpers.DelayedSubmission:
        """Preempted or timing out: stop the run at a checkpoint, requeue a job that resumes it."""
        self._stop_child()
        run = self._started_run()
        if run is not None and (run / "checkpoint.pt").is_file():
            self.resume_dir = run
        # else: stopped before its first checkpoint; the requeued job starts the cell afresh
        self._child = None
        return super().checkpoint(*args, **kwargs)

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_child"], state["_before"] = None, set()  # a process handle does not travel
        return state


def run_args(spec: SweepSpec, cell: Cell) -> list[str]:
    """The `gan-bench run` arguments of a cell: the same command a person would type."""
    args = [cell.row, "--dataset", cell.dataset, "--budget", cell.budget, "--seed", str(cell.seed),
            "--device", spec.device, "--runs-dir", str(spec.runs_dir), "--extractor", spec.extractor]
    if not spec.evaluate:
        args.append("--no-eval")
    if spec.checkpoint_every:
        args += ["--checkpoint-every", str(spec.checkpoint_every)]
    if spec.g_steps:
        args += ["--g-steps", str(spec.g_steps)]
    if spec.data_root:
        args += ["--data-root", str(spec.data_root)]
    if spec.labels:
        args += ["--labels", str(spec.labels)]
    for key, value in sorted(spec.hyperparameters.items()):  # JSON is YAML: --set reads it back as written
        args += ["--set", f"{key}={json.dumps(value)}"]
    return args


# ---------------------------------------------------------------------------------------- slots
def visible_gpus() -> list[int]:
    """Indices of the GPUs this process may use (CUDA_VISIBLE_DEVICES honoured)."""
    listed = os.environ.get("CUDA_VISIBLE_DEVICES")
    if listed is not None:
        ids = [item.strip() for item in listed.split(",") if item.strip()]
        if not all(item.isdigit() for item in ids):
            raise GanBenchError("CUDA_VISIBLE_DEVICES names GPUs by UUID; the local executor needs their indices")
        return [int(item) for item in ids]
    import torch

    return list(range(torch.cuda.device_count()))


def local_slots(spec: SweepSpec) -> list[list[int]]:
    """The local executor's concurrent jobs: one per group of `gpus_per_task` GPUs, or one on CPU."""
    gpus = [] if spec.device == "cpu" else visible_gpus()
    if not gpus:
        return [[]]  # CPU: cells one after another, each with every core
    per = spec.executor.gpus_per_task
    if per > len(gpus):
        raise GanBenchError(f"executor.gpus_per_task is {per} but only {len(gpus)} GPUs are visible")
    return [gpus[i * per:(i + 1) * per] for i in range(len(gpus) // per)]


# ------------------------------------------------------------------------------------ submitting
@dataclass
class Submission:
    cell: Cell
    action: str  # run | resume
    resume_dir: Path | None = None


def _job(spec: SweepSpec, s: Submission, processes: int) -> CellJob:
    return CellJob(s.cell, s.cell.folder(spec.runs_dir), run_args(spec, s.cell), processes, s.resume_dir,
                   ledger_folder=spec.folder)


def submit(spec: SweepSpec, submissions: list[Submission], say: Callable[[str], None] = print) -> int:
    """Run or submit the cells; returns how many failed (local and debug wait, SLURM returns at once)."""
    if not submissions:
        return 0
    ledger = Ledger(spec.folder)
    if spec.executor.kind == "slurm":
        return _submit_slurm(spec, submissions, ledger, say)
    if spec.executor.kind == "debug":
        executor = submitit.DebugExecutor(folder=spec.folder)
        return _drive(executor, [[]], spec, submissions, ledger, say)
    executor = submitit.LocalExecutor(folder=spec.folder, max_num_timeout=spec.executor.max_requeues)
    executor.update_parameters(timeout_min=spec.executor.timeout_min, signal_delay_s=SIGNAL_DELAY_S)
    with _only_sweep_here(spec.folder):
        return _drive(executor, local_slots(spec), spec, submissions, ledger, say)


@contextlib.contextmanager
def _only_sweep_here(folder: Path) -> Iterator[None]:
    """One local sweep per runs dir at a time: cells still queued in one are not in the ledger yet,
    so a second sweep would start them again."""
    import fcntl

    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "local-sweep.lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise GanBenchError(f"another local sweep is running on {folder.parent}; wait for it, "
                                "or see it with `gan-bench status`") from None
        yield  # the lock goes with the file when it is closed


def _drive(executor, slots: list[list[int]], spec: SweepSpec, submissions: list[Submission], ledger: Ledger,
           say: Callable[[str], None]) -> int:
    """Keep one job per slot (a GPU group, or the CPU) until every cell has run; submitit runs them."""
    queue, running, failed = deque(submissions), {}, 0
    while queue or running:
        for index, slot in enumerate(slots):
            if index in running or not queue:
                continue
            s = queue.popleft()
            if isinstance(executor, submitit.LocalExecutor):
                executor.update_parameters(gpus_per_node=len(slot), visible_gpus=slot)
            job = executor.submit(_job(spec, s, processes=max(1, len(slot))))
            ledger.append(s.cell, spec.executor.kind, job.job_id, s.action, s.resume_dir)
            say(f"{s.action:<6} {s.cell.key}  job {job.job_id}" + (f" on GPU {','.join(map(str, slot))}" if slot else ""))
            running[index] = (s, job)
        for index, (s, job) in list(running.items()):
            if isinstance(executor, submitit.DebugExecutor) or job.done():
                del running[index]
                failed += not _report(s, job, say)
        if running:
            time.sleep(POLL_S)
    return failed


def _report(s: Submission, job, say: Callable[[str], None]) -> bool:
    try:
        run = job.result()
    except Exception as exc:  # noqa: BLE001 - the job's own error, whatever it was
        # The job's own error line is in the outcome it wrote (as JSON).
        outcome = read_outcome(Path(job.paths.folder), str(job.job_id)) or {}
        error = last_line(str(outcome.get("error", "")))
        say(f"failed {s.cell.key}: {error or last_line(str(exc)) or type(exc).__name__}  (log: {job.paths.stderr})")
        return False
    say(f"done   {s.cell.key}: {run}")
    return True


def _submit_slurm(spec: SweepSpec, submissions: list[Submission], ledger: Ledger, say: Callable[[str], None]) -> int:
    """All cells as one SLURM array (at most `slurm_array_parallelism` at once); returns at once."""
    ex = spec.executor
    try:
        executor = submitit.AutoExecutor(folder=spec.folder, cluster="slurm", slurm_max_num_timeout=ex.max_requeues)
    except RuntimeError as exc:  # submitit: 'Could not detect "srun", are you indeed on a slurm cluster?'
        raise GanBenchError(f"executor slurm: {exc}") from None
    gpus = 0 if spec.device == "cpu" else ex.gpus_per_task
    params = {"name": "gan-bench", "timeout_min": ex.timeout_min, "nodes": 1, "tasks_per_node": 1,
              "gpus_per_node": gpus, "slurm_array_parallelism": ex.slurm_array_parallelism,
              "slurm_signal_delay_s": SIGNAL_DELAY_S}
    optional = {"cpus_per_task": ex.cpus_per_task, "mem_gb": ex.mem_gb, "slurm_partition": ex.partition,
                "slurm_account": ex.account, "slurm_qos": ex.qos, "slurm_constraint": ex.constraint,
                "slurm_additional_parameters": ex.slurm_additional_parameters or None}
    executor.update_parameters(**params, **{k: v for k, v in optional.items() if v is not None})
    try:
        with executor.batch():
            jobs = [executor.submit(_job(spec, s, processes=max(1, gpus))) for s in submissions]
    except (OSError, subprocess.CalledProcessError) as exc:
        raise GanBenchError(f"sbatch failed: {exc}") from None
    for s, job in zip(submissions, jobs):
        ledger.append(s.cell, "slurm", job.job_id, s.action, s.resume_dir)
        say(f"{s.action:<6} {s.cell.key}  slurm job {job.job_id}")
    say(f"submitted {len(jobs)} jobs; follow them with `gan-bench status`")
    return 0


# ------------------------------------------------------------------------------------- liveness


# ---------------------------------------------------------------------------------------- launch
def _say_plan(spec: SweepSpec, registry: Registry, todo, say: Callable[[str], None]) -> None:
    """Each cell to start or resume, its budget and training time estimated from finished runs."""
    from harness import cost

    known = cost.measurements(spec.runs_dir, cost.REPO_RESULTS)  # this site's runs first, then the published
    total, unknown = 0.0, []
    for action, cell, run in [("run", c, None) for c in todo.run] + [("resume", c, r) for c, r in todo.resume]:
        budget = cell_budget(spec, registry, cell)
        found = cost.estimate(cell.entry_id, cell.dataset, budget, known)  # results record the entry id
        total += found.seconds if found else 0.0
        if found is None:
            unknown.append(cell.key)
        say(f"would {action:<6} {cell.key}  {cost.describe(cell.entry_id, cell.dataset, budget, found)}"
            + (f"  from {run}" if run else ""))
    cells = len(todo.run) + len(todo.resume)
    if cells:
        say(f"estimated training: {cost.human(total)} for {cells - len(unknown)} of {cells} cells one after another "
            "on the measured devices (resumed cells counted whole; scoring not included)"
            + (f"; not measured: {', '.join(unknown)}" if unknown else ""))


def launch(spec: SweepSpec, registry: Registry, say=print, dry_run: bool = False,
           stale_after_min: float = DEFAULT_STALE_AFTER_MIN) -> int:
    """Expand, skip what is done or running, resume what was interrupted, submit the rest.

    Returns the number of jobs that failed (always 0 for SLURM, which returns once submitted).
    """
    spec = absolute(spec)
    cells, left_out = expand(spec, registry)
    if left_out:
        say(f"left out (paper lacks the dataset): {', '.join(left_out)}")
    todo = plan(survey(spec, cells, stale_after_min))
    skipped = ", ".join(f"{n} {name}" for name, n in counts(todo.skip).items() if n)
    say(f"{len(cells)} cells: {len(todo.run)} to start, {len(todo.resume)} to resume, "
        f"{len(todo.skip)} skipped{f' ({skipped})' if skipped else ''}")
    if dry_run:
        _say_plan(spec, registry, todo, say)
        return 0
    submissions = [Submission(cell, "resume", run) for cell, run in todo.resume]
    submissions += [Submission(cell, "run") for cell in todo.run]
    return submit(spec, submissions, say)
