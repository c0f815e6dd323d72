"""Leaderboard aggregation and the Markdown/CSV export, on hand-written run directories (no training)."""

from __future__ import annotations

import io

import pandas as pd
import pytest

from harness.registry import BUILTIN_REGISTRY, load_registry
from reports.export import csv_frame, markdown
from reports.runs import read_runs
from reports.site import build_site
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


PROTOCOL_YAML = """\
id: protocol-gan
title: A paper whose numbers carry their protocols
authors: [Tester]
year: 2020
category: loss
reproduction:
  module: reproductions.protocol_gan
  datasets: [mnist]
  reported:
    - {dataset: mnist, metric: fid, value: 20.0, num_samples: 64, real_samples: 64, real_split: train,
       extractor: tf-inception, source: "Table 1, the smoke protocol"}
    - {dataset: mnist, metric: fid, value: 25.0, num_samples: 64, real_samples: 64, real_split: test,
       extractor: tf-inception, source: "Table 2, against the test split"}
    - {dataset: mnist, metric: is, value: 3.0, num_samples: 64, is_splits: 10, extractor: tf-inception,
       source: "Table 1, the smoke protocol"}
    - {dataset: mnist, metric: kid, value: 0.05, num_samples: 50000, source: "Table 3, 50k samples, no more said"}
"""


def test_a_paper_number_stands_beside_ours_only_under_the_tables_protocol(tmp_path):
    (tmp_path / "registry" / "papers").mkdir(parents=True)
    (tmp_path / "registry" / "papers" / "protocol-gan.yaml").write_text(PROTOCOL_YAML, encoding="utf-8")
    registry = load_registry([tmp_path / "registry"])
    metrics = {"fid": 22.0, "kid_mean": 0.01, "kid_std": 0.0, "is_mean": 4.0, "is_std": 0.1}
    write_run(tmp_path / "runs", "protocol-gan", 0, extractor=TORCH_FIDELITY, metrics=metrics)
    write_run(tmp_path / "runs", "protocol-gan", 1, metrics=metrics)  # the unverified TorchScript detector
    verified, unverified = sorted(leaderboards(read_runs(tmp_path / "runs"), registry),
                                  key=lambda b: "unverified" in b.protocol.extractor)
    row = _row(verified, "protocol-gan")
    assert row.comparisons["fid"].reported.value == 20.0 and row.comparisons["fid"].delta == pytest.approx(2.0)
    assert row.comparisons["is"].delta == pytest.approx(1.0) and "kid" not in row.comparisons
    apart = {(a.reported.metric, a.reported.value): a.reasons for a in row.apart}
    assert set(apart) == {("fid", 25.0), ("kid", 0.05)}
    assert apart[("fid", 25.0)] == ("the paper's real images are test split, this table's train",)
    assert "the paper scored 50,000 generated samples, this table 64" in apart[("kid", 0.05)]
    assert "the paper used an unstated number of real images, this table 64" in apart[("kid", 0.05)]
    assert "the paper used an unstated extractor, this table tf-inception" in apart[("kid", 0.05)]
    # Unverified weights belong to no family: nothing is subtracted from those numbers.
    other = _row(unverified, "protocol-gan")
    assert other.comparisons == {} and len(other.apart) == 4
    assert all(any("unverified weights" in reason for reason in a.reasons) for a in other.apart)
    # The reasons are visible text in the Markdown export and on the site's leaderboard page.
    text = markdown([verified])
    assert "Table 2, against the test split) is not beside ours: the paper's real images are test split" in text
    assert "| 20.00 | +2.00 |" in text
    files, *_ = build_site(tmp_path / "runs", registry)
    html = files["index.html"].decode()
    assert "paper FID 25.00 (Table 2, against the test split) is not beside ours: the paper&#39;s real images" in html


def test_paper_numbers_and_delta_only_for_the_same_dataset(boards, tmp_path, registry):
    board = _board(boards, num_samples=64)
    xss = _row(board, "xss-gan")
    # Its Table 1 states only the sample count, and the table's detector is unverified: shown apart.
    assert xss.comparisons == {} and not board.indicative and board.reported_metrics == []
    (fid,) = [a for a in xss.apart if a.reported.metric == "fid"]
    assert "the paper's real images are an unstated split, this table's train" in fid.reasons
    # The shipped DCGAN entry reports IS 6.16 on CIFAR-10 (50k samples, 10 splits, TF Inception):
    # beside a run scored that way, never beside MNIST.
    shipped = load_registry([BUILTIN_REGISTRY])
    write_run(tmp_path / "cifar", "dcgan", 0, dataset="cifar10", extractor=TORCH_FIDELITY, eval_samples=50000,
              metrics={"fid": 40.0, "kid_mean": 0.01, "kid_std": 0.0, "is_mean": 5.0, "is_std": 0.1})
    write_run(tmp_path / "cifar", "dcgan", 0, extractor=TORCH_FIDELITY,
              metrics={"fid": 40.0, "kid_mean": 0.01, "kid_std": 0.0, "is_mean": 5.0, "is_std": 0.1})
    cifar, mnist = leaderboards(read_runs(tmp_path / "cifar"), shipped)
    assert _row(cifar, "dcgan").comparisons["is"].delta == pytest.approx(5.0 - 6.16)
    assert "is" not in _row(mnist, "dcgan").comparisons and not _row(mnist, "dcgan").apart


