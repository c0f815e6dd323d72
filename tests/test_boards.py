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
WOULD_RUN = re.compile(r"would run    (\S+)/(\S+)/(\S+)/(\d+) v\d+(?: \[[^]]*\])?  (.*)")


def _row(registry, paper: str) -> str:
    """A board's paper as its runs are filed: `<entry>@<variant>`, the entry's default variant if none is named."""
    entry_id, _, variant = paper.partition("@")
    variant = variant or registry.get(entry_id).reproduction.default_variant
    return entry_id + (f"@{variant}" if variant else "")


def _cell(registry, row: str, dataset: str, budget: str, seed: int, budget_dir: str) -> Cell:
    """The sweep cell of a board row named `<entry>@<variant>` (as `_row` names it)."""
    entry_id, _, variant = _row(registry, row).partition("@")
    return Cell(entry_id, dataset, budget, seed, budget_dir, variant or None)


@pytest.mark.parametrize("board", BOARDS, ids=[b.stem for b in BOARDS])
def test_every_board_dry_runs_its_cells_with_budgets_and_costs(cli, tmp_path, board):
    spec = build_spec(read_spec_file(board))
    result = cli("sweep", "--sweep", board, "--runs-dir", tmp_path / "runs", "--dry-run")
    assert result.exit_code == 0, result.output
    cells = [WOULD_RUN.match(line).groups() for line in result.output.splitlines() if line.startswith("would run")]
    registry = load_registry()
    expected = {(_row(registry, p), d, b, str(s))
                for p in spec.papers for d in spec.datasets for b in spec.budgets for s in spec.seeds}
    assert {c[:4] for c in cells} == expected and len(cells) == len(expected)  # no paper left out
    for paper, dataset, budget, seed, described in cells:
        planned = cell_budget(spec, registry, _cell(registry, paper, dataset, budget.removesuffix("-custom"), int(seed), budget))
        assert described.startswith(f"{planned.g_steps:,} G steps at batch {planned.batch_size}"), described
    measured = [c for c in cells if "≈" in c[4]]
    published = cost.measurements(cost.REPO_RESULTS)
    if any(entry == _row(registry, p).partition("@")[0] for p in spec.papers for entry, _ in published):
        assert measured, "the board's papers have finished runs in results/, but no cell has a measured step time"
    else:  # a board none of whose papers has run yet (the Lucic study's, until its first run is committed)
        assert all("cost unknown (no finished run of" in c[4] for c in cells), cells
    assert re.search(rf"estimated training: .* for {len(measured)} of {len(cells)} cells", result.output)
    assert not (tmp_path / "runs").exists()  # a dry run submits nothing


def test_the_cifar10_board_holds_the_papers_with_a_cifar10_number():
    registry = load_registry()
    spec = build_spec(read_spec_file(REPO / "boards" / "cifar10.yaml"))
    reporting = {e.id for e in registry.implemented() if any(r.dataset == "cifar10" for r in e.reproduction.reported)}
    assert set(spec.papers) == reporting


@pytest.mark.parametrize("dataset", ["mnist", "fashion-mnist"])
def test_the_lucic_boards_are_the_studys_seven_losses_at_its_own_schedule(dataset):
    registry = load_registry()
    spec = build_spec(read_spec_file(REPO / "boards" / f"lucic-{dataset}.yaml"))
    study = registry.get("gans-created-equal").reproduction
    assert sorted(spec.papers) == sorted(f"gans-created-equal@{v}" for v in study.variants) and len(spec.papers) == 7
    assert spec.datasets == [dataset] and spec.budgets == ["paper"]
    for paper in spec.papers:
        variant = paper.partition("@")[2]
        planned = cell_budget(spec, registry, _cell(registry, paper, dataset, "paper", 0, "paper"))
        d_steps = study.variants[variant].hyperparameters["d_steps_per_g_step"]
        # the study's 15,625 D steps (20 epochs of 50,000 images at batch 64) whatever the loss's n_critic
        assert planned.g_steps * d_steps == 15_625 and planned.batch_size == 64
        assert (planned.eval_samples, planned.real_split, planned.real_samples) == (10_000, "test", 10_000)
    # every variant has the study's number on this dataset beside it
    assert {r.variant for r in study.reported if r.dataset == dataset} == set(study.variants)


def test_a_cell_of_a_default_variant_finds_its_runs_where_gan_bench_run_files_them(tmp_path):
    from harness.sweep import expand

    registry = load_registry()
    spec = build_spec({"papers": ["unrolled-gan", "gans-created-equal@wgan"], "datasets": ["ring8", "mnist"],
                       "budgets": ["paper"], "runs_dir": str(tmp_path)})
    cells, left_out = expand(spec, registry)
    assert {c.row for c in cells} == {"unrolled-gan@k5", "gans-created-equal@wgan"}
    assert set(left_out) == {"unrolled-gan@k5/mnist", "gans-created-equal@wgan/ring8"}
    (cell,) = [c for c in cells if c.entry_id == "unrolled-gan"]
    assert cell.variant == "k5" and cell.folder(tmp_path) == tmp_path / "unrolled-gan@k5" / "ring8" / "paper"
    with pytest.raises(Exception, match="no variant 'k7'"):
        expand(build_spec({"papers": ["unrolled-gan@k7"]}), registry)


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
