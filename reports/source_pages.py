"""Our reproduction modules as pages of the site: the "our module" link of a leaderboard row opens the
code the site was built with, offline and with no repository host assumed. The source is read as text
(never imported: the report does not load training code) and shown escaped."""

from __future__ import annotations

from pathlib import Path

from harness.module_source import module_file
from harness.registry import Registry
from harness.safe_files import read_plain_bytes
from reports.methods import source_page


def module_sources(registry: Registry) -> dict[str, tuple[str, str]]:
    """{module: (path in the repository, source text)} for every implemented entry's module found on disk."""
    found = {}
    for entry in sorted(registry.implemented(), key=lambda e: e.id):
        module = entry.reproduction.module
        path = module_file(module)
        data = read_plain_bytes(path) if path is not None else None
        if data is not None and module not in found:
            found[module] = ("/".join(module.split(".")) + (Path(path).suffix or ".py"), data.decode("utf-8", "replace"))
    return found


def page_names(sources: dict[str, tuple[str, str]]) -> dict[str, str]:
    return {module: source_page(module) for module in sources}
