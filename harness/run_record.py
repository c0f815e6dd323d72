"""The run record: what config.json and result.json hold, as typed models (pydantic), torch-free.

Every reader of a run directory (the report, `gan-bench status`, sweeps, resume, evaluate, the cost
estimate) goes through `load_config` / `load_result`: the bytes are read bounded and never through a
symlink (harness.safe_files), checked field by field with one-line reasons (harness.result_checks,
`checked_config`), then parsed into `RunConfig` / `RunResult`. Nothing read from a runs dir is
executed, and a planted file cannot exhaust memory (size cap, JSON nesting and long numbers refused).

Unknown fields are kept (`extra="allow"`): a result written by a newer gan-bench still loads, and a
field the harness adds is typed here when something reads it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from harness.errors import CheckpointError, GanBenchError
from harness.result_checks import result_problem
from harness.safe_files import read_plain_bytes

# A result of a long run with many re-scores is tens of kB; anything near this is not ours.
MAX_RECORD_BYTES = 8 * 1024 * 1024


class RecordError(GanBenchError):
    """A config.json or result.json that cannot be used; the message is one line."""


class _Record(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)


class ExtractorRecord(_Record):
    kind: str
    label: str
    weights_sha256: Optional[str] = None
    weights_path: Optional[str] = None
    official_weights: Optional[bool] = None
    provides_is: Optional[bool] = None


class ScoreProtocol(_Record):
    """How a score was measured, as harness.metrics.evaluate.Protocol.to_dict() (or another metric
    suite's protocol) records it. Two scores are comparable only under equal protocols."""

    metric: str = "fid"  # the metric suite (harness.metrics.suites)
    dataset: str
    num_samples: int
    resolution: Optional[int] = None
    real_split: Optional[str] = None
    real_samples: Optional[int] = None
    extractor: Optional[ExtractorRecord] = None
    domain: Optional[str] = None  # a two-domain dataset's domain the score is about
    task: str = "generation"  # or "translation": image-to-image, never ranked with generation
    labels: Optional[int] = None  # semi-supervised: labelled training examples the scored classifier had

    @property
    def detail(self) -> str | None:
        """A non-image suite's own protocol fields, in words (threshold, classifier)."""
        if self.metric == "fid":
            return None
        own = {k: v for k, v in self.model_dump(exclude_unset=True).items() if k not in ("dataset", "num_samples", "metric")}
        return ", ".join(f"{k} {v}" for k, v in sorted(own.items()))


class Score(_Record):
    protocol: ScoreProtocol
    metrics: dict[str, Optional[float]]
    g_step: Optional[int] = None
    eval_seconds: Optional[float] = None
    evaluated_at: Optional[str] = None


class BudgetRecord(_Record):
    name: str
    g_steps: Optional[int] = None
    batch_size: Optional[int] = None
    eval_samples: Optional[int] = None
    real_split: Optional[str] = None
    real_samples: Optional[int] = None
    kimg: Optional[float] = None
    wall_clock_s: Optional[float] = None


class ProgressRecord(_Record):
    g_steps: int
    d_steps: Optional[int] = None
    images_seen: Optional[int] = None
    kimg: float
    wall_clock_s: float


class _Identity(_Record):
    """What makes a run's method (harness.method_identity): absent in runs written before it was recorded."""

    paper: str
    variant: Optional[str] = None  # a registry variant (Unrolled GAN's k5)
    version: Optional[int] = None  # the registry entry's `version` at the run's start; None: not recorded
    # hyperparameters that differ from the entry's defaults for this dataset (and variant); None: not recorded
    overrides: Optional[dict[str, Any]] = None
    # budget fields that differ from the named budget asked for (what makes it `-custom`); None: not recorded
    budget_changes: Optional[dict[str, Any]] = None


class RunConfig(_Identity):
    module: str
    dataset: str
    seed: int
    resolution: Optional[int] = None
    channels: int
    num_classes: int
    domains: Optional[list[str]] = None
    kind: str = "images"
    metric: str = "fid"
    evaluate: Optional[bool] = None
    hyperparameters: dict[str, Any]
    budget: dict[str, Any]
    device: str
    data_root: Optional[str] = None
    extractor: Optional[dict[str, Any]] = None
    acceleration: Optional[dict[str, Any]] = None
    provenance: Optional[dict[str, Any]] = None
    labels: Optional[int] = None  # semi-supervised: N labelled examples (harness.labelled)
    labelled_sha256: Optional[str] = None  # the labelled subset's indices, as labelled_indices.json lists them


class RunResult(_Identity):
    dataset: str
    seed: Optional[int] = None
    budget: BudgetRecord
    status: Literal["finished", "diverged"]
    stop_reason: Optional[str] = None
    divergence: Optional[dict[str, Any]] = None
    progress: ProgressRecord
    scores: list[Score] = Field(default_factory=list)
    sampling: Optional[dict[str, Any]] = None
    provenance: dict[str, Any]
    labels: Optional[int] = None
    labelled_sha256: Optional[str] = None

    @property
    def device(self) -> dict:
        return self.provenance.get("device") or {}


# ------------------------------------------------------------------------------------------ reading
def read_json_object(path: Path, what: str) -> dict:
    """A JSON object from a plain file, bounded: one `RecordError` line for anything else."""
    raw = read_plain_bytes(path, MAX_RECORD_BYTES)  # never through a symlink: run dirs may come from anywhere
    if raw is None:
        if path.is_symlink():
            raise RecordError(f"{path}: {what} is a symlink; run files must be plain files")
        if path.is_file() and path.stat().st_size > MAX_RECORD_BYTES:
            raise RecordError(f"{path}: {what} is larger than {MAX_RECORD_BYTES // 2**20} MiB; refused")
        raise RecordError(f"{path}: no {what} file")
    try:
        data = json.loads(raw.decode("utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise RecordError(f"{path}: {what} is not valid JSON ({exc})") from None
    except (RecursionError, ValueError) as exc:  # nesting thousands deep; an integer of thousands of digits
        raise RecordError(f"{path}: {what} is not JSON we read ({type(exc).__name__}: {str(exc)[:80]})") from None
    if not isinstance(data, dict):
        raise RecordError(f"{path}: {what} must be a JSON object")
    return data


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error["loc"]) or "(top level)"
    return f"{where}: {error['msg']} (got {str(error.get('input'))[:40]!r})"


def parse_result(data: dict, where: object) -> RunResult:
    """A result.json's contents as a RunResult, or one line saying why not."""
    problem = result_problem(data)
    if problem is not None:
        raise RecordError(f"{where}: {problem}")
    try:
        return RunResult.model_validate(data)
    except ValidationError as exc:
        raise RecordError(f"{where}: {_first_error(exc)}") from None


def load_result(path: Path) -> RunResult:
    return parse_result(read_json_object(path, "result"), path)


def load_config(path: Path) -> RunConfig:
    return parse_config(read_json_object(path, "run config"), path)


# config.json fields a resume or re-score rebuilds the run from, and the type each must have.
_CONFIG_FIELDS = {"paper": str, "module": str, "dataset": str, "seed": int, "channels": int, "num_classes": int,
                  "hyperparameters": dict, "budget": dict, "device": str}
_OPTIONAL_CONFIG_FIELDS = {"data_root": str, "extractor": dict, "acceleration": dict, "domains": list, "resolution": int,
                           "variant": str, "version": int, "overrides": dict, "budget_changes": dict,
                           "labels": int, "labelled_sha256": str}


def checked_config(config: dict, where: object) -> dict:
    """A run's config.json, checked field by field before anything is rebuilt from it (CheckpointError:
    a resume or re-score of it is refused in one line)."""
    from harness.budget import Budget
    from harness.seeds import seed_problem

    def wrong(name: str, kind: type) -> bool:
        value = config.get(name)
        return isinstance(value, bool) or not isinstance(value, kind)

    for name, kind in _CONFIG_FIELDS.items():
        if wrong(name, kind):
            raise CheckpointError(f"{where}: {name} must be {kind.__name__}, got {str(config.get(name))[:40]!r}")
    for name, kind in _OPTIONAL_CONFIG_FIELDS.items():
        if config.get(name) is not None and wrong(name, kind):
            raise CheckpointError(f"{where}: {name} must be {kind.__name__} or null, got {str(config[name])[:40]!r}")
    if seed_problem(config["seed"]):
        raise CheckpointError(f"{where}: seed: {seed_problem(config['seed'])}")
    try:
        Budget(**config["budget"])
    except TypeError as exc:
        raise CheckpointError(f"{where}: budget: {exc}") from None
    extractor = config.get("extractor")
    if extractor is not None and not all(isinstance(extractor.get(k), str) for k in ("kind", "weights_sha256")):
        raise CheckpointError(f"{where}: extractor must name its kind and weights_sha256")
    return config


def parse_config(data: dict, where: object) -> RunConfig:
    checked_config(data, where)
    try:
        return RunConfig.model_validate(data)
    except ValidationError as exc:
        raise CheckpointError(f"{where}: {_first_error(exc)}") from None


# ------------------------------------------------------------------------------------- table key
@dataclass(frozen=True)
class TableKey:
    """Everything that must be equal for two scores to be ranked together: a score's protocol at one
    budget (named, or custom with what was overridden). One leaderboard per key.

    `num_samples` is None for runs that will never be scored (trained with --no-eval): they get a
    table of their own, so an unscored run never sits beside scored ones as if it had lost.
    """

    dataset: str
    budget: str  # the budget's name, with what a custom budget overrode: "paper-custom [g_steps=1500]"
    num_samples: int | None
    real_split: str | None
    real_samples: int | None
    extractor: str | None  # the extractor's label: kind, weights sha256 prefix, "unverified" tag
    resolution: int | None
    domain: str | None = None
    task: str = "generation"
    metric: str = "fid"
    detail: str | None = None
    labels: int | None = None  # semi-supervised: runs with another label count never share a table

    @classmethod
    def of_score(cls, budget: str, protocol: ScoreProtocol) -> "TableKey":
        if protocol.metric != "fid":  # a suite without an extractor or real statistics
            return cls(protocol.dataset, budget, protocol.num_samples, None, None, None, None, metric=protocol.metric,
                       detail=protocol.detail, labels=protocol.labels)
        return cls(protocol.dataset, budget, protocol.num_samples, protocol.real_split, protocol.real_samples,
                   protocol.extractor.label if protocol.extractor else None, protocol.resolution, protocol.domain,
                   protocol.task)

    @classmethod
    def intended(cls, dataset: str, budget_label: str, config: dict) -> "TableKey":
        """The key a run will be scored under, from its config (for runs that have no score yet)."""
        budget = config.get("budget") or {}
        extractor = config.get("extractor")
        if config.get("metric", "fid") != "fid" and config.get("evaluate", True):
            labels = config.get("labels")
            # a semi-supervised run classifies the whole test split: its size is known once scored
            return cls(dataset, budget_label, None if labels else budget.get("eval_samples"), None, None, None, None,
                       metric=config["metric"], labels=labels)
        if not extractor:
            return cls(dataset, budget_label, None, None, None, None, None)
        return cls(dataset, budget_label, budget.get("eval_samples"), budget.get("real_split"), budget.get("real_samples"),
                   extractor.get("label"), config.get("resolution"))

    @property
    def title(self) -> str:
        """The table's heading: dataset, what is scored (a domain, a translation direction), budget."""
        what = {"translation": f"translation into {self.domain}", "generation": self.domain}[self.task]
        if self.labels:
            what = f"semi-supervised · {self.labels} labels"
        return " · ".join(part for part in (self.dataset, what, self.budget) if part)

    @property
    def samples_text(self) -> str:
        """What was compared with what, in words (the table's caption starts with it)."""
        if self.labels:
            scored = f"{self.num_samples:,} test images classified" if self.num_samples else "not scored yet"
            return f"{scored} · {self.metric} ({self.labels} labelled training examples)"
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
        base = self.budget.split(" ")[0].removesuffix("-custom")
        return (self.dataset, self.task, self.domain or "", order.get(base, 4), self.budget, self.metric, not self.scored,
                -(self.num_samples or 0), self.real_split or "", -(self.real_samples or 0), self.extractor or "",
                self.resolution or 0, self.labels or 0)

    @property
    def slug(self) -> str:
        """A stable, file-name-safe id for the table (anchors, CSV)."""
        budget = "".join(c if c.isalnum() or c in "-_." else "-" for c in self.budget).strip("-")
        parts = [self.dataset, "to-" + self.domain if self.task == "translation" else self.domain or "",
                 budget, str(self.num_samples or "unscored"), self.real_split or "",
                 str(self.real_samples or ""), (self.extractor or "").split(" ")[0], str(self.resolution or ""),
                 f"{self.labels}-labels" if self.labels else ""]
        return "-".join(p for p in parts if p)
