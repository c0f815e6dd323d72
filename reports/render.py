"""`gan-bench report`: the run store and the registry as a static site (plus Markdown/CSV tables).

Reads only results (harness.runstore) and the registry. The pieces, one job each:
  runs.py     run directories → RunView (finished / diverged / running) with their protocols
  tables.py   RunViews → leaderboards, one per protocol, aggregated over seeds (pandas)
  plots.py    curves.jsonl → SVG;  pages.py  what each page shows;  site.py  templates → bytes
  export.py   leaderboards → Markdown / CSV;  output.py  writes only what changed
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from harness.errors import GanBenchError
from harness.registry import Registry
from reports.export import exports, exports_of
from reports.output import write_files
from reports.site import build_site

FORMATS = ("html", "md", "csv")
CACHE_ENV = "GAN_BENCH_CACHE"  # the feature cache's folder (harness.metrics.evaluate); the plots get their own under it


def plot_cache_dir(out: Path) -> Path:
    """Where this site's plot cache lives: under $GAN_BENCH_CACHE (default ~/.cache/gan-bench), one
    folder per output folder — never inside the site, which is published as it is."""
    base = Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "gan-bench").expanduser()
    return base / "report-plots" / hashlib.sha256(str(Path(out).resolve()).encode()).hexdigest()[:16]


def render_site(runs_dir: Path, registry: Registry, out: Path, formats: tuple[str, ...] | list[str] = ()) -> Path:
    """Build the site into `out` and return its index.html. HTML is always written; `formats` adds
    'md' and/or 'csv' copies of the leaderboard tables beside it."""
    unknown = sorted(set(formats) - set(FORMATS))
    if unknown:
        raise GanBenchError(f"unknown report format {unknown[0]!r}; choose from {', '.join(FORMATS)}")
    check_folders(Path(runs_dir), Path(out))
    try:
        written = exports_of(set(formats))
        files, boards, cells = build_site(Path(runs_dir), registry, plot_cache=plot_cache_dir(Path(out)), exports=written)
        files.update(exports(boards, set(formats), cells))
        write_files(Path(out), dict(sorted(files.items())))
    except OSError as exc:
        raise GanBenchError(f"cannot write the site to {out}: {exc.strerror or exc}") from None
    return Path(out) / "index.html"


def check_folders(runs_dir: Path, out: Path) -> None:
    """A runs dir that exists, and a site folder apart from it: pages written into run directories
    would be taken for run files, and a later build's clean-up would delete them."""
    if not runs_dir.is_dir():
        raise GanBenchError(f"--runs-dir {runs_dir}: {'not a folder' if runs_dir.exists() else 'no such folder'}")
    runs, site = runs_dir.resolve(), out.resolve()
    if site == runs or runs in site.parents or site in runs.parents:
        raise GanBenchError(f"--out {out} overlaps the runs directory {runs_dir}; write the site to a folder apart from it")
