"""`gan-bench`: the command line. Thin: each command parses, calls one function, prints.

Heavy imports (torch, torch-fidelity, pandas) happen inside the commands that need them, so
`gan-bench list` and `gan-bench --help` start fast.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Optional

import typer
import yaml

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


def friendly(command: Callable) -> Callable:
    """Bad input ends in one line naming the problem and exit code 2, never a traceback (unless --debug)."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        from harness.exit_codes import exit_for, sigterm_raises

        try:
            with sigterm_raises():
                return command(*args, **kwargs)
        except BaseException as exc:  # noqa: BLE001 - exit_for knows which ones a user can act on
            ending = exit_for(exc)
            if ending is None:
                raise
            if isinstance(exc, GanBenchError) and (_debug or os.environ.get(DEBUG_ENV, "") not in ("", "0")):
                import traceback

                traceback.print_exception(exc)  # with its cause: where a module's import failed
            typer.echo(ending[0], err=True)
            raise typer.Exit(ending[1]) from None

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
    if status is not None and status not in ("catalogued", "implemented", "reproduced"):
        raise GanBenchError(f"unknown status {status!r}; choose catalogued, implemented or reproduced")
    registry = _registry()
    reproduced = _reproduced(runs_dir)
    rows = []
    for entry in sorted(registry.papers.values(), key=lambda e: (e.year, e.id)):
        row = {"id": entry.id, "year": entry.year, "status": registry.status(entry.id, reproduced),
               "category": entry.category, "arxiv": entry.arxiv or "", "sources": ",".join(entry.sources),
               "title": entry.title}
        text = " ".join([entry.id, entry.title, *entry.aliases]).lower()
        if ((status and row["status"] != status) or (category and entry.category != category)
                or (year and entry.year != year) or (source and source not in entry.sources)
                or (search and search.lower() not in text)):
            continue
        rows.append(row)
    if output_format == "json":
        typer.echo(json.dumps(rows, indent=2, ensure_ascii=False))
    elif output_format == "csv":
        import csv

        writer = csv.DictWriter(sys.stdout, fieldnames=list(rows[0]) if rows else ["id"])
        writer.writeheader()
        writer.writerows(rows)
    else:
        _print_table(rows, ["id", "year", "status", "category", "title"])
        typer.echo(f"{len(rows)} of {len(registry.papers)} papers")


def _print_table(rows: list[dict], columns: list[str]) -> None:
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
    for result in spec.reported:
        std = f" ± {result.std}" if result.std is not None else ""
        samples = f", {result.num_samples} samples" if result.num_samples else ""
        typer.echo(f"  reported {result.metric.upper()} on {result.dataset}: {result.value}{std}{samples} — {result.source}")
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
    )
    if seeds is not None:
        from harness.stacked_training import parse_seeds, train_seeds_together

        if seed != 0:
            raise GanBenchError("--seed and --seeds: give one of them")
        for run_dir in train_seeds_together(entry, request, parse_seeds(seeds), say=typer.echo):
            _print_result(run_dir)
        return
    run_dir = train_paper(entry, request, say=typer.echo)
    _print_result(run_dir)


def _print_result(run_dir) -> None:
    """The closing summary: status, scores with their protocol, where the time went, how to see it."""
    from reports.links import run_page

    result = run_dir.read_result()
    progress = result["progress"]
    typer.echo(f"{result['status']} after {progress['g_steps']} G steps, {progress['kimg']:.1f} kimg"
               + (f" ({result['divergence']['reason']})" if result["divergence"] else ""))
    for score in result["scores"]:
        typer.echo(f"  {_format_score(score)}")
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


def _format_score(score: dict) -> str:
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

    _print_result(resume_run(run_dir, _registry(), device, data_root, cache_dir, say=typer.echo))


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
        typer.echo(_format_score(score))


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
def _comma_list(value: Optional[str], flag: str, cast=str) -> Optional[list]:
    if value is None:
        return None
    try:
        return [cast(item.strip()) for item in value.split(",") if item.strip()]
    except ValueError:
        raise GanBenchError(f"{flag} expects a comma-separated list of integers, got {value!r}") from None


def _grid_flags(papers: Optional[str], datasets: Optional[str], budgets: Optional[str], seeds: Optional[str]) -> dict:
    """The grid's comma-separated flags, parsed (None where not given: the sweep file's value stands)."""
    return {"papers": _comma_list(papers, "--papers"), "datasets": _comma_list(datasets, "--datasets"),
            "budgets": _comma_list(budgets, "--budgets"), "seeds": _comma_list(seeds, "--seeds", int)}


