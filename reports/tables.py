"""Leaderboards: runs grouped by protocol, aggregated over seeds per paper (pandas).

One leaderboard per `Protocol` (dataset, budget, generated/real sample counts, real split,
extractor, resolution, metric suite); nothing is ever ranked across two protocols. Its columns are
its metric suite's (harness.metrics.suites): FID, IS and KID for images, modes / % HQ / reverse KL
for 2D mixtures, and so on. Within a leaderboard a row is one method identity (harness.method_identity:
the paper or registry variant `paper@variant`, its entry version, and every hyperparameter set apart
from the entry's defaults, labelled "f-gan [loss=rsgan]"): each metric as the mean ± the suite's spread over its scored runs — the sample
standard deviation (ddof=1) for FID/KID/IS, the standard error of the mean (std/√n) for the
mode-coverage suites, whose papers report standard errors — beside the paper's own number, with
whether that number lies inside our mean ± spread — only when the paper measured it under the
table's protocol (reports.protocol_match); a number measured otherwise is listed apart, with why.
KID and IS are each run's *mean* (over KID subsets / IS splits); the ± shown is the spread across
seeds, not within a run. Under an image table, the real-data floor at its protocol (`gan-bench
score-real --runs-dir`), or the command that would measure it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import pandas as pd

from harness.metrics.suites import SUITES, Column, metric_suite
from harness.real_floor_record import RealFloorRecord, floor_command
from harness.registry import Registry
from harness.schema import ReportedResult
from harness.method_identity import MethodIdentity
from reports.protocol_match import mismatches
from reports.runs import Protocol, RunView

MetricSpec = Column  # a leaderboard column, as its metric suite declares it
METRICS = metric_suite("fid").columns  # the image tables' columns (run and paper pages default to them)
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
    same_samples: bool  # always True beside ours: a number measured otherwise is `Apart`
    alternatives: int = 0  # further numbers the registry gives for this dataset and metric (paper page lists them)
    within: bool | None = None  # the paper's value inside our mean ± spread (None: no spread, one seed)


@dataclass(frozen=True)
class Apart:
    """A paper's number for this dataset and metric measured under another protocol: shown, never subtracted."""

    reported: ReportedResult
    reasons: tuple[str, ...]


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
    apart: list[Apart] = field(default_factory=list)  # the paper's numbers measured under other protocols

    @property
    def status_text(self) -> str:
        return ", ".join(f"{count} {name}" for name, count in self.status.items())


@dataclass
class Leaderboard:
    protocol: Protocol
    rows: list[Row]
    # Metrics with a "paper" column: only those some paper in this table reported on this dataset.
    reported_metrics: list[str]
    metrics: tuple[Column, ...] = METRICS  # the table's columns: its protocol's metric suite's
    spread: str = "std"  # what the ± is: "std" over seeds, or "stderr" (std / √n)
    floor: RealFloorRecord | None = None  # the real-data floor at this protocol, where one is stored
    floor_command: str | None = None  # else the command that measures it (None: score-real cannot)

    @property
    def indicative(self) -> bool:
        """Whether some Δ compares against a paper number scored on a different sample count (never,
        now that such numbers are `Apart`; kept for the pages that still ask)."""
        return any(not c.same_samples for row in self.rows for c in row.comparisons.values())

    @property
    def apart_lines(self) -> list[str]:
        """One line of visible text per paper number shown apart: the row, the value, its source, and why."""
        lines = []
        labels = {m.key: m for m in self.metrics}
        for row in self.rows:
            for item in row.apart:
                r, column = item.reported, labels.get(item.reported.metric)
                digits = column.digits if column else 2
                value = f"{r.value:.{digits}f}" + (f" ± {r.std:.{digits}f}" if r.std is not None else "")
                lines.append(f"{row.paper}: paper {column.label if column else r.metric} {value} ({r.source}) "
                             f"is not beside ours: {'; '.join(item.reasons)}")
        return lines

    @property
    def floor_line(self) -> str | None:
        """The real-data floor in words, or the command that would measure it; None where there is none."""
        if self.floor is not None:
            f, m = self.floor, self.floor.metrics
            shown = ", ".join(f"{c.label} {m[c.column]:.{c.digits}f}" for c in self.metrics if c.column in m)
            return (f"real data: {shown} ({f.selection} {f.samples:,} {f.split} images vs {f.real_samples:,} "
                    f"{f.against} images, {f.extractor_label})")
        if self.floor_command is not None:
            return f"real data: not measured at this protocol; {self.floor_command} would measure it"
        return None


