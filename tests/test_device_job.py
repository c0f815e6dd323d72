"""The prepared GPU job (benchmarks/device_job.sh), dry-run on CPU at tiny sizes: pack, receive the
pieces call by call, join and md5-check them, the benchmarks, board cells, results in the run-store layout."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from tests import fixtures

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "benchmarks" / "device_job.sh"


@pytest.fixture
def job(tmp_path):
    data = tmp_path / "data"
    fixtures.write_mnist_like(data, "MNIST", seed=0)
    fixtures.write_mnist_like(data, "FashionMNIST", seed=1)
    (data / "inception").mkdir()
    fixtures.write_tiny_torchscript_detector(data / "inception" / "tiny.pt")
    env = {**os.environ, "DEVICE_JOB_DRY_RUN": "1", "DEVICE_JOB_PACK": str(tmp_path / "pack"),
           "DEVICE_JOB_STORE": str(tmp_path / "store"), "GAN_BENCH_DATA": str(data),
           "GAN_BENCH_TORCHSCRIPT_INCEPTION": str(data / "inception" / "tiny.pt"), "PYTHON": sys.executable,
           "DEVICE_JOB_PIECE_SIZE": "64K", "OMP_NUM_THREADS": "1"}

    def step(*args: str, out: Path | None = None) -> subprocess.CompletedProcess:
        return subprocess.run(["bash", str(SCRIPT), *args], capture_output=True, text=True, timeout=600,
                              env={**env, "OUT": str(out or tmp_path / "out")})

    return tmp_path, step


def receive_call_by_call(tmp_path: Path, step) -> None:
    """On the device each call carries one call-N folder; the store keeps what earlier calls brought."""
    calls = sorted((tmp_path / "pack").glob("call-*"))
    assert len(calls) >= 2  # the tiny data is cut into 64 KB pieces
    hidden = tmp_path / "not-carried"
    hidden.mkdir()
    for call in calls:
        for other in calls:
            if other != call:
                other.rename(hidden / other.name)
        received = step("receive")
        assert received.returncode == 0, received.stderr
        for other in hidden.iterdir():
            other.rename(tmp_path / "pack" / other.name)


def test_the_device_job_dry_runs_every_step_on_cpu(job):
    tmp_path, step = job
    packed = step("pack")
    assert packed.returncode == 0, packed.stderr
    assert (tmp_path / "pack" / "call-1" / "data.md5").is_file()
    receive_call_by_call(tmp_path, step)

    bench = step("bench")
    assert bench.returncode == 0, bench.stderr
    out = tmp_path / "out"
    hardware = json.loads((out / "hardware.json").read_text())
    assert hardware["torch"] and hardware["cpus"] >= 1
    lines = (out / "bench.txt").read_text().splitlines()
    assert [line.split()[0] for line in lines] == ["train_throughput", "train_throughput", "eval_speed"], lines
    assert "amp=off channels_last=1 compile=0" in lines[1] and "ratio=" in lines[1]

    board = step("board", "600", out=tmp_path / "out-board")
    assert board.returncode == 0, board.stderr
    with tarfile.open(tmp_path / "out-board" / "board-runs.tar.gz") as packed_runs:
        names = packed_runs.getnames()
    results = [n for n in names if n.endswith("/result.json")]
    assert sorted(n.split("/")[1] for n in results) == ["cgan", "gan"]  # the board's first cells
    assert all(n.startswith("runs/") and n.count("/") == 5 for n in results)  # runs/<paper>/<dataset>/<budget>/<run>/
    assert not any(n.endswith("checkpoint.pt") for n in names)
    assert (tmp_path / "out-board" / "board.txt").read_text().count(" finished ") == 2


def test_a_damaged_piece_stops_the_job_before_anything_runs(job):
    tmp_path, step = job
    assert step("pack").returncode == 0
    piece = sorted((tmp_path / "pack").glob("call-2/data.tar.part-*"))[0]
    piece.write_bytes(piece.read_bytes()[:-1] + b"\0")
    assert step("receive").returncode == 0
    bench = step("bench")
    assert bench.returncode == 2 and "error: a data piece is missing or damaged" in bench.stderr
    assert not (tmp_path / "store" / "data").exists() and not (tmp_path / "out" / "bench.txt").exists()
