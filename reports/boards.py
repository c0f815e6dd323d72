"""A leaderboard as the index page shows it: the table from reports.tables plus what a reader needs to
trust it at a glance — the budget legend, method names with their links, a sample thumbnail per row,
the paper's number only where it was measured the same way, and columns that are the same in every
row moved into the caption (a column that never varies tells nothing per row)."""

from __future__ import annotations

from dataclasses import dataclass, field

from harness.metrics.suites import Column
from harness.registry import Registry
from reports import links
from reports.budgets import BoardBudget
from reports.methods import Method, method
from reports.reproduction import Cell
from reports.tables import Leaderboard

MIN_SEEDS_FOR_BEST = 3  # fewer seeds than this and a "best" mark would rank noise


@dataclass
class BoardView:
    board: Leaderboard
    budget: BoardBudget
    methods: dict[str, Method]  # by row name
    thumbnails: dict[str, str]  # row name -> samples.png of one of its runs, relative to the site root
    cells: dict[tuple[str, str], Cell]  # (row name, metric key) -> the comparable reproduction cell
    metrics: tuple[Column, ...]  # the metric columns some row has a value in
    empty_metrics: tuple[Column, ...]  # columns no row has (e.g. IS from an extractor without it)
    constant: dict[str, str] = field(default_factory=dict)  # column -> its one value, for the caption
    shown: tuple[str, ...] = ()  # the per-row columns kept: kimg, device, status

    @property
    def protocol(self):
        return self.board.protocol

    @property
    def compared_metrics(self) -> list[str]:
        """Metrics with a "paper" column: only those where some row's cell was measured like the paper's."""
        return [m.key for m in self.metrics if any(key[1] == m.key for key in self.cells)]

    @property
    def legend(self) -> list[tuple[str, str]]:
        """The budget legend: every table carries it, whatever the columns."""
        p, b = self.board.protocol, self.budget
        kimg = b.kimg_range
        kimg_text = "—" if kimg is None else (f"{kimg[0]:,.2f}" if kimg[0] == kimg[1] else f"{kimg[0]:,.2f}–{kimg[1]:,.2f}")
        items = [("budget", p.budget), ("G steps", b.schedule_text.split(" G steps")[0]),
                 ("batch", ", ".join(f"{v:,}" for v in sorted(b.batch_sizes)) or "—"), ("kimg", kimg_text),
                 ("samples", f"{p.num_samples:,}" if p.num_samples else "not scored")]
        if p.metric == "fid":
            items += [("real", f"{p.real_samples:,} {p.real_split} images" if p.real_samples else "—"),
                      ("extractor", p.extractor or "—"), ("resolution", f"{p.resolution} px" if p.resolution else "—")]
        else:
            items += [("metric", p.metric + (f" ({b.detail})" if b.detail else "")), ("extractor", "none (not an image suite)")]
        return items

    @property
    def summary(self) -> str:
        """The table's protocol in one line, for the index's table of contents."""
        p = self.board.protocol
        if not p.scored:
            return "not scored (--no-eval)"
        if p.metric != "fid":
            return f"{p.num_samples:,} generated samples · {p.metric}" + (f" ({self.budget.detail})" if self.budget.detail else "")
        return f"{p.samples_text} · {p.resolution} px · {p.extractor}"

    def best(self, row, key: str) -> bool:
        return key in row.best and row.n >= MIN_SEEDS_FOR_BEST


def _thumbnails(board: Leaderboard, with_samples: set[str]) -> dict[str, str]:
    thumbs = {}
    for row in board.rows:
        for link in row.runs:
            if link.run_id in with_samples:
                thumbs[row.paper] = links.run_dir(link.run_id) + "/samples.png"
                break
    return thumbs


def _constant_columns(board: Leaderboard) -> tuple[dict[str, str], tuple[str, ...]]:
    rows = board.rows
    constant, shown = {}, []
    kimgs = {(r.kimg, r.kimg_range) for r in rows}
    devices = {tuple(r.devices) for r in rows}
    statuses = {r.status_text.split(" ", 1)[-1] if len(r.status) == 1 else r.status_text for r in rows}
    if len(kimgs) > 1:  # when every row trained the same kimg, the legend's kimg says it
        shown.append("kimg")
    if len(devices) == 1:
        constant["device"] = ", ".join(next(iter(devices))) or "—"
    else:
        shown.append("device")
    if len(statuses) == 1 and all(len(r.status) == 1 for r in rows):
        constant["status"] = f"every run {next(iter(statuses))}"
    else:
        shown.append("status")
    return constant, tuple(shown)


def board_view(board: Leaderboard, budget: BoardBudget, registry: Registry, with_samples: set[str],
               comparable: dict[tuple[str, str, str], Cell]) -> BoardView:
    slug = board.protocol.slug
    metrics = tuple(m for m in board.metrics if any(r.stats[m.key].mean is not None for r in board.rows))
    empty = tuple(m for m in board.metrics if m not in metrics)
    if not board.protocol.scored:
        metrics, empty = (), ()
    cells = {(row, key): cell for (board_slug, row, key), cell in comparable.items() if board_slug == slug}
    constant, shown = _constant_columns(board)
    return BoardView(board, budget, {r.paper: method(r.paper, registry) for r in board.rows},
                     _thumbnails(board, with_samples), cells, metrics, empty, constant, shown)
