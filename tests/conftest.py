"""Shared test setup: real data from ../shared/data when it exists, real-format fixtures otherwise.

Every test runs with an isolated environment: its own feature cache (shared within the test run so
real statistics are computed once), the data root and the TorchScript detector set through the
same environment variables a user would set, and nothing read from the developer's home.

The suite runs on two pytest-xdist workers, one test file per worker at a time (pyproject's addopts,
`--dist loadfile`). Not `loadgroup` with a group per file: pytest 9 keeps a node's id where xdist 3.8's
loadgroup no longer writes the group, so every test would be dealt out alone and module fixtures rebuilt.
What is expensive to make and only read afterwards (the feature cache, the shared DCGAN smoke runs)
is made once per test run, not once per worker: `once_per_test_run` builds it under a file lock in the
folder all workers share. The summary at the end gives the seconds spent per test file, slowest first.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import time
from collections import defaultdict
from pathlib import Path
from contextlib import contextmanager
from typing import Callable

import pytest

# One CPU thread for each test process and every process a test starts (CLI runs, sweep and SLURM jobs,
# DDP ranks), unless the caller chose otherwise: the two xdist workers already fill a 2-core machine, and
# a second thread per process only contends with the other worker. Set before torch is first imported.
for _variable in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import torch  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

from tests import fixtures  # noqa: E402
from tests.smoke_kit import SCORED_RUN_SAMPLES  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
SHARED_DETECTOR = SHARED_DATA / "inception" / "nvidia-inception-2015-12-05-pool3-torchscript.pt"
ENV_VARS = ("GAN_BENCH_DATA", "GAN_BENCH_CACHE", "GAN_BENCH_INCEPTION_WEIGHTS", "GAN_BENCH_TORCHSCRIPT_INCEPTION",
            "GAN_BENCH_REGISTRY", "GAN_BENCH_REPRODUCTIONS")


_SECONDS_PER_FILE: dict[str, float] = defaultdict(float)
_STARTED = time.monotonic()
# What one test file may take (seconds, summed over its tests, one CPU thread): the summary flags the
# files over it, so what grows shows up in every CI log before the suite outgrows CI's limit.
SECONDS_PER_FILE_BUDGET = 120.0


@pytest.fixture(autouse=True)
def one_thread():
    """Small nets run fastest on one thread, above all on a shared, busy CPU."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def pytest_runtest_logreport(report) -> None:
    # Under xdist the controller receives every worker's reports, so this sums over all workers.
    _SECONDS_PER_FILE[report.nodeid.split("::")[0]] += report.duration  # setup + call + teardown


def pytest_terminal_summary(terminalreporter, config) -> None:
    """Seconds per test file, slowest first, against SECONDS_PER_FILE_BUDGET; then the wall clock."""
    if not _SECONDS_PER_FILE or os.environ.get("PYTEST_XDIST_WORKER"):
        return
    terminalreporter.write_sep("-", f"seconds per test file (budget {SECONDS_PER_FILE_BUDGET:.0f} s a file)")
    over = []
    for path, seconds in sorted(_SECONDS_PER_FILE.items(), key=lambda item: -item[1]):
        flag = "  OVER BUDGET" if seconds > SECONDS_PER_FILE_BUDGET else ""
        terminalreporter.write_line(f"{seconds:8.1f}  {path}{flag}")
        if flag:
            over.append(path)
    workers = getattr(config.option, "numprocesses", None) or 1
    terminalreporter.write_line(f"{sum(_SECONDS_PER_FILE.values()):8.1f}  total in tests, "
                                f"{time.monotonic() - _STARTED:.1f} s wall clock on {workers} worker(s)")
    if over:
        terminalreporter.write_line(f"{len(over)} file(s) over the per-file budget: make them cheaper or split them")


def _shared_folder(tmp_path_factory) -> Path:
    """The temporary folder every xdist worker of this test run sees (the parent of each worker's own);
    without xdist, the session's."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def once_per_test_run(tmp_path_factory, name: str, build: Callable[[Path], None]) -> Path:
    """`shared/<name>/`, made by `build(folder)` by the first worker that asks; the others wait for it
    and reuse it. A build that failed leaves nothing behind, so the next asker builds again."""
    shared = _shared_folder(tmp_path_factory)
    folder = shared / name
    with open(shared / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if (folder / ".built").is_file():
            return folder
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir()
        try:
            build(folder)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        (folder / ".built").touch()
    return folder


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
    # Cache writes are atomic (a temporary file renamed into place), so workers may share it.
    return once_per_test_run(tmp_path_factory, "feature-cache", lambda folder: None)


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


@contextmanager
def _environment(**values: str):
    """os.environ with only these of ENV_VARS set, for session fixtures (monkeypatch is per test)."""
    saved = {k: os.environ.get(k) for k in ENV_VARS}
    try:
        for k in ENV_VARS:
            os.environ.pop(k, None)
        os.environ.update(values)
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@pytest.fixture(scope="session")
def dcgan_smoke_run(tmp_path_factory, data_root, torchscript_detector, feature_cache) -> Path:
    """One DCGAN smoke run on MNIST (20 G steps), scored with the real detector on SCORED_RUN_SAMPLES;
    made once per test run and only read by the tests that use it (copy it to change it)."""
    from harness.cli import app

    def build(runs: Path) -> None:
        with _environment(GAN_BENCH_DATA=str(data_root), GAN_BENCH_CACHE=str(feature_cache),
                          GAN_BENCH_TORCHSCRIPT_INCEPTION=str(torchscript_detector)):
            result = CliRunner().invoke(app, ["run", "dcgan", "--dataset", "mnist", "--budget", "smoke",
                                              "--eval-samples", str(SCORED_RUN_SAMPLES),
                                              "--real-samples", str(SCORED_RUN_SAMPLES), "--device", "cpu",
                                              "--seed", "1", "--runs-dir", str(runs)], catch_exceptions=False)
        assert result.exit_code == 0, result.output

    runs = once_per_test_run(tmp_path_factory, "dcgan-smoke-run", build)
    (run_dir,) = list(runs.glob("dcgan/mnist/smoke-custom/*"))
    return run_dir


@pytest.fixture(scope="session")
def unscored_run(tmp_path_factory, data_root) -> Path:
    """A DCGAN smoke run trained with --no-eval: a checkpoint at its last step, in seconds."""
    from tests.test_bad_input import gan_bench

    def build(runs: Path) -> None:
        proc = gan_bench("run", "dcgan", "--budget", "smoke", "--device", "cpu", "--no-eval", "--seed", "3",
                         "--runs-dir", runs, env={"GAN_BENCH_DATA": str(data_root)})
        assert proc.returncode == 0, proc.stderr

    runs = once_per_test_run(tmp_path_factory, "unscored-run", build)
    (run,) = runs.glob("dcgan/mnist/smoke/*")
    return run
