"""Exit codes and one-line endings; SIGTERM outside the training loop gives one line and 143 (SIGINT: 130).

While training, harness.trainer.StopOnSignal turns SIGTERM into a checkpoint and a clean stop. At
any other time (start-up, loading data, scoring) SIGTERM would kill the process without a word, so
here it raises `Terminated`, which the CLI reports in one line. Exit code 2 stays reserved for bad
input: a scheduler's SIGTERM is not the user's mistake.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from typing import Iterator

SIGTERM_EXIT = 128 + signal.SIGTERM  # the shell's convention for "killed by SIGTERM"
SIGINT_EXIT = 128 + signal.SIGINT


class Terminated(BaseException):
    """SIGTERM arrived; a BaseException so no `except Exception` swallows it."""


def _raise(signum, frame) -> None:
    raise Terminated(signal.Signals(signum).name)


@contextlib.contextmanager
def sigterm_raises() -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def exit_for(exc: BaseException) -> tuple[str, int] | None:
    """The one line and exit code for an exception a user can act on; None: a bug, let it raise.

    2: bad input (GanBenchError). 128 + signal: stopped by SIGINT/SIGTERM (a signal during training
    is an `Interrupted`, with its checkpoint saved). 1: the disk is full or read-only."""
    from harness.errors import GanBenchError, Interrupted
    from harness.storage import full_disk_message

    if isinstance(exc, Interrupted):
        return f"error: {exc}", exc.exit_code
    if isinstance(exc, GanBenchError):
        return f"error: {exc}", 2
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted", SIGINT_EXIT
    if isinstance(exc, Terminated):
        return "error: terminated by SIGTERM before anything was finished; nothing recorded is lost", SIGTERM_EXIT
    if isinstance(exc, OSError) and full_disk_message(exc):
        return f"error: {full_disk_message(exc)}", 1
    return None
