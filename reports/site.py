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
from harness.safe_files import read_run_file
from reports import links
from reports.boards import MIN_SEEDS_FOR_BEST, BoardView, board_view
from reports.budgets import board_budget, budget_glossary, reproduce_command
from reports.catalogue import catalogue_filters, catalogue_rows
from reports.formatting import FILTERS
from reports.methods import method, source_page
from reports.pages import paper_context, run_context
from reports.plots import PlotCache
from reports.reproduction import Cell, all_cells, comparable_cells, verdict_counts
from reports.runs import RunView, parse_curves, read_store
from reports.source_pages import module_sources
from reports.tables import METRICS, Leaderboard, leaderboards
from reports.timeline import chart_files, our_charts, published_charts

Files = dict[str, bytes]
RAW_RUN_FILES = ("config.json", "result.json", "curves.jsonl")  # copied beside each run page, linked from it


def environment() -> Environment:
    # Autoescape everything: titles, sources and run names come from files anyone can edit.
    env = Environment(loader=PackageLoader("reports", "templates"), autoescape=True, undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.filters.update(FILTERS)
    env.globals.update(run_page=links.run_page, run_dir=links.run_dir, paper_page=links.paper_page,
                       source_page=source_page, metrics=METRICS, min_seeds=MIN_SEEDS_FOR_BEST)
    return env


def _render(env: Environment, files: Files, page: str, template: str, **context) -> None:
    files[page] = env.get_template(template).render(root=links.root_of(page), **context).encode("utf-8")


def static_files() -> Files:
    folder = resources.files("reports") / "static"
    return {f"static/{item.name}": item.read_bytes() for item in sorted(folder.iterdir(), key=lambda i: i.name)
            if item.is_file() and not item.name.startswith(".")}


def _run_files(env: Environment, files: Files, run: RunView, registry: Registry, plot_cache: PlotCache) -> None:
    folder = links.run_file_dir(run.run_id)
    data = run.curves_bytes()
    curves = parse_curves(data)
    plots = {}
    for kind, panels in plot_cache.run_plots(data, curves).items():
        plots[kind] = [f"{kind}-{index + 1}.svg" for index in range(len(panels))]
        for name, svg in zip(plots[kind], panels):
            files[f"{folder}/{name}"] = svg
    samples = run.samples_bytes()
    if samples is not None:
        files[f"{folder}/samples.png"] = samples
    raw = {}
    for name in RAW_RUN_FILES:
        # The safe reader: a plain file inside the runs dir, never through a symlink. curves.jsonl is the
        # bytes the plots came from (a running run appends to it).
        content = data if name == "curves.jsonl" else read_run_file(run.path / name, run.root or run.path)
        if content:
            files[f"{folder}/{name}"] = content
            raw[name] = len(content)
    _render(env, files, f"{folder}/index.html", "run.html",
            **run_context(run, registry, curves, plots, samples is not None),
            raw=raw, command=reproduce_command(run, registry), method=method(run.row, registry))


def build_site(runs_dir: Path, registry: Registry, plot_cache: Path | None = None,
               exports: tuple[str, ...] = ()) -> tuple[Files, list[Leaderboard], list[Cell]]:
    """All files of the site. `plot_cache`: a folder where SVGs of unchanged curves are kept between
    builds; `exports`: the leaderboard files (leaderboards.md, .csv) written beside it, linked from the index."""
    runs_dir = Path(runs_dir)
    cache = PlotCache(plot_cache)
    runs, excluded = read_store(runs_dir, registry)  # excluded: (run id, why), listed on the index
    runs_by_id = {run.run_id: run for run in runs}
    boards = leaderboards(runs, registry, read_floors(runs_dir) if runs_dir.is_dir() else [], str(runs_dir))
    budgets = {board.protocol.slug: board_budget(board, runs_by_id) for board in boards}
    cells = all_cells(registry, boards, budgets)
    with_samples = {run.run_id for run in runs if run.samples_bytes() is not None}
    comparable = comparable_cells(cells)
    views: list[BoardView] = [board_view(b, budgets[b.protocol.slug], registry, with_samples, comparable) for b in boards]
    reproduced = reproduced_papers(runs_dir) if runs_dir.is_dir() else set()
    sources = module_sources(registry)
    env = environment()
    env.globals["known_papers"] = set(registry.papers)  # link a paper only when its page exists
    env.globals["known_sources"] = set(sources)  # link a module only when its source page exists
    files: Files = static_files()
    ours, published = our_charts(views, registry), published_charts(registry)
    files.update(chart_files(ours + published, cache))
    _render(env, files, "index.html", "index.html", views=views, runs_dir=str(runs_dir), runs=runs, excluded=excluded,
            papers=sorted({r.paper for r in runs}), glossary=budget_glossary(), exports=sorted(exports),
            counts=verdict_counts(cells))
    _render(env, files, "reproduction.html", "reproduction.html", cells=cells, counts=verdict_counts(cells),
            glossary=budget_glossary())
    _render(env, files, "timeline.html", "timeline.html", ours=ours, published=published)
    _render(env, files, "catalogue.html", "catalogue.html", rows=catalogue_rows(registry, reproduced, runs),
            filters=catalogue_filters(registry), reproduced=reproduced)
    for module, (path, text) in sources.items():
        _render(env, files, source_page(module), "source.html", module=module, path=path, text=text)
    by_paper: dict[str, list[RunView]] = {}
    for run in runs:
        by_paper.setdefault(run.paper, []).append(run)
        _run_files(env, files, run, registry, cache)
    for paper_id, entry in registry.papers.items():
        _render(env, files, links.paper_page(paper_id), "paper.html",
                **paper_context(entry, registry, registry.status(paper_id, reproduced), by_paper.get(paper_id, [])),
                cells=[c for c in cells if c.entry.id == paper_id])
    cache.prune()
    return dict(sorted(files.items())), boards, cells
