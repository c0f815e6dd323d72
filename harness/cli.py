"""`gan-bench`: the command line. Thin: each command parses, calls one function, prints.

Heavy imports (torch, torch-fidelity, pandas) happen inside the commands that need them, so
`gan-bench list` and `gan-bench --help` start fast.
"""

from __future__ import annotations

import functools
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Optional

import typer
import yaml

from harness.cli_output import format_score, print_result, print_table
from harness.errors import GanBenchError

if TYPE_CHECKING:  # the registry (pydantic) is imported by the commands that need it, not by --help
    from harness.registry import Registry

app = typer.Typer(
    help="Runnable, comparable reproductions of the GAN literature.",
    no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False, rich_markup_mode=None,
)


DEBUG_ENV = "GAN_BENCH_DEBUG"
_debug = False  # set by --debug, for this invocation


@app.callback()
def main(debug: bool = typer.Option(False, "--debug", help=f"print the traceback behind an error line (or {DEBUG_ENV}=1)")) -> None:
    global _debug
    _debug = debug


def _debugging() -> bool:
    return _debug or os.environ.get(DEBUG_ENV, "") not in ("", "0")


def friendly(command: Callable) -> Callable:
    """Bad input ends in one line naming the problem and exit code 2, never a traceback (unless --debug).

    A bug in a paper's own code (harness.paper_code) is not bad input: one "internal error" line naming
    its file and line, exit 1, and its traceback under --debug."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        from harness.exit_codes import exit_for, sigterm_raises
        from harness.paper_code import PaperCodeError

        try:
            with sigterm_raises():
                return command(*args, **kwargs)
        except BaseException as exc:  # noqa: BLE001 - exit_for knows which ones a user can act on
            ending = (str(exc), 1) if isinstance(exc, PaperCodeError) else exit_for(exc)
            if ending is None:
                raise
            line, code = ending
            if isinstance(exc, (GanBenchError, PaperCodeError)) and _debugging():
                import traceback

                traceback.print_exception(exc)  # with its cause: where a module's import failed
            elif isinstance(exc, PaperCodeError):
                line += " (--debug prints the traceback)"
            typer.echo(line, err=True)
            raise typer.Exit(code) from None

    return wrapper


def _registry() -> "Registry":
    from harness.registry import load_registry

    return load_registry()


def _reproduced(runs_dir: Path) -> set[str]:
    if not runs_dir.is_dir():
        return set()
    from harness.runstore import reproduced_papers

    return reproduced_papers(runs_dir)


# ------------------------------------------------------------------------------------------------ list
@app.command("list")
@friendly
def list_papers(
    status: Optional[str] = typer.Option(None, help="catalogued, implemented or reproduced"),
    category: Optional[str] = typer.Option(None, help="e.g. loss, architecture, image-to-image"),
    year: Optional[int] = typer.Option(None),
    source: Optional[str] = typer.Option(None, help="a source document id (000-004)"),
    search: Optional[str] = typer.Option(None, "--search", "-s", help="case-insensitive text in the title, id or aliases"),
    output_format: str = typer.Option("table", "--format", help="table, csv or json"),
    runs_dir: Path = typer.Option(Path("runs"), "--runs-dir", help="where results are read from, for the status"),
) -> None:
    """The registry: id, year, status, category and title of every paper."""
    if output_format not in ("table", "csv", "json"):
        raise GanBenchError(f"unknown format {output_format!r}; choose table, csv or json")
    registry = _registry()
    reproduced = _reproduced(runs_dir)
    entries = registry.select(reproduced, status=status, category=category, year=year, source=source, search=search)
    rows = [{"id": entry.id, "year": entry.year, "status": registry.status(entry.id, reproduced),
             "category": entry.category, "arxiv": entry.arxiv or "", "sources": ",".join(entry.sources),
             "title": entry.title} for entry in entries]
    if output_format == "json":
        typer.echo(json.dumps(rows, indent=2, ensure_ascii=False))
    elif output_format == "csv":
        import csv

        writer = csv.DictWriter(sys.stdout, fieldnames=list(rows[0]) if rows else ["id"])
        writer.writeheader()
        writer.writerows(rows)
    else:
        print_table(rows, ["id", "year", "status", "category", "title"])
        typer.echo(f"{len(rows)} of {len(registry.papers)} papers")


# ------------------------------------------------------------------------------------------------ show
@app.command()
@friendly
def show(paper: str = typer.Argument(..., help="a paper id, e.g. dcgan")) -> None:
    """One entry: the paper, its reproduction defaults per dataset, the numbers it reported."""
    entry = _registry().get(paper)
    data = entry.model_dump(mode="json", exclude_none=True, exclude={"reproduction"})
    typer.echo(yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100).rstrip())
    spec = entry.reproduction
    if spec is None:
        typer.echo("reproduction: none (catalogued only)")
        return
    typer.echo(f"reproduction:\n  module: {spec.module}\n  datasets: {', '.join(spec.datasets)} (default {spec.dataset})")
    _show_hyperparameters(entry)
    budget = spec.paper_budget.model_dump(exclude_none=True)
    typer.echo(f"  paper budget: {budget or 'as standard'}")
    for dataset, own in spec.per_dataset_budget.items():
        typer.echo(f"  paper budget on {dataset}: {spec.paper_budget_for(dataset).model_dump(exclude_none=True)}")
    if spec.batch_size is not None:
        typer.echo(f"  batch size {spec.batch_size} in every budget (the method depends on it)")
    if spec.labels is not None:
        typer.echo(f"  semi-supervised: {spec.labels} labels by default (--labels N)")
    for result in spec.reported:
        std = f" ± {result.std}" if result.std is not None else ""
        samples = f", {result.num_samples} samples" if result.num_samples else ""
        real = (f" vs {result.real_samples or 'unstated'} real ({result.real_split or 'split unstated'})"
                if result.metric in ("fid", "kid") else "")
        splits = f", {result.is_splits} splits" if result.is_splits else ""
        how = f", {result.extractor}" if result.extractor else ""
        how += f", {result.labels} labels" if result.labels else ""
        how += f", {result.trials} runs" if result.trials else ""
        typer.echo(f"  reported {result.metric.upper()} on {result.dataset}: {result.value}{std}{samples}{real}{splits}{how}"
                   f" — {result.source}")
    for deviation in spec.deviations:
        typer.echo(f"  deviation: {deviation}")


def _show_hyperparameters(entry) -> None:
    """Each dataset's hyperparameters: the module's defaults read from its source (importing it would
    load torch: seconds), overlaid with the registry's values. `validate` checks their types."""
    from harness.hyperparameter_layers import merge_layers, registry_layers
    from harness.module_source import static_defaults

    spec = entry.reproduction
    defaults = static_defaults(spec.module)
    for dataset in spec.datasets:
        if defaults is None:  # not plain literals: show what the registry sets, and say so
            values = {k: v for layer in registry_layers(entry, dataset) for k, v in layer.values.items()}
            note = " (registry values only; the module's defaults are not literals)"
        else:
            values, note = merge_layers(defaults, registry_layers(entry, dataset), spec.module)[0], ""
        pixels = f" ({values['resolution']}px)" if values.get("resolution") else ""
        shown = ", ".join(f"{k}={v}" for k, v in values.items() if k != "resolution")
        typer.echo(f"  hyperparameters on {dataset}{pixels}: {shown}{note}")


