"""The leaderboards as Markdown (for a README or an issue) and CSV (for pandas), via DataFrames.

CSV is one tidy table with the protocol in its first columns, raw numbers at full precision;
Markdown is one table per protocol with the numbers formatted as on the site. Markdown is written
by a small helper rather than DataFrame.to_markdown, which would add `tabulate` as a dependency.
"""

from __future__ import annotations

import pandas as pd

from reports import formatting as fmt
from reports.tables import Leaderboard, Row

PROTOCOL_COLUMNS = ("dataset", "budget", "num_samples", "real_split", "real_samples", "extractor", "resolution")
COMPARISON_PARTS = ("mean", "std", "paper", "paper_samples", "delta")


def csv_frame(boards: list[Leaderboard]) -> pd.DataFrame:
    records = []
    for board in boards:
        protocol = {name: getattr(board.protocol, name) for name in PROTOCOL_COLUMNS}
        for row in board.rows:
            record = {**protocol, "paper": row.paper, "seeds": row.n, "seed_list": " ".join(map(str, row.seeds))}
            for metric in board.metrics:
                stat, comparison = row.stats[metric.key], row.comparisons.get(metric.key)
                record[f"{metric.key}_mean"] = stat.mean
                record[f"{metric.key}_std"] = stat.std
                record[f"{metric.key}_paper"] = comparison.reported.value if comparison else None
                record[f"{metric.key}_paper_samples"] = comparison.reported.num_samples if comparison else None
                record[f"{metric.key}_delta"] = comparison.delta if comparison else None
            record.update({"kimg": row.kimg, "wall_clock_s": row.wall_clock_s, "devices": "; ".join(row.devices),
                           "status": row.status_text, "best": " ".join(sorted(row.best))})
            records.append(record)
    metrics = list(dict.fromkeys(m.key for board in boards for m in board.metrics)) or ["fid", "is", "kid"]
    columns = [*PROTOCOL_COLUMNS, "paper", "seeds", "seed_list",
               *[f"{key}_{part}" for key in metrics for part in COMPARISON_PARTS],
               "kimg", "wall_clock_s", "devices", "status", "best"]
    return pd.DataFrame.from_records(records, columns=columns)  # the header even when there are no runs


def display_frame(board: Leaderboard) -> pd.DataFrame:
    """One leaderboard with the site's columns and formatting (best values in bold)."""

    def cells(row: Row) -> dict[str, str]:
        record = {"paper": row.paper}
        for metric in board.metrics:
            stat = row.stats[metric.key]
            text = fmt.mean_std(stat.mean, stat.std, metric.digits)
            record[metric.label] = f"**{text}**" if metric.key in row.best else text
            if metric.key in board.reported_metrics:
                comparison = row.comparisons.get(metric.key)
                reported = comparison.reported if comparison else None
                record[f"paper {metric.label}"] = fmt.mean_std(reported.value, reported.std, metric.digits) if reported else fmt.DASH
                if reported and reported.trials:  # how many runs the paper's ± is over
                    record[f"paper {metric.label}"] += f" ({reported.trials} runs)"
                mark = "" if comparison is None or comparison.same_samples or comparison.delta is None else "*"
                inside = "" if comparison is None or comparison.within is None else (" in" if comparison.within else " out")
                record[f"Δ {metric.label}"] = (fmt.signed(comparison.delta, metric.digits) + mark + inside) if comparison else fmt.DASH
        record.update({"samples": fmt.count(row.num_samples), "seeds": str(row.n), "kimg": fmt.kimg(row.kimg),
                       "wall-clock": fmt.duration(row.wall_clock_s), "device": ", ".join(row.devices),
                       "status": row.status_text})
        return record

    return pd.DataFrame.from_records([cells(row) for row in board.rows])


# Characters Markdown (and the HTML it may carry) gives a meaning to; text from result.json is shown as text.
_MARKDOWN_SPECIAL = str.maketrans({c: "\\" + c for c in "\\`*[]|"} | {
    "<": "&lt;", ">": "&gt;", "&": "&amp;", "\n": " ", "\r": " "})
_TEXT_COLUMNS = ("paper", "device", "status")


def markdown_text(value: object) -> str:
    """`value` as literal Markdown text: no tags, links, emphasis or table breaks survive."""
    return str(value).translate(_MARKDOWN_SPECIAL)


