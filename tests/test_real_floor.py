"""The real-data floor (`gan-bench score-real`) and the FID formula against an independent computation."""

from __future__ import annotations

import re
from datetime import datetime

import numpy as np
import pytest
import torch

from harness.data import load_images
from harness.errors import GanBenchError
from harness.metrics.evaluate import Evaluator, Protocol, feature_metrics
from harness.metrics.extractors import FID_LAYER, resolve_extractor
from harness.metrics.real_floor import score_real
from tests import fixtures


def frechet_distance_numpy(a: np.ndarray, b: np.ndarray) -> float:
    """||mu_a - mu_b||^2 + Tr(S_a) + Tr(S_b) - 2 Tr((S_a S_b)^(1/2)), in float64 with numpy alone.

    Tr((S_a S_b)^(1/2)) is the sum of the square roots of S_a S_b's eigenvalues (real and >= 0 for
    two covariance matrices), a different route from torch-fidelity's matrix square root."""
    mu_a, mu_b = a.mean(0), b.mean(0)
    s_a, s_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root_trace = np.sqrt(np.clip(np.linalg.eigvals(s_a @ s_b).real, 0, None)).sum()
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(s_a) + np.trace(s_b) - 2 * root_trace)


@pytest.fixture(scope="module")
def tiny_detector(tmp_path_factory):
    return fixtures.write_tiny_torchscript_detector(tmp_path_factory.mktemp("tiny") / "pool3.pt")


def test_fid_equals_an_independent_frechet_distance(tiny_detector):
    generator = np.random.default_rng(0)
    fake = generator.normal(0.3, 1.0, size=(400, 16)) @ generator.normal(size=(16, 16))
    real = generator.normal(0.0, 1.2, size=(500, 16))
    spec = resolve_extractor("torchscript", tiny_detector)
    protocol = Protocol("mnist", 28, 400, "train", 500, spec)
    ours = feature_metrics({FID_LAYER: torch.from_numpy(fake)}, {FID_LAYER: torch.from_numpy(real)}, protocol)["fid"]
    expected = frechet_distance_numpy(fake, real)
    assert expected > 1.0  # the two sets differ, so a formula that drops a term cannot match by accident
    assert ours == pytest.approx(expected, rel=1e-6)


def test_score_real_compares_the_first_n_of_each_split(tiny_detector, data_root, feature_cache):
    spec = resolve_extractor("torchscript", tiny_detector)
    floor = score_real("mnist", "test", "train", 12, spec, torch.device("cpu"), data_root, feature_cache)

    # The same metrics computed by hand from the first 12 images of each split.
    protocol = Protocol("mnist", 28, 12, "train", 12, spec)
    evaluator = Evaluator(protocol, torch.device("cpu"), data_root, feature_cache)
    test, train = load_images("mnist", "test", data_root), load_images("mnist", "train", data_root)
    expected = feature_metrics(evaluator.features(iter([test.images[:12]])),
                               evaluator.features(iter([train.images[:12]])), protocol)
    assert floor.selection == "first"
    assert floor.metrics["fid"] == pytest.approx(expected["fid"], rel=1e-6)
    assert floor.protocol.real_split == "train" and floor.protocol.num_samples == 12

    shuffled = score_real("mnist", "test", "train", 12, spec, torch.device("cpu"), data_root, feature_cache, random_seed=3)
    assert shuffled.selection == "random (seed 3)"
    assert shuffled.metrics["fid"] != pytest.approx(floor.metrics["fid"], rel=1e-6)


def test_score_real_reuses_cached_features(tiny_detector, data_root, tmp_path, monkeypatch):
    spec = resolve_extractor("torchscript", tiny_detector)
    first = score_real("mnist", "test", "train", 8, spec, torch.device("cpu"), data_root, tmp_path)
    assert len(list((tmp_path / "real-floor").glob("*.pt"))) == 2

    def no_extraction(self, batches):
        raise AssertionError("features were recomputed despite the cache")

    monkeypatch.setattr(Evaluator, "features", no_extraction)
    again = score_real("mnist", "test", "train", 8, spec, torch.device("cpu"), data_root, tmp_path)
    assert again.metrics == first.metrics


def test_cli_prints_each_metric_on_its_own_line(cli, tiny_detector):
    result = cli("score-real", "--dataset", "mnist", "--split", "test", "--against", "train", "--samples", "10",
                 "--device", "cpu", "--extractor", "torchscript", "--extractor-weights", tiny_detector)
    assert result.exit_code == 0, result.output
    assert re.search(r"^FID \d+\.\d+$", result.output, re.M)
    assert re.search(r"^KID -?\d+\.\d+ ± \d+\.\d+$", result.output, re.M)
    assert "[first 10 mnist test images vs first 10 train images, torchscript" in result.output


