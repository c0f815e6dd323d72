"""Wrong results a hostile or unlucky input used to produce (issue 15): NaN weights scored, two
processes training one run, unchecked read-back, silently coerced or empty runs."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest
import torch

from harness.registry import load_registry
from reports.render import render_site
from tests.test_bad_input import assert_one_line_error, gan_bench, snapshot
from tests.test_report_support import write_run

SMOKE = ["--budget", "smoke", "--device", "cpu", "--no-eval"]


def _nan_weights(checkpoint: Path) -> None:
    state = torch.load(checkpoint, weights_only=True)
    for name, tensor in state["reproduction"]["G"].items():
        if tensor.is_floating_point():
            tensor.fill_(math.nan)
            break
    torch.save(state, checkpoint)


def _copy(run: Path, target: Path) -> Path:
    return Path(shutil.copytree(run, target))


def test_evaluate_with_nan_weights_records_diverged_and_scores_nothing(unscored_run, tmp_path):
    run = _copy(unscored_run, tmp_path / "run")
    _nan_weights(run / "checkpoint.pt")
    proc = gan_bench("evaluate", run, "--device", "cpu", "--extractor", "torchscript")
    assert_one_line_error(proc, "non-finite weights in G")
    result = json.loads((run / "result.json").read_text())
    assert result["status"] == "diverged" and result["scores"] == []
    assert "non-finite weights" in result["divergence"]["reason"]


def test_resume_of_a_nan_checkpoint_at_its_last_step_is_diverged_not_finished(unscored_run, tmp_path):
    run = _copy(unscored_run, tmp_path / "run")
    (run / "result.json").unlink()  # killed after its last checkpoint, before the result
    _nan_weights(run / "checkpoint.pt")
    proc = gan_bench("resume", run)
    assert proc.returncode == 0, proc.stderr
    result = json.loads((run / "result.json").read_text())
    assert result["status"] == "diverged" and "non-finite" in result["divergence"]["reason"]


def test_a_second_process_in_a_locked_run_gets_one_line_naming_the_holder(unscored_run, tmp_path):
    from harness.run_lock import run_locked

    run = _copy(unscored_run, tmp_path / "run")
    (run / "result.json").unlink()
    before = snapshot(run)
    with run_locked(run, "training"):  # a first resume, still training
        proc = gan_bench("resume", run)
        scoring = gan_bench("evaluate", run, "--device", "cpu", "--extractor", "torchscript")
    import os

    assert_one_line_error(proc, f"is in use by pid {os.getpid()}")
    assert_one_line_error(scoring, "is in use by pid")
    assert snapshot(run) == before  # curves not touched, no lock file left


def test_a_checkpoint_with_a_bad_progress_field_is_refused(unscored_run, tmp_path):
    run = _copy(unscored_run, tmp_path / "run")
    state = torch.load(run / "checkpoint.pt", weights_only=True)
    state["progress"]["g_steps"] = "abc"
    torch.save(state, run / "checkpoint.pt")
    before = snapshot(run)
    proc = gan_bench("evaluate", run, "--device", "cpu", "--extractor", "torchscript")
    assert_one_line_error(proc, "progress.g_steps must be a non-negative integer")
    assert snapshot(run) == before


def test_a_nan_fid_run_is_excluded_from_the_mean_and_listed_with_its_reason(tmp_path):
    runs = tmp_path / "runs"
    write_run(runs, "dcgan", 0, metrics={"fid": 10.0, "kid_mean": 0.01, "kid_std": 0.001})
    write_run(runs, "dcgan", 1, metrics={"fid": 20.0, "kid_mean": 0.02, "kid_std": 0.001})
    bad = write_run(runs, "dcgan", 2, metrics={"fid": 30.0, "kid_mean": 0.03, "kid_std": 0.001})
    text = (bad / "result.json").read_text().replace('"fid": 30.0', '"fid": NaN')
    (bad / "result.json").write_text(text)
    render_site(runs, load_registry(), tmp_path / "site", ["csv"])
    csv = (tmp_path / "site" / "leaderboards.csv").read_text()
    assert ",dcgan,2,0 1," in csv  # two seeds, not three with the NaN silently dropped
    index = (tmp_path / "site" / "index.html").read_text()
    assert "Excluded runs" in index and bad.name in index and "fid is &#39;nan&#39;, not a finite number" in index


@pytest.mark.parametrize("value", ["true", "false"])
def test_a_bool_is_not_taken_for_a_number(tmp_path, value):
    proc = gan_bench("run", "dcgan", *SMOKE, "--g-steps", "1", "--set", f"z_dim={value}", "--runs-dir", tmp_path / "runs")
    assert_one_line_error(proc, "hyperparameter z_dim: a number is expected")
    assert not (tmp_path / "runs").exists()


def test_a_run_that_trained_nothing_is_not_finished(tmp_path):
    proc = gan_bench("run", "dcgan", *SMOKE, "--wall-clock", "0.000001", "--runs-dir", tmp_path / "runs")
    assert_one_line_error(proc, "before its first G step")
    assert not list((tmp_path / "runs").rglob("result.json"))


@pytest.mark.parametrize("seed", ["-1", str(2**32), str(2**64)])
def test_run_and_sweep_take_the_same_seed_range(tmp_path, seed):
    proc = gan_bench("run", "dcgan", *SMOKE, "--seed", seed, "--runs-dir", tmp_path / "runs")
    assert_one_line_error(proc, "a seed is between 0 and 4294967295")
    assert not (tmp_path / "runs").exists()
    sweep = gan_bench("sweep", "--papers", "dcgan", "--budgets", "smoke", "--seeds", seed, "--executor", "debug",
                      "--runs-dir", tmp_path / "runs", "--dry-run")
    assert_one_line_error(sweep, "a seed is between 0 and 4294967295")
