"""A run killed at an arbitrary step and resumed ends exactly where an uninterrupted run ends."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[1]
# 24 G steps, checkpointed every 7: periodic checkpoints at 7, 14 and 21, the last at 24. The interrupted
# runs are stopped between 14 and 21, so a resumed run restores a periodic checkpoint, writes one more
# (21) and finishes; the steps do not need to be many, only to straddle those checkpoints.
G_STEPS = 24
ARGS = ["dcgan", "--budget", "smoke", "--g-steps", str(G_STEPS), "--batch-size", "16", "--checkpoint-every", "7",
        "--no-eval", "--device", "cpu", "--seed", "5"]


# Interrupted during G step 17 (0-based): after the step-14 checkpoint, before the step-21 one, so
# the resumed run must also drop the curve records the lost steps wrote (the smoke budget logs every
# 5 steps: the step-15 record).
INTERRUPT_AT = 17


def run_interrupted(runs: Path, how: str) -> subprocess.CompletedProcess:
    """The run, sending itself `how` at G step INTERRUPT_AT: the same step however fast the machine is."""
    return subprocess.run([sys.executable, "-m", "tests.signal_at_step", how, str(INTERRUPT_AT), "run", *ARGS,
                           "--runs-dir", str(runs)], capture_output=True, text=True, env=dict(os.environ), cwd=REPO,
                          timeout=600)


def run_dir(runs: Path) -> Path:
    (path,) = runs.glob("dcgan/mnist/smoke-custom/*")
    return path


def final_state(path: Path) -> dict:
    return torch.load(path / "checkpoint.pt", map_location="cpu", weights_only=True)


def assert_same_training(a: Path, b: Path, g_steps: int = G_STEPS) -> None:
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


@pytest.mark.parametrize("how", ["SIGKILL", "SIGTERM"])
def test_interrupted_then_resumed_equals_uninterrupted(uninterrupted, tmp_path, cli, how):
    runs = tmp_path / "runs"
    proc = run_interrupted(runs, how)
    assert proc.returncode != 0, proc.stdout
    path = run_dir(runs)
    assert not (path / "result.json").exists()
    checkpointed = final_state(path)["progress"]["g_steps"]
    if how == "SIGTERM":  # a clean stop: checkpoint after the current step and one line saying how to go on
        assert "interrupted by SIGTERM" in proc.stderr and "Traceback" not in proc.stderr
        assert checkpointed == INTERRUPT_AT + 1
    else:  # killed mid-step: the last periodic checkpoint is all there is
        assert checkpointed == 14
    result = cli("resume", path)
    assert result.exit_code == 0, result.output
    assert json.loads((path / "result.json").read_text())["resumed"] is True
    assert_same_training(path, uninterrupted)
    # The TensorBoard view was rebuilt, not appended to: one event file, each step once, as uninterrupted.
    assert len(list(path.glob("events.out.tfevents.*"))) == 1
    assert tensorboard_view(path) == tensorboard_view(uninterrupted)


def tensorboard_view(path: Path) -> dict:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(path), size_guidance={"scalars": 0, "images": 0})
    events.Reload()
    view = {tag: [(e.step, e.value) for e in events.Scalars(tag)] for tag in events.Tags()["scalars"]}
    view["samples"] = [e.step for e in events.Images("samples")]
    return view


def test_resuming_a_finished_run_is_refused(uninterrupted, cli):
    result = cli("resume", uninterrupted)
    assert result.exit_code == 2 and "already finished" in result.output
