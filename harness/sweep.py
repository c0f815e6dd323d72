"""A sweep: papers × datasets × budgets × seeds, each cell one ordinary `gan-bench run`.

A cell is identified by (method, dataset, budget, seed), the method being the paper or registry
variant (`pacgan@m2`), the entry's `version` and the sweep's `hyperparameters` that differ from the
entry's defaults (harness.method_identity). It is found on disk where `gan-bench run` puts it
(harness.runstore's layout), and a run there counts for the cell only when its record names the same
method: a hand-started run counts as much as a submitted one, but a `--set` run or one of an older
entry version never completes the default's cell, and the run store stays the only record of results. What this module decides, from
the run store and the ledger of submitted jobs (harness.executors), is each cell's state:

    done      a result.json with status finished
    diverged  a result.json with status diverged (final too: re-running the same seed diverges again)
    running   its job is alive, or (no job known) a run dir without result written to recently
    failed    its job failed, or a run dir without result went stale; resumable if it has a checkpoint
    pending   nothing yet (or its job is queued)

and so what a (re-)launch does: skip done/diverged/running/queued cells, `gan-bench resume` the
newest resumable run of a failed cell, start every other cell fresh.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal, Optional

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from harness.budget import BUDGET_NAMES, Budget, resolve_budget
from harness.errors import GanBenchError
from harness.method_identity import MethodIdentity, differing, pairs, static_entry_defaults
from harness.registry import Registry
from harness.runstore import CONFIG_FILE, RESULT_FILE, RunDir, cell_folder, row_name, seed_runs
from harness.seeds import seed_problem
from harness.sweep_ledger import ledger_record
from harness.yaml_limits import MAX_YAML_VALUES, too_large

State = Literal["done", "diverged", "running", "failed", "pending"]
STATES: tuple[State, ...] = ("done", "diverged", "running", "failed", "pending")
# A run writes curves every `log_every` steps and checkpoints; a long final scoring writes nothing
# for a while, so "stale" is generous. Only used when no job is known for the cell.
DEFAULT_STALE_AFTER_MIN = 30.0


# ------------------------------------------------------------------------------------------ spec
class ExecutorSpec(BaseModel):
    """Where the cells run: submitit's local executor, SLURM, or in-process (debug)."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["local", "slurm", "debug"] = "local"
    folder: Optional[Path] = None  # submitit's pickles, logs and our ledger; default <runs_dir>/.submitit
    timeout_min: int = Field(24 * 60, gt=0)  # per job (SLURM --time); past it a job checkpoints and requeues
    max_requeues: int = Field(3, ge=0)  # timeouts/preemptions a job may be requeued after
    gpus_per_task: int = Field(1, ge=1)  # GPUs per run; more than 1 runs it under torchrun (DDP)
    cpus_per_task: Optional[int] = Field(None, gt=0)
    mem_gb: Optional[float] = Field(None, gt=0)
    partition: Optional[str] = None
    account: Optional[str] = None
    qos: Optional[str] = None
    constraint: Optional[str] = None
    slurm_array_parallelism: int = Field(32, gt=0)  # cells of one array running at once
    slurm_additional_parameters: dict[str, object] = Field(default_factory=dict)  # any other sbatch option


class SweepSpec(BaseModel):
    """A sweep file (YAML) or the equivalent `gan-bench sweep` flags; unknown keys are errors."""

    model_config = ConfigDict(extra="forbid")

    papers: list[str] = Field(min_length=1)  # entry ids, or `paper@variant` for a registry variant
    datasets: Optional[list[str]] = None  # default: each paper's default dataset
    budgets: list[str] = Field(default_factory=lambda: ["standard"], min_length=1)
    seeds: list[int] = Field(default_factory=lambda: [0], min_length=1)
    runs_dir: Path = Path("runs")
    device: str = "auto"
    evaluate: bool = True
    extractor: str = "auto"
    data_root: Optional[Path] = None
    checkpoint_every: Optional[int] = Field(None, gt=0)  # passed to each run (note: it renames the budget)
    g_steps: Optional[int] = Field(None, gt=0)  # each run's --g-steps (renames the budget too): tests, trials
    hyperparameters: dict[str, Any] = Field(default_factory=dict)  # each run's --set key=value (a method of its own)
    labels: Optional[int] = Field(None, gt=0)  # each run's --labels (semi-supervised papers; default: each entry's)
    executor: ExecutorSpec = Field(default_factory=ExecutorSpec)

    @field_validator("seeds")
    @classmethod
    def _seeds(cls, seeds: list[int]) -> list[int]:
        problems = [seed_problem(s) for s in seeds if seed_problem(s)]
        if problems:
            raise ValueError(problems[0])
        return list(dict.fromkeys(seeds))

    @field_validator("budgets")
    @classmethod
    def _budgets(cls, budgets: list[str]) -> list[str]:
        unknown = [b for b in budgets if b not in BUDGET_NAMES]
        if unknown:
            raise ValueError(f"unknown budget {unknown[0]!r}; choose from {', '.join(BUDGET_NAMES)}")
        return list(dict.fromkeys(budgets))

    @property
    def folder(self) -> Path:
        return self.executor.folder or self.runs_dir / ".submitit"


