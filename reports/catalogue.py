"""The catalogue page's rows and its filters (search, year range, category, source list, status),
as plain data; the filtering itself runs in the browser (static/filter.js), so the page needs no server."""

from __future__ import annotations

from harness.registry import Registry
from reports.links import code_label
from reports.methods import method_name, short_authors
from reports.runs import RunView

STATUSES = ("reproduced", "implemented", "catalogued")


def source_name(registry: Registry, source_id: str) -> str:
    """A source list by its title (the ids are file numbers, which tell a reader nothing). A title
    written as "<original> (<English gloss>)" is named by its gloss, short enough for a table cell;
    the page shows the full title beside it."""
    source = registry.sources.get(source_id)
    if source is None:
        return f"source list {source_id}"
    title = source.title
    original, sep, gloss = title.partition(" (")
    if sep and gloss.endswith(")") and not original.isascii():
        return gloss[:-1]
    return title


def source_title(registry: Registry, source_id: str) -> str:
    source = registry.sources.get(source_id)
    return source.title if source is not None else f"source list {source_id}"


def catalogue_rows(registry: Registry, reproduced: set[str], runs: list[RunView]) -> list[dict]:
    run_counts: dict[str, int] = {}
    for run in runs:
        run_counts[run.paper] = run_counts.get(run.paper, 0) + 1
    rows = []
    for entry in sorted(registry.papers.values(), key=lambda e: (e.year, e.id)):
        sources = [(source_name(registry, sid), source_title(registry, sid)) for sid in entry.sources]
        # What the search box matches: id, name, title, authors, aliases, tags, venue (lower-cased once here).
        haystack = " ".join([entry.id, method_name(entry), entry.title, *entry.authors, *entry.aliases, *entry.tags,
                             entry.venue or "", entry.category]).lower()
        rows.append({"entry": entry, "name": method_name(entry), "authors": short_authors(entry),
                     "status": registry.status(entry.id, reproduced), "sources": sources,
                     "source_ids": " ".join(entry.sources), "search": haystack,
                     "code": [(str(url), code_label(str(url))) for url in entry.code], "runs": run_counts.get(entry.id, 0)})
    return rows


def catalogue_filters(registry: Registry) -> dict:
    years = sorted({e.year for e in registry.papers.values()})
    used_sources = sorted({sid for e in registry.papers.values() for sid in e.sources})
    return {"years": years, "categories": sorted({e.category for e in registry.papers.values()}),
            "sources": [(sid, source_name(registry, sid)) for sid in used_sources], "statuses": STATUSES}
