"""Write a built site into its folder: only files whose bytes changed, and remove pages of runs that
no longer exist. A manifest of what the last build wrote tells which stale files are ours to
delete; nothing else in the folder is ever touched."""

from __future__ import annotations

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
    previous = manifest.read_text(encoding="utf-8").splitlines() if manifest.is_file() else []
    for stale in sorted(set(previous) - set(files)):
        path = _inside(out, stale)
        if path is not None and path.is_file():
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
    listing = "".join(f"{name}\n" for name in sorted(files))
    if not manifest.is_file() or manifest.read_text(encoding="utf-8") != listing:
        with atomic_path(manifest) as tmp:
            tmp.write_text(listing, encoding="utf-8")
    return written


def _remove_empty_parents(folder: Path, out: Path) -> None:
    # A deleted run leaves runs/<paper>/<dataset>/<budget>/<run>/ empty: remove it and emptied parents.
    while folder != out and out in folder.parents and not any(folder.iterdir()):
        folder.rmdir()
        folder = folder.parent
