"""Write a built site into its folder: only files whose bytes changed, and remove pages of runs that
no longer exist. A manifest of what the last build wrote (each file's name and sha256) tells which
stale files are ours to delete: a file is deleted only if it still holds exactly the bytes this
report wrote, so nothing else in the folder is ever touched."""

from __future__ import annotations

import hashlib
from pathlib import Path, PurePosixPath

from harness.storage import atomic_path

MANIFEST = ".gan-bench-site"


def _inside(out: Path, relative: str) -> Path | None:
    """The file `relative` names inside `out`, or None for a manifest line that would leave it."""
    path = PurePosixPath(relative)
    if path.is_absolute() or ".." in path.parts or not path.parts:
        return None
    return out.joinpath(*path.parts)


def write_files(out: Path, files: dict[str, bytes]) -> int:
    """Write `files` under `out`; returns how many were (re)written."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    manifest = out / MANIFEST
    previous = _read_manifest(manifest)
    for stale in sorted(set(previous) - set(files)):
        path = _inside(out, stale)
        if path is not None and _still_ours(path, previous[stale]):
            path.unlink()
            _remove_empty_parents(path.parent, out)
    written = 0
    for relative, data in files.items():
        path = _inside(out, relative)
        if path is None:
            raise ValueError(f"refusing to write outside the site folder: {relative!r}")
        if path.is_file() and path.read_bytes() == data:
            continue  # unchanged: leave it (and its mtime) alone
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as tmp:
            tmp.write_bytes(data)
        written += 1
    listing = "".join(f"{_digest(files[name])}  {name}\n" for name in sorted(files))
    if not manifest.is_file() or manifest.read_text(encoding="utf-8") != listing:
        with atomic_path(manifest) as tmp:
            tmp.write_text(listing, encoding="utf-8")
    return written


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _read_manifest(manifest: Path) -> dict[str, str | None]:
    """{file: sha256 written}; a line without a digest (an older manifest) gets None: never deleted."""
    if not manifest.is_file():
        return {}
    entries: dict[str, str | None] = {}
    for line in manifest.read_text(encoding="utf-8", errors="replace").splitlines():
        digest, sep, name = line.partition("  ")
        if sep and len(digest) == 64:
            entries[name] = digest
        elif line:
            entries[line] = None
    return entries


def _still_ours(path: Path, digest: str | None) -> bool:
    """A plain file (not a symlink) holding exactly the bytes the last build wrote there."""
    if digest is None or path.is_symlink() or not path.is_file():
        return False
    return _digest(path.read_bytes()) == digest


def _remove_empty_parents(folder: Path, out: Path) -> None:
    # A deleted run leaves runs/<paper>/<dataset>/<budget>/<run>/ empty: remove it and emptied parents.
    while folder != out and out in folder.parents and not any(folder.iterdir()):
        folder.rmdir()
        folder = folder.parent