def read_spec_file(path: Path) -> dict:
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise GanBenchError(f"{path}: cannot read sweep file: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise GanBenchError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}:" if mark is not None else ""
        raise GanBenchError(f"{path}:{where} not valid YAML: {getattr(exc, 'problem', None) or exc}") from None
    if too_large(data):
        raise GanBenchError(f"{path}: expands to more than {MAX_YAML_VALUES:,} values (YAML aliases?); refused")
    if not isinstance(data, dict):
        raise GanBenchError(f"{path}: a sweep file is a mapping (papers:, budgets:, seeds:, …)")
    return data


def build_spec(data: dict, source: str = "sweep") -> SweepSpec:
    """Validate a spec (file contents with flags merged over it) into one `error:`-ready message."""
    try:
        return SweepSpec.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(p) for p in error["loc"]) or "(top level)"
        message = "unknown key" if error["type"] == "extra_forbidden" else error["msg"].removeprefix("Value error, ")
        raise GanBenchError(f"{source}: {where}: {message}") from None


# ----------------------------------------------------------------------------------------- cells
@dataclass(frozen=True)
class Cell:
    paper: str  # the registry entry
    dataset: str
    budget: str  # as requested (smoke, standard, …)
    seed: int
    budget_dir: str  # the budget's name in run directories (the requested one unless overridden)
    variant: str | None = None
    version: int = 1  # the entry's version: a run of another version is not this cell's
    overrides: tuple[tuple[str, str], ...] = ()  # the sweep's hyperparameters that differ from the defaults
    labels: int | None = None  # semi-supervised: the label count its run trains with (`--labels`, or the entry's)

    @property
    def identity(self) -> MethodIdentity:
        return MethodIdentity(self.paper, self.variant, self.overrides, self.version)

    @property
    def row(self) -> str:
        return row_name(self.paper, self.variant)

    @property
    def entry_id(self) -> str:
        """The registry entry (`paper`; the variant is its own field)."""
        return self.paper

    @property
    def key(self) -> str:
        """`<paper[@variant]>/<dataset>/<budget>/<seed> v<version> [k=v]`: the ledger's and the output's name."""
        identity = self.identity
        labels = f" labels={self.labels}" if self.labels else ""
        return f"{identity.row}/{self.dataset}/{self.budget_dir}/{self.seed} " + identity.key.split(" ", 1)[1] + labels

    def folder(self, runs_dir: Path) -> Path:
        return cell_folder(runs_dir, self.row, self.dataset, self.budget_dir)

    def run_dirs(self, runs_dir: Path) -> list[Path]:
        """Every run of this cell's method, oldest first: a run of another version or other
        hyperparameters in the same folder (a hand-started `--set` run) is not one of them."""
        return [p for p in seed_runs(self.folder(runs_dir), self.seed)
                if _method_of(record := _run_record(p)) == self.identity
                and (record.labels if record is not None else None) == self.labels]


def _run_record(run: Path):
    """A run directory's record: its result's, else its config's; None when neither can be read. Read once
    per run for both what a cell matches on, the method and the label count (the result copies the config's)."""
    for load in (RunDir(run).result_record, RunDir(run).config_record):
        try:
            return load()
        except GanBenchError:
            continue
    return None


def run_identity(run: Path) -> MethodIdentity | None:
    """The method a run directory's record names (its result's, else its config's); None when it
    recorded none (written before identities were) or cannot be read."""
    return _method_of(_run_record(run))


def _method_of(record) -> MethodIdentity | None:
    if record is None or record.version is None or record.overrides is None:
        return None
    return MethodIdentity(record.paper, record.variant, pairs(record.overrides), record.version)


