"""Whether a submitted sweep job is still alive: asked of submitit's files, the process table or SLURM.

Apart from the executors so that `gan-bench status` (harness.sweep) can ask without importing the
code that submits jobs.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from harness.safe_files import read_plain_bytes

SLURM_ACTIVE = ("PENDING", "RUNNING", "REQUEUED", "CONFIGURING", "COMPLETING", "RESIZING", "SUSPENDED",
                "REQUEUE_HOLD", "REQUEUE_FED", "SIGNALING", "STAGE_OUT")
SLURM_FAILED = ("FAILED", "CANCELLED", "TIMEOUT", "OUT_OF_MEMORY", "NODE_FAIL", "PREEMPTED", "BOOT_FAIL", "DEADLINE")


def job_liveness(record: dict, folder: Path) -> tuple[str, str]:
    """('active' | 'failed' | 'ended' | 'unknown', why) for a ledger record of the ledger in `folder`.

    Asked of the outcome file the job itself wrote as JSON (`CellJob` writes it), the process table
    or SLURM; never of submitit's result pickle: a runs directory is data, and unpickling a planted
    file would run its code. `folder` is the ledger's own folder, never one a record names.
    """
    outcome = read_outcome(folder, record["job_id"])
    if outcome is not None:
        if outcome.get("state") == "ended":
            return "ended", ""
        return "failed", last_line(str(outcome.get("error", ""))[:500]) or "job failed"
    if record["kind"] == "local":
        return ("active", "") if submitit_process(record["job_id"]) else ("failed", "job ended without a result (killed?)")
    if record["kind"] == "slurm":
        state = slurm_state(str(folder), record["job_id"])
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


def outcome_path(folder: Path, job_id: str) -> Path:
    return Path(folder) / f"{job_id}.outcome.json"


def write_outcome(folder: Path, job_id: str, state: str, error: str = "") -> None:
    """A job's end, as JSON beside the ledger: 'ended' (exit 0) or 'failed' with its last error line."""
    from harness.storage import atomic_write_json

    atomic_write_json(outcome_path(folder, job_id), {"job_id": job_id, "state": state, "error": error[:2000]})


def read_outcome(folder: Path, job_id: str) -> dict | None:
    raw = read_plain_bytes(outcome_path(folder, job_id))
    if raw is None:
        return None
    try:
        outcome = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return {"state": "failed", "error": "unreadable job outcome"}
    return outcome if isinstance(outcome, dict) else {"state": "failed", "error": "unreadable job outcome"}


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
