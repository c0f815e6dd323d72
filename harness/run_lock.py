"""One process at a time in a run directory: whoever trains or scores in it holds its lock.

Two `resume`s of one run would both train from the same checkpoint and append the same steps to
curves.jsonl twice. The lock is an advisory `flock` on `<run>/.lock`, released by the kernel when
the holder exits (even by SIGKILL), so a crash never leaves a stale lock; the file records who holds
it, for the second process's message.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

from harness.errors import GanBenchError

LOCK_NAME = ".lock"


class RunBusyError(GanBenchError):
    """Another process trains or scores in this run directory."""


@contextlib.contextmanager
def run_locked(run_path: Path, doing: str) -> Iterator[None]:
    """Hold `run_path`'s lock while the body runs; another holder is an error naming it."""
    path = Path(run_path) / LOCK_NAME
    fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o666)
    with os.fdopen(fd, "r+", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RunBusyError(f"{run_path} is in use by {_holder(handle)}; wait for it to end") from None
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "doing": doing,
                                 "since": datetime.now(timezone.utc).isoformat(timespec="seconds")}))
        handle.flush()
        yield  # the lock is released when the file is closed


def _holder(handle) -> str:
    try:
        handle.seek(0)
        holder = json.loads(handle.read(1000))
        return f"pid {int(holder['pid'])} on {str(holder['host'])[:60]} ({str(holder['doing'])[:20]} since {str(holder['since'])[:25]})"
    except (ValueError, KeyError, TypeError, OSError):
        return "another process"


def run_locked_here(run_path: Path, doing: str):
    """`run_locked`, taken by the process that writes the run: rank 0 under torchrun (the others only train)."""
    from harness import distributed

    return run_locked(run_path, doing) if distributed.from_env().rank == 0 else contextlib.nullcontext()
