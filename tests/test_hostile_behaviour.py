"""Behaviour under faults (issue 15): a run killed before its first checkpoint resumes to the same
result, leftover temporary files are cleaned up, and SIGTERM at any point gives one line and 143."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import torch

from tests.test_bad_input import assert_one_line_error, gan_bench
from tests.test_hostile_results import SMOKE


def test_a_run_killed_before_its_first_checkpoint_resumes_to_the_same_weights(unscored_run, tmp_path):
    run = tmp_path / "dcgan" / "mnist" / "smoke" / unscored_run.name
    run.mkdir(parents=True)
    (run / "config.json").write_bytes((unscored_run / "config.json").read_bytes())  # all it wrote before SIGKILL
    (run / ".checkpoint.pt.x1y2.tmp").write_bytes(b"half a checkpoint")  # killed mid-write
    proc = gan_bench("resume", run)
    assert proc.returncode == 0, proc.stderr
    assert not list(run.glob("*.tmp"))
    assert json.loads((run / "result.json").read_text())["status"] == "finished"
    mine = torch.load(run / "checkpoint.pt", weights_only=True)["reproduction"]
    theirs = torch.load(unscored_run / "checkpoint.pt", weights_only=True)["reproduction"]
    for network in ("G", "D"):
        for name, tensor in theirs[network].items():
            assert torch.equal(mine[network][name], tensor), f"{network}.{name}"


def _run_cli_signalling_itself(args: list[str], patch: str) -> subprocess.CompletedProcess:
    """`gan-bench ARGS` in a fresh process where `patch` makes it SIGTERM itself at one point."""
    script = textwrap.dedent(f"""
        import os, signal, sys
        {patch}
        from harness.cli import app
        sys.argv = ["gan-bench", *{[str(a) for a in args]!r}]
        app()
    """)
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300,
                          env=os.environ.copy())


TERM = "os.kill(os.getpid(), signal.SIGTERM)"


def test_sigterm_during_start_up_is_one_line_and_143(tmp_path):
    proc = _run_cli_signalling_itself(["run", "dcgan", *SMOKE, "--runs-dir", tmp_path / "runs"], f"""
        import harness.experiment as experiment
        real = experiment.load_dataset
        def load_dataset(*args, **kwargs):
            {TERM}
            return real(*args, **kwargs)
        experiment.load_dataset = load_dataset
    """)
    assert proc.returncode == 143, proc.stderr
    assert_one_line_error(proc, "terminated by SIGTERM")


def test_sigterm_during_scoring_is_one_line_and_143(unscored_run, tmp_path):
    proc = _run_cli_signalling_itself(["evaluate", unscored_run, "--device", "cpu", "--extractor", "torchscript"], f"""
        import harness.experiment as experiment
        def build_scorers(*args, **kwargs):
            {TERM}
        experiment.build_scorers = build_scorers
    """)
    assert proc.returncode == 143, proc.stderr
    assert_one_line_error(proc, "terminated by SIGTERM")


def test_sigterm_during_training_checkpoints_and_exits_143_not_2(tmp_path):
    proc = _run_cli_signalling_itself(["run", "dcgan", *SMOKE, "--runs-dir", tmp_path / "runs"], f"""
        import harness.trainer as trainer
        real = trainer.Trainer.run
        def run(self):
            {TERM}
            return real(self)
        trainer.Trainer.run = run
    """)
    assert proc.returncode == 143, proc.stderr
    assert "interrupted by SIGTERM" in proc.stderr.strip().splitlines()[-1]
    (checkpoint,) = Path(tmp_path / "runs").rglob("checkpoint.pt")
    assert torch.load(checkpoint, weights_only=True)["progress"]["g_steps"] == 1
