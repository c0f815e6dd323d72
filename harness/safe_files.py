"""Reading files that anyone may have planted in a runs directory, without leaving it.

A run directory is data, not code: its files are read as plain bytes, never through a symlink and
never from a path that resolves outside the folder it was found in (a run copied from elsewhere may
hold `samples.png -> /etc/passwd`; following it would publish that file in the site).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path


def lies_inside(path: Path, root: Path) -> bool:
    """Whether `path` is under `root` with no symlink on the way: its real path is root's real path
    joined with the same relative parts."""
    path, root = Path(path), Path(root)
    try:
        relative = path.absolute().relative_to(root.absolute())
    except ValueError:
        return False
    return Path(os.path.realpath(path)) == Path(os.path.realpath(root)).joinpath(relative)


def read_plain_bytes(path: Path, max_bytes: int | None = None) -> bytes | None:
    """The bytes of a regular file at `path`, or None if it is missing, a symlink, not a regular file
    or (given `max_bytes`) larger than that: a planted multi-GB file must not be read into memory."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except OSError:  # missing, a symlink (ELOOP), unreadable
        return None
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):  # a FIFO or device would block or never end
            return None
        if max_bytes is None:
            return handle.read()
        data = handle.read(max_bytes + 1)
        return data if len(data) <= max_bytes else None


def read_run_file(path: Path, root: Path) -> bytes | None:
    """A run file's bytes if it is a regular file inside `root` reached without a symlink, else None."""
    return read_plain_bytes(path) if lies_inside(path, root) else None
