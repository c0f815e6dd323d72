"""The 2D leaderboard: a "ring8 · paper" table with the modes2d columns, ours as mean ± s.e. beside
the paper's value, and whether the paper's value lies inside our interval."""

from __future__ import annotations

import json
import math
from pathlib import Path

from harness.registry import load_registry
from reports.export import markdown
from reports.runs import read_runs
from reports.tables import leaderboards

PROTOCOL = {"dataset": "ring8", "metric": "modes2d", "num_samples": 2500, "num_modes": 8, "mode_std": 0.01,
            "threshold_std": 3.0}


def write_points_run(root: Path, row: str, seed: int, metrics: dict, variant: str | None = None) -> None:
    paper = row.partition("@")[0]
    path = root / row / "ring8" / "paper" / f"{seed}-20261201T000000Z-{seed:04x}"
    path.mkdir(parents=True)
    tags = {"version": 1, "overrides": {}, **({"variant": variant} if variant else {})}  # its method, as a run records it
    config = {"paper": paper, **tags, "dataset": "ring8", "seed": seed, "metric": "modes2d", "evaluate": True,
              "budget": {"name": "paper", "eval_samples": 2500}, "extractor": None, "device": "cpu"}
    result = {"paper": paper, **tags, "dataset": "ring8", "seed": seed, "status": "finished",
              "budget": {"name": "paper", "eval_samples": 2500},
              "progress": {"g_steps": 10, "kimg": 5.0, "wall_clock_s": 30.0},
              "provenance": {"device": {"type": "cpu"}},
              "scores": [{"protocol": PROTOCOL, "metrics": metrics, "g_step": 10}]}
    (path / "config.json").write_text(json.dumps(config))
    (path / "result.json").write_text(json.dumps(result))


def test_ring8_paper_table_has_the_2d_columns_standard_errors_and_in_or_out(tmp_path):
    # VEEGAN Table 1 reports GAN on the 2D ring: 1 mode, 99.3% high quality (registry gan.yaml).
    write_points_run(tmp_path, "gan", 0, {"modes": 1.0, "high_quality": 99.0, "reverse_kl": 2.0})
    write_points_run(tmp_path, "gan", 1, {"modes": 3.0, "high_quality": 98.0, "reverse_kl": None})
    write_points_run(tmp_path, "unrolled-gan@k5", 0, {"modes": 8.0, "high_quality": 30.0, "reverse_kl": 0.1},
                     variant="k5")
    (board,) = leaderboards(read_runs(tmp_path), load_registry())
    assert board.protocol.title == "ring8 · paper"
    assert [m.label for m in board.metrics] == ["modes", "% HQ", "reverse KL"]
    assert [row.paper for row in board.rows] == ["unrolled-gan@k5", "gan"]  # most modes first
    gan = board.rows[1]
    assert gan.stats["modes"].mean == 2.0
    assert gan.stats["modes"].std == math.sqrt(2) / math.sqrt(2)  # the standard error: sample std / √n
    assert gan.stats["reverse_kl"].n == 1  # an undefined KL is no number, not a zero
    modes = gan.comparisons["modes"]
    assert modes.reported.value == 1 and modes.delta == 1.0 and modes.within is True  # |2 − 1| ≤ s.e. 1
    quality = gan.comparisons["high_quality"]
    assert quality.within is False  # 98.5 ± 0.5 does not hold 99.3
    assert board.rows[0].comparisons["modes"].reported.variant == "k5" or "modes" not in board.rows[0].comparisons
    text = markdown([board])
    assert "## ring8 · paper" in text and "standard error" in text and "+1.0 in" in text and "FID" not in text


def test_a_points_score_is_checked_by_its_own_suite_not_as_a_fid():
    from harness.result_checks import result_problem

    def result(metrics, metric="modes2d"):
        return {"paper": "gan", "dataset": "ring8", "seed": 0, "status": "finished", "budget": {"name": "paper"},
                "progress": {"g_steps": 10, "kimg": 5.0, "wall_clock_s": 30.0}, "provenance": {"device": {"type": "cpu"}},
                "scores": [{"protocol": {**PROTOCOL, "metric": metric}, "metrics": metrics}]}

    assert result_problem(result({"modes": 1.0, "high_quality": 99.0, "reverse_kl": None})) is None
    assert "modes is 'nan'" in result_problem(result({"modes": float("nan"), "high_quality": 1.0, "reverse_kl": 0.1}))
    assert "has no modes2d metric" in result_problem(result({"modes": None, "high_quality": None, "reverse_kl": None}))
    assert "not a known metric suite" in result_problem(result({"modes": 1.0}, metric="<script>"))