# -------------------------------------------------------------------------------------------- validate
@app.command()
@friendly
def validate() -> None:
    """Check every registry file against the schema, and every reproduction's settings against its module."""
    registry = _registry()
    typer.echo(f"importing {len(registry.implemented())} reproduction modules (this loads torch) to check every "
               f"registry hyperparameter against its module's Hyperparameters, by name and type")
    from harness.experiment import configure
    from harness.run_inputs import check_data_kind

    for entry in registry.implemented():
        for dataset in entry.reproduction.datasets:
            for variant in [None, *entry.reproduction.variants]:
                cls, _, _ = configure(entry, dataset, variant=variant)  # every hyperparameter name and type
            check_data_kind(entry.id, cls, dataset)  # a dataset of a kind the networks are built for
    typer.echo(f"registry OK: {len(registry.papers)} papers ({len(registry.implemented())} implemented), "
               f"{len(registry.resources)} resources, {len(registry.sources)} source documents")


# ------------------------------------------------------------------------------------------------- run
def _parse_sets(values: list[str]) -> dict:
    from harness.overrides import parse_sets

    return parse_sets(values)


@app.command()
@friendly
def run(
    paper: str = typer.Argument(..., help="a paper id, e.g. dcgan, or paper@variant, e.g. unrolled-gan@k5"),
    dataset: Optional[str] = typer.Option(None, help="default: the entry's default dataset"),
    variant: Optional[str] = typer.Option(None, help="a registry variant (default: the entry's default_variant)"),
    budget: str = typer.Option("quick", help="smoke, quick, standard or paper"),
    seed: int = typer.Option(0),
    seeds: Optional[str] = typer.Option(None, help="train these seeds together, e.g. 0-4 or 0,2,5: one run directory each (papers that declare stackable seeds)"),
    device: str = typer.Option("auto", help="auto, cpu, cuda or cuda:N"),
    data_root: Optional[Path] = typer.Option(None, help="dataset files (default $GAN_BENCH_DATA or ./data)"),
    download: bool = typer.Option(True, help="download missing datasets with torchvision"),
    runs_dir: Path = typer.Option(Path("runs"), "--runs-dir", help="where run directories are written"),
    extractor: str = typer.Option("auto", help="auto, torch-fidelity or torchscript"),
    extractor_weights: Optional[Path] = typer.Option(None, help="weights file for --extractor"),
    evaluate: bool = typer.Option(True, "--eval/--no-eval", help="score the run with FID/KID (and IS)"),
    g_steps: Optional[int] = typer.Option(None, help="override the budget's generator steps"),
    batch_size: Optional[int] = typer.Option(None, help="override the budget's batch size"),
    kimg: Optional[float] = typer.Option(None, help="stop after this many thousand real images shown to D"),
    wall_clock: Optional[float] = typer.Option(None, help="stop after this many seconds of training"),
    eval_samples: Optional[int] = typer.Option(None, help="override the number of generated samples scored"),
    real_samples: Optional[int] = typer.Option(None, help="override the number of real images for statistics"),
    real_split: Optional[str] = typer.Option(None, help="train or test: the real split statistics come from"),
    checkpoint_every: Optional[int] = typer.Option(None, help="save a checkpoint every N G steps"),
    set_: list[str] = typer.Option([], "--set", help="override a hyperparameter, key=value (repeatable)"),
    cache_dir: Optional[Path] = typer.Option(None, help="feature cache (default $GAN_BENCH_CACHE or ~/.cache/gan-bench)"),
    amp: str = typer.Option("off", help="off or bf16: autocast the training step"),
    channels_last: bool = typer.Option(False, help="networks and batches in NHWC"),
    compile_: bool = typer.Option(False, "--compile", help="torch.compile each network's forward"),
    data_on_device: bool = typer.Option(True, help="hold the dataset on the training device"),
    labels: Optional[int] = typer.Option(None, help="semi-supervised: N labelled training examples in all, N/K per class (default: the entry's, if any)"),
) -> None:
    """Train a paper's reproduction under a budget, score it, and write a run directory."""
    from harness.acceleration import Acceleration
    from harness.experiment import RunRequest, train_paper

    paper, _, named = paper.partition("@")
    entry = _registry().get(paper)
    request = RunRequest(
        paper=paper, dataset=dataset, variant=variant or named or None, budget=budget, seed=seed, device=device, data_root=data_root, download=download,
        runs_root=runs_dir, extractor=extractor, extractor_weights=extractor_weights, evaluate=evaluate,
        budget_overrides={"g_steps": g_steps, "batch_size": batch_size, "kimg": kimg, "wall_clock_s": wall_clock,
                          "eval_samples": eval_samples, "real_samples": real_samples, "real_split": real_split,
                          "checkpoint_every": checkpoint_every},
        hyperparameters=_parse_sets(set_), cache=cache_dir,
        acceleration=Acceleration(amp=amp, channels_last=channels_last, compile=compile_,
                                  data_on_device=data_on_device),
        labels=labels,
    )
    if seeds is not None:
        from harness.stacked_training import parse_seeds, train_seeds_together

        if seed != 0:
            raise GanBenchError("--seed and --seeds: give one of them")
        for run_dir in train_seeds_together(entry, request, parse_seeds(seeds), say=typer.echo):
            print_result(run_dir)
        return
    run_dir = train_paper(entry, request, say=typer.echo)
    print_result(run_dir)


