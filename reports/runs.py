"""Read the run store into plain records the report can group: one `RunView` per run directory.

A run is *finished* or *diverged* when its result.json says so, and *running* when it has a
config.json but no result.json yet (still training, or interrupted and waiting for `gan-bench
resume`). Only harness.runstore is read here, never the trainer: the report works on run
directories copied from another machine, without torch models or datasets.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from harness.errors import GanBenchError
from harness.method_identity import MethodIdentity, identity_of
from harness.metrics.suites import metric_suite
from harness.run_record import RecordError, TableKey
from harness.runstore import CONFIG_FILE, RunDir, excluded_results, iter_results, path_fields, run_files, run_id
from harness.safe_files import read_run_file

# The leaderboard key (a score's protocol at one budget) is the run record's; the old name stays.
Protocol = TableKey


@dataclass(frozen=True)
class Score:
    protocol: TableKey
    metrics: dict[str, float]
    raw: dict  # the score as result.json holds it (protocol details, g_step, evaluated_at)


@dataclass
class RunView:
    """One run directory, as the report sees it."""

    run_id: str  # "<paper>/<dataset>/<budget>/<run>", posix, relative to the runs root
    path: Path
    paper: str
    dataset: str
    budget: str
    seed: int | None
    status: str  # finished, diverged or running
    config: dict
    result: dict | None
    scores: list[Score] = field(default_factory=list)
    intended: TableKey | None = None  # the key the config asks for; where unscored runs are listed
    root: Path | None = None  # the runs dir it was found in: no run file is read from outside it
    identity: MethodIdentity | None = None  # None only for a running run that cannot be identified yet

    @property
    def name(self) -> str:
        return PurePosixPath(self.run_id).name

    @property
    def variant(self) -> str | None:
        return (self.result or self.config).get("variant")

    @property
    def row(self) -> str:
        """The leaderboard row the run counts in: its method identity's label ("f-gan [loss=rsgan]")."""
        if self.identity is not None:
            return self.identity.label
        return self.paper + (f"@{self.variant}" if self.variant else "")

    def curves_bytes(self) -> bytes:
        """curves.jsonl as one read: a running run appends to it, so the plots and the plot cache's
        key must come from the same bytes."""
        return read_run_file(RunDir(self.path).curves_path, self.root or self.path) or b""

    def samples_bytes(self) -> bytes | None:
        """samples.png, unless missing or not a plain file inside the runs dir (a symlink is never followed)."""
        return read_run_file(RunDir(self.path).samples_path, self.root or self.path)


class _RegistryOnDemand:
    """The built-in registry, loaded only if a run from before identities were recorded needs it."""

    _loaded = None

    @property
    def papers(self):
        if self._loaded is None:
            from harness.registry import load_registry

            self._loaded = load_registry()
        return self._loaded.papers


def read_store(root: Path, registry=None) -> tuple[list[RunView], list[tuple[str, str]]]:
    """Every usable run under `root` sorted by run id, and (run id, why) for every run left out: a
    result.json that fails its record, or a run whose method cannot be identified. Never fatal: one
    damaged run directory must not take the whole site down."""
    root = Path(root)
    if not root.is_dir():
        return [], []
    registry = _RegistryOnDemand() if registry is None else registry
    views: dict[str, RunView] = {}
    excluded = [(run_id(root, run.path), why) for run, why in excluded_results(root)]
    for run, result in iter_results(root):
        rid = run_id(root, run.path)
        config = _config_or_empty(run)
        try:
            identity, budget = identity_of(result, registry, config.get("hyperparameters"))
        except RecordError as exc:
            excluded.append((rid, str(exc)))
            continue
        view = RunView(rid, run.path, result.paper, result.dataset, result.budget.name, result.seed,
                       result.status, config, result.model_dump(exclude_unset=True), root=root, identity=identity)
        view.scores = [Score(key, _metrics(key, s.metrics), s.model_dump(exclude_unset=True))
                       for s in result.scores for key in [TableKey.of_score(budget, s.protocol)]]
        view.intended = TableKey.intended(result.dataset, budget, config)
        views[rid] = view
    for config_path in run_files(root, CONFIG_FILE):
        run = RunDir(config_path.parent)
        rid = run_id(root, run.path)
        if rid in views or run.result_path.exists():
            continue  # finished, or a result.json too damaged to read (listed as excluded)
        config = _config_or_empty(run)
        if not config:
            continue
        views[rid] = _running_view(root, rid, run, config, registry)
    return [views[k] for k in sorted(views)], sorted(excluded)


def _running_view(root: Path, rid: str, run: RunDir, config: dict, registry) -> RunView:
    fields = path_fields(run.path)
    budget = config.get("budget") or {}
    try:
        identity, label = identity_of(run.config_record(), registry, config.get("hyperparameters"))
    except GanBenchError:  # still listed (as running), under its paper's name
        identity, label = None, budget.get("name", fields["budget"])
    return RunView(rid, run.path, config.get("paper", fields["row"]), config.get("dataset", fields["dataset"]),
                   budget.get("name", fields["budget"]), config.get("seed"), "running", config, None,
                   intended=TableKey.intended(config.get("dataset", "?"), label, config), root=root, identity=identity)


def read_runs(root: Path, registry=None) -> list[RunView]:
    """Every usable run under `root`, sorted by run id (`read_store` also says which were left out)."""
    return read_store(root, registry)[0]


def parse_curves(data: bytes) -> list[dict]:
    """The records of curves.jsonl; a line torn by a crash mid-append is skipped, as runstore does."""
    records = []
    for line in data.decode("utf-8", errors="replace").splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(record, dict):
            records.append(record)
    return records


def _config_or_empty(run: RunDir) -> dict:
    try:
        return run.read_config()
    except GanBenchError:
        return {}


def _metrics(key: TableKey, metrics: dict) -> dict[str, float]:
    keys = metric_suite(key.metric).metric_keys
    return {k: float(v) for k, v in metrics.items() if k in keys and v is not None}
