"""Leaderboard aggregation and the Markdown/CSV export, on hand-written run directories (no training)."""

from __future__ import annotations

import io

import pandas as pd
import pytest

from harness.registry import BUILTIN_REGISTRY, load_registry
from reports.export import csv_frame, markdown
from reports.runs import read_runs
from reports.tables import leaderboards
from tests.test_report_support import TORCH_FIDELITY, standard_runs, write_registry, write_run


@pytest.fixture
def registry(tmp_path):
    # Only the test's own entry reports numbers, so the expected tables do not change when a
    # colleague adds a reported number to the shipped registry.
    return load_registry([write_registry(tmp_path / "registry")])


@pytest.fixture
def boards(tmp_path, registry):
    return leaderboards(read_runs(standard_runs(tmp_path / "runs")), registry)


def _board(boards, **protocol):
    matches = [b for b in boards if all(getattr(b.protocol, k) == v for k, v in protocol.items())]
    assert len(matches) == 1, [b.protocol for b in boards]
    return matches[0]


def _row(board, paper):
    (row,) = [r for r in board.rows if r.paper == paper]
    return row


def test_mean_and_sample_std_over_seeds(boards):
    row = _row(_board(boards, num_samples=64), "dcgan")
    assert row.n == 3 and row.seeds == [0, 1, 2]
    assert row.stats["fid"].mean == pytest.approx(12.0) and row.stats["fid"].std == pytest.approx(2.0)  # ddof=1
    assert row.stats["kid"].mean == pytest.approx(0.02) and row.stats["kid"].std == pytest.approx(0.01)
    assert row.stats["is"].mean is None and row.stats["is"].n == 0  # the pool3 detector gives no IS
    single = _row(_board(boards, num_samples=64), "gan")
    assert single.stats["fid"].mean == 30.0 and single.stats["fid"].std is None  # one seed: no spread claimed
    assert row.kimg == pytest.approx(0.32) and row.wall_clock_s == pytest.approx(20.0) and row.devices == ["cpu (x86_64)"]


def test_inception_score_aggregates_and_higher_is_best(tmp_path, registry):
    for seed, (fid, is_mean) in enumerate([(20.0, 3.0), (22.0, 4.0), (24.0, 5.0)]):
        write_run(tmp_path, "dcgan", seed, extractor=TORCH_FIDELITY,
                  metrics={"fid": fid, "kid_mean": 0.01, "kid_std": 0.0, "is_mean": is_mean, "is_std": 0.1})
    write_run(tmp_path, "gan", 0, extractor=TORCH_FIDELITY,
              metrics={"fid": 15.0, "kid_mean": 0.02, "kid_std": 0.0, "is_mean": 2.0, "is_std": 0.1})
    (board,) = leaderboards(read_runs(tmp_path), registry)
    dcgan, gan = _row(board, "dcgan"), _row(board, "gan")
    assert dcgan.stats["is"].mean == pytest.approx(4.0) and dcgan.stats["is"].std == pytest.approx(1.0)
    assert dcgan.best == {"is", "kid"} and gan.best == {"fid"}  # lowest FID/KID, highest IS
    assert [r.paper for r in board.rows] == ["gan", "dcgan"]  # default order: FID, lower first


def test_different_sample_counts_budgets_and_extractors_never_share_a_table(tmp_path, registry):
    write_run(tmp_path, "dcgan", 0, metrics={"fid": 10.0, "kid_mean": 0.01, "kid_std": 0.0})
    write_run(tmp_path, "gan", 0, metrics={"fid": 20.0, "kid_mean": 0.01, "kid_std": 0.0}, eval_samples=32)
    write_run(tmp_path, "wgan", 0, metrics={"fid": 30.0, "kid_mean": 0.01, "kid_std": 0.0}, budget="quick")
    write_run(tmp_path, "lsgan", 0, metrics={"fid": 40.0, "kid_mean": 0.01, "kid_std": 0.0, "is_mean": 1.0, "is_std": 0.0},
              extractor=TORCH_FIDELITY)
    boards = leaderboards(read_runs(tmp_path), registry)
    assert sorted((b.protocol.budget, b.protocol.num_samples, b.protocol.extractor.split()[0], tuple(r.paper for r in b.rows))
                  for b in boards) == [
        ("quick", 1000, "torchscript", ("wgan",)),
        ("smoke", 64, "torch-fidelity", ("lsgan",)),
        ("smoke", 64, "torchscript", ("dcgan",)),
        ("smoke-custom [eval_samples=32]", 32, "torchscript", ("gan",)),  # what it overrode is in the key
    ]


