"""Assemble the static site in memory: {relative path: bytes} for every page, plot, image and asset.

Building in memory first keeps the output a pure function of the run store and the registry (so a
rebuild is byte-identical) and lets `reports.output` write only what changed.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from jinja2 import Environment, PackageLoader, StrictUndefined

from harness.registry import Registry
from harness.real_floor_record import read_floors
from harness.runstore import reproduced_papers
from reports import links
from reports.formatting import FILTERS
from reports.pages import catalogue_rows, paper_context, run_context
from reports.plots import PlotCache
from reports.runs import RunView, parse_curves, read_store
from reports.tables import METRICS, Leaderboard, leaderboards

Files = dict[str, bytes]


def environment() -> Environment:
    # Autoescape everything: titles, sources and run names come from files anyone can edit.
    env = Environment(loader=PackageLoader("reports", "templates"), autoescape=True, undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.filters.update(FILTERS)
    env.globals.update(run_page=links.run_page, paper_page=links.paper_page, metrics=METRICS)
    return env


def _render(env: Environment, files: Files, page: str, template: str, **context) -> None:
    files[page] = env.get_template(template).render(root=links.root_of(page), **context).encode("utf-8")


def static_files() -> Files:
    folder = resources.files("reports") / "static"
    return {f"static/{item.name}": item.read_bytes() for item in sorted(folder.iterdir(), key=lambda i: i.name)
            if item.is_file() and not item.name.startswith(".")}


def _run_files(env: Environment, files: Files, run: RunView, registry: Registry, plot_cache: PlotCache) -> None:
    folder = links.run_dir(run.run_id)
    data = run.curves_bytes()
    curves = parse_curves(data)
    plots = plot_cache.plots(data, curves)
    for name, svg in plots.items():
        if svg is not None:
            files[f"{folder}/{name}.svg"] = svg
    samples = run.samples_bytes()
    has_samples = samples is not None
    if has_samples:
        files[f"{folder}/samples.png"] = samples
    _render(env, files, links.run_page(run.run_id), "run.html",
            **run_context(run, registry, curves, {k: v is not None for k, v in plots.items()}, has_samples))


def build_site(runs_dir: Path, registry: Registry, plot_cache: Path | None = None) -> tuple[Files, list[Leaderboard]]:
    """All files of the site. `plot_cache`: a folder where SVGs of unchanged curves are kept between builds."""
    runs_dir = Path(runs_dir)
    cache = PlotCache(plot_cache)
    runs, excluded = read_store(runs_dir, registry)  # excluded: (run id, why), listed on the index
    boards = leaderboards(runs, registry, read_floors(runs_dir) if runs_dir.is_dir() else [], str(runs_dir))
    reproduced = reproduced_papers(runs_dir) if runs_dir.is_dir() else set()
    env = environment()
    env.globals["known_papers"] = set(registry.papers)  # link a paper only when its page exists
    files: Files = static_files()
    _render(env, files, "index.html", "index.html", boards=boards, runs_dir=str(runs_dir), runs=runs, excluded=excluded,
            papers=sorted({r.paper for r in runs}))
    _render(env, files, "catalogue.html", "catalogue.html", rows=catalogue_rows(registry, reproduced, runs),
            reproduced=reproduced)
    by_paper: dict[str, list[RunView]] = {}
    for run in runs:
        by_paper.setdefault(run.paper, []).append(run)
        _run_files(env, files, run, registry, cache)
    for paper_id, entry in registry.papers.items():
        _render(env, files, links.paper_page(paper_id), "paper.html",
                **paper_context(entry, registry, registry.status(paper_id, reproduced), by_paper.get(paper_id, [])))
    cache.prune()
    return dict(sorted(files.items())), boards
