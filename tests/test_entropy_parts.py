"""reproductions.parts.entropy: the entropy terms on hand-made predictions with known values."""

from __future__ import annotations

import math

import pytest
import torch

from reproductions.parts.entropy import (catgan_discriminator_loss, catgan_generator_loss, conditional_entropy,
                                         cross_entropy_to_uniform_of_mean, marginal_entropy, mean_prediction)

CERTAIN = 40.0  # a logit gap that makes softmax one-hot to float precision


def logits_of(probabilities: list[list[float]]) -> torch.Tensor:
    return torch.tensor(probabilities).log()


def one_hot_logits(classes: list[int], k: int) -> torch.Tensor:
    return torch.nn.functional.one_hot(torch.tensor(classes), k).float() * CERTAIN


def test_conditional_entropy_of_known_rows():
    assert conditional_entropy(torch.zeros(3, 4)).item() == pytest.approx(math.log(4))  # uniform rows
    assert conditional_entropy(one_hot_logits([0, 2], 3)).item() == pytest.approx(0.0, abs=1e-6)
    # Rows (1/2, 1/2) and (1, 0): entropies log 2 and 0, mean log(2)/2.
    rows = torch.tensor([[0.0, 0.0], [CERTAIN, 0.0]])
    assert conditional_entropy(rows).item() == pytest.approx(math.log(2) / 2, abs=1e-6)
    # A row (1/2, 1/4, 1/4): 1.5 log 2.
    assert conditional_entropy(logits_of([[0.5, 0.25, 0.25]])).item() == pytest.approx(1.5 * math.log(2))


def test_marginal_entropy_averages_before_the_entropy():
    # Two certain rows of different classes: each row has entropy 0, their mean (1/2, 1/2, 0) has log 2.
    logits = one_hot_logits([0, 1], 3)
    assert torch.allclose(mean_prediction(logits), torch.tensor([0.5, 0.5, 0.0]), atol=1e-6)
    assert marginal_entropy(logits).item() == pytest.approx(math.log(2), abs=1e-6)
    assert marginal_entropy(one_hot_logits([1, 1], 3)).item() == pytest.approx(0.0, abs=1e-6)  # one class used
    # Uneven use: p̄ = (3/4, 1/4).
    p = torch.tensor([0.75, 0.25])
    assert marginal_entropy(one_hot_logits([0, 0, 0, 1], 2)).item() == pytest.approx(-(p * p.log()).sum().item(), abs=1e-6)


def test_cross_entropy_of_the_mean_against_uniform():
    assert cross_entropy_to_uniform_of_mean(torch.zeros(5, 4)).item() == pytest.approx(math.log(4))
    # p̄ = (1/2, 1/4, 1/4): −(log 1/2 + 2 log 1/4) / 3 = 5 log(2) / 3.
    logits = logits_of([[1.0, 1e-30, 1e-30], [1e-30, 0.5, 0.5]])
    assert cross_entropy_to_uniform_of_mean(logits).item() == pytest.approx(5 * math.log(2) / 3, abs=1e-5)


def test_catgan_discriminator_loss_rewards_its_three_wishes():
    certain_balanced = one_hot_logits([0, 1], 2)
    uniform = torch.zeros(2, 2)
    # Certain and balanced on real, uncertain on fake: −log 2 + 0 − log 2, the best D can do for K = 2.
    best = catgan_discriminator_loss(certain_balanced, uniform).item()
    assert best == pytest.approx(-2 * math.log(2), abs=1e-6)
    # Each wish broken on its own costs exactly its term, log 2.
    assert catgan_discriminator_loss(uniform, uniform).item() == pytest.approx(-math.log(2), abs=1e-6)  # uncertain on real
    assert catgan_discriminator_loss(one_hot_logits([0, 0], 2), uniform).item() == pytest.approx(-math.log(2), abs=1e-6)
    assert catgan_discriminator_loss(certain_balanced, certain_balanced).item() == pytest.approx(-math.log(2), abs=1e-6)


def test_catgan_generator_loss_wants_certain_balanced_samples():
    assert catgan_generator_loss(one_hot_logits([0, 1, 2], 3)).item() == pytest.approx(-math.log(3), abs=1e-6)
    assert catgan_generator_loss(torch.zeros(3, 3)).item() == pytest.approx(0.0, abs=1e-6)  # uncertain: H_G − E H = 0
    assert catgan_generator_loss(one_hot_logits([2, 2, 2], 3)).item() == pytest.approx(0.0, abs=1e-6)  # one mode


def test_values_and_gradients_are_finite_at_an_unused_class():
    # A logit gap of 200 makes the other classes' probabilities exactly 0 in float32: p̄ has zeros.
    logits = (torch.nn.functional.one_hot(torch.tensor([0, 0]), 3).float() * 200).requires_grad_(True)
    assert mean_prediction(logits)[1].item() == 0.0
    loss = catgan_discriminator_loss(logits, torch.zeros(2, 3)) + cross_entropy_to_uniform_of_mean(logits)
    assert torch.isfinite(loss)
    assert marginal_entropy(logits).item() == pytest.approx(0.0, abs=1e-6)
    loss.backward()
    assert torch.isfinite(logits.grad).all()
