"""Results over time: each metric against the method's publication year, one static SVG per protocol
and metric (our numbers), and per dataset and metric for the numbers the papers published — the
"state of the art over time" view, with the best-so-far line drawn as a step."""

from __future__ import annotations

import json
from dataclasses import dataclass

import matplotlib

from harness.registry import Registry
from reports.boards import BoardView
from reports.plots import RC, PlotCache, _figure, _literal, _svg
from reports.reproduction import column_for


@dataclass(frozen=True)
class Point:
    year: int
    value: float
    spread: float | None
    label: str


@dataclass(frozen=True)
class Chart:
    slug: str  # file name stem, unique in the site
    title: str
    caption: str
    metric_label: str
    lower_is_better: bool
    points: tuple[Point, ...]
    table: str | None = None  # the leaderboard's anchor on the index, for our charts

    @property
    def file(self) -> str:
        return f"timeline/{self.slug}.svg"

    def key(self) -> bytes:
        return json.dumps([self.title, self.metric_label, self.lower_is_better,
                           [(p.year, p.value, p.spread, p.label) for p in self.points]]).encode()


def draw(chart: Chart) -> list[bytes]:
    with matplotlib.rc_context(RC):
        figure = _figure(5.2, 3.2)
        figure.subplots_adjust(left=0.13, right=0.97, bottom=0.15, top=0.88)
        axes = figure.add_subplot(1, 1, 1)
        points = sorted(chart.points, key=lambda p: (p.year, p.value, p.label))
        for p in points:
            axes.errorbar([p.year], [p.value], yerr=[[p.spread], [p.spread]] if p.spread else None, fmt="o",
                          color="C0", markersize=4, capsize=2, linewidth=1)
            axes.annotate(_literal(p.label), (p.year, p.value), textcoords="offset points", xytext=(4, 3), fontsize=7)
        best, steps_x, steps_y = None, [], []
        for p in points:  # the best value published (or measured) up to each year
            if best is None or (p.value < best if chart.lower_is_better else p.value > best):
                best = p.value
            steps_x.append(p.year)
            steps_y.append(best)
        axes.step(steps_x, steps_y, where="post", color="C2", linewidth=1, alpha=0.7, label="best so far")
        years = [p.year for p in points]
        axes.set_xlim(min(years) - 0.7, max(years) + 1.2)
        axes.xaxis.get_major_locator().set_params(integer=True)
        axes.set_xlabel("publication year")
        axes.set_ylabel(_literal(chart.metric_label) + (" (lower is better)" if chart.lower_is_better else " (higher is better)"))
        axes.set_title(_literal(chart.title), fontsize=9)
        axes.legend(frameon=False, fontsize=7)
        axes.grid(alpha=0.3)
    return [_svg(figure)]


def our_charts(views: list[BoardView], registry: Registry) -> list[Chart]:
    charts = []
    for view in views:
        p = view.protocol
        for metric in view.metrics:
            points = []
            for row in view.board.rows:
                entry = registry.papers.get(row.paper.partition("@")[0])
                stat = row.stats[metric.key]
                if entry is not None and stat.mean is not None:
                    m = view.methods[row.paper]
                    points.append(Point(entry.year, stat.mean, stat.std, m.name + (f" ({m.variant})" if m.variant else "")))
            if len(points) >= 2:  # one method is no trend
                spread = "standard error" if view.board.spread == "stderr" else "std"
                charts.append(Chart(f"{p.slug}-{metric.key}", f"{p.title}: {metric.label}",
                                    f"Our mean ± {spread} over seeds per method, at this table's protocol; "
                                    "x is the method's publication year.", metric.label, metric.lower_is_better,
                                    tuple(points), p.slug))
    return charts


def published_charts(registry: Registry) -> list[Chart]:
    """The registry's reported numbers per (dataset, metric), where at least two papers give one."""
    groups: dict[tuple[str, str, int], list[Point]] = {}
    for entry in registry.papers.values():
        if entry.reproduction is None:
            continue
        for r in entry.reproduction.reported:
            label = entry.id + (f"@{r.variant}" if r.variant else "")
            # Grouped by sample count too: numbers scored on different counts are not one scale.
            groups.setdefault((r.dataset, r.metric, r.num_samples or 0), []).append(Point(entry.year, r.value, r.std, label))
    charts = []
    for (dataset, metric, samples), points in sorted(groups.items()):
        if len({p.label for p in points}) < 2:
            continue
        column = column_for(metric)
        counted = f"{samples:,} samples" if samples else "unstated sample count"
        charts.append(Chart(f"published-{dataset}-{metric}-{samples or 'unstated'}",
                            f"{dataset}: {column.label} as published ({counted})",
                            f"Each paper's reported number on {dataset} scored on {counted}, as the registry records it "
                            "(other protocol details may still differ: see the reproduction view for each source); "
                            "x is the paper's year.",
                            column.label, column.lower_is_better, tuple(points)))
    return charts


def chart_files(charts: list[Chart], cache: PlotCache) -> dict[str, bytes]:
    return {chart.file: cache.panels(chart.key(), "timeline", lambda c=chart: draw(c))[0] for chart in charts}
