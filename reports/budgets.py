"""What each table's runs were given (the budget legend), what the budget names mean, and the command
that reproduces a run. Read from the runs' own records (config.json / result.json), never assumed."""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass

from harness.budget import NAMED_BUDGETS, resolve_budget
from harness.errors import GanBenchError
from harness.hyperparameter_layers import merge_layers, registry_layers
from harness.module_source import static_defaults
from harness.registry import Registry
from reports.runs import RunView
from reports.tables import Leaderboard

# `gan-bench run` flags for budget fields, in the order `--help` lists them.
BUDGET_FLAGS = (("g_steps", "--g-steps"), ("batch_size", "--batch-size"), ("kimg", "--kimg"),
                ("wall_clock_s", "--wall-clock"), ("eval_samples", "--eval-samples"),
                ("real_samples", "--real-samples"), ("real_split", "--real-split"))


def _count_text(values: set) -> str:
    ordered = sorted(values)
    return " / ".join(f"{v:,}" for v in ordered) if ordered else "—"


@dataclass(frozen=True)
class BoardBudget:
    """The budget legend of one table: what every run in it trained and was scored with."""

    g_steps: frozenset[int]
    batch_sizes: frozenset[int]
    kimg_range: tuple[float, float] | None  # real images shown to D, thousands (min, max over runs)
    detail: str | None = None  # a non-image suite's protocol fields in words, short enough for a caption

    @property
    def schedule_text(self) -> str:
        return f"{_count_text(set(self.g_steps))} G steps at batch {_count_text(set(self.batch_sizes))}"


def detail_text(protocol: dict) -> str:
    """A suite's own protocol fields in words: scalars as they are, a nested record (the stacked-MNIST
    classifier) by its name, accuracy and weights' sha256 prefix instead of its whole repr."""
    parts = []
    for key, value in sorted(protocol.items()):
        if key in ("dataset", "num_samples", "metric"):
            continue
        if isinstance(value, dict):
            inner = [str(value[k]) for k in ("architecture", "kind") if isinstance(value.get(k), str)]
            if isinstance(value.get("test_accuracy"), (int, float)):
                inner.append(f"test accuracy {value['test_accuracy']:.4f}")
            if isinstance(value.get("weights_sha256"), str):
                inner.append(f"sha256 {value['weights_sha256'][:8]}")
            parts.append(f"{key} " + (", ".join(inner) if inner else f"({len(value)} fields)"))
        else:
            parts.append(f"{key} {value}")
    return ", ".join(parts)


def board_budget(board: Leaderboard, runs_by_id: dict[str, RunView]) -> BoardBudget:
    g_steps, batches, kimgs, detail = set(), set(), [], None
    for row in board.rows:
        for link in row.runs:
            run = runs_by_id.get(link.run_id)
            budget = ((run.result or {}).get("budget") or run.config.get("budget") or {}) if run else {}
            if isinstance(budget.get("g_steps"), int):
                g_steps.add(budget["g_steps"])
            if isinstance(budget.get("batch_size"), int):
                batches.add(budget["batch_size"])
            kimg = ((run.result or {}).get("progress") or {}).get("kimg") if run else None
            if isinstance(kimg, (int, float)):
                kimgs.append(float(kimg))
            for score in (run.scores if run and board.protocol.metric != "fid" else []):
                if score.protocol == board.protocol and isinstance(score.raw.get("protocol"), dict):
                    detail = detail or detail_text(score.raw["protocol"])
    return BoardBudget(frozenset(g_steps), frozenset(batches), (min(kimgs), max(kimgs)) if kimgs else None, detail)


def budget_glossary() -> list[tuple[str, str]]:
    """(name, meaning) for every budget name a table heading may carry."""
    rows = [(name, f"{b.g_steps:,} G steps at batch {b.batch_size}, scored on {b.eval_samples:,} generated samples "
                   f"against {b.real_samples:,} {b.real_split} images")
            for name, b in NAMED_BUDGETS.items()]
    standard = NAMED_BUDGETS["standard"]
    rows.append(("paper", f"the paper's own training schedule (its registry entry's paper_budget), scored like standard "
                          f"({standard.eval_samples:,} samples against {standard.real_samples:,} {standard.real_split} images)"))
    rows.append(("<name>-custom", "the named budget changed by an override on the command line or in a sweep "
                                  "(e.g. --g-steps): quick-custom is quick with, say, fewer G steps. "
                                  "A custom budget never shares a table with the named one"))
    return rows


def _named_budget(run: RunView, registry: Registry, base: str):
    entry = registry.papers.get(run.paper)
    if base != "paper":
        batch = entry.reproduction.batch_size if entry and entry.reproduction else None
        return resolve_budget(base, paper_batch_size=batch)
    if entry is None or entry.reproduction is None:
        return None
    spec = entry.reproduction
    variant = run.variant if run.variant in spec.variants else None
    return resolve_budget("paper", spec.paper_budget_for(run.dataset, variant), paper_batch_size=spec.batch_size)


def reproduce_command(run: RunView, registry: Registry) -> str | None:
    """`gan-bench run …` that trains this run again: method, dataset, budget and the overrides a custom
    budget had, seed, device, extractor. None when the run's config is missing."""
    config = run.config
    budget = config.get("budget") if isinstance(config.get("budget"), dict) else None
    if not config or budget is None:
        return None
    name = str(budget.get("name", run.budget))
    base = name.removesuffix("-custom")
    args = ["gan-bench", "run", run.row, "--dataset", run.dataset, "--budget", base]
    try:
        named = _named_budget(run, registry, base) if base in (*NAMED_BUDGETS, "paper") else None
    except GanBenchError:
        named = None
    if name.endswith("-custom") and named is not None:
        for key, flag in BUDGET_FLAGS:
            value = budget.get(key)
            if value is not None and value != getattr(named, key):
                args += [flag, f"{value:g}" if isinstance(value, float) else str(value)]
    for key, value in _hyperparameter_overrides(run, registry):
        args += ["--set", f"{key}={value}"]
    if run.seed is not None:
        args += ["--seed", str(run.seed)]
    device = config.get("device")
    if isinstance(device, str):
        args += ["--device", device]
    if config.get("evaluate") is False:
        args.append("--no-eval")
    extractor = config.get("extractor")
    if isinstance(extractor, dict) and isinstance(extractor.get("kind"), str):
        args += ["--extractor", extractor["kind"]]
    return shlex.join(args)


def _hyperparameter_overrides(run: RunView, registry: Registry) -> list[tuple[str, str]]:
    """The run's hyperparameters that differ from what `gan-bench run` resolves today (module defaults
    read from its source, then the registry's layers): the `--set` a run needs. Empty when unknown."""
    entry = registry.papers.get(run.paper)
    recorded = run.config.get("hyperparameters")
    if entry is None or entry.reproduction is None or not isinstance(recorded, dict):
        return []
    defaults = static_defaults(entry.reproduction.module)
    variant = run.variant if run.variant in entry.reproduction.variants else None
    if defaults is None:
        return []
    try:
        resolved, _ = merge_layers(defaults, registry_layers(entry, run.dataset, variant), entry.reproduction.module)
    except GanBenchError:
        return []
    return [(key, _set_value(value)) for key, value in sorted(recorded.items())
            if key in resolved and resolved[key] != value]


def _set_value(value) -> str:
    # JSON is YAML, which is how `--set` reads its values (true, null, [1, 2]).
    return value if isinstance(value, str) else json.dumps(value)
