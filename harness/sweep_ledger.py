"""What a line of a sweep's ledger (`<runs>/.submitit/ledger.jsonl`) must be to be believed.

The ledger sits in the runs directory, where anyone who can write results can write lines. A line
is used only if it is a JSON object of strings with the fields `Ledger.append` writes, a known
executor kind and a job id that is a plain name (it becomes part of a file name).
"""

from __future__ import annotations

import json
import re
from datetime import datetime

JOB_ID = re.compile(r"^[A-Za-z0-9_]{1,64}$")  # local: a pid; SLURM: 1234 or 1234_5
KINDS = ("local", "slurm", "debug")
ACTIONS = ("run", "resume")


def ledger_record(line: bytes) -> dict | None:
    """The record on one ledger line, or None for a torn, non-UTF-8, foreign or malformed line."""
    try:
        record = json.loads(line.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    if not isinstance(record, dict):
        return None
    fields = ("cell", "kind", "job_id", "action", "submitted_at")
    if not all(isinstance(record.get(name), str) for name in fields):
        return None
    if record["kind"] not in KINDS or record["action"] not in ACTIONS or not JOB_ID.match(record["job_id"]):
        return None
    try:
        datetime.fromisoformat(record["submitted_at"])
    except ValueError:
        return None
    if record.get("run_dir") is not None and not isinstance(record["run_dir"], str):
        return None
    return record