def _sweep_overrides(spec: SweepSpec, entry, dataset: str, variant: str | None) -> tuple[tuple[str, str], ...]:
    """The sweep's hyperparameters that differ from the entry's defaults, as its runs will record them."""
    if not spec.hyperparameters:
        return ()
    defaults = static_entry_defaults(entry, dataset, variant)
    if defaults is None:
        raise GanBenchError(f"{entry.id}: its module's defaults cannot be read without importing it, so the sweep "
                            "cannot tell which hyperparameters differ from them; run these cells by hand")
    unknown = sorted(set(spec.hyperparameters) - set(defaults))
    if unknown:
        raise GanBenchError(f"hyperparameters: {unknown[0]!r} is not a hyperparameter of {entry.id}")
    return pairs(differing(defaults, spec.hyperparameters))


def expand(spec: SweepSpec, registry: Registry) -> tuple[list[Cell], list[str]]:
    """The sweep's cells, and the (paper, dataset) pairs left out because the paper lacks the dataset.

    Unknown papers or variants, catalogued-only papers, and a dataset no listed paper supports are errors.
    """
    named = []
    for name in dict.fromkeys(spec.papers):
        paper, _, variant = name.partition("@")
        entry = registry.get(paper)
        if entry.reproduction is None:
            raise GanBenchError(f"{entry.id} is catalogued but not implemented; see `gan-bench list --status implemented`")
        variant = variant or entry.reproduction.default_variant
        if variant and variant not in entry.reproduction.variants:
            raise GanBenchError(f"{entry.id} has no variant {variant!r}; variants: {', '.join(entry.reproduction.variants) or 'none'}")
        named.append((entry, variant or None))
    if spec.datasets:
        supported = {d for e, _ in named for d in e.reproduction.datasets}
        unknown = [d for d in spec.datasets if d not in supported]
        if unknown:
            raise GanBenchError(f"no listed paper supports dataset {unknown[0]!r}")
    cells, left_out = [], []
    for entry, variant in named:
        repro = entry.reproduction
        for dataset in spec.datasets or [repro.dataset]:
            if dataset not in repro.datasets:
                left_out.append(f"{row_name(entry.id, variant)}/{dataset}")
                continue
            overrides = _sweep_overrides(spec, entry, dataset, variant)
            labels = spec.labels or repro.labels_for(dataset)
            for budget in spec.budgets:
                probe = Cell(entry.id, dataset, budget, 0, budget, variant, repro.version, overrides)
                budget_dir = cell_budget(spec, registry, probe).name
                cells.extend(Cell(entry.id, dataset, budget, seed, budget_dir, variant, repro.version, overrides, labels)
                             for seed in spec.seeds)
    return cells, left_out


def cell_budget(spec: SweepSpec, registry: Registry, cell: Cell) -> Budget:
    """The budget a cell's run trains under (the sweep's overrides applied)."""
    repro = registry.get(cell.paper).reproduction
    return resolve_budget(cell.budget, repro.paper_budget_for(cell.dataset, cell.variant),
                          {"checkpoint_every": spec.checkpoint_every, "g_steps": spec.g_steps}, repro.batch_size)


