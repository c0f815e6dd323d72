"""Every implemented registry entry runs through the CLI on the smoke budget, shortened, and yields finite metrics.

New papers (and a paper's datasets of another data kind) are picked up from the registry without
editing this file: adding a paper adds a case, and each case costs seconds. What keeps it seconds:

- `SHORTENED_SMOKE` (tests/smoke_kit.py): 5 G steps instead of 20, 16 samples scored against 16
  real images instead of 64; the run is recorded as `smoke-custom`. A paper's defaults,
  networks, data, checkpoint, sampling and scoring go through the same code as at 20 steps; what
  more steps would add (the optimisation itself) is each paper's own test file's business.
- Scoring goes through the whole pipeline (samples → extractor → FID/KID against cached real
  features) with a small stand-in TorchScript detector in place of Inception, plugged in the way a
  user plugs in any detector (`--extractor torchscript --extractor-weights FILE`). The real
  detector is exercised by test_cli_end_to_end.py.
- Stacked MNIST's mode counter is `SMALL_CLASSIFIER`, trained in seconds (recorded in each score
  with its test accuracy, as any classifier is); the shipped training recipe and its code on a slice of
  MNIST are checked in test_metrics.py.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from harness.data import dataset_info
from harness.metrics.extractors import sha256_of
from harness.registry import load_registry
from tests.fixtures import write_tiny_torchscript_detector
from tests.smoke_kit import SHORTENED_BUDGET_DIR, SHORTENED_SMOKE, SMOKE_G_STEPS, use_small_stacked_classifier


IMPLEMENTED = sorted(entry.id for entry in load_registry().implemented())


@pytest.fixture(scope="module")
def stand_in_detector(tmp_path_factory) -> Path:
    """A small random pool3-contract network: (N, 3, 299, 299) in [-1, 1] -> (N, 2048)."""
    return write_tiny_torchscript_detector(tmp_path_factory.mktemp("stand-in") / "stand-in-pool3.pt")


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


CASES = [pytest.param(paper, None, id=paper) for paper in IMPLEMENTED] + [
    pytest.param(paper, dataset, id=f"{paper}-{dataset}") for paper, dataset in _other_kind_datasets()] + [
    # Lucic et al.'s study: the variants whose D step differs from the default NS GAN's (autoencoder D and k_t,
    # perturbed-real penalty, interpolate penalty with 5 D steps)
    pytest.param(f"gans-created-equal@{loss}", None, id=f"gans-created-equal@{loss}") for loss in ("began", "dragan", "wgan-gp")]
# Variants that train differently in kind from their entry's default: GMMN+AE's two phases, BGAN's discrete samples,
# the supervised AAE's labelled decoder.
CASES += [pytest.param(paper, None, id=paper) for paper in ("gmmn@code", "bgan@discrete", "aae@supervised")]


@pytest.mark.slow
@pytest.mark.parametrize(("paper", "dataset"), CASES)
def test_smoke_run_gives_finite_metrics(paper, dataset, cli, tmp_path, stand_in_detector, monkeypatch):
    use_small_stacked_classifier(monkeypatch)
    chosen = ("--dataset", dataset) if dataset else ()
    result = cli("run", paper, *chosen, *SHORTENED_SMOKE, "--device", "cpu", "--seed", "0", "--runs-dir", tmp_path,
                 "--extractor", "torchscript", "--extractor-weights", stand_in_detector)
    assert result.exit_code == 0, result.output
    # paper@variant for a registry variant
    (result_file,) = tmp_path.glob(f"{paper}*/*/{SHORTENED_BUDGET_DIR}/*/result.json")
    data = json.loads(result_file.read_text())
    assert data["status"] == "finished"
    assert data["progress"]["g_steps"] == SMOKE_G_STEPS
    assert data["sampling"]["mode"] in ("running-stats", "batch-stats"), data["sampling"]
    config = json.loads((result_file.parent / "config.json").read_text())
    # One score per protocol: one for a plain dataset, one per domain (or direction) for two domains.
    assert len(data["scores"]) == max(1, len(config.get("domains", []))), data["scores"]
    for score in data["scores"]:
        # An image score says which detector scored it: the stand-in, never passed off as Inception.
        extractor = score["protocol"].get("extractor")
        if extractor is not None:
            assert extractor["kind"] == "torchscript" and not extractor["official_weights"], extractor
            assert extractor["weights_sha256"] == sha256_of(stand_in_detector), extractor
        else:  # mode coverage on points or Stacked MNIST, a semi-supervised test error: no Inception features
            assert score["protocol"]["metric"] in ("modes2d", "stacked-modes", "semi-supervised"), score["protocol"]
        assert score["metrics"], score
        for name, value in score["metrics"].items():
            # None only where a suite leaves a number undefined (2D reverse KL with no high-quality sample)
            assert value is None or math.isfinite(value), (name, value)
        assert any(value is not None for value in score["metrics"].values()), score
    assert (result_file.parent / "samples.png").stat().st_size > 0
