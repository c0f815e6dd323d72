"""How the command line prints: plain tables that fit the terminal, one score per line, a run's closing summary.

Imports typer only, so `list` and `status` print without loading torch.
"""

from __future__ import annotations

import shutil

import typer


def print_table(rows: list[dict], columns: list[str]) -> None:
    """A plain table that fits the terminal: the last column is cut to the remaining width."""
    width = shutil.get_terminal_size((120, 20)).columns
    widths = {c: max([len(c)] + [len(str(r[c])) for r in rows]) for c in columns[:-1]}
    room = max(20, width - sum(widths.values()) - 2 * len(widths))
    widths[columns[-1]] = room
    def fmt(values: dict) -> str:
        cells = [str(values[c]).ljust(widths[c]) for c in columns[:-1]]
        last = str(values[columns[-1]])
        cells.append(last if len(last) <= room else last[: room - 1] + "…")
        return "  ".join(cells).rstrip()
    typer.echo(fmt({c: c for c in columns}))
    for row in rows:
        typer.echo(fmt(row))


def print_result(run_dir) -> None:
    """The closing summary: status, scores with their protocol, where the time went, how to see it."""
    from reports.links import run_page

    result = run_dir.read_result()
    progress = result["progress"]
    typer.echo(f"{result['status']} after {progress['g_steps']} G steps, {progress['kimg']:.1f} kimg"
               + (f" ({result['divergence']['reason']})" if result["divergence"] else ""))
    for score in result["scores"]:
        typer.echo(f"  {format_score(score)}")
    final = sum(score["eval_seconds"] for score in result["scores"])
    every = sum(r.get("eval_seconds", 0.0) for r in run_dir.curves() if r.get("kind") == "metric")
    periodic = max(0.0, every - final)  # evaluations during training are inside its clock
    during = f" (of which {periodic:.0f} s periodic evaluation)" if periodic else ""
    typer.echo(f"wall clock: {progress['wall_clock_s']:.0f} s training{during}, {final:.0f} s scoring, "
               f"{progress['wall_clock_s'] + final:.0f} s in all")
    typer.echo(f"results: {run_dir.result_path}")
    root = run_dir.path.parents[3]  # runs/<paper>/<dataset>/<budget>/<run>
    page = run_page(run_dir.path.relative_to(root).as_posix())
    typer.echo(f"see it: gan-bench report --runs-dir {root} --out site   (then open site/{page}; "
               f"curves live: tensorboard --logdir {root})")


def format_score(score: dict) -> str:
    m, p = score["metrics"], score["protocol"]
    if p.get("metric", "fid") != "fid":  # a suite of its own (2D mode coverage, ...): its declared columns
        from harness.metrics.suites import format_metrics

        return f"{format_metrics(p['metric'], m)}  [{p['num_samples']} samples of {p['dataset']}, {p['metric']}]"
    parts = [f"FID {m['fid']:.2f}", f"KID {m['kid_mean']:.4f} ± {m['kid_std']:.4f}"]
    if "is_mean" in m:
        parts.append(f"IS {m['is_mean']:.2f} ± {m['is_std']:.2f}")
    what = f"{p['num_samples']} samples"
    if p.get("task") == "translation":
        what = f"{p['num_samples']} test images translated to {p['domain']}"
    elif p.get("domain"):
        what += f" of {p['domain']}"
    return (f"{', '.join(parts)}  [{what} vs {p['real_samples']} {p['real_split']} images"
            f"{' of ' + p['domain'] if p.get('domain') else ''}, {p['extractor']['label']}]")