# ---------------------------------------------------------------------------------------- ledger
class Ledger:
    """What was submitted for which cell (one JSON line per job), beside submitit's own files."""

    def __init__(self, folder: Path):
        self.path = Path(folder) / "ledger.jsonl"

    def append(self, cell: Cell, kind: str, job_id: str, action: str, run_dir: Path | None) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        record = {"cell": cell.key, "kind": kind, "job_id": str(job_id), "action": action,
                  "run_dir": str(run_dir) if run_dir else None, "folder": str(self.path.parent),
                  "submitted_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(record) + "\n")

    def latest(self) -> dict[str, dict]:
        """The last job submitted for each cell key; lines that are not records this ledger wrote are skipped."""
        latest: dict[str, dict] = {}
        if self.path.is_file() and not self.path.is_symlink():
            for line in self.path.read_bytes().splitlines():
                record = ledger_record(line)
                if record is not None:
                    latest[record["cell"]] = record
        return latest


# ----------------------------------------------------------------------------------------- state
@dataclass
class CellState:
    cell: Cell
    state: State
    run_dir: Path | None = None  # the run that decides the state
    resumable: bool = False  # failed, with a checkpoint: a relaunch resumes it
    queued: bool = False  # pending with a live job
    detail: str = ""
    job_id: str | None = None


def _last_write(path: Path) -> float:
    """The newest modification in a run directory (curves are appended, checkpoints renamed in)."""
    times = []
    for item in [path, *path.iterdir()]:
        try:
            times.append(item.stat().st_mtime)
        except OSError:  # a temporary file renamed away between listing and stat
            continue
    return max(times)


def _result_status(run: Path) -> str | None:
    """The status a run's result record gives (read bounded and checked); None if it has none usable."""
    try:
        return RunDir(run).result_record().status
    except GanBenchError:
        return None  # unreadable: treated as no result


def cell_state(cell: Cell, runs_dir: Path, job: dict | None, stale_after_s: float, now: float | None = None,
               ledger_folder: Path | None = None) -> CellState:
    """One cell's state from its run directories and the last job submitted for it (if any)."""
    from harness.jobs import job_liveness  # submitit is only needed once jobs exist

    now = time.time() if now is None else now
    dirs = [d for d in cell.run_dirs(runs_dir) if (d / CONFIG_FILE).is_file()]
    finished = {d: _result_status(d) for d in dirs if (d / RESULT_FILE).is_file()}
    for status in ("finished", "diverged"):
        ended = [d for d, s in finished.items() if s == status]
        if ended:
            return CellState(cell, "done" if status == "finished" else "diverged", ended[-1], detail=ended[-1].name)
    open_runs = [d for d in dirs if d not in finished]
    liveness, why = job_liveness(job, ledger_folder or runs_dir / ".submitit") if job else ("unknown", "")
    job_id = job["job_id"] if job else None
    if liveness == "active":
        resumed = [d for d in dirs if job.get("run_dir") and str(d) == job["run_dir"]]  # only a run of this cell
        if job.get("action") == "resume" and resumed:
            return CellState(cell, "running", resumed[0], detail=f"job {job_id}", job_id=job_id)
        started = [d for d in open_runs if _last_write(d) >= _parse_time(job["submitted_at"]) - 1]
        if started:
            return CellState(cell, "running", started[-1], detail=f"job {job_id}", job_id=job_id)
        return CellState(cell, "pending", queued=True, detail=f"queued as job {job_id}", job_id=job_id)
    if liveness == "unknown":  # no job we can ask about: judge by the newest write
        fresh = [d for d in open_runs if now - _last_write(d) < stale_after_s]
        if fresh:
            return CellState(cell, "running", fresh[-1], detail=f"last write {now - _last_write(fresh[-1]):.0f} s ago")
    if open_runs or liveness == "failed":
        resumable = [d for d in open_runs if (d / "checkpoint.pt").is_file()]
        run = resumable[-1] if resumable else (open_runs[-1] if open_runs else None)
        detail = why or (f"no result, last write {(now - _last_write(run)) / 60:.0f} min ago" if run else "")
        return CellState(cell, "failed", run, resumable=bool(resumable), detail=detail, job_id=job_id)
    return CellState(cell, "pending", job_id=job_id)


def _parse_time(stamp: str) -> float:
    return datetime.fromisoformat(stamp).timestamp()


def survey(spec: SweepSpec, cells: list[Cell], stale_after_min: float = DEFAULT_STALE_AFTER_MIN) -> list[CellState]:
    jobs = Ledger(spec.folder).latest()
    return [cell_state(cell, spec.runs_dir, jobs.get(cell.key), stale_after_min * 60, ledger_folder=spec.folder)
            for cell in cells]


@dataclass
class Plan:
    """What a launch does with each cell."""

    run: list[Cell] = field(default_factory=list)
    resume: list[tuple[Cell, Path]] = field(default_factory=list)
    skip: list[CellState] = field(default_factory=list)


def plan(states: list[CellState]) -> Plan:
    out = Plan()
    for s in states:
        if s.state in ("done", "diverged", "running") or s.queued:
            out.skip.append(s)
        elif s.state == "failed" and s.resumable:
            out.resume.append((s.cell, s.run_dir))
        else:
            out.run.append(s.cell)
    return out


def counts(states: list[CellState]) -> dict[str, int]:
    return {name: sum(s.state == name for s in states) for name in STATES}


# ---------------------------------------------------------------------------------------- launch
def absolute(spec: SweepSpec) -> SweepSpec:
    """Paths made absolute: jobs may start in another directory (a SLURM node, a requeue)."""
    executor = spec.executor.model_copy(update={"folder": spec.folder.resolve()})
    return spec.model_copy(update={"runs_dir": spec.runs_dir.resolve(), "executor": executor,
                                   "data_root": spec.data_root.resolve() if spec.data_root else None})
