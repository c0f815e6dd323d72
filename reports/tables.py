"""Leaderboards: runs grouped by protocol, aggregated over seeds per paper (pandas).

One leaderboard per `Protocol` (dataset, budget, generated/real sample counts, real split,
extractor, resolution); nothing is ever ranked across two protocols. Within a leaderboard a row is
one paper: FID, IS and KID as the mean ± sample standard deviation (ddof=1) over its scored runs,
beside the paper's own number for that dataset and metric. KID and IS are each run's *mean*
(over KID subsets / IS splits); the ± shown is the spread across seeds, not within a run.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import pandas as pd

from harness.registry import Registry
from harness.schema import ReportedResult
from reports.runs import Protocol, RunView


@dataclass(frozen=True)
class MetricSpec:
    key: str  # the metric's name in the registry's `reported` block
    label: str
    column: str  # the per-run value in result.json's metrics
    lower_is_better: bool
    digits: int


METRICS = (
    MetricSpec("fid", "FID", "fid", True, 2),
    MetricSpec("is", "IS", "is_mean", False, 2),
    MetricSpec("kid", "KID", "kid_mean", True, 4),
)
STATUS_ORDER = ("finished", "diverged", "running")


@dataclass(frozen=True)
class Stat:
    mean: float | None
    std: float | None  # None with fewer than two seeds: one run has no spread to report
    n: int


@dataclass(frozen=True)
class Comparison:
    """The paper's number for this dataset and metric, and how far we are from it."""

    reported: ReportedResult
    delta: float | None  # ours − paper's
    same_samples: bool  # False: the paper scored a different number of samples; the delta is indicative only
    alternatives: int = 0  # further numbers the registry gives for this dataset and metric (paper page lists them)


@dataclass(frozen=True)
class RunLink:
    run_id: str
    seed: int | None
    status: str


@dataclass
class Row:
    paper: str
    title: str
    n: int  # runs with a score in this protocol
    seeds: list[int]
    stats: dict[str, Stat]
    comparisons: dict[str, Comparison]
    num_samples: int | None
    kimg: float | None
    kimg_range: tuple[float, float] | None  # (min, max) when the runs differ, e.g. one diverged early
    wall_clock_s: float | None
    devices: list[str]
    status: dict[str, int]
    runs: list[RunLink]
    best: set[str] = field(default_factory=set)

    @property
    def status_text(self) -> str:
        return ", ".join(f"{count} {name}" for name, count in self.status.items())


@dataclass
class Leaderboard:
    protocol: Protocol
    rows: list[Row]
    # Metrics with a "paper" column: only those some paper in this table reported on this dataset.
    reported_metrics: list[str]

    @property
    def indicative(self) -> bool:
        """Whether some Δ compares against a paper number scored on a different sample count."""
        return any(not c.same_samples for row in self.rows for c in row.comparisons.values())


def device_label(run: RunView) -> str:
    if run.result is None:
        return str(run.config.get("device", "?"))
    device = run.result["provenance"]["device"]
    name = device.get("name") or ""
    return f"{device['type']} ({name})" if name and name != device["type"] else device["type"]


def entries_frame(runs: list[RunView]) -> pd.DataFrame:
    """One row per (run, protocol it belongs to): a score's protocol, or for a run without a score
    (running, diverged) the protocol its config asks for, so it is listed where it will land."""
    records = []
    for run in runs:
        memberships = [(s.protocol, s.metrics) for s in run.scores]
        if not memberships and run.intended is not None:
            memberships = [(run.intended, {})]
        progress = run.result["progress"] if run.result else {}
        for protocol, metrics in memberships:
            records.append({
                "protocol": protocol, "paper": run.paper, "run_id": run.run_id, "seed": run.seed,
                "status": run.status, "kimg": progress.get("kimg", math.nan),
                "wall_clock_s": progress.get("wall_clock_s", math.nan), "device": device_label(run),
                **{m.column: metrics.get(m.column, math.nan) for m in METRICS},
            })
    columns = ["protocol", "paper", "run_id", "seed", "status", "kimg", "wall_clock_s", "device",
               *[m.column for m in METRICS]]
    return pd.DataFrame.from_records(records, columns=columns)


