"""Every implemented registry entry runs at the smoke budget through the CLI and yields finite metrics.

New papers are picked up from the registry without editing this file. Scoring goes through the
whole pipeline (samples → extractor → FID/KID against cached real features), but with a small
stand-in TorchScript detector in place of Inception, plugged in the way a user plugs in any
detector (`--extractor torchscript --extractor-weights FILE`): Inception on the CPU would cost
most of each paper's time here. The real detector is exercised by test_cli_end_to_end.py.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from harness.metrics.extractors import sha256_of
from harness.registry import load_registry
from tests.fixtures import write_tiny_torchscript_detector

IMPLEMENTED = sorted(entry.id for entry in load_registry().implemented())


@pytest.fixture(scope="module")
def stand_in_detector(tmp_path_factory) -> Path:
    """A small random pool3-contract network: (N, 3, 299, 299) in [-1, 1] -> (N, 2048)."""
    return write_tiny_torchscript_detector(tmp_path_factory.mktemp("stand-in") / "stand-in-pool3.pt")


@pytest.mark.slow
@pytest.mark.parametrize("paper", IMPLEMENTED)
def test_smoke_run_gives_finite_metrics(paper, cli, tmp_path, stand_in_detector):
    result = cli("run", paper, "--budget", "smoke", "--device", "cpu", "--seed", "0", "--runs-dir", tmp_path,
                 "--extractor", "torchscript", "--extractor-weights", stand_in_detector)
    assert result.exit_code == 0, result.output
    (result_file,) = tmp_path.glob(f"{paper}/*/smoke/*/result.json")
    data = json.loads(result_file.read_text())
    assert data["status"] == "finished"
    assert data["progress"]["g_steps"] == 20
    config = json.loads((result_file.parent / "config.json").read_text())
    # One score per protocol: one for a plain dataset, one per domain (or direction) for two domains.
    assert len(data["scores"]) == max(1, len(config.get("domains", []))), data["scores"]
    for score in data["scores"]:
        # The result says which detector scored it: the stand-in, never passed off as Inception.
        extractor = score["protocol"]["extractor"]
        assert extractor["kind"] == "torchscript" and not extractor["official_weights"], extractor
        assert extractor["weights_sha256"] == sha256_of(stand_in_detector), extractor
        assert score["metrics"], score
        for name, value in score["metrics"].items():
            assert math.isfinite(value), (name, value)
    assert (result_file.parent / "samples.png").stat().st_size > 0