def _sweep_spec(sweep_file: Optional[Path], flags: dict, executor_flags: dict):
    """A sweep file with the flags given on the command line laid over it, validated."""
    from harness.sweep import build_spec, read_spec_file

    data = read_spec_file(sweep_file) if sweep_file else {}
    data.update({key: value for key, value in flags.items() if value is not None})
    executor = {key: value for key, value in executor_flags.items() if value is not None}
    if executor:
        data["executor"] = {**(data.get("executor") or {}), **executor}
    if not data.get("papers"):
        raise GanBenchError("give a sweep file (--sweep spec.yaml) or at least --papers")
    return build_spec(data, source=str(sweep_file) if sweep_file else "sweep flags")


SWEEP_FILE = typer.Option(None, "--sweep", help="a sweep YAML file (flags given as well override it)")
PAPERS = typer.Option(None, help="comma-separated paper ids, e.g. dcgan,wgan")
DATASETS = typer.Option(None, help="comma-separated datasets (default: each paper's default)")
BUDGETS = typer.Option(None, help="comma-separated budgets (default: standard)")
SEEDS = typer.Option(None, help="comma-separated seeds, e.g. 0,1,2 (default: 0)")
SWEEP_RUNS_DIR = typer.Option(None, "--runs-dir", help="where run directories are (default: runs)")


@app.command()
@friendly
def sweep(
    sweep_file: Optional[Path] = SWEEP_FILE,
    papers: Optional[str] = PAPERS,
    datasets: Optional[str] = DATASETS,
    budgets: Optional[str] = BUDGETS,
    seeds: Optional[str] = SEEDS,
    runs_dir: Optional[Path] = SWEEP_RUNS_DIR,
    device: Optional[str] = typer.Option(None, help="each run's --device (default: auto)"),
    evaluate: Optional[bool] = typer.Option(None, "--eval/--no-eval", help="score each run (default: yes)"),
    data_root: Optional[Path] = typer.Option(None, help="each run's --data-root"),
    checkpoint_every: Optional[int] = typer.Option(None, help="each run's --checkpoint-every"),
    executor: Optional[str] = typer.Option(None, help="local, slurm or debug (default: local)"),
    partition: Optional[str] = typer.Option(None, help="SLURM partition"),
    gpus_per_task: Optional[int] = typer.Option(None, help="GPUs per run; more than 1 runs it with torchrun (DDP)"),
    timeout_min: Optional[int] = typer.Option(None, help="time limit per job, in minutes"),
    array_parallelism: Optional[int] = typer.Option(None, help="SLURM array jobs running at once"),
    dry_run: bool = typer.Option(False, "--dry-run", help="print what would be started or resumed"),
) -> None:
    """Run papers x datasets x budgets x seeds through submitit (local or SLURM); relaunch to resume."""
    from harness.executors import launch

    spec = _sweep_spec(sweep_file, {
        **_grid_flags(papers, datasets, budgets, seeds), "runs_dir": runs_dir, "device": device,
        "evaluate": evaluate, "data_root": data_root, "checkpoint_every": checkpoint_every,
    }, {"kind": executor, "partition": partition, "gpus_per_task": gpus_per_task, "timeout_min": timeout_min,
        "slurm_array_parallelism": array_parallelism})
    failed = launch(spec, _registry(), say=typer.echo, dry_run=dry_run)
    if failed:
        typer.echo(f"{failed} jobs failed; `gan-bench status` shows them, relaunching resumes or restarts them", err=True)
        raise typer.Exit(1)


@app.command("status")
@friendly
def sweep_status(
    sweep_file: Optional[Path] = SWEEP_FILE,
    papers: Optional[str] = PAPERS,
    datasets: Optional[str] = DATASETS,
    budgets: Optional[str] = BUDGETS,
    seeds: Optional[str] = SEEDS,
    runs_dir: Optional[Path] = SWEEP_RUNS_DIR,
    checkpoint_every: Optional[int] = typer.Option(None, help="as given to `sweep` (it renames the budget)"),
    stale_after: float = typer.Option(30.0, help="minutes without a write after which a run without a job is failed"),
) -> None:
    """A sweep's progress: each cell done, running, failed, diverged or pending, and the counts."""
    from harness.sweep import absolute, counts, expand, survey

    spec = absolute(_sweep_spec(sweep_file, {
        **_grid_flags(papers, datasets, budgets, seeds), "runs_dir": runs_dir, "checkpoint_every": checkpoint_every,
    }, {}))
    cells, _ = expand(spec, _registry())
    states = survey(spec, cells, stale_after)
    rows = [{"paper": s.cell.paper, "dataset": s.cell.dataset, "budget": s.cell.budget_dir, "seed": s.cell.seed,
             "state": s.state + (" (resumable)" if s.resumable else ""), "detail": s.detail} for s in states]
    _print_table(rows, ["paper", "dataset", "budget", "seed", "state", "detail"])
    summary = ", ".join(f"{n} {name}" for name, n in counts(states).items())
    typer.echo(f"{len(states)} cells: {summary}")


if __name__ == "__main__":  # pragma: no cover
    app()
