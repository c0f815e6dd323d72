"""Adding a paper takes one registry entry and one module — no harness edit.

The toy paper lives in tests/toy_paper/ (outside the shipped registry and package) and is plugged
in with the two environment variables the README documents.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

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


# ---------------------------------------------------------------- a paper whose contribution is a loss
def test_a_loss_paper_is_listed_and_shows_its_variants(toy_paper, cli):
    assert "toy-rgan" in cli("list", "--status", "implemented").output
    shown = cli("show", "toy-rgan").output
    assert "hyperparameters on mnist: z_dim=8, hidden=16, lr=0.001, d_steps_per_g_step=1, variant=rsgan" in shown
    assert "hyperparameters on fashion-mnist:" in shown and "variant=rasgan" in shown  # the registry's choice


def test_the_loss_in_the_module_is_the_papers(toy_paper):
    from reproductions.toy_rgan import relativistic_losses

    real, fake = torch.tensor([2.0, 0.0]), torch.tensor([0.0, 1.0])
    softplus = lambda x: math.log1p(math.exp(x))  # noqa: E731
    d, g = relativistic_losses(real, fake, "rsgan")  # pairs: differences 2 and -1
    assert d.item() == pytest.approx((softplus(-2) + softplus(1)) / 2)
    assert g.item() == pytest.approx((softplus(2) + softplus(-1)) / 2)
    d, g = relativistic_losses(real, fake, "rasgan")  # real - mean(fake) = (1.5, -0.5); fake - mean(real) = (-1, 0)
    assert d.item() == pytest.approx((softplus(-1.5) + softplus(0.5)) / 2 + (softplus(-1) + softplus(0)) / 2)
    assert g.item() == pytest.approx((softplus(1.5) + softplus(-0.5)) / 2 + (softplus(1) + softplus(0)) / 2)


@pytest.mark.parametrize("dataset, variant", [("mnist", "rsgan"), ("fashion-mnist", "rasgan")])
def test_a_loss_paper_trains_each_named_variant(toy_paper, cli, tmp_path, dataset, variant):
    result = cli("run", "toy-rgan", "--dataset", dataset, "--budget", "smoke", "--g-steps", "10", "--no-eval",
                 "--device", "cpu", "--runs-dir", tmp_path)
    assert result.exit_code == 0, result.output
    (run,) = tmp_path.glob(f"toy-rgan/{dataset}/*/*")
    assert json.loads((run / "config.json").read_text())["hyperparameters"]["variant"] == variant
    losses = [json.loads(line) for line in (run / "curves.jsonl").read_text().splitlines()]
    assert losses and all(math.isfinite(r["loss_d"]) and math.isfinite(r["loss_g"]) for r in losses)


def test_the_every_paper_smoke_test_picks_a_new_paper_up(toy_paper):
    collected = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-m", "slow",
                                str(Path(__file__).parent / "test_smoke_every_paper.py")],
                               capture_output=True, text=True, env=dict(os.environ), cwd=Path(__file__).parents[1])
    assert "test_smoke_run_gives_finite_metrics[toy-rgan]" in collected.stdout, collected.stdout + collected.stderr
