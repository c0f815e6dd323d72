"""What a sweep will cost to train, estimated from the wall-clock that finished runs recorded.

A finished run's result.json records its budget (G steps, batch), the real images D was shown and the
training wall-clock, on the device its provenance names. Training time grows with the images pushed
through the networks, so a run measured at one budget predicts another of the same paper and dataset:

    seconds ≈ measured seconds per (G step × image of G's batch) × G steps × batch

capped by the budget's kimg and wall-clock limits. The estimate is of training only (scoring 50,000
samples adds minutes on a GPU, hours on a CPU), and only as good as the measurement's hardware and load
match the target's: each estimate names the run it came from and that run's device.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from harness.budget import Budget

REPO_RESULTS = Path(__file__).resolve().parents[1] / "results"  # the committed, published runs


@dataclass(frozen=True)
class Measurement:
    """One finished run's training speed."""

    run: Path
    device: str  # as its provenance records it, e.g. "cpu x86_64", "cuda NVIDIA H200"
    seconds_per_image: float  # wall-clock / (G steps × G batch)
    d_images_per_g_image: float  # images D saw per image of G's batch (n_critic, two domains, …)
    g_images: int  # how much it measured over: a longer run amortises its start-up better


@dataclass(frozen=True)
class Estimate:
    seconds: float
    g_steps: int  # the steps the budget's limits allow
    measured: Measurement
    same_dataset: bool


def _measure(result_path: Path) -> tuple[tuple[str, str], Measurement] | None:
    try:
        result = json.loads(result_path.read_text(encoding="utf-8"))
        progress, budget = result["progress"], result["budget"]
        g_images = progress["g_steps"] * budget["batch_size"]
        if result.get("status") != "finished" or g_images <= 0 or not progress.get("wall_clock_s"):
            return None
        device = result.get("provenance", {}).get("device", {})
        where = " ".join(str(device[k]) for k in ("type", "name") if device.get(k)) or "unknown device"
        measured = Measurement(result_path.parent, where,
                               progress["wall_clock_s"] / g_images, progress["images_seen"] / g_images, g_images)
        return (result["paper"], result["dataset"]), measured
    except (OSError, ValueError, KeyError, TypeError, ZeroDivisionError):
        return None  # not a readable finished run: it measures nothing


def measurements(*roots: Path) -> dict[tuple[str, str], Measurement]:
    """(paper, dataset) → the measurement of its longest finished run; earlier roots win ties."""
    found: dict[tuple[str, str], Measurement] = {}
    for root in roots:
        for path in sorted(Path(root).glob("*/*/*/*/result.json")):
            measured = _measure(path)
            if measured is not None:
                key, value = measured
                if key not in found or value.g_images > found[key].g_images:
                    found[key] = value
    return found


def estimate(paper: str, dataset: str, budget: Budget, known: dict[tuple[str, str], Measurement]) -> Estimate | None:
    """The budget's training time for this paper, from its run on this dataset (else on another)."""
    measured = known.get((paper, dataset))
    same = measured is not None
    if measured is None:
        others = [m for (p, _), m in sorted(known.items()) if p == paper]
        if not others:
            return None
        measured = others[0]
    g_steps = budget.g_steps
    if budget.kimg is not None:
        g_steps = min(g_steps, int(budget.kimg * 1000 / (budget.batch_size * measured.d_images_per_g_image)))
    seconds = g_steps * budget.batch_size * measured.seconds_per_image
    if budget.wall_clock_s is not None and seconds > budget.wall_clock_s:
        seconds = budget.wall_clock_s
        g_steps = int(seconds / (budget.batch_size * measured.seconds_per_image))
    return Estimate(seconds, g_steps, measured, same)


def human(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    if seconds < 48 * 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def describe(paper: str, dataset: str, budget: Budget, found: Estimate | None) -> str:
    """One cell's budget and estimated training time, for `gan-bench sweep --dry-run`."""
    steps = f"{budget.g_steps:,} G steps at batch {budget.batch_size}"
    if found is None:
        return f"{steps}, cost unknown (no finished run of {paper} to measure)"
    source = found.measured.run
    source = source.relative_to(REPO_RESULTS.parent) if source.is_relative_to(REPO_RESULTS.parent) else source
    other = "" if found.same_dataset else f", measured on another dataset"
    capped = f", {found.g_steps:,} within its limits" if found.g_steps < budget.g_steps else ""
    return f"{steps}{capped} ≈ {human(found.seconds)} ({found.measured.device}{other}: {source})"
