"""reproductions.parts.pairs: the pair discriminator's inputs and the three players' loss weighting on
hand-made values."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from reproductions.parts.pairs import (ConcatLabels, GaussianNoise, NormalisedLinear, PairDiscriminator,
                                       triple_c_adversarial_loss, triple_d_loss, triple_g_loss)

LOG = math.log


def test_concat_labels_appends_one_hot():
    h = torch.tensor([[5.0, 6.0], [7.0, 8.0]])
    out = ConcatLabels(3)(h, torch.tensor([2, 0]))
    assert torch.equal(out, torch.tensor([[5.0, 6.0, 0, 0, 1], [7.0, 8.0, 1, 0, 0]]))


def test_normalised_linear_has_unit_rows_times_scale():
    torch.manual_seed(0)
    fixed = NormalisedLinear(7, 4, std=3.0)
    assert torch.allclose(fixed.weight().norm(dim=1), torch.ones(4))
    assert not fixed.scale.requires_grad
    learnt = NormalisedLinear(7, 4, learn_scale=True)
    with torch.no_grad():
        learnt.scale.copy_(torch.tensor([1.0, 2.0, 3.0, 4.0]))
    assert torch.allclose(learnt.weight().norm(dim=1), torch.tensor([1.0, 2.0, 3.0, 4.0]))
    x = torch.randn(5, 7)
    assert torch.allclose(learnt(x), x @ learnt.weight().T + learnt.bias)


def test_pair_discriminator_layer_inputs_carry_the_label():
    d = PairDiscriminator(784, 10, (1000, 500, 250, 250, 250), input_noise=0.3, hidden_noise=0.5)
    # The first hidden layer's output gets the label twice (appended, noised, appended again).
    assert [layer.direction.shape[1] for layer in d.layers] == [794, 1020, 510, 260, 260]
    assert [layer.direction.shape[0] for layer in d.layers] == [1000, 500, 250, 250, 250]
    assert d.out.direction.shape == (1, 260)


def test_pair_discriminator_depends_on_the_label_and_is_noisy_only_in_training():
    torch.manual_seed(0)
    d = PairDiscriminator(12, 3, (8, 6), input_noise=0.3, hidden_noise=0.5).eval()
    x = torch.rand(4, 12)
    y = torch.tensor([0, 1, 2, 0])
    assert torch.equal(d(x, y), d(x, y))  # eval: no noise
    assert not torch.allclose(d(x, y), d(x, (y + 1) % 3))
    assert d(x, y).shape == (4,)
    d.train()
    assert not torch.allclose(d(x, y), d(x, y))
    assert isinstance(d.input_noise, GaussianNoise) and d.input_noise.std == 0.3 and d.hidden_noise.std == 0.5


def test_gaussian_noise_has_its_std():
    torch.manual_seed(0)
    noise = GaussianNoise(0.5).train()
    x = torch.zeros(20000)
    assert noise(x).std().item() == pytest.approx(0.5, rel=0.03)
    assert torch.equal(noise.eval()(x), x)


def test_d_loss_weights_the_two_fake_sources_by_alpha():
    # D = sigmoid(logit): logit 0 → 1/2, log 3 → 3/4, −log 3 → 1/4.
    data, classified, generated = torch.tensor([0.0]), torch.tensor([LOG(3)]), torch.tensor([-LOG(3)])
    # −log(1/2) − 0.3 log(1 − 3/4) − 0.7 log(1 − 1/4)
    expected = LOG(2) + 0.3 * LOG(4) + 0.7 * LOG(4 / 3)
    assert triple_d_loss(data, classified, generated, alpha=0.3).item() == pytest.approx(expected, rel=1e-6)
    # The weights belong to their sources: swapping α swaps them.
    swapped = LOG(2) + 0.7 * LOG(4) + 0.3 * LOG(4 / 3)
    assert triple_d_loss(data, classified, generated, alpha=0.7).item() == pytest.approx(swapped, rel=1e-6)


def test_g_loss_is_one_minus_alpha_times_non_saturating():
    assert triple_g_loss(torch.tensor([-LOG(3), LOG(3)]), alpha=0.3).item() == pytest.approx(
        0.7 * (LOG(4) + LOG(4 / 3)) / 2, rel=1e-6)


def test_c_adversarial_loss_is_confidence_weighted_and_flows_only_through_confidence():
    classified = torch.tensor([0.0, LOG(3)], requires_grad=True)
    confidence = torch.tensor([0.5, 1.0], requires_grad=True)
    loss = triple_c_adversarial_loss(classified, confidence, alpha=0.5)
    assert loss.item() == pytest.approx(0.5 * (0.5 * LOG(2) + 1.0 * LOG(4 / 3)) / 2, rel=1e-6)
    loss.backward()
    assert classified.grad is None  # D's verdict is a weight, not a path
    assert torch.allclose(confidence.grad, 0.5 * torch.tensor([LOG(2), LOG(4 / 3)]) / 2)


def test_losses_are_minimised_by_the_right_verdicts():
    good, bad = torch.tensor([20.0]), torch.tensor([-20.0])
    assert triple_d_loss(good, bad, bad, 0.5).item() < 1e-6
    assert triple_g_loss(good, 0.5).item() < 1e-6 < triple_g_loss(bad, 0.5).item()
    assert isinstance(PairDiscriminator(4, 2, (3,), 0.0, 0.0).out, nn.Module)
