"""`gan-bench sweep` and `gan-bench status`: a grid of runs handed to submitit, and its progress.

Kept out of harness/cli.py so that file stays a thin index of commands; cli.py registers them.
`status` imports neither torch nor submitit's executors: it reads run directories and job outcomes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from harness.errors import GanBenchError


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
    labels: Optional[int] = typer.Option(None, help="each run's --labels (semi-supervised papers)"),
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
        "evaluate": evaluate, "data_root": data_root, "checkpoint_every": checkpoint_every, "labels": labels,
    }, {"kind": executor, "partition": partition, "gpus_per_task": gpus_per_task, "timeout_min": timeout_min,
        "slurm_array_parallelism": array_parallelism})
    from harness.registry import load_registry

    failed = launch(spec, load_registry(), say=typer.echo, dry_run=dry_run)
    if failed:
        typer.echo(f"{failed} jobs failed; `gan-bench status` shows them, relaunching resumes or restarts them", err=True)
        raise typer.Exit(1)


def sweep_status(
    sweep_file: Optional[Path] = SWEEP_FILE,
    papers: Optional[str] = PAPERS,
    datasets: Optional[str] = DATASETS,
    budgets: Optional[str] = BUDGETS,
    seeds: Optional[str] = SEEDS,
    runs_dir: Optional[Path] = SWEEP_RUNS_DIR,
    checkpoint_every: Optional[int] = typer.Option(None, help="as given to `sweep` (it renames the budget)"),
    labels: Optional[int] = typer.Option(None, help="as given to `sweep`"),
    stale_after: float = typer.Option(30.0, help="minutes without a write after which a run without a job is failed"),
) -> None:
    """A sweep's progress: each cell done, running, failed, diverged or pending, and the counts."""
    from harness.cli_output import print_table
    from harness.registry import load_registry
    from harness.sweep import absolute, counts, expand, survey

    spec = absolute(_sweep_spec(sweep_file, {
        **_grid_flags(papers, datasets, budgets, seeds), "runs_dir": runs_dir, "checkpoint_every": checkpoint_every,
        "labels": labels,
    }, {}))
    cells, _ = expand(spec, load_registry())
    states = survey(spec, cells, stale_after)
    rows = [{"paper": s.cell.paper, "dataset": s.cell.dataset, "budget": s.cell.budget_dir, "seed": s.cell.seed,
             "state": s.state + (" (resumable)" if s.resumable else ""), "detail": s.detail} for s in states]
    print_table(rows, ["paper", "dataset", "budget", "seed", "state", "detail"])
    summary = ", ".join(f"{n} {name}" for name, n in counts(states).items())
    typer.echo(f"{len(states)} cells: {summary}")
