"""Whether a submitted sweep job is still alive: asked of submitit's files, the process table or SLURM.

Apart from the executors so that `gan-bench status` (harness.sweep) can ask without importing the
code that submits jobs.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

SLURM_ACTIVE = ("PENDING", "RUNNING", "REQUEUED", "CONFIGURING", "COMPLETING", "RESIZING", "SUSPENDED",
                "REQUEUE_HOLD", "REQUEUE_FED", "SIGNALING", "STAGE_OUT")
SLURM_FAILED = ("FAILED", "CANCELLED", "TIMEOUT", "OUT_OF_MEMORY", "NODE_FAIL", "PREEMPTED", "BOOT_FAIL", "DEADLINE")


def job_liveness(record: dict) -> tuple[str, str]:
    """('active' | 'failed' | 'ended' | 'unknown', why) for a ledger record, from submitit's files or SLURM."""
    import submitit  # only once there are jobs to ask about
    from submitit.core.utils import JobPaths, pickle_load

    paths = JobPaths(record["folder"], record["job_id"], task_id=0)
    if paths.result_pickle.is_file():
        try:
            outcome, value = pickle_load(paths.result_pickle)
        except Exception:  # noqa: BLE001 - a half-written or foreign file
            return "failed", "unreadable job result"
        if outcome == "success":
            return "ended", ""
        return "failed", last_line(str(value)) or "job failed"
    if record["kind"] == "local":
        return ("active", "") if submitit_process(record["job_id"]) else ("failed", "job ended without a result (killed?)")
    if record["kind"] == "slurm":
        state = slurm_state(record["folder"], record["job_id"])
        if state.startswith(SLURM_ACTIVE):
            return "active", state
        if state.startswith(SLURM_FAILED):
            return "failed", f"SLURM state {state}"
    return "unknown", ""  # debug jobs run inside the sweep; nothing to ask afterwards


def slurm_state(folder: str, job_id: str) -> str:
    """A SLURM job's state, from the controller (`scontrol show job`: queued, running and recently
    ended jobs) or else from accounting (`sacct`, through submitit); "UNKNOWN" when neither knows it.

    The controller is asked first because `sacct` needs slurmdbd, which small clusters often lack
    ("Slurm accounting storage is disabled"), and because it knows a requeued job's state at once.
    """
    import submitit

    try:
        shown = subprocess.run(["scontrol", "show", "job", "--oneliner", job_id], capture_output=True,
                               text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        shown = None
    if shown is not None and shown.returncode == 0:
        fields = dict(item.partition("=")[::2] for item in shown.stdout.split())
        if fields.get("JobState"):
            return fields["JobState"].upper()
    try:
        return submitit.SlurmJob(folder=folder, job_id=job_id).state.upper()
    except Exception:  # noqa: BLE001 - no sacct here, or SLURM unreachable
        return "UNKNOWN"


def last_line(text: str) -> str:
    lines = [line.strip() for line in str(text).splitlines() if line.strip()]
    return lines[-1] if lines else ""


def submitit_process(pid: str) -> bool:
    """Whether a local job's controller still runs (its pid is the job id)."""
    try:
        return b"submitit" in Path(f"/proc/{int(pid)}/cmdline").read_bytes()
    except (OSError, ValueError):
        try:
            os.kill(int(pid), 0)
            return True
        except (OSError, ValueError):
            return False