@pytest.mark.parametrize("args, message", [
    (["--split", "train", "--against", "train"], "both 'train'"),
    (["--samples", "1"], "at least 2 images"),
    (["--samples", "999999999"], "has only"),
    (["--split", "valid"], "--split 'valid'"),
])
def test_bad_input_is_one_line(cli, tiny_detector, args, message):
    result = cli("score-real", "--device", "cpu", "--extractor", "torchscript", "--extractor-weights", tiny_detector,
                 *(["--samples", "4"] if "--samples" not in args else []), *args)
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output


def test_same_split_is_refused_before_loading_anything(tiny_detector):
    spec = resolve_extractor("torchscript", tiny_detector)
    with pytest.raises(GanBenchError, match="two different splits"):
        score_real("no-such-dataset-is-loaded", "test", "test", 10, spec, torch.device("cpu"))


def test_runs_dir_stores_a_record_the_report_reads_back(cli, tiny_detector, tmp_path):
    from harness.real_floor_record import FLOOR_FOLDER, read_floors

    runs = tmp_path / "runs"
    result = cli("score-real", "--dataset", "mnist", "--split", "test", "--against", "train", "--samples", "10",
                 "--real-samples", "12", "--device", "cpu", "--extractor", "torchscript",
                 "--extractor-weights", tiny_detector, "--runs-dir", runs)
    assert result.exit_code == 0, result.output
    (path,) = (runs / FLOOR_FOLDER / "mnist").glob("*.json")
    assert f"stored {path}" in result.output
    (floor,) = read_floors(runs)
    assert (floor.dataset, floor.split, floor.against, floor.samples, floor.real_samples, floor.selection) == (
        "mnist", "test", "train", 10, 12, "first")
    assert floor.extractor_kind == "torchscript" and floor.extractor_label.startswith("torchscript (")
    printed = float(re.search(r"^FID (\S+)$", result.output, re.M).group(1))
    assert floor.metrics["fid"] == pytest.approx(printed, abs=1e-4)  # the stored number is the printed one
    assert floor.command.startswith("gan-bench score-real --dataset mnist --split test --against train --samples 10 "
                                    "--real-samples 12") and f"--runs-dir {runs}" in floor.command
    # Where, when and from which code it was measured, as a run's result records it.
    assert datetime.fromisoformat(floor.measured_at).tzinfo is not None
    assert floor.hardware.startswith("cpu, ") and floor.hardware.endswith("1 thread")  # conftest's one_thread
    assert 0 < floor.wall_clock_s < 600 and floor.code_commit
    assert floor.provenance_line.startswith(f"measured {floor.measured_at} on cpu")


def test_a_floor_stored_before_provenance_reads_back_and_says_so(tmp_path):
    from harness.real_floor_record import RealFloorRecord

    old = {"dataset": "mnist", "resolution": 28, "split": "test", "against": "train", "samples": 10,
           "real_samples": 10, "selection": "first", "extractor_kind": "torchscript", "extractor_sha256": "ab" * 32,
           "extractor_label": "torchscript (abababab, unverified weights)", "metrics": {"fid": 1.0}, "command": "c"}
    record = RealFloorRecord.model_validate(old)
    assert record.measured_at is None and record.provenance_line.startswith("provenance not recorded")


def test_without_runs_dir_nothing_is_stored(cli, tiny_detector, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = cli("score-real", "--samples", "10", "--device", "cpu", "--extractor", "torchscript",
                 "--extractor-weights", tiny_detector)
    assert result.exit_code == 0 and "stored" not in result.output
    assert not list(tmp_path.rglob("*.json"))


def test_damaged_planted_or_linked_floor_records_are_left_out(tmp_path):
    from harness.real_floor_record import RealFloorRecord, floor_path, read_floors, write_floor

    record = RealFloorRecord(dataset="mnist", resolution=28, split="test", against="train", samples=10, real_samples=10,
                             selection="first", extractor_kind="torchscript", extractor_sha256="ab" * 32,
                             extractor_label="torchscript (abababab, unverified weights)",
                             metrics={"fid": 1.5, "kid_mean": 0.001, "kid_std": 0.0}, command="gan-bench score-real")
    good = write_floor(tmp_path, record)
    assert good == floor_path(tmp_path, record) and read_floors(tmp_path) == [record]
    folder = good.parent
    (folder / "damaged.json").write_text("{not json", encoding="utf-8")
    (folder / "nan.json").write_text(good.read_text().replace("1.5", "NaN"), encoding="utf-8")
    (folder / "extra.json").write_text(good.read_text().replace('"dataset"', '"code": "x", "dataset"'), encoding="utf-8")
    outside = tmp_path.parent / f"{tmp_path.name}-outside.json"
    outside.write_text(good.read_text().replace("1.5", "0.25"), encoding="utf-8")
    (folder / "linked.json").symlink_to(outside)
    assert read_floors(tmp_path) == [record]