def device_label(run: RunView) -> str:
    if run.result is None:
        return str(run.config.get("device", "?"))
    device = run.result["provenance"]["device"]
    name = device.get("name") or ""
    return f"{device['type']} ({name})" if name and name != device["type"] else device["type"]


def all_columns() -> list[str]:
    """Every per-run metric value some suite reads (the frame holds them all; each table picks its own)."""
    metric_suite("fid")  # loads every suite
    return list(dict.fromkeys(c.column for suite in SUITES.values() for c in suite.columns))


def columns_for(protocols) -> tuple[Column, ...]:
    """The columns of the suites of `protocols`, in order (a run/paper page shows them all); FID's if none."""
    names = list(dict.fromkeys(p.metric for p in protocols if p is not None)) or ["fid"]
    return tuple(c for name in names for c in metric_suite(name).columns)


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
                "protocol": protocol, "identity": _identity(run), "paper": run.row, "run_id": run.run_id, "seed": run.seed,
                "status": run.status, "kimg": progress.get("kimg", math.nan),
                "wall_clock_s": progress.get("wall_clock_s", math.nan), "device": device_label(run),
                **{column: metrics.get(column, math.nan) for column in all_columns()},
            })
    columns = ["protocol", "identity", "paper", "run_id", "seed", "status", "kimg", "wall_clock_s", "device", *all_columns()]
    return pd.DataFrame.from_records(records, columns=columns)


def _identity(run: RunView) -> MethodIdentity:
    """A running run its config cannot identify yet counts as one from before entry versions."""
    return run.identity or MethodIdentity(run.paper, run.variant)


def _number(value) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def _stat(values: pd.Series, spread: str = "std") -> Stat:
    values = values.dropna()
    std = _number(values.std(ddof=1)) if len(values) > 1 else None
    if spread == "stderr" and std is not None:
        std /= math.sqrt(len(values))
    return Stat(_number(values.mean()) if len(values) else None, std, int(len(values)))


def _comparison(registry: Registry, identity: MethodIdentity, protocol: Protocol, metric: MetricSpec,
                ours: Stat) -> tuple[Comparison | None, list[Apart]]:
    """The paper's number beside ours when it was measured under `protocol`; the others apart, with why."""
    entry, variant = registry.papers.get(identity.paper), identity.variant
    if entry is None or entry.reproduction is None or identity.overrides:  # the paper reported its own settings
        return None, []
    matches = [r for r in entry.reproduction.reported
               if r.dataset == protocol.dataset and r.metric == metric.key and r.variant == (variant or None)
               and r.labels == protocol.labels]  # another label count's number belongs to that count's table
    judged = [(r, tuple(mismatches(r, protocol))) for r in matches]
    beside = [r for r, reasons in judged if not reasons]
    apart = [Apart(r, reasons) for r, reasons in judged if reasons]
    if not beside:
        return None, apart
    reported = beside[0]  # the registry lists a paper's primary number first
    delta = ours.mean - reported.value if ours.mean is not None else None
    within = abs(delta) <= ours.std if delta is not None and ours.std is not None else None
    return Comparison(reported, delta, True, len(beside) - 1, within), apart