@app.command()
@friendly
def resume(
    run_dir: Path = typer.Argument(..., help="an interrupted run directory"),
    device: Optional[str] = typer.Option(None, help="default: the device the run started on"),
    data_root: Optional[Path] = typer.Option(None),
    cache_dir: Optional[Path] = typer.Option(None),
) -> None:
    """Continue an interrupted run (killed, preempted, Ctrl-C) from its last checkpoint."""
    from harness.experiment import resume_run

    print_result(resume_run(run_dir, _registry(), device, data_root, cache_dir, say=typer.echo))


# -------------------------------------------------------------------------------------------- evaluate
@app.command()
@friendly
def evaluate(
    run_dir: Path = typer.Argument(..., help="a run directory, runs/<paper>/<dataset>/<budget>/<run>"),
    device: str = typer.Option("auto"),
    data_root: Optional[Path] = typer.Option(None),
    extractor: Optional[str] = typer.Option(None, help="default: the extractor the run was scored with"),
    extractor_weights: Optional[Path] = typer.Option(None),
    samples: Optional[int] = typer.Option(None, help="generated samples (default: the run's budget)"),
    cache_dir: Optional[Path] = typer.Option(None),
) -> None:
    """Re-score a finished run from its checkpoint; the score is added to its result.json."""
    from harness.experiment import evaluate_run

    if samples is not None and samples <= 0:
        raise GanBenchError(f"--samples must be positive, got {samples}")
    scores = evaluate_run(run_dir, _registry(), device, data_root, extractor, extractor_weights, samples, cache_dir,
                          say=typer.echo)
    for score in scores:
        typer.echo(format_score(score))


