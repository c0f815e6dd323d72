"""Where each page lives in the site, as relative paths (the site must work from file:// and when
moved as a folder, so no link is absolute). Every page gets `root`, the way back to the site root."""

from __future__ import annotations

from pathlib import PurePosixPath
from urllib.parse import quote


def run_dir(run_id: str) -> str:
    """The run's folder as a link (href/src). Run ids come from directory names; each segment is quoted so
    an odd name (`unrolled-gan@k5`, a space, a `#`) cannot break the link; the browser unquotes it back."""
    return "runs/" + "/".join(quote(part, safe="") for part in PurePosixPath(run_id).parts)


def run_page(run_id: str) -> str:
    return run_dir(run_id) + "/index.html"  # file:// does not resolve folder/ to folder/index.html


def run_file_dir(run_id: str) -> str:
    """The run's folder as a path inside the site: the directory names themselves, which the quoted
    links above resolve to."""
    return "runs/" + PurePosixPath(run_id).as_posix()


def paper_page(paper: str) -> str:
    return f"papers/{quote(paper, safe='')}.html"


def root_of(page: str) -> str:
    """'../' once per folder between `page` and the site root ('' for top-level pages)."""
    return "../" * (len(PurePosixPath(page).parts) - 1)


def code_label(url: str) -> str:
    """'owner/repo' for GitHub links, else the host: short enough for a table cell."""
    rest = url.split("://", 1)[-1]
    host, _, path = rest.partition("/")
    parts = [p for p in path.split("/") if p]
    if host.endswith("github.com") and len(parts) >= 2:
        return f"{parts[0]}/{parts[1]}"
    return host