def test_markdown_export(boards):
    text = markdown(boards)
    assert text.count("\n## mnist · smoke\n") == 2  # 64 and 1000 samples: two tables
    # No paper column: the one paper number for MNIST was measured otherwise (listed under the table).
    assert "| dcgan | **12.00 ± 2.00** | — | 0.0200 ± 0.0100 | 64 | 3 | 0.32 | 20 s |" in text
    assert "| gan | 30.00 | — | **0.0080** |" in text  # best KID in bold; one seed, no ±
    assert "xss-gan: paper FID 100.00 ± 1.50 (" in text and "is not beside ours: " in text
    assert "| xss-gan |" in text and "<script>" not in text and "Escaping GAN" not in text  # no titles in the tables


def test_csv_export_is_tidy_and_exact(boards):
    frame = pd.read_csv(io.StringIO(csv_frame(boards).to_csv(index=False)))
    dcgan = frame[(frame.paper == "dcgan") & (frame.num_samples == 64)].iloc[0]
    assert dcgan.fid_mean == pytest.approx(12.0) and dcgan.fid_std == pytest.approx(2.0) and dcgan.seeds == 3
    assert dcgan.seed_list == "0 1 2" and dcgan.best == "fid"
    assert set(frame.num_samples) == {64, 1000}
    # No paper number was measured under these tables' protocols (see the test above): no paper columns filled.
    assert frame[frame.paper == "xss-gan"].fid_paper.isna().all()


def _floor(**changes):
    from harness.real_floor_record import RealFloorRecord

    fields = dict(dataset="mnist", resolution=28, split="test", against="train", samples=64, real_samples=64,
                  selection="first", extractor_kind="torch-fidelity", extractor_sha256=TORCH_FIDELITY["weights_sha256"],
                  extractor_label=TORCH_FIDELITY["label"], metrics={"fid": 1.25, "kid_mean": 0.0002, "kid_std": 0.0001,
                                                                    "is_mean": 9.5, "is_std": 0.2},
                  command="gan-bench score-real --dataset mnist --split test --against train --samples 64")
    return RealFloorRecord(**{**fields, **changes})


def test_a_table_shows_the_real_data_floor_at_its_protocol_or_the_command_for_it(tmp_path, registry):
    from harness.real_floor_record import read_floors, write_floor

    runs = tmp_path / "runs"
    metrics = {"fid": 22.0, "kid_mean": 0.01, "kid_std": 0.0, "is_mean": 4.0, "is_std": 0.1}
    write_run(runs, "dcgan", 0, extractor=TORCH_FIDELITY, metrics=metrics)
    write_run(runs, "dcgan", 1, extractor=TORCH_FIDELITY, eval_samples=1000, metrics=metrics)
    # Floors at other protocols than the 64-sample table's: other counts, split, extractor, dataset.
    for other in (_floor(samples=1000, real_samples=64), _floor(against="test", split="train"),
                  _floor(extractor_label="torchscript (abababab, unverified weights)"), _floor(dataset="fashion-mnist")):
        write_floor(runs, other)
    boards = leaderboards(read_runs(runs), registry, read_floors(runs))
    (board64,) = [b for b in boards if b.protocol.num_samples == 64]
    (board1k,) = [b for b in boards if b.protocol.num_samples == 1000]
    assert board1k.floor == _floor(samples=1000, real_samples=64)  # that one is the 1k table's own floor
    assert board64.floor is None
    assert board64.floor_command == ("gan-bench score-real --dataset mnist --split test --against train --samples 64 "
                                     "--extractor torch-fidelity --runs-dir RUNS_DIR")
    files, *_ = build_site(runs, registry)
    html = files["index.html"].decode()
    assert f"--samples 64 --extractor torch-fidelity --runs-dir {runs}</code> would measure it" in html
    assert html.count('<tr class="real-floor">') == 1  # the 1k table's
    write_floor(runs, _floor())
    boards = leaderboards(read_runs(runs), registry, read_floors(runs))
    (board64,) = [b for b in boards if b.protocol.num_samples == 64]
    assert board64.floor == _floor() and board64.floor_command is None
    assert board64.floor_line.startswith("real data: FID 1.25, IS 9.50, KID 0.0002 (first 64 test images vs 64 train")
    html = build_site(runs, registry)[0]["index.html"].decode()
    assert html.count('<tr class="real-floor">') == 2 and ">1.25<" in html and ">9.50<" in html
    assert "- real data: FID 1.25, IS 9.50, KID 0.0002" in markdown(boards)