def _number(value) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def _stat(values: pd.Series) -> Stat:
    values = values.dropna()
    return Stat(_number(values.mean()) if len(values) else None, _number(values.std(ddof=1)) if len(values) > 1 else None,
                int(len(values)))


def _comparison(registry: Registry, paper: str, protocol: Protocol, metric: MetricSpec, ours: Stat) -> Comparison | None:
    entry = registry.papers.get(paper)
    if entry is None or entry.reproduction is None:
        return None
    matches = [r for r in entry.reproduction.reported if r.dataset == protocol.dataset and r.metric == metric.key]
    if not matches:
        return None
    reported = matches[0]  # the registry lists a paper's primary number first
    delta = ours.mean - reported.value if ours.mean is not None else None
    return Comparison(reported, delta, reported.num_samples == protocol.num_samples, len(matches) - 1)


def _row(registry: Registry, protocol: Protocol, paper: str, group: pd.DataFrame) -> Row:
    stats = {m.key: _stat(group[m.column]) for m in METRICS}
    comparisons = {m.key: c for m in METRICS if (c := _comparison(registry, paper, protocol, m, stats[m.key]))}
    scored = group.dropna(subset=["fid"])
    done = group.dropna(subset=["kimg"])  # finished or diverged: progress is known
    kimg = done["kimg"]
    counts = group["status"].value_counts()
    status = {s: int(counts[s]) for s in STATUS_ORDER if s in counts}
    status.update({s: int(counts[s]) for s in sorted(counts.index) if s not in STATUS_ORDER})
    entry = registry.papers.get(paper)
    return Row(
        paper=paper, title=entry.title if entry else f"{paper} (not in the registry)", n=len(scored),
        seeds=sorted(int(s) for s in scored["seed"].dropna()), stats=stats, comparisons=comparisons,
        num_samples=protocol.num_samples, kimg=_number(kimg.mean()) if len(kimg) else None,
        kimg_range=(float(kimg.min()), float(kimg.max())) if len(kimg) and kimg.min() != kimg.max() else None,
        wall_clock_s=_number(done["wall_clock_s"].mean()) if len(done) else None,
        # A running run only knows the requested device ("cpu"); finished runs record the hardware.
        devices=sorted(set((done if len(done) else group)["device"])), status=status,
        runs=[RunLink(r.run_id, None if pd.isna(r.seed) else int(r.seed), r.status)
              for r in group.sort_values(["seed", "run_id"]).itertuples()],
    )


def _mark_best(rows: list[Row]) -> None:
    """Highlight the best mean per metric; only when at least two rows have one (a lone row is not 'best')."""
    for metric in METRICS:
        values = [r.stats[metric.key].mean for r in rows if r.stats[metric.key].mean is not None]
        if len(values) < 2:
            continue
        best = min(values) if metric.lower_is_better else max(values)
        for row in rows:
            if row.stats[metric.key].mean == best:
                row.best.add(metric.key)


def _row_order(row: Row) -> tuple:
    fid = row.stats["fid"].mean
    return (fid is None, fid if fid is not None else 0.0, row.paper)


def leaderboards(runs: list[RunView], registry: Registry) -> list[Leaderboard]:
    frame = entries_frame(runs)
    if frame.empty:
        return []
    boards: dict[Protocol, list[Row]] = {}
    for (protocol, paper), group in frame.groupby(["protocol", "paper"], sort=False):
        boards.setdefault(protocol, []).append(_row(registry, protocol, paper, group))
    result = []
    for protocol in sorted(boards, key=Protocol.sort_key):
        rows = sorted(boards[protocol], key=_row_order)
        _mark_best(rows)
        reported = [m.key for m in METRICS if any(m.key in r.comparisons for r in rows)]
        result.append(Leaderboard(protocol, rows, reported))
    return result
