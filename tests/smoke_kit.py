"""Smoke-test CLI runs, shortened so that each costs seconds: the every-paper test and the per-paper files.

`SHORTENED_SMOKE` is the smoke budget (batch 16) cut to 5 G steps (one loss record at log_every = 5)
and 16 samples scored against 16 real images: the same code path as the 20-step smoke budget (the run
is recorded as `smoke-custom`), at a quarter of the training and an eighth of the scoring.
"""

from __future__ import annotations

import json
import math

from harness.metrics.mnist_classifier import ClassifierTraining
from harness.registry import load_registry

SMOKE_G_STEPS = 5
SHORTENED_SMOKE = ("--budget", "smoke", "--g-steps", str(SMOKE_G_STEPS), "--eval-samples", "16", "--real-samples", "16")
SHORTENED_BUDGET_DIR = "smoke-custom"  # an overridden budget is renamed, never filed with the named one
# Stacked MNIST's mode counter, trained on 1,000 digits for 2 epochs (seconds) instead of the shipped
# 5 epochs on 60,000 (minutes); its test accuracy is recorded in each score like any classifier's.
SMALL_CLASSIFIER = ClassifierTraining(epochs=2, batch_size=50, train_images=1000)
# conftest's shared `dcgan_smoke_run` (the smoke budget's 20 steps) is scored with the real detector on
# this many samples against as many real images: a quarter of the smoke budget's Inception passes.
SCORED_RUN_SAMPLES = 16


def use_small_stacked_classifier(monkeypatch) -> None:
    from harness.metrics import stacked_modes

    monkeypatch.setattr(stacked_modes, "CLASSIFIER_TRAINING", SMALL_CLASSIFIER)
    monkeypatch.setattr(stacked_modes, "CLASSIFIER_MIN_ACCURACY", 0.0)  # the small one is not held to 99%


def declared_datasets(paper: str) -> list[str]:
    """The datasets a registry entry declares, so a new one is smoke-tested without editing the test."""
    return list(load_registry().get(paper).reproduction.datasets)


def assert_smoke_run(cli, runs_dir, paper: str, dataset: str, *extra: str) -> dict:
    """`gan-bench run paper --dataset dataset` on the shortened smoke budget succeeds; its metrics (if
    scored) are finite or None (reverse KL has no value when no sample is high quality). Returns result.json."""
    result = cli("run", paper, "--dataset", dataset, *SHORTENED_SMOKE, "--device", "cpu", "--seed", "0",
                 "--runs-dir", runs_dir, *extra)
    assert result.exit_code == 0, result.output
    (result_file,) = runs_dir.glob(f"{paper}*/{dataset}/{SHORTENED_BUDGET_DIR}/*/result.json")
    data = json.loads(result_file.read_text())
    assert data["status"] == "finished" and data["progress"]["g_steps"] == SMOKE_G_STEPS
    for score in data["scores"]:
        assert all(v is None or math.isfinite(v) for v in score["metrics"].values()), score
    return data