from harness.score_real_command import score_real as _score_real  # noqa: E402  (imports typer only)

app.command("score-real")(friendly(_score_real))


# ---------------------------------------------------------------------------------------------- report
@app.command()
@friendly
def report(
    runs_dir: Path = typer.Option(Path("runs"), "--runs-dir"),
    out: Path = typer.Option(Path("site"), help="output folder for the site"),
    formats: list[str] = typer.Option([], "--format", help="also write the leaderboards as md and/or csv (repeatable or comma-separated)"),
) -> None:
    """Write a static site: leaderboards per protocol, a page per run and per paper, the catalogue."""
    from reports.render import render_site

    wanted = [name.strip() for value in formats for name in value.split(",") if name.strip()]
    index = render_site(runs_dir, _registry(), out, wanted)
    typer.echo(f"wrote {index}")
    for name in ("leaderboards.md", "leaderboards.csv"):
        if name.rsplit(".", 1)[1] in wanted:
            typer.echo(f"wrote {out / name}")


# ----------------------------------------------------------------------------------- sweep, status
from harness.sweep_commands import sweep, sweep_status  # noqa: E402  (imports typer only)

app.command()(friendly(sweep))
app.command("status")(friendly(sweep_status))


if __name__ == "__main__":  # pragma: no cover
    app()
