"""What a run shows while it goes: plain progress lines where stdout is not a terminal, TensorBoard
event files read back with TensorBoard's own reader, and the closing summary.

The toy paper (tests/toy_paper/) trains in a second; scoring uses a tiny stand-in detector.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests import fixtures
from tests.test_add_a_paper import toy_paper  # noqa: F401 - the fixture that plugs the toy paper in

RUN = ["run", "toy-gan", "--budget", "smoke", "--device", "cpu", "--g-steps", "30", "--eval-samples", "40",
       "--real-samples", "40"]


@pytest.fixture
def tiny_detector(tmp_path, monkeypatch) -> None:
    path = fixtures.write_tiny_torchscript_detector(tmp_path / "tiny-pool3.pt")
    monkeypatch.setenv("GAN_BENCH_TORCHSCRIPT_INCEPTION", str(path))
    monkeypatch.setenv("GAN_BENCH_CACHE", str(tmp_path / "cache"))  # real features are computed, not cached


def run_dir(runs: Path) -> Path:
    (path,) = runs.glob("toy-gan/mnist/*/*")
    return path


def test_plain_progress_lines_in_a_captured_run(toy_paper, tiny_detector, cli, tmp_path, monkeypatch):  # noqa: F811
    monkeypatch.setenv("GAN_BENCH_PROGRESS_INTERVAL", "0")  # a line at every update instead of every 30 s
    result = cli(*RUN, "--extractor", "torchscript", "--runs-dir", tmp_path)
    assert result.exit_code == 0, result.output
    training = re.findall(r"^\[train toy-gan\] G step (\d+)/30 · [\d.]+ kimg · \d+ img/s · ETA [\d:]+(.*)$",
                          result.output, re.M)
    assert [int(step) for step, _ in training][:3] == [1, 2, 3] and training[-1][0] == "30"
    assert "loss_d" in training[-1][1] and "loss_g" in training[-1][1]  # the latest logged losses
    assert re.search(r"^\[real features mnist train\] 40/40 img · \d+ img/s · ETA 0:00 \(done\)$", result.output, re.M)
    assert re.search(r"^\[scoring mnist\] 40/40 img · \d+ img/s · ETA 0:00 \(done\)$", result.output, re.M)


def test_plain_lines_wait_for_the_interval(toy_paper, cli, tmp_path, monkeypatch):  # noqa: F811
    monkeypatch.setenv("GAN_BENCH_PROGRESS_INTERVAL", "3600")
    result = cli(*RUN, "--no-eval", "--runs-dir", tmp_path)
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if line.startswith("[train toy-gan]")]
    assert len(lines) == 1 and lines[0].endswith("(done)") and "G step 30/30" in lines[0]


def test_tensorboard_events_read_back(toy_paper, tiny_detector, cli, tmp_path):  # noqa: F811
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    result = cli(*RUN, "--extractor", "torchscript", "--runs-dir", tmp_path)
    assert result.exit_code == 0, result.output
    path = run_dir(tmp_path)
    events = EventAccumulator(str(path), size_guidance={"scalars": 0, "images": 0})
    events.Reload()
    curves = [json.loads(line) for line in (path / "curves.jsonl").read_text().splitlines()]
    losses = [r for r in curves if r["kind"] == "loss"]
    assert [(e.step, pytest.approx(e.value)) for e in events.Scalars("loss/loss_d")] == \
        [(r["g_step"], pytest.approx(r["loss_d"])) for r in losses]
    finished = json.loads((path / "result.json").read_text())
    images_seen = finished["progress"]["images_seen"]
    (fid,) = events.Scalars("metric/fid")
    assert fid.step == images_seen and fid.value == pytest.approx(finished["scores"][0]["metrics"]["fid"])
    (grid,) = events.Images("samples")  # no periodic evaluation at this budget: the final grid
    assert grid.step == images_seen and grid.width > 8 * 28


def test_run_ends_with_a_summary(toy_paper, tiny_detector, cli, tmp_path):  # noqa: F811
    output = cli(*RUN, "--extractor", "torchscript", "--runs-dir", tmp_path).output
    tail = output[output.index("finished after 30 G steps"):]
    assert re.search(r"^  FID [\d.]+, KID .*\[40 samples vs 40 train images, torchscript", tail, re.M)
    assert re.search(r"^wall clock: \d+ s training, \d+ s scoring, \d+ s in all$", tail, re.M)
    page = f"site/runs/{run_dir(tmp_path).relative_to(tmp_path).as_posix()}/index.html"
    assert f"see it: gan-bench report --runs-dir {tmp_path} --out site   (then open {page}" in tail
