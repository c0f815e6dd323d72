"""Atomic file writes: write a temporary file beside the target, fsync, then rename over it.

A crash mid-write leaves either the old file or the new one, never half of one.
"""

from __future__ import annotations

import errno
import io
import json
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator


_UMASK = os.umask(0)
os.umask(_UMASK)


@contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """Yield a temporary path in the target's folder; on success it replaces `target` atomically."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(handle)
    tmp = Path(name)
    try:
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; results are meant to be shared
        yield tmp
        with tmp.open("rb") as written:
            os.fsync(written.fileno())
        os.replace(tmp, target)
    except OSError as exc:
        if exc.filename is None and exc.errno is not None:  # a failed write() (disk full) names no file
            raise OSError(exc.errno, exc.strerror, str(target)) from exc
        raise
    finally:
        tmp.unlink(missing_ok=True)


def atomic_write_text(target: Path, text: str) -> None:
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8")


def atomic_write_json(target: Path, data: Any) -> None:
    atomic_write_text(target, json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")


def atomic_torch_save(obj: Any, target: Path) -> None:
    import torch  # here, not at the top: `gan-bench list` reads the run store and must not load torch

    # Serialised in memory, then written as bytes: torch.save's own writer reports a full disk as a
    # RuntimeError without its cause, a plain write as OSError(ENOSPC).
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    with atomic_path(target) as tmp:
        tmp.write_bytes(buffer.getbuffer())


def append_jsonl(target: Path, record: dict) -> None:
    """Append one JSON line; readers skip a torn last line, so appends need no rename."""
    with Path(target).open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(record, sort_keys=True) + "\n")
        handle.flush()


def read_jsonl(path: Path) -> list[dict]:
    records = []
    if not path.exists():
        return records
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            continue  # a line torn by a crash mid-append
    return records


_WRITE_ERRORS = {errno.ENOSPC: "no space left", errno.EDQUOT: "disk quota exceeded", errno.EROFS: "read-only file system"}


def full_disk_message(exc: OSError) -> str | None:
    """One line for an OSError a user fixes by freeing space or choosing another folder, else None."""
    what = _WRITE_ERRORS.get(exc.errno)
    if what is None:
        return None
    where = f" on {exc.filename}" if exc.filename else ""
    return (f"{what}{where}; every file is written atomically, so the last checkpoint and result stand "
            "(free space, then `gan-bench resume` the run)")


def remove_stale_temporaries(folder: Path) -> list[str]:
    """Delete the temporary files `atomic_path` leaves when killed mid-write (`.<name>.*.tmp`).

    Only safe while no other process writes in `folder` (a resume holds the run's lock)."""
    removed = []
    for path in Path(folder).glob(".*.tmp"):
        if path.is_file() and not path.is_symlink():
            path.unlink(missing_ok=True)
            removed.append(path.name)
    return removed
