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
from harness.metrics.suites import metric_suite
from harness.runstore import RunDir, iter_results
from harness.safe_files import lies_inside, read_run_file

# runs/<paper>/<dataset>/<budget>/<run>/: the layout harness.runstore.RunDir.create writes.
RUN_GLOB = "*/*/*/*/config.json"


@dataclass(frozen=True)
class Protocol:
    """Everything that must be equal for two scores to be ranked together.

    `num_samples` is None for runs that will never be scored (trained with --no-eval): they get a
    table of their own, so an unscored run never sits beside scored ones as if it had lost.
    """

    dataset: str
    budget: str
    num_samples: int | None
    real_split: str | None
    real_samples: int | None
    extractor: str | None  # the extractor's label: kind, weights sha256 prefix, "unverified" tag
    resolution: int | None
    domain: str | None = None  # a two-domain dataset's domain the score is about
    task: str = "generation"  # or "translation": image-to-image, never ranked with generation
    metric: str = "fid"  # the metric suite (harness.metrics.suites): its columns are the table's
    detail: str | None = None  # a non-image suite's own protocol fields, in words (threshold, classifier)

    @property
    def title(self) -> str:
        """The table's heading: dataset, what is scored (a domain, a translation direction), budget."""
        what = {"translation": f"translation into {self.domain}", "generation": self.domain}[self.task]
        return " · ".join(part for part in (self.dataset, what, self.budget) if part)

    @property
    def samples_text(self) -> str:
        """What was compared with what, in words (the table's caption starts with it)."""
        if self.metric != "fid":
            return f"{self.num_samples:,} generated samples · {self.metric}" + (f" ({self.detail})" if self.detail else "")
        if self.task == "translation":
            made = f"{self.num_samples:,} test images translated into {self.domain}"
        else:
            made = f"{self.num_samples:,} generated samples" + (f" of {self.domain}" if self.domain else "")
        real = f"{self.real_samples:,} {self.real_split} images" + (f" of {self.domain}" if self.domain else "")
        return f"{made} vs {real}"

    @property
    def scored(self) -> bool:
        return self.num_samples is not None

    def sort_key(self) -> tuple:
        # Named budgets in the order a reader cares about; custom budgets after their base name.
        order = {"standard": 0, "paper": 1, "quick": 2, "smoke": 3}
        base = self.budget.removesuffix("-custom")
        return (self.dataset, self.task, self.domain or "", order.get(base, 4), self.budget, self.metric, not self.scored,
                -(self.num_samples or 0), self.real_split or "", -(self.real_samples or 0), self.extractor or "",
                self.resolution or 0)

    @property
    def slug(self) -> str:
        """A stable, file-name-safe id for the table (anchors, CSV)."""
        parts = [self.dataset, "to-" + self.domain if self.task == "translation" else self.domain or "",
                 self.budget, str(self.num_samples or "unscored"), self.real_split or "",
                 str(self.real_samples or ""), (self.extractor or "").split(" ")[0], str(self.resolution or "")]
        return "-".join(p for p in parts if p)


@dataclass(frozen=True)
class Score:
    protocol: Protocol
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
    intended: Protocol | None = None  # the protocol the config asks for; where unscored runs are listed
    root: Path | None = None  # the runs dir it was found in: no run file is read from outside it

    @property
    def name(self) -> str:
        return PurePosixPath(self.run_id).name

    @property
    def variant(self) -> str | None:
        return (self.result or self.config).get("variant")

    @property
    def row(self) -> str:
        """The leaderboard row the run counts in: its paper, or `paper@variant` for a registry variant."""
        return self.paper + (f"@{self.variant}" if self.variant else "")

    def curves_bytes(self) -> bytes:
        """curves.jsonl as one read: a running run appends to it, so the plots and the plot cache's
        key must come from the same bytes."""
        return read_run_file(RunDir(self.path).curves_path, self.root or self.path) or b""

    def samples_bytes(self) -> bytes | None:
        """samples.png, unless missing or not a plain file inside the runs dir (a symlink is never followed)."""
        return read_run_file(RunDir(self.path).samples_path, self.root or self.path)


def _score_protocol(budget: str, score: dict) -> Protocol:
    p = score["protocol"]
    if p.get("metric", "fid") != "fid":  # a suite without an extractor or real statistics
        own = {k: v for k, v in p.items() if k not in ("dataset", "num_samples", "metric")}
        detail = ", ".join(f"{k} {v}" for k, v in sorted(own.items()))
        return Protocol(p["dataset"], budget, p["num_samples"], None, None, None, None, metric=p["metric"], detail=detail)
    return Protocol(p["dataset"], budget, p["num_samples"], p["real_split"], p["real_samples"],
                    p["extractor"]["label"], p.get("resolution"), p.get("domain"), p.get("task", "generation"))


def _intended_protocol(dataset: str, budget: dict, config: dict) -> Protocol:
    """The protocol a run will be scored under, from its config (for runs that have no score yet)."""
    extractor = config.get("extractor")
    if config.get("metric", "fid") != "fid" and config.get("evaluate", True):
        return Protocol(dataset, budget.get("name", "?"), budget.get("eval_samples"), None, None, None, None,
                        metric=config["metric"])
    if not extractor:
        return Protocol(dataset, budget.get("name", "?"), None, None, None, None, None)
    return Protocol(dataset, budget.get("name", "?"), budget.get("eval_samples"), budget.get("real_split"),
                    budget.get("real_samples"), extractor.get("label"), config.get("resolution"))


def read_runs(root: Path) -> list[RunView]:
    """Every readable run under `root`, sorted by run id. Unreadable files are skipped, not fatal:
    one damaged run directory must not take the whole site down."""
    root = Path(root)
    if not root.is_dir():
        return []
    views: dict[str, RunView] = {}
    for run, result in iter_results(root):
        run_id = run.path.relative_to(root).as_posix()
        config = _config_or_empty(run)
        budget = result["budget"]
        view = RunView(run_id, run.path, result["paper"], result["dataset"], budget["name"], result["seed"],
                       result["status"], config, result, root=root)
        view.scores = [Score(protocol, _metrics(protocol, s), s)
                       for s in result["scores"] for protocol in [_score_protocol(budget["name"], s)]]
        view.intended = _intended_protocol(result["dataset"], budget, config)
        views[run_id] = view
    for config_path in sorted(root.glob(RUN_GLOB)):
        if not lies_inside(config_path, root):
            continue
        run = RunDir(config_path.parent)
        run_id = run.path.relative_to(root).as_posix()
        if run_id in views or run.result_path.exists():
            continue  # finished, or a result.json too damaged to read (iter_results skipped it)
        config = _config_or_empty(run)
        if not config:
            continue
        budget = config.get("budget") or {}
        views[run_id] = RunView(run_id, run.path, config.get("paper", run.path.parents[2].name),
                                config.get("dataset", run.path.parents[1].name), budget.get("name", run.path.parent.name),
                                config.get("seed"), "running", config, None,
                                intended=_intended_protocol(config.get("dataset", "?"), budget, config), root=root)
    return [views[k] for k in sorted(views)]


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


def _metrics(protocol: Protocol, score: dict) -> dict[str, float]:
    keys = metric_suite(protocol.metric).metric_keys
    return {k: float(v) for k, v in score["metrics"].items() if k in keys and v is not None}
