"""The 2D data kind: the mixtures as the papers build them, their batches, the mode-coverage metrics
on hand-made point sets, and the one-line refusal of a dataset of the wrong kind."""

from __future__ import annotations

import json
import math

import pytest
import torch

from harness.batches import DeviceBatches
from harness.data import dataset_info, load_dataset
from harness.metrics.modes2d import mode_coverage
from harness.points import GRID25, RING8, FreshPoints


def at_distance(center: tuple[float, float], distance: float) -> list[float]:
    return [center[0] + distance, center[1]]


def test_mixtures_are_the_papers_ring_and_grid():
    ring = RING8.centers()
    assert ring.shape == (8, 2) and RING8.std == 0.01
    assert torch.allclose(ring.norm(dim=1), torch.ones(8))
    angles = sorted(round(math.degrees(math.atan2(y, x))) % 360 for x, y in ring.tolist())
    assert angles == [0, 45, 90, 135, 180, 225, 270, 315]
    grid = GRID25.centers()
    assert GRID25.std == 0.05 and grid.shape == (25, 2)
    assert sorted(set(grid[:, 0].tolist())) == [-4.0, -2.0, 0.0, 2.0, 4.0]
    assert len({tuple(p) for p in grid.tolist()}) == 25


def test_draws_are_near_their_modes_with_the_stated_std():
    points, modes = RING8.draw(20_000, torch.Generator().manual_seed(0))
    offsets = points - RING8.centers()[modes]
    assert abs(offsets.std().item() - 0.01) < 5e-4
    assert torch.bincount(modes, minlength=8).min() > 2000  # equal priors


def test_high_quality_is_strictly_within_three_std():
    centers = RING8.centers()
    first = tuple(centers[0].tolist())
    inside = torch.tensor([at_distance(first, 2.9 * RING8.std)])
    outside = torch.tensor([at_distance(first, 3.1 * RING8.std)])
    assert mode_coverage(inside, centers, RING8.std).high_quality == 100.0
    assert mode_coverage(outside, centers, RING8.std).high_quality == 0.0


def test_all_mass_on_one_mode_gives_log_k_and_one_mode():
    centers = GRID25.centers()
    points = centers[7].repeat(2500, 1)
    coverage = mode_coverage(points, centers, GRID25.std)
    assert coverage.modes == 1
    assert coverage.reverse_kl == pytest.approx(math.log(25), abs=1e-12)


def test_an_even_spread_gives_every_mode_and_zero_kl_and_misses_lower_the_quality():
    centers = RING8.centers()
    far = torch.tensor([[10.0, 10.0]] * 8)  # nowhere near a mode: low quality, outside the histogram
    coverage = mode_coverage(torch.cat([centers.repeat(3, 1), far]), centers, RING8.std)
    assert coverage.modes == 8 and coverage.counts == (3,) * 8
    assert coverage.high_quality == pytest.approx(75.0)
    assert coverage.reverse_kl == pytest.approx(0.0, abs=1e-12)


def test_two_modes_in_ratio_three_to_one_give_the_hand_computed_kl():
    centers = RING8.centers()
    points = torch.cat([centers[0].repeat(3, 1), centers[4].repeat(1, 1)])
    expected = 0.75 * math.log(0.75 * 8) + 0.25 * math.log(0.25 * 8)
    assert mode_coverage(points, centers, RING8.std).reverse_kl == pytest.approx(expected, abs=1e-12)


def test_no_high_quality_sample_leaves_the_kl_undefined():
    coverage = mode_coverage(torch.tensor([[5.0, 5.0]]), RING8.centers(), RING8.std)
    assert (coverage.modes, coverage.high_quality, coverage.reverse_kl) == (0, 0.0, None)


def test_pacgan_sets_are_fixed_and_veegan_sets_are_fresh_draws_that_resume_exactly():
    fixed = load_dataset("grid25-pacgan")
    assert dataset_info("grid25-pacgan").kind == "points" and len(fixed) == 100_000
    assert torch.equal(fixed.points, load_dataset("grid25-pacgan").points)  # the same set for every run
    batches = DeviceBatches(fixed, 100, torch.device("cpu"), seed=3)
    assert batches.next().points.shape == (100, 2) and batches.next().points.dtype == torch.float32

    fresh = load_dataset("ring8")
    assert fresh.fresh_draws
    stream = FreshPoints(fresh.mixture, 500, torch.device("cpu"), seed=1)
    stream.next()
    state = stream.state_dict()
    expected = stream.next().points
    again = FreshPoints(fresh.mixture, 500, torch.device("cpu"), seed=99)
    again.load_state_dict(state)
    assert torch.equal(again.next().points, expected)


def test_gan_on_ring8_records_the_protocol_and_a_scatter(cli, tmp_path):
    result = cli("run", "gan", "--dataset", "ring8", "--budget", "smoke", "--device", "cpu", "--runs-dir", tmp_path)
    assert result.exit_code == 0, result.output
    assert "modes" in result.output and "% HQ" in result.output and "reverse KL" in result.output
    (path,) = tmp_path.glob("gan/ring8/smoke/*/result.json")
    (score,) = json.loads(path.read_text())["scores"]
    assert score["protocol"] == {"dataset": "ring8", "metric": "modes2d", "num_samples": 64, "num_modes": 8,
                                 "mode_std": 0.01, "threshold_std": 3.0}
    assert set(score["metrics"]) == {"modes", "high_quality", "reverse_kl"}
    assert (path.parent / "samples.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize(("paper", "dataset", "kinds"), [("dcgan", "ring8", "images; ring8 is points")])
def test_a_dataset_of_the_wrong_kind_is_one_line_naming_both(cli, tmp_path, paper, dataset, kinds):
    result = cli("run", paper, "--dataset", dataset, "--budget", "smoke", "--device", "cpu", "--runs-dir", tmp_path)
    assert result.exit_code == 2
    assert f"{paper} trains on {kinds}" in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert not any(tmp_path.iterdir())  # nothing written


def test_an_image_dataset_given_to_a_points_only_reproduction_names_both():
    from harness.errors import GanBenchError
    from harness.reproduction import Reproduction
    from harness.run_inputs import check_data_kind

    class PointsOnly(Reproduction):
        data_kinds = ("points",)

    with pytest.raises(GanBenchError, match="^veegan trains on points; mnist is images$"):
        check_data_kind("veegan", PointsOnly, "mnist")
