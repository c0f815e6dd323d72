"""Budgets are resolved, validated and enforced exactly: G steps, D steps, images shown, kimg."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import pytest
import torch

from harness.batches import DeviceBatches
from harness.budget import NAMED_BUDGETS, resolve_budget
from harness.data import DatasetInfo, ImageSet
from harness.errors import GanBenchError
from harness.reproduction import DataSpec, Reproduction
from harness.schema import BudgetSpec
from harness.trainer import Callbacks, Trainer


@dataclass(frozen=True)
class CountingHP:
    d_steps_per_g_step: int = 1
    loss: float = 1.0


class Counting(Reproduction):
    """Counts what the loop asks of it; its 'loss' is a constant the test chooses."""

    Hyperparameters = CountingHP

    def __init__(self, data, hp, device):
        super().__init__(data, hp, device)
        self.d_calls = 0
        self.batch_sizes: list[int] = []

    def train_step(self, real, step):
        self.d_calls += len(real)
        self.batch_sizes += [len(b) for b in real]
        return {"loss": torch.tensor(self.hp.loss)}


def images(n: int = 100) -> ImageSet:
    info = DatasetInfo("toy", 1, 4, 2, "")
    return ImageSet(info, "train", torch.zeros(n, 1, 4, 4, dtype=torch.uint8), torch.zeros(n, dtype=torch.long))


def train(budget, d_steps: int = 1, loss: float = 1.0):
    repro = Counting(DataSpec("toy", 1, 4, 2), CountingHP(d_steps, loss), torch.device("cpu"))
    logged = []
    batches = DeviceBatches(images(), budget.batch_size, torch.device("cpu"), seed=0)
    outcome = Trainer(repro, batches, budget, Callbacks(log=logged.append)).run()
    return outcome, repro, logged


def test_g_steps_and_images_are_exact():
    budget = dataclasses.replace(NAMED_BUDGETS["smoke"], g_steps=7, batch_size=4, log_every=3)
    outcome, repro, logged = train(budget)
    assert outcome.status == "finished" and outcome.stop_reason == "g_steps"
    assert outcome.progress.g_steps == 7 and outcome.progress.d_steps == 7 and outcome.progress.images_seen == 28
    assert [r["g_step"] for r in logged] == [3, 6, 7]  # every log_every steps, and the last step


def test_n_critic_counts_d_steps_and_images():
    budget = dataclasses.replace(NAMED_BUDGETS["smoke"], g_steps=4, batch_size=5)
    outcome, repro, _ = train(budget, d_steps=5)
    assert repro.d_calls == 20 and outcome.progress.d_steps == 20
    assert outcome.progress.images_seen == 100 and outcome.progress.kimg == pytest.approx(0.1)


def test_kimg_limit_stops_before_overshooting():
    budget = dataclasses.replace(NAMED_BUDGETS["smoke"], g_steps=1000, batch_size=10, kimg=0.05)
    outcome, _, _ = train(budget)
    assert outcome.stop_reason == "kimg" and outcome.progress.images_seen == 50 and outcome.progress.g_steps == 5


def test_wall_clock_limit():
    budget = dataclasses.replace(NAMED_BUDGETS["smoke"], g_steps=10**9, batch_size=2, wall_clock_s=0.2)
    outcome, _, _ = train(budget)
    assert outcome.stop_reason == "wall_clock" and 0 < outcome.progress.g_steps < 10**9


def test_non_finite_loss_is_a_recorded_divergence():
    budget = dataclasses.replace(NAMED_BUDGETS["smoke"], g_steps=10, batch_size=2, log_every=2)
    outcome, _, _ = train(budget, loss=float("nan"))
    assert outcome.status == "diverged" and outcome.divergence["g_step"] == 2
    assert "non-finite loss" in outcome.divergence["reason"]


def test_named_budgets_and_overrides():
    assert resolve_budget("smoke") is NAMED_BUDGETS["smoke"]
    custom = resolve_budget("smoke", overrides={"g_steps": 3, "batch_size": None})
    assert custom.name == "smoke-custom" and custom.g_steps == 3 and custom.batch_size == NAMED_BUDGETS["smoke"].batch_size
    assert resolve_budget("smoke", overrides={"g_steps": NAMED_BUDGETS["smoke"].g_steps}).name == "smoke"
    checkpointed = resolve_budget("smoke", overrides={"checkpoint_every": 5})  # computes the same: same table
    assert checkpointed.name == "smoke" and checkpointed.checkpoint_every == 5
    paper = resolve_budget("paper", BudgetSpec(g_steps=9766, batch_size=128))
    assert (paper.name, paper.g_steps, paper.batch_size) == ("paper", 9766, 128)
    assert paper.eval_samples == NAMED_BUDGETS["standard"].eval_samples


@pytest.mark.parametrize("overrides, field", [({"g_steps": -3}, "g_steps"), ({"batch_size": 0}, "batch_size"),
                                              ({"kimg": -1.0}, "kimg"), ({"real_split": "valid"}, "real_split")])
def test_bad_budget_values_are_one_line_errors(overrides, field):
    with pytest.raises(GanBenchError) as error:
        resolve_budget("quick", overrides=overrides)
    assert str(error.value).startswith(f"budget: {field}:") and "\n" not in str(error.value)


def test_unknown_budget():
    with pytest.raises(GanBenchError, match="unknown budget 'huge'"):
        resolve_budget("huge")


@dataclass(frozen=True)
class PoisonHP:
    d_steps_per_g_step: int = 1
    poison_at: int = 3


class Poisoned(Reproduction):
    """Finite losses, but a weight turns NaN at a chosen step — the loop must notice."""

    Hyperparameters = PoisonHP

    def __init__(self, data, hp, device):
        super().__init__(data, hp, device)
        self.net = torch.nn.Linear(2, 2)

    def train_step(self, real, step):
        if step + 1 == self.hp.poison_at:
            with torch.no_grad():
                self.net.weight[0, 0] = float("inf")
        return {"loss": torch.tensor(0.5)}


def test_non_finite_weights_are_a_recorded_divergence():
    budget = dataclasses.replace(NAMED_BUDGETS["smoke"], g_steps=10, batch_size=2, log_every=2)
    repro = Poisoned(DataSpec("toy", 1, 4, 2), PoisonHP(), torch.device("cpu"))
    outcome = Trainer(repro, DeviceBatches(images(), 2, torch.device("cpu"), seed=0), budget).run()
    assert outcome.status == "diverged" and outcome.divergence == {"g_step": 4, "reason": "non-finite weights in net"}
