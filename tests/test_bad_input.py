"""Bad input: one line naming the problem, a non-zero exit, no traceback, and nothing written or lost.

One case per command (`IN_A_PROCESS`, and one bad checkpoint) runs the real entry point in a fresh
process, as a user would: what only a process shows (the exit status, warnings or a traceback printed
at start-up or exit) is checked there. The other cases call the same `gan-bench` app in this process
(`cli`, click's runner, stderr kept apart from stdout): the error line is the CLI's own, and a fresh
process would add 2-4 s of imports to each case and nothing else.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch


def gan_bench(*args, env: dict | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "harness.cli", *map(str, args)], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, cwd=cwd, timeout=300)


@dataclass(frozen=True)
class Ended:
    """How an in-process `gan-bench` call ended, in a subprocess's terms (for assert_one_line_error)."""

    returncode: int
    stdout: str
    stderr: str


def in_process(cli, *args) -> Ended:
    result = cli(*args)
    return Ended(result.exit_code, result.stdout, result.stderr)


def assert_one_line_error(proc: subprocess.CompletedProcess | Ended, expected: str) -> None:
    assert proc.returncode != 0, proc.stdout
    assert "Traceback" not in proc.stderr + proc.stdout
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert expected in lines[0], lines[0]


def snapshot(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def broken_registry(tmp_path) -> Path:
    folder = tmp_path / "extra-registry"
    (folder / "papers").mkdir(parents=True)
    (folder / "papers" / "broken.yaml").write_text("id: broken\ntitle: Broken\nauthors: [X]\nyear: 2020\ncategory: loss\n"
                                                   "reproduction:\n  module: reproductions.broken\n  datasets: mnist\n")
    return folder


RUN_CASES = [
    ("unknown paper", ["run", "nosuchgan"], "unknown paper 'nosuchgan'"),
    ("unknown dataset", ["run", "dcgan", "--dataset", "imagenet"], "does not support dataset 'imagenet'"),
    ("unknown budget", ["run", "dcgan", "--budget", "huge"], "unknown budget 'huge'"),
    ("negative steps", ["run", "dcgan", "--g-steps", "-3"], "budget: g_steps: Input should be greater than 0"),
    ("zero batch", ["run", "dcgan", "--batch-size", "0"], "budget: batch_size"),
    ("negative kimg", ["run", "dcgan", "--kimg", "-1"], "budget: kimg"),
    ("bad real split", ["run", "dcgan", "--real-split", "valid"], "budget: real_split"),
    ("catalogued only", ["run", "3d-gan"], "catalogued but not implemented"),
    ("unknown hyperparameter", ["run", "dcgan", "--set", "learning_rate=1"], "unknown hyperparameter 'learning_rate'"),
    ("wrong hyperparameter type", ["run", "dcgan", "--set", "lr=fast"], "hyperparameter lr"),
    ("malformed --set", ["run", "dcgan", "--set", "lr"], "--set expects key=value"),
    ("unknown extractor", ["run", "dcgan", "--extractor", "clip"], "unknown extractor 'clip'"),
    ("missing extractor weights", ["run", "dcgan", "--extractor", "torchscript", "--extractor-weights", "/nope.pt"],
     "TorchScript Inception detector not found at /nope.pt"),
    ("unknown device", ["run", "dcgan", "--device", "tpu"], "unknown device 'tpu'"),
    ("cuda without cuda", ["run", "dcgan", "--device", "cuda"], "CUDA is not available"),
    ("missing data root", ["run", "dcgan", "--device", "cpu", "--data-root", "/nonexistent/data", "--no-download"],
     "mnist (train) not found under /nonexistent/data"),
    ("batch larger than data", ["run", "dcgan", "--device", "cpu", "--batch-size", "1000000"], "larger than the mnist"),
    ("unknown list format", ["list", "--format", "xml"], "unknown format 'xml'"),
    ("unknown status", ["list", "--status", "done"], "unknown status 'done'"),
    ("show unknown paper", ["show", "nosuchgan"], "unknown paper 'nosuchgan'"),
    ("evaluate a non-run", ["evaluate", "/tmp"], "is not a run directory"),
]


# One per command, the run reaching furthest (its data): the rest of RUN_CASES run in this process.
IN_A_PROCESS = {"unknown paper", "missing data root", "unknown list format", "show unknown paper", "evaluate a non-run"}


@pytest.mark.parametrize("case, args, expected", RUN_CASES, ids=[c for c, _, _ in RUN_CASES])
def test_bad_command_line(case, args, expected, tmp_path, cli):
    runs = tmp_path / "runs"
    args = [*args, "--runs-dir", runs] if args[0] == "run" else args
    proc = gan_bench(*args) if case in IN_A_PROCESS else in_process(cli, *args)
    assert_one_line_error(proc, expected)
    assert not runs.exists() or not any(runs.rglob("config.json"))  # nothing half-started


def test_unwritable_runs_dir(tmp_path, cli):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    proc = in_process(cli, "run", "dcgan", "--device", "cpu", "--budget", "smoke", "--no-eval", "--runs-dir",
                      blocker / "runs")  # `run` in a fresh process: RUN_CASES
    assert_one_line_error(proc, "cannot create run directory")
    assert blocker.read_text() == "not a folder"


@pytest.mark.parametrize("command", [["list"], ["validate"], ["run", "dcgan"]])
def test_malformed_registry_names_file_and_field(broken_registry, command, cli, monkeypatch):
    monkeypatch.setenv("GAN_BENCH_REGISTRY", str(broken_registry))  # each command in a fresh process: RUN_CASES
    proc = in_process(cli, *command)
    assert_one_line_error(proc, "broken.yaml: reproduction.datasets: Input should be a valid list")


def copy_run(run_dir: Path, target: Path) -> Path:
    shutil.copytree(run_dir, target)
    return target


@pytest.mark.slow
@pytest.mark.parametrize("damage, expected, in_a_process", [
    (lambda p: p.write_bytes(b"this is not a checkpoint"), "corrupt or unreadable checkpoint", True),
    (lambda p: p.write_bytes(p.read_bytes()[: p.stat().st_size // 2]), "corrupt or unreadable checkpoint", False),
    (lambda p: p.unlink(), "no checkpoint in this run directory", False),
    (lambda p: torch.save({**torch.load(p, weights_only=True), "paper": "wgan"}, p), "checkpoint is of paper 'wgan'",
     False),
    (lambda p: torch.save({"format": "something-else"}, p), "not a gan-bench checkpoint", False),
], ids=["garbage", "truncated", "missing", "other paper", "foreign format"])
def test_bad_checkpoint_is_refused_and_nothing_is_touched(dcgan_smoke_run, tmp_path, damage, expected, in_a_process,
                                                          cli):
    run = copy_run(dcgan_smoke_run, tmp_path / "run")
    damage(run / "checkpoint.pt")
    before = snapshot(run)
    args = ("evaluate", run, "--device", "cpu")
    assert_one_line_error(gan_bench(*args) if in_a_process else in_process(cli, *args), expected)
    assert snapshot(run) == before


@pytest.mark.slow
def test_result_with_missing_fields(dcgan_smoke_run, tmp_path, cli):
    run = copy_run(dcgan_smoke_run, tmp_path / "run")
    (run / "result.json").write_text('{"paper": "dcgan"}')
    before = snapshot(run)
    proc = in_process(cli, "evaluate", run, "--device", "cpu")
    assert_one_line_error(proc, "the result is missing its 'dataset'")
    assert snapshot(run) == before
