"""What a result.json must hold to be read back as a result: types, ranges, finite scores.

Run directories are copied between machines and edited by hand; a string where a number belongs
or a NaN FID must not take the report down or be averaged silently. `result_problem` names the
first problem; readers skip such a result and list it with that reason (harness.runstore).
"""

from __future__ import annotations

import math

STATUSES = ("finished", "diverged")


def _count(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _text(value) -> bool:
    return isinstance(value, str)


def _score_problem(score) -> str | None:
    if not isinstance(score, dict) or not isinstance(score.get("protocol"), dict) or not isinstance(score.get("metrics"), dict):
        return "is not a protocol with metrics"
    protocol = score["protocol"]
    if protocol.get("metric", "fid") != "fid":  # mode coverage and other suites: no extractor, no FID
        return _suite_score_problem(protocol, score["metrics"])
    for name, ok in (("dataset", _text), ("num_samples", _count), ("real_split", _text), ("real_samples", _count)):
        if not ok(protocol.get(name)):
            return f"protocol.{name} is {str(protocol.get(name))[:30]!r}"
    extractor = protocol.get("extractor")
    if not isinstance(extractor, dict) or not _text(extractor.get("label")):
        return "protocol.extractor has no label"
    from harness.metrics.suites import metric_suite

    for key in metric_suite("fid").metric_keys:  # the suite declares its keys; they are defined nowhere else
        value = score["metrics"].get(key)
        if value is not None and not _number(value):
            return f"{key} is {str(value)[:30]!r}, not a finite number"
    if not _number(score["metrics"].get("fid")):
        return "has no FID"
    return None


def _suite_score_problem(protocol: dict, metrics: dict) -> str | None:
    """A score of another metric suite: a known suite, its protocol's counts, its metrics finite or
    undefined (None, e.g. the 2D reverse KL when no sample is high quality) and at least one defined."""
    from harness.metrics.suites import SUITES

    name = protocol.get("metric")
    if not _text(name) or name not in SUITES:
        return f"protocol.metric {str(name)[:30]!r} is not a known metric suite"
    for field, ok in (("dataset", _text), ("num_samples", _count)):
        if not ok(protocol.get(field)):
            return f"protocol.{field} is {str(protocol.get(field))[:30]!r}"
    keys = SUITES[name].metric_keys
    for key in keys:
        value = metrics.get(key)
        if value is not None and not _number(value):
            return f"{key} is {str(value)[:30]!r}, not a finite number"
    if not any(_number(metrics.get(key)) for key in keys):
        return f"has no {name} metric"
    return None


def identity_problem(record: dict) -> str | None:
    """The method-identity fields of a config or result (harness.method_identity), when present."""
    version = record.get("version")
    if version is not None and not (_count(version) and version >= 1):
        return f"version is {str(version)[:30]!r}, not a positive integer"
    if record.get("variant") is not None and not _text(record["variant"]):
        return f"variant is {str(record['variant'])[:30]!r}"
    for name in ("overrides", "budget_changes"):
        value = record.get(name)
        if value is not None and not (isinstance(value, dict) and all(_text(k) for k in value)):
            return f"{name} is {str(value)[:30]!r}, not a mapping of names"
    return None


def result_problem(result: dict) -> str | None:
    """The first reason `result` cannot be used, or None."""
    for name in ("paper", "dataset"):
        if name not in result:
            return f"the result is missing its {name!r}"
        if not _text(result.get(name)):
            return f"{name} is {str(result.get(name))[:30]!r}"
    if result.get("seed") is not None and not _count(result.get("seed")):
        return f"seed is {str(result.get('seed'))[:30]!r}"
    problem = identity_problem(result)
    if problem:
        return problem
    if result.get("status") not in STATUSES:
        return f"status is {str(result.get('status'))[:30]!r}"
    budget, progress = result.get("budget"), result.get("progress")
    if not isinstance(budget, dict) or not _text(budget.get("name")):
        return "budget has no name"
    if not isinstance(progress, dict):
        return "progress is not a mapping"
    for name, ok in (("g_steps", _count), ("d_steps", _count), ("images_seen", _count), ("kimg", _number),
                     ("wall_clock_s", _number)):
        if name in progress or name in ("g_steps", "kimg", "wall_clock_s"):
            if not ok(progress.get(name)):
                return f"progress.{name} is {str(progress.get(name))[:30]!r}"
    device = result.get("provenance", {}).get("device") if isinstance(result.get("provenance"), dict) else None
    if not isinstance(device, dict) or not _text(device.get("type")):
        return "provenance.device has no type"
    if not isinstance(result.get("scores"), list):
        return "scores is not a list"
    for index, score in enumerate(result["scores"]):
        problem = _score_problem(score)
        if problem:
            return f"score {index + 1} {problem}"
    return None