def _markdown_table(frame: pd.DataFrame) -> str:
    def cell(column: str, value: object) -> str:
        # Number cells are ours (digits, ±, and ** for the best); text cells come from run files.
        return markdown_text(value) if column in _TEXT_COLUMNS else str(value).replace("|", "\\|")

    numeric = {c for c in frame.columns if c not in _TEXT_COLUMNS}
    lines = ["| " + " | ".join(markdown_text(c) for c in frame.columns) + " |",
             "|" + "|".join("---:" if c in numeric else "---" for c in frame.columns) + "|"]
    lines += ["| " + " | ".join(cell(c, v) for c, v in zip(frame.columns, values)) + " |"
              for values in frame.itertuples(index=False)]
    return "\n".join(lines)


def protocol_line(board: Leaderboard) -> str:
    p = board.protocol
    if not p.scored:
        return "not scored (trained with --no-eval)"
    spread = "standard error over seeds" if board.spread == "stderr" else "sample std over seeds"
    if p.metric != "fid":
        return f"{p.samples_text} · ± is the {spread}; in/out: the paper's value inside our mean ± spread"
    return f"{p.samples_text} · {p.resolution} px · extractor {p.extractor}"


def reproduction_markdown(cells) -> list[str]:
    """The reproduction view as one table: each reported number with its source as text, ours, Δ, verdict."""
    if not cells:
        return []
    lines = ["## Paper vs ours", "",
             "Each number a paper reported, its source, and ours at the nearest protocol; no Δ where the protocols differ.", "",
             "| method | dataset | metric | paper | source | ours | Δ | verdict | why |", "|---|---|---|---:|---|---:|---:|---|---|"]
    for c in cells:
        digits = c.column.digits
        paper = fmt.mean_std(c.reported.value, c.reported.std, digits) + (f" ({c.paper_spread_name})" if c.reported.std is not None else "")
        ours = (fmt.mean_std(c.ours.mean, c.ours.spread, digits) + f" ({c.ours.row.n} seeds, {c.ours.board.protocol.budget})"
                if c.ours else fmt.DASH)
        values = [c.method, c.reported.dataset, c.column.label, paper, c.reported.source, ours, fmt.signed(c.delta, digits),
                  c.verdict, c.why]
        lines.append("| " + " | ".join(markdown_text(v) for v in values) + " |")
    return [*lines, ""]


def markdown(boards: list[Leaderboard], cells=()) -> str:
    parts = ["# gan-bench leaderboards", "",
             "One table per protocol; values are mean ± spread over seeds (each table says which spread). "
             "A paper's number stands beside ours only when it was measured under the table's protocol; "
             "the others are listed under the table with the reason.", ""]
    for board in boards:
        parts += [f"## {markdown_text(board.protocol.title)}", "", markdown_text(protocol_line(board)), "",
                  _markdown_table(display_frame(board)), ""]
        notes = ([board.floor_line] if board.floor_line else []) + board.apart_lines
        parts += [f"- {markdown_text(line)}" for line in notes] + ([""] if notes else [])
    if not boards:
        parts += ["No runs yet.", ""]
    parts += reproduction_markdown(list(cells))
    return "\n".join(parts)


def _inert_in_spreadsheets(value: object) -> object:
    """A text cell a spreadsheet would run as a formula (=, +, -, @) or show as markup, made inert."""
    if not isinstance(value, str):
        return value
    value = value.replace("<", "&lt;").replace(">", "&gt;")
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


EXPORT_FILES = {"md": "leaderboards.md", "csv": "leaderboards.csv"}


def exports_of(formats: set[str]) -> tuple[str, ...]:
    """The export files `formats` asks for, by name (the index links them)."""
    return tuple(EXPORT_FILES[f] for f in sorted(formats) if f in EXPORT_FILES)


def exports(boards: list[Leaderboard], formats: set[str], cells=()) -> dict[str, bytes]:
    """`cells`: the reproduction view's (reports.reproduction.Cell), appended to the Markdown with their sources."""
    files: dict[str, bytes] = {}
    if "md" in formats:
        files["leaderboards.md"] = markdown(boards, cells).encode("utf-8")
    if "csv" in formats:
        frame = csv_frame(boards).map(_inert_in_spreadsheets)
        files["leaderboards.csv"] = frame.to_csv(index=False, lineterminator="\n").encode("utf-8")
    return files
