"""The reproduction view: every number a paper reported, beside ours at the matching protocol, with a verdict.

A reported cell is (paper or variant, dataset, metric). Ours is a leaderboard row of that method on
that dataset. The verdict is one of:
  within          our mean lies inside the paper's interval (value ± its std or standard error); where the
                  paper gives no spread, the paper's value lies inside our mean ± our spread over seeds
  outside         the same test fails
  not comparable  the protocols differ (budget, sample count, extractor, ...) or neither side has a spread;
                  `why` says which. Where the protocols differ there is no delta: the two numbers measure
                  different things, and a difference between them would read as a result.
  not run         no run of ours on that dataset has a score for that method
Plain data for the templates and the Markdown export; no HTML here.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.metrics.suites import SUITES, Column, metric_suite
from harness.registry import Registry
from harness.schema import PaperEntry, ReportedResult
from reports.budgets import BoardBudget
from reports.tables import Leaderboard, Row

WITHIN, OUTSIDE, NOT_COMPARABLE, NOT_RUN = "within", "outside", "not comparable", "not run"
VERDICTS = (WITHIN, OUTSIDE, NOT_COMPARABLE, NOT_RUN)
SPREAD_NAMES = {"std": "std", "stderr": "s.e."}
# Protocol fields a reported number may carry (the registry adds them as papers are checked); each is
# compared with the same field of our protocol when both sides have it.
OPTIONAL_FIELDS = (("real_samples", "real images"), ("real_split", "real split"), ("resolution", "resolution"))


@dataclass(frozen=True)
class Ours:
    """Our number for a cell: one leaderboard row, under that board's protocol."""

    board: Leaderboard
    row: Row
    mean: float
    spread: float | None  # None with one seed
    spread_name: str  # "std" or "s.e."
    budget: BoardBudget


@dataclass(frozen=True)
class Cell:
    entry: PaperEntry
    method: str  # the leaderboard row name: paper id, or paper@variant
    reported: ReportedResult
    column: Column
    ours: Ours | None
    delta: float | None  # ours − paper's; None where the protocols differ
    verdict: str
    why: str  # what the verdict rests on, in words
    other_protocols: int  # further tables of ours with this method on this dataset

    @property
    def paper_spread_name(self) -> str:
        return SPREAD_NAMES[self.reported.spread]


def column_for(metric: str) -> Column:
    metric_suite("fid")  # loads every suite
    for suite in SUITES.values():
        for column in suite.columns:
            if column.key == metric:
                return column
    raise KeyError(metric)


def _method(entry: PaperEntry, reported: ReportedResult) -> str:
    return entry.id + (f"@{reported.variant}" if reported.variant else "")


def protocol_differences(reported: ReportedResult, board: Leaderboard, budget: BoardBudget) -> list[str]:
    """Why our number under `board`'s protocol is not the paper's measurement; empty when it is."""
    p = board.protocol
    reasons = []
    if p.budget != "paper":
        what = "the paper's schedule changed by an override" if p.budget == "paper-custom" else "not the paper's schedule"
        reasons.append(f"we trained at the {p.budget} budget ({budget.schedule_text}), {what}")
    if p.extractor and "unverified" in p.extractor:
        reasons.append(f"our extractor weights are unverified ({p.extractor}), so our scores are not on the published scale")
    if reported.num_samples is None:
        reasons.append("the paper does not state how many samples it scored")
    elif reported.num_samples != p.num_samples:
        reasons.append(f"the paper scored {reported.num_samples:,} samples, this table {p.num_samples:,}")
    for name, words in OPTIONAL_FIELDS:
        theirs, ours = getattr(reported, name, None), getattr(p, name, None)
        if theirs is not None and ours is not None and theirs != ours:
            reasons.append(f"{words}: the paper {theirs}, ours {ours}")
    return reasons


def _judge(reported: ReportedResult, ours: Ours, digits: int) -> tuple[str, str]:
    value, mean = reported.value, ours.mean
    if reported.std is not None:
        low, high = value - reported.std, value + reported.std
        inside = low <= mean <= high
        name = SPREAD_NAMES[reported.spread]
        return ((WITHIN if inside else OUTSIDE), f"our mean {mean:.{digits}f} {'lies' if inside else 'does not lie'} in "
                f"the paper's {value:.{digits}f} ± {reported.std:.{digits}f} ({name}), same protocol")
    if ours.spread is not None:
        inside = abs(mean - value) <= ours.spread
        return ((WITHIN if inside else OUTSIDE), f"the paper gives no spread; its {value:.{digits}f} "
                f"{'lies' if inside else 'does not lie'} in our {mean:.{digits}f} ± {ours.spread:.{digits}f} ({ours.spread_name})")
    return NOT_COMPARABLE, "neither side gives a spread (the paper none, ours one seed): no interval to test"


def _candidates(method: str, reported: ReportedResult, boards: list[Leaderboard],
                budgets: dict[str, BoardBudget]) -> list[Ours]:
    column = column_for(reported.metric)
    found = []
    for board in boards:
        if board.protocol.dataset != reported.dataset or column.key not in {m.key for m in board.metrics}:
            continue
        if reported.labels != board.protocol.labels:  # a semi-supervised number is only ever beside its label count
            continue
        for row in board.rows:
            stat = row.stats.get(column.key)
            if row.paper == method and stat is not None and stat.mean is not None:
                found.append(Ours(board, row, stat.mean, stat.std, SPREAD_NAMES.get(board.spread, board.spread),
                                  budgets[board.protocol.slug]))
    return found


def cells_for(entry: PaperEntry, boards: list[Leaderboard], budgets: dict[str, BoardBudget]) -> list[Cell]:
    """One cell per number `entry` reported, in the registry's order."""
    if entry.reproduction is None:
        return []
    cells = []
    for reported in entry.reproduction.reported:
        method = _method(entry, reported)
        column = column_for(reported.metric)
        candidates = _candidates(method, reported, boards, budgets)
        if not candidates:
            cells.append(Cell(entry, method, reported, column, None, None, NOT_RUN,
                              f"no scored run of {method} on {reported.dataset} in the run store", 0))
            continue
        # The matching protocol if we have it; otherwise the table that differs in the fewest ways, most seeds first.
        ranked = sorted(candidates, key=lambda o: (len(protocol_differences(reported, o.board, o.budget)), -o.row.n,
                                                   o.board.protocol.sort_key()))
        ours = ranked[0]
        differences = protocol_differences(reported, ours.board, ours.budget)
        if differences:
            verdict, why, delta = NOT_COMPARABLE, "; ".join(differences), None
        else:
            verdict, why = _judge(reported, ours, column.digits)
            delta = ours.mean - reported.value
        cells.append(Cell(entry, method, reported, column, ours, delta, verdict, why, len(candidates) - 1))
    return cells


def all_cells(registry: Registry, boards: list[Leaderboard], budgets: dict[str, BoardBudget]) -> list[Cell]:
    return [cell for entry in sorted(registry.papers.values(), key=lambda e: (e.year, e.id))
            for cell in cells_for(entry, boards, budgets)]


def verdict_counts(cells: list[Cell]) -> dict[str, int]:
    return {verdict: sum(1 for c in cells if c.verdict == verdict) for verdict in VERDICTS}


def comparable_cells(cells: list[Cell]) -> dict[tuple[str, str, str], Cell]:
    """{(board slug, method, metric): cell} for the cells a leaderboard may show beside its row (same protocol)."""
    return {(c.ours.board.protocol.slug, c.method, c.column.key): c for c in cells
            if c.ours is not None and c.delta is not None}