def _row(registry: Registry, protocol: Protocol, identity: MethodIdentity, group: pd.DataFrame) -> Row:
    suite = metric_suite(protocol.metric)
    metrics = suite.columns
    stats = {m.key: _stat(group[m.column], suite.spread) for m in metrics}
    judged = {m.key: _comparison(registry, identity, protocol, m, stats[m.key]) for m in metrics}
    comparisons = {key: c for key, (c, _) in judged.items() if c is not None}
    scored = group.dropna(subset=[metrics[0].column])
    done = group.dropna(subset=["kimg"])  # finished or diverged: progress is known
    kimg = done["kimg"]
    counts = group["status"].value_counts()
    status = {s: int(counts[s]) for s in STATUS_ORDER if s in counts}
    status.update({s: int(counts[s]) for s in sorted(counts.index) if s not in STATUS_ORDER})
    entry = registry.papers.get(identity.paper)
    return Row(
        paper=identity.label, title=entry.title if entry else f"{identity.paper} (not in the registry)", n=len(scored),
        seeds=sorted(int(s) for s in scored["seed"].dropna()), stats=stats, comparisons=comparisons,
        num_samples=protocol.num_samples, kimg=_number(kimg.mean()) if len(kimg) else None,
        kimg_range=(float(kimg.min()), float(kimg.max())) if len(kimg) and kimg.min() != kimg.max() else None,
        wall_clock_s=_number(done["wall_clock_s"].mean()) if len(done) else None,
        # A running run only knows the requested device ("cpu"); finished runs record the hardware.
        devices=sorted(set((done if len(done) else group)["device"])), status=status,
        runs=[RunLink(r.run_id, None if pd.isna(r.seed) else int(r.seed), r.status)
              for r in group.sort_values(["seed", "run_id"]).itertuples()],
        apart=[a for _, apart in judged.values() for a in apart],
    )


def _mark_best(rows: list[Row], metrics: tuple[Column, ...] = METRICS) -> None:
    """Highlight the best mean per metric; only when at least two rows have one (a lone row is not 'best')."""
    for metric in metrics:
        values = [r.stats[metric.key].mean for r in rows if r.stats[metric.key].mean is not None]
        if len(values) < 2:
            continue
        best = min(values) if metric.lower_is_better else max(values)
        for row in rows:
            if row.stats[metric.key].mean == best:
                row.best.add(metric.key)


def _row_order(row: Row, first: Column = METRICS[0]) -> tuple:
    """By the table's first metric, best first; rows without a score last."""
    value = row.stats[first.key].mean
    return (value is None, (value if first.lower_is_better else -value) if value is not None else 0.0, row.paper)


_HELD_OUT = {"train": "test", "test": "train"}  # the split a floor compares with the table's real split


def floor_of(protocol: Protocol, floors: list[RealFloorRecord], runs_dir: str = "RUNS_DIR") -> tuple[RealFloorRecord | None, str | None]:
    """(the stored floor at `protocol`, None) or (None, the score-real command that would measure it);
    (None, None) for a table score-real cannot floor (2D or mode suites, two-domain, translation, unscored)."""
    if (protocol.metric != "fid" or protocol.task != "generation" or protocol.domain is not None or not protocol.scored
            or protocol.real_split not in _HELD_OUT or not protocol.extractor or not protocol.real_samples):
        return None, None
    found = [f for f in floors
             if (f.dataset, f.resolution, f.against, f.samples, f.real_samples, f.extractor_label)
             == (protocol.dataset, protocol.resolution, protocol.real_split, protocol.num_samples,
                 protocol.real_samples, protocol.extractor)]
    if found:
        return min(found, key=lambda f: f.selection != "first"), None  # torch-fidelity's order first
    return None, floor_command(protocol.dataset, _HELD_OUT[protocol.real_split], protocol.real_split,
                               protocol.num_samples, protocol.real_samples, None, protocol.extractor.split(" ")[0], runs_dir)


def leaderboards(runs: list[RunView], registry: Registry, floors: list[RealFloorRecord] = (),
                 runs_dir: str = "RUNS_DIR") -> list[Leaderboard]:
    """One table per protocol; `floors` (harness.real_floor_record.read_floors of `runs_dir`) give the real-data rows."""
    frame = entries_frame(runs)
    if frame.empty:
        return []
    boards: dict[Protocol, list[Row]] = {}
    for (protocol, identity), group in frame.groupby(["protocol", "identity"], sort=False):
        boards.setdefault(protocol, []).append(_row(registry, protocol, identity, group))
    result = []
    for protocol in sorted(boards, key=Protocol.sort_key):
        suite = metric_suite(protocol.metric)
        rows = sorted(boards[protocol], key=lambda row: _row_order(row, suite.columns[0]))
        _mark_best(rows, suite.columns)
        reported = [m.key for m in suite.columns if any(m.key in r.comparisons for r in rows)]
        floor, command = floor_of(protocol, list(floors), runs_dir)
        result.append(Leaderboard(protocol, rows, reported, suite.columns, suite.spread, floor, command))
    return result
