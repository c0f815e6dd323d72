"""A run killed at an arbitrary step and resumed ends exactly where an uninterrupted run ends."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

pytestmark = pytest.mark.slow
ARGS = ["dcgan", "--budget", "smoke", "--g-steps", "60", "--batch-size", "32", "--checkpoint-every", "7",
        "--no-eval", "--device", "cpu", "--seed", "5"]


def start(runs: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "harness.cli", "run", *ARGS, "--runs-dir", str(runs)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ))


def run_dir(runs: Path) -> Path:
    (path,) = runs.glob("dcgan/mnist/smoke-custom/*")
    return path


def final_state(path: Path) -> dict:
    return torch.load(path / "checkpoint.pt", map_location="cpu", weights_only=True)


def assert_same_training(a: Path, b: Path, g_steps: int = 60) -> None:
    state_a, state_b = final_state(a), final_state(b)
    assert state_a["progress"]["g_steps"] == state_b["progress"]["g_steps"] == g_steps
    for net in ("G", "D", "opt_G", "opt_D"):
        flat_a = torch.nn.utils.parameters_to_vector([t.float() for t in _tensors(state_a["reproduction"][net])])
        flat_b = torch.nn.utils.parameters_to_vector([t.float() for t in _tensors(state_b["reproduction"][net])])
        assert torch.equal(flat_a, flat_b), net
    losses = lambda p: [(r["g_step"], r["loss_d"], r["loss_g"]) for r in map(json.loads, (p / "curves.jsonl").read_text().splitlines())]
    assert losses(a) == losses(b)  # the curves were trimmed to the checkpoint, then continued identically


def _tensors(tree):
    if isinstance(tree, torch.Tensor):
        yield tree
    elif isinstance(tree, dict):
        for key in sorted(tree, key=str):
            yield from _tensors(tree[key])
    elif isinstance(tree, (list, tuple)):
        for item in tree:
            yield from _tensors(item)


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory, data_root, torchscript_detector, feature_cache) -> Path:
    runs = tmp_path_factory.mktemp("reference")
    env = {**os.environ, "GAN_BENCH_DATA": str(data_root)}
    proc = subprocess.run([sys.executable, "-m", "harness.cli", "run", *ARGS, "--runs-dir", str(runs)],
                          capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr
    return run_dir(runs)


def wait_for_checkpoint(runs: Path, proc: subprocess.Popen, min_step: int) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        paths = list(runs.glob("dcgan/mnist/smoke-custom/*/checkpoint.pt"))
        if paths:
            try:
                if torch.load(paths[0], weights_only=True)["progress"]["g_steps"] >= min_step:
                    return
            except Exception:
                pass  # the rename is atomic, but the file may be replaced between glob and load
        assert proc.poll() is None, "the run ended before it could be interrupted"
        time.sleep(0.05)
    raise AssertionError("no checkpoint appeared")


@pytest.mark.parametrize("how", ["SIGKILL", "SIGTERM"])
def test_interrupted_then_resumed_equals_uninterrupted(uninterrupted, tmp_path, cli, how):
    runs = tmp_path / "runs"
    proc = start(runs)
    wait_for_checkpoint(runs, proc, min_step=14)
    proc.send_signal(getattr(signal, how))
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode != 0
    path = run_dir(runs)
    assert not (path / "result.json").exists()
    if how == "SIGTERM":  # a clean stop: checkpoint at the current step and one line saying how to go on
        assert "interrupted by SIGTERM" in stderr and "Traceback" not in stderr
    result = cli("resume", path)
    assert result.exit_code == 0, result.output
    assert json.loads((path / "result.json").read_text())["resumed"] is True
    assert_same_training(path, uninterrupted)


def test_resuming_a_finished_run_is_refused(uninterrupted, cli):
    result = cli("resume", uninterrupted)
    assert result.exit_code == 2 and "already finished" in result.output
