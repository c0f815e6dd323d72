"""`--help`, `list`, `show` and `status` never import torch, with or without results in the runs directory.

Each command runs in a fresh interpreter (an in-process test would see the torch other tests loaded).
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _startup_benchmark():
    spec = importlib.util.spec_from_file_location("startup_benchmark", REPO / "benchmarks" / "startup.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


BENCHMARK = _startup_benchmark()


@pytest.fixture(scope="module")
def populated_runs(tmp_path_factory) -> Path:
    return BENCHMARK.build_runs_dir(tmp_path_factory.mktemp("populated") / "runs", 50)


def test_the_synthetic_runs_directory_holds_readable_reproduced_results(populated_runs):
    from harness.runstore import iter_results, reproduced_papers

    assert len(list(iter_results(populated_runs))) == 50
    assert len(reproduced_papers(populated_runs)) >= 3  # so `list` really reads the results


@pytest.mark.parametrize("populated", [False, True], ids=["empty-runs", "50-results"])
@pytest.mark.parametrize("command", ["help", "list", "show", "status"])
def test_command_does_not_import_torch(command, populated, populated_runs, tmp_path):
    runs = populated_runs if populated else tmp_path / "no-runs-yet"
    argv = BENCHMARK.commands(runs)[command]
    probe = subprocess.run([sys.executable, "-c", BENCHMARK.PROBE, *argv], capture_output=True, text=True, cwd=REPO)
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.strip().splitlines()[-1] == "no", f"`gan-bench {' '.join(argv)}` imported torch"


def test_list_with_results_marks_reproduced_papers(populated_runs, cli):
    from harness.runstore import reproduced_papers

    listed = cli("list", "--status", "reproduced", "--runs-dir", populated_runs).output
    reproduced = reproduced_papers(populated_runs)
    assert all(f"{paper}  " in listed for paper in reproduced), listed
    assert "stylegan  " not in listed and "stylegan" not in reproduced  # never run: not reproduced
