"""A smoke-budget CLI run of one registry entry on one dataset, for the per-paper test files."""

from __future__ import annotations

import json
import math

from harness.registry import load_registry


def declared_datasets(paper: str) -> list[str]:
    """The datasets a registry entry declares, so a new one is smoke-tested without editing the test."""
    return list(load_registry().get(paper).reproduction.datasets)


def assert_smoke_run(cli, runs_dir, paper: str, dataset: str, *extra: str) -> dict:
    """`gan-bench run paper --dataset dataset --budget smoke` succeeds; its metrics (if scored) are
    finite or None (reverse KL has no value when no sample is high quality). Returns result.json."""
    result = cli("run", paper, "--dataset", dataset, "--budget", "smoke", "--device", "cpu", "--seed", "0",
                 "--runs-dir", runs_dir, *extra)
    assert result.exit_code == 0, result.output
    (result_file,) = runs_dir.glob(f"{paper}*/{dataset}/smoke/*/result.json")
    data = json.loads(result_file.read_text())
    assert data["status"] == "finished" and data["progress"]["g_steps"] == 20
    for score in data["scores"]:
        assert all(v is None or math.isfinite(v) for v in score["metrics"].values()), score
    return data
