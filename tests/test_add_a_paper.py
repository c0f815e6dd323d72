"""Adding a paper takes one registry entry and one module — no harness edit.

The toy paper lives in tests/toy_paper/ (outside the shipped registry and package) and is plugged
in with the two environment variables the README documents.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

TOY = Path(__file__).parent / "toy_paper"


@pytest.fixture
def toy_paper(monkeypatch):
    import reproductions

    monkeypatch.setenv("GAN_BENCH_REGISTRY", str(TOY / "registry"))
    # The package path is read when `reproductions` is first imported; in-process tests extend it too.
    monkeypatch.setattr(reproductions, "__path__", [*reproductions.__path__, str(TOY / "reproductions")])
    monkeypatch.setenv("GAN_BENCH_REPRODUCTIONS", str(TOY / "reproductions"))


def test_toy_paper_is_listed_validated_and_shown(toy_paper, cli):
    assert "toy-gan" in cli("list", "--status", "implemented").output
    result = cli("validate")
    assert result.exit_code == 0, result.output
    shown = cli("show", "toy-gan").output
    assert "hidden=16" in shown and "hidden=32" in shown  # per-dataset override applied


@pytest.mark.slow
def test_toy_paper_runs_at_the_smoke_budget(toy_paper, cli, tmp_path):
    result = cli("run", "toy-gan", "--budget", "smoke", "--device", "cpu", "--runs-dir", tmp_path)
    assert result.exit_code == 0, result.output
    (result_file,) = tmp_path.glob("toy-gan/mnist/smoke/*/result.json")
    data = json.loads(result_file.read_text())
    assert data["progress"]["d_steps"] == 40  # the module's n_critic of 2 was honoured
    assert all(math.isfinite(v) for v in data["scores"][0]["metrics"].values())


def test_the_shipped_registry_does_not_see_the_toy(cli):
    assert "toy-gan" not in cli("list").output
