"""Every implemented registry entry runs at the smoke budget through the CLI and yields finite metrics.

New papers are picked up from the registry without editing this file.
"""

from __future__ import annotations

import json
import math

import pytest

from harness.registry import load_registry

from harness.data import dataset_info

IMPLEMENTED = sorted(entry.id for entry in load_registry().implemented())


def _other_kind_datasets() -> list[tuple[str, str]]:
    """(paper, dataset) for a paper that also declares a dataset of another kind than its default one
    (the GAN baseline's 2D mixtures): one such dataset each, so the added cost stays a second a paper."""
    cases = []
    for entry in load_registry().implemented():
        spec = entry.reproduction
        default_kind = dataset_info(spec.dataset).kind
        others = [d for d in spec.datasets if dataset_info(d).kind != default_kind]
        if others:
            cases.append((entry.id, others[0]))
    return cases


CASES = [(paper, None) for paper in IMPLEMENTED] + _other_kind_datasets()


@pytest.mark.slow
@pytest.mark.parametrize(("paper", "dataset"), CASES)
def test_smoke_run_gives_finite_metrics(paper, dataset, cli, tmp_path):
    chosen = ("--dataset", dataset) if dataset else ()
    result = cli("run", paper, *chosen, "--budget", "smoke", "--device", "cpu", "--seed", "0", "--runs-dir", tmp_path)
    assert result.exit_code == 0, result.output
    (result_file,) = tmp_path.glob(f"{paper}*/*/smoke/*/result.json")  # paper@variant for a registry variant
    data = json.loads(result_file.read_text())
    assert data["status"] == "finished"
    assert data["progress"]["g_steps"] == 20
    config = json.loads((result_file.parent / "config.json").read_text())
    # One score per protocol: one for a plain dataset, one per domain (or direction) for two domains.
    assert len(data["scores"]) == max(1, len(config.get("domains", []))), data["scores"]
    for score in data["scores"]:
        assert score["metrics"], score
        for name, value in score["metrics"].items():
            # None only where a suite leaves a number undefined (2D reverse KL with no high-quality sample)
            assert value is None or math.isfinite(value), (name, value)
        assert any(value is not None for value in score["metrics"].values()), score
    assert (result_file.parent / "samples.png").stat().st_size > 0