def test_a_rescored_run_appears_in_each_of_its_protocols(boards):
    assert _row(_board(boards, num_samples=1000), "dcgan").stats["fid"].mean == 9.0
    assert _row(_board(boards, num_samples=64), "dcgan").n == 3


def test_running_and_diverged_runs_are_listed_where_they_will_land(boards):
    board = _board(boards, num_samples=64)
    assert _row(board, "wgan").status == {"diverged": 1} and _row(board, "wgan").stats["fid"].mean is None
    assert _row(board, "wgan").kimg == pytest.approx(0.16)
    running = _row(board, "lsgan")
    assert running.status == {"running": 1} and running.kimg is None and running.n == 0
    # Rows without a score sort after every scored row.
    assert [r.paper for r in board.rows] == ["dcgan", "gan", "xss-gan", "lsgan", "wgan"]


def test_paper_numbers_and_delta_only_for_the_same_dataset(boards, tmp_path, registry):
    board = _board(boards, num_samples=64)
    xss = _row(board, "xss-gan")
    assert xss.comparisons["fid"].reported.value == 100.0 and xss.comparisons["fid"].delta == pytest.approx(-50.0)
    assert xss.comparisons["fid"].same_samples  # the paper scored 64 samples too
    assert not xss.comparisons["kid"].same_samples and board.indicative  # 50k vs 64: indicative only
    assert "fid" in board.reported_metrics and "is" not in board.reported_metrics
    # The shipped DCGAN entry reports IS 6.16 on CIFAR-10 (50k samples): shown there, never beside MNIST.
    shipped = load_registry([BUILTIN_REGISTRY])
    write_run(tmp_path / "cifar", "dcgan", 0, dataset="cifar10", extractor=TORCH_FIDELITY,
              metrics={"fid": 40.0, "kid_mean": 0.01, "kid_std": 0.0, "is_mean": 5.0, "is_std": 0.1})
    write_run(tmp_path / "cifar", "dcgan", 0, extractor=TORCH_FIDELITY,
              metrics={"fid": 40.0, "kid_mean": 0.01, "kid_std": 0.0, "is_mean": 5.0, "is_std": 0.1})
    cifar, mnist = leaderboards(read_runs(tmp_path / "cifar"), shipped)
    assert _row(cifar, "dcgan").comparisons["is"].delta == pytest.approx(5.0 - 6.16)
    assert "is" not in _row(mnist, "dcgan").comparisons


def test_markdown_export(boards):
    text = markdown(boards)
    assert text.count("\n## mnist · smoke\n") == 2  # 64 and 1000 samples: two tables
    assert "| dcgan | **12.00 ± 2.00** | — | — | — | 0.0200 ± 0.0100 | — | — | 64 | 3 | 0.32 | 20 s |" in text
    assert "| gan | 30.00 | — | — | — | **0.0080** |" in text  # best KID in bold; one seed, no ±
    assert "| 100.00 ± 1.50 | −50.00 |" in text and "| 0.0500 | −0.0100* |" in text
    assert "—*" not in text  # Δ with a real minus sign; * marks a different sample count
    assert "| xss-gan |" in text and "<script>" not in text and "Escaping GAN" not in text  # no titles in the tables


def test_csv_export_is_tidy_and_exact(boards):
    frame = pd.read_csv(io.StringIO(csv_frame(boards).to_csv(index=False)))
    dcgan = frame[(frame.paper == "dcgan") & (frame.num_samples == 64)].iloc[0]
    assert dcgan.fid_mean == pytest.approx(12.0) and dcgan.fid_std == pytest.approx(2.0) and dcgan.seeds == 3
    assert dcgan.seed_list == "0 1 2" and dcgan.best == "fid"
    assert set(frame.num_samples) == {64, 1000}
    xss = frame[frame.paper == "xss-gan"].iloc[0]
    assert xss.fid_paper == 100.0 and xss.fid_delta == pytest.approx(-50.0) and xss.kid_paper_samples == 50000
