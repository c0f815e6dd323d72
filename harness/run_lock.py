"""One process at a time in a run directory: whoever trains or scores in it holds its lock.

Two `resume`s of one run would both train from the same checkpoint and append the same steps to
curves.jsonl twice. The lock is an advisory `flock` on the run directory itself (no lock file is
added to the run), released by the kernel when the holder exits, even by SIGKILL, so a crash never
leaves a stale lock. The second process is told the holder's pid, read from /proc/locks (Linux).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path
from typing import Iterator

from harness.errors import GanBenchError


class RunBusyError(GanBenchError):
    """Another process trains or scores in this run directory."""


@contextlib.contextmanager
def run_locked(run_path: Path, doing: str) -> Iterator[None]:
    """Hold `run_path`'s lock while the body runs (`doing`: what for); another holder is an error naming it."""
    fd = os.open(run_path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RunBusyError(f"{run_path} is in use by {_holder(os.fstat(fd).st_ino)}; "
                               f"wait for it to end before {doing}") from None
        yield
    finally:
        os.close(fd)  # releases the lock


def run_locked_here(run_path: Path, doing: str):
    """`run_locked`, taken by the process that writes the run: rank 0 under torchrun (the others only train)."""
    from harness import distributed

    return run_locked(run_path, doing) if distributed.from_env().rank == 0 else contextlib.nullcontext()


def _holder(inode: int) -> str:
    """'pid N (command)' of the process holding a flock on `inode`, from /proc/locks; else a vague name."""
    try:
        lines = Path("/proc/locks").read_text().splitlines()
    except OSError:
        return "another process"
    for line in lines:
        fields = line.split()
        if len(fields) > 5 and fields[1] == "FLOCK" and fields[5].rsplit(":", 1)[-1] == str(inode):
            pid = fields[4]
            try:
                command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                command = ""
            return f"pid {pid}" + (f" ({command.strip()[:80]})" if command.strip() else "")
    return "another process"
