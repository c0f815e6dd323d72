"""Shared test setup: real data from ../shared/data when it exists, real-format fixtures otherwise.

Every test runs with an isolated environment: its own feature cache (shared within the session so
real statistics are computed once), the data root and the TorchScript detector set through the
same environment variables a user would set, and nothing read from the developer's home.
"""

from __future__ import annotations

import os
from collections import defaultdict
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from tests import fixtures

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
SHARED_DETECTOR = SHARED_DATA / "inception" / "nvidia-inception-2015-12-05-pool3-torchscript.pt"
ENV_VARS = ("GAN_BENCH_DATA", "GAN_BENCH_CACHE", "GAN_BENCH_INCEPTION_WEIGHTS", "GAN_BENCH_TORCHSCRIPT_INCEPTION",
            "GAN_BENCH_REGISTRY", "GAN_BENCH_REPRODUCTIONS")


_SECONDS_PER_FILE: dict[str, float] = defaultdict(float)


@pytest.fixture(autouse=True)
def one_thread():
    """Small nets run fastest on one thread, above all on a shared, busy CPU."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def pytest_runtest_logreport(report) -> None:
    _SECONDS_PER_FILE[report.nodeid.split("::")[0]] += report.duration  # setup + call + teardown


def pytest_terminal_summary(terminalreporter) -> None:
    """Seconds per test file, slowest first: what makes the suite grow shows up in every CI log."""
    if not _SECONDS_PER_FILE:
        return
    terminalreporter.write_sep("-", "seconds per test file")
    for path, seconds in sorted(_SECONDS_PER_FILE.items(), key=lambda item: -item[1]):
        terminalreporter.write_line(f"{seconds:8.1f}  {path}")
    terminalreporter.write_line(f"{sum(_SECONDS_PER_FILE.values()):8.1f}  total")


@pytest.fixture(scope="session")
def data_root(tmp_path_factory) -> Path:
    """One data root: ../shared/data's real MNIST / Fashion-MNIST (linked) if present, else small IDX
    fixtures; and real-format fixtures for what cannot be had offline (CIFAR-10, CelebA, an unpaired
    CycleGAN dataset), so every registry entry's default dataset loads."""
    root = tmp_path_factory.mktemp("data")
    for folder, seed in (("MNIST", 0), ("FashionMNIST", 1)):
        if (SHARED_DATA / folder / "raw").is_dir():
            (root / folder).symlink_to(SHARED_DATA / folder)
        else:
            fixtures.write_mnist_like(root, folder, seed=seed)
    fixtures.write_cifar10_like(root)
    fixtures.write_celeba_like(root)
    fixtures.write_unpaired(root, "horse2zebra")
    return root


@pytest.fixture(scope="session")
def torchscript_detector(tmp_path_factory) -> Path:
    """The shared NVIDIA-layout TorchScript detector if present, else a tiny random one."""
    if SHARED_DETECTOR.is_file():
        return SHARED_DETECTOR
    return fixtures.write_tiny_torchscript_detector(tmp_path_factory.mktemp("detector") / "tiny-pool3.pt")


@pytest.fixture(scope="session")
def random_inception_weights(tmp_path_factory) -> Path:
    """torch-fidelity's InceptionV3 weight format with random weights (the real file is not available offline)."""
    return fixtures.write_random_torch_fidelity_weights(tmp_path_factory.mktemp("weights") / "random-inception.pth")


@pytest.fixture(scope="session")
def feature_cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("feature-cache")


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch, data_root, torchscript_detector, feature_cache):
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GAN_BENCH_DATA", str(data_root))
    monkeypatch.setenv("GAN_BENCH_CACHE", str(feature_cache))
    monkeypatch.setenv("GAN_BENCH_TORCHSCRIPT_INCEPTION", str(torchscript_detector))


@pytest.fixture
def cli():
    """Run `gan-bench ARGS…` in-process; returns click's Result (exit_code, output, stderr)."""
    from harness.cli import app

    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)

    return invoke


@pytest.fixture(scope="session")
def dcgan_smoke_run(tmp_path_factory, data_root, torchscript_detector, feature_cache) -> Path:
    """One DCGAN smoke run on MNIST, shared by the tests that read a finished run."""
    from harness.cli import app

    runs = tmp_path_factory.mktemp("runs")
    env = {"GAN_BENCH_DATA": str(data_root), "GAN_BENCH_CACHE": str(feature_cache),
           "GAN_BENCH_TORCHSCRIPT_INCEPTION": str(torchscript_detector)}
    saved = {k: os.environ.get(k) for k in ENV_VARS}
    try:
        for k in ENV_VARS:
            os.environ.pop(k, None)
        os.environ.update(env)
        result = CliRunner().invoke(app, ["run", "dcgan", "--dataset", "mnist", "--budget", "smoke", "--device", "cpu",
                                          "--seed", "1", "--runs-dir", str(runs)], catch_exceptions=False)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    assert result.exit_code == 0, result.output
    (run_dir,) = list(runs.glob("dcgan/mnist/smoke/*"))
    return run_dir


@pytest.fixture(scope="session")
def unscored_run(tmp_path_factory, data_root) -> Path:
    """A DCGAN smoke run trained with --no-eval: a checkpoint at its last step, in seconds."""
    runs = tmp_path_factory.mktemp("runs")
    from tests.test_bad_input import gan_bench

    proc = gan_bench("run", "dcgan", "--budget", "smoke", "--device", "cpu", "--no-eval", "--seed", "3",
                     "--runs-dir", runs, env={"GAN_BENCH_DATA": str(data_root)})
    assert proc.returncode == 0, proc.stderr
    (run,) = runs.glob("dcgan/mnist/smoke/*")
    return run
