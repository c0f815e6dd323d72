"""What each page shows, as plain data for the templates (no HTML here, no file writing)."""

from __future__ import annotations

import json
from dataclasses import dataclass

from harness.registry import Registry
from harness.schema import PaperEntry
from reports.links import code_label
from reports.runs import Protocol, RunView
from reports.tables import columns_for, device_label


@dataclass(frozen=True)
class ScoreLine:
    """One row of a run's scores: a run can be scored under several protocols (`gan-bench evaluate`)."""

    run: RunView
    protocol: Protocol | None  # None: a run with no score and no protocol to expect (no config)
    metrics: dict
    g_step: int | None
    evaluated_at: str | None
    eval_seconds: float | None


def flatten(data: dict, prefix: str = "") -> list[tuple[str, str]]:
    """Nested config as ('budget.g_steps', '20') pairs, sorted: every resolved setting on one line."""
    pairs: list[tuple[str, str]] = []
    for key in sorted(data):
        value = data[key]
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            pairs.extend(flatten(value, name + "."))
        else:
            pairs.append((name, value if isinstance(value, str) else json.dumps(value, sort_keys=True)))
    return pairs


def score_lines(run: RunView) -> list[ScoreLine]:
    if not run.scores:
        return [ScoreLine(run, run.intended, {}, None, None, None)]
    lines = [ScoreLine(run, s.protocol, s.metrics, s.raw.get("g_step"), s.raw.get("evaluated_at"), s.raw.get("eval_seconds"))
             for s in run.scores]
    return sorted(lines, key=lambda line: line.protocol.sort_key())


def samples_caption(run: RunView, curves: list[dict]) -> str:
    """What samples.png holds, as harness.scoring.fixed_samples draws it for this kind of model."""
    domains = {s.protocol.domain for s in run.scores if s.protocol.task == "translation"}
    domains |= {r.get("domain") for r in curves if r.get("kind") == "metric" and r.get("task") == "translation"}
    if domains:
        domains = sorted(str(d) for d in domains if d) or ["A", "B"]
        return (f"Translations, not samples from noise: rows in pairs, 8 test images of one domain and below them "
                f"their translations into the other ({' and '.join(domains)}, each way), from the run's final weights.")
    if run.config.get("kind") == "points":
        return "2,500 generated points (the run's seed) as a scatter over the true modes, from the final weights."
    return "64 samples from fixed noise (drawn from the run's seed), from the final weights."


def run_context(run: RunView, registry: Registry, curves: list[dict], plots: dict[str, list[str]],
                has_samples: bool) -> dict:
    entry = registry.papers.get(run.paper)
    last = curves[-1] if curves else {}
    result = run.result or {}
    return {
        "run": run, "entry": entry, "scores": score_lines(run), "result": result,
        "progress": result.get("progress"), "divergence": result.get("divergence"),
        # A running run has no result yet; its latest curve record says how far it got.
        "latest": {"g_step": last.get("g_step"), "kimg": last.get("kimg")} if not result else None,
        "config": flatten(run.config), "provenance": result.get("provenance"),
        "device": device_label(run), "has_samples": has_samples, "plots": plots,
        "samples_caption": samples_caption(run, curves),
        "evaluations": sum(1 for r in curves if r.get("kind") == "metric"),
        "metrics": columns_for(line.protocol for line in score_lines(run)),
    }


def paper_context(entry: PaperEntry, registry: Registry, status: str, runs: list[RunView]) -> dict:
    spec = entry.reproduction
    lines = [line for run in runs for line in score_lines(run)]
    lines.sort(key=lambda line: (line.run.dataset, line.protocol.sort_key() if line.protocol else (), line.run.run_id))
    return {
        "entry": entry, "status": status, "code": [(str(url), code_label(str(url))) for url in entry.code],
        "sources": [(sid, registry.sources[sid].title if sid in registry.sources else "") for sid in entry.sources],
        "spec": spec,
        "hyperparameters": flatten(spec.hyperparameters) if spec else [],
        "per_dataset": [(name, flatten(values)) for name, values in sorted(spec.per_dataset.items())] if spec else [],
        "paper_budget": flatten(spec.paper_budget.model_dump(exclude_none=True)) if spec else [],
        "lines": lines, "metrics": columns_for(line.protocol for line in lines),
    }
