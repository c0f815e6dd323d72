"""Whether a submitted sweep job is still alive: asked of submitit's files, the process table or SLURM.

Apart from the executors so that `gan-bench status` (harness.sweep) can ask without importing the
code that submits jobs.
"""

from __future__ import annotations

import os
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
        try:
            state = submitit.SlurmJob(folder=record["folder"], job_id=record["job_id"]).state.upper()
        except Exception:  # noqa: BLE001 - no sacct here, or SLURM unreachable
            return "unknown", ""
        if state.startswith(SLURM_ACTIVE):
            return "active", state
        if state.startswith(SLURM_FAILED):
            return "failed", f"SLURM state {state}"
    return "unknown", ""  # debug jobs run inside the sweep; nothing to ask afterwards


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
