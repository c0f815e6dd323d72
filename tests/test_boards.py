"""The published leaderboards (boards/*.yaml) dry-run, and their cost comes from measured runs."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from harness import cost
from harness.budget import resolve_budget
from harness.registry import load_registry
from harness.sweep import Cell, build_spec, cell_budget, read_spec_file

REPO = Path(__file__).resolve().parents[1]
BOARDS = sorted((REPO / "boards").glob("*.yaml"))
WOULD_RUN = re.compile(r"would run    (\S+)/(\S+)/(\S+)/(\d+)  (.*)")


@pytest.mark.parametrize("board", BOARDS, ids=[b.stem for b in BOARDS])
def test_every_board_dry_runs_its_cells_with_budgets_and_costs(cli, tmp_path, board):
    spec = build_spec(read_spec_file(board))
    result = cli("sweep", "--sweep", board, "--runs-dir", tmp_path / "runs", "--dry-run")
    assert result.exit_code == 0, result.output
    cells = [WOULD_RUN.match(line).groups() for line in result.output.splitlines() if line.startswith("would run")]
    expected = {(p, d, b, str(s)) for p in spec.papers for d in spec.datasets for b in spec.budgets for s in spec.seeds}
    assert {c[:4] for c in cells} == expected and len(cells) == len(expected)  # no paper left out
    registry = load_registry()
    for paper, dataset, budget, seed, described in cells:
        planned = cell_budget(spec, registry, Cell(paper, dataset, budget.removesuffix("-custom"), int(seed), budget))
        assert described.startswith(f"{planned.g_steps:,} G steps at batch {planned.batch_size}"), described
    measured = [c for c in cells if "≈" in c[4]]
    assert measured, "no cell of the board has a measured step time"
    assert re.search(rf"estimated training: .* for {len(measured)} of {len(cells)} cells", result.output)
    assert not (tmp_path / "runs").exists()  # a dry run submits nothing


def test_the_cifar10_board_holds_the_papers_with_a_cifar10_number():
    registry = load_registry()
    spec = build_spec(read_spec_file(REPO / "boards" / "cifar10.yaml"))
    reporting = {e.id for e in registry.implemented() if any(r.dataset == "cifar10" for r in e.reproduction.reported)}
    assert set(spec.papers) == reporting


def write_result(runs: Path, paper: str, dataset: str, g_steps: int, batch: int, seconds: float,
                 d_ratio: float = 1.0, name: str = "0-a") -> None:
    path = runs / paper / dataset / "quick" / name
    path.mkdir(parents=True)
    (path / "result.json").write_text(json.dumps({
        "paper": paper, "dataset": dataset, "status": "finished", "budget": {"batch_size": batch},
        "progress": {"g_steps": g_steps, "images_seen": int(g_steps * batch * d_ratio), "wall_clock_s": seconds},
        "provenance": {"device": {"type": "cuda", "name": "Test GPU"}}}))


def test_the_estimate_scales_the_measured_time_per_image_to_the_budget(tmp_path):
    write_result(tmp_path, "wgan", "mnist", g_steps=1000, batch=64, seconds=64.0, d_ratio=5.0)
    write_result(tmp_path, "wgan", "mnist", g_steps=10, batch=64, seconds=60.0, name="0-short")  # start-up heavy
    known = cost.measurements(tmp_path)
    found = cost.estimate("wgan", "mnist", resolve_budget("standard"), known)
    assert found.seconds == pytest.approx(100_000 * 64 * 64.0 / 64_000)  # the longer run measures
    assert found.same_dataset and found.measured.device == "cuda Test GPU"
    on_cifar = cost.estimate("wgan", "cifar10", resolve_budget("standard"), known)
    assert not on_cifar.same_dataset and "measured on another dataset" in cost.describe(
        "wgan", "cifar10", resolve_budget("standard"), on_cifar)
    # A kimg limit counts D's images (5 critic steps per G step here); a wall-clock limit caps the time.
    by_kimg = cost.estimate("wgan", "mnist", resolve_budget("standard", overrides={"kimg": 3200}), known)
    assert by_kimg.g_steps == 10_000 and by_kimg.seconds == pytest.approx(640.0)
    by_clock = cost.estimate("wgan", "mnist", resolve_budget("standard", overrides={"wall_clock_s": 60}), known)
    assert by_clock.seconds == 60 and by_clock.g_steps == 937
    assert cost.estimate("dcgan", "mnist", resolve_budget("standard"), known) is None
