"""Zhou et al. 2018 (reproductions/am_gan.py): the K+1-class D of eq. 15, G's cross-entropy to dynamic
labels (eq. 14, section 5.1), the released code's nets and linear learning-rate decay."""

from __future__ import annotations

import math

import pytest
import torch

from reproductions import am_gan
from tests.reproduction_kit import MNIST, SPECS, batch, builder, changed, snapshot

build = builder(am_gan.AMGAN, g_width=8, d_width=8)


def _log_softmax(row: list[float], k: int) -> float:
    return row[k] - math.log(sum(math.exp(v) for v in row))


@pytest.mark.parametrize("data", SPECS, ids=lambda d: d.name)
def test_d_has_k_plus_one_logits_and_g_draws_images(data):
    repro = build(data)
    images = repro.sample(4)
    assert images.shape == (4, data.channels, data.resolution, data.resolution)
    assert repro.D(images).shape == (4, data.num_classes + 1)
    gains = repro.G.net[0].parametrizations.weight.original0
    assert torch.all(gains == 2.0)  # weight-normalised, the gain of a stride-2 transposed conv starting at its stride


def test_d_loss_classifies_real_into_their_labels_and_fakes_into_the_extra_class():
    real = torch.tensor([[2.0, 0.0, 1.0], [0.0, 1.0, 3.0]])  # K = 2 real classes + the fake class
    fake = torch.tensor([[1.0, 0.5, 0.0], [0.0, 0.0, 2.0]])
    labels = torch.tensor([0, 1])
    expected = -0.5 * (_log_softmax([2, 0, 1], 0) + _log_softmax([0, 1, 3], 1)) \
        - 0.5 * (_log_softmax([1, 0.5, 0], 2) + _log_softmax([0, 0, 2], 2))
    assert am_gan.am_discriminator_loss(real, labels, fake).item() == pytest.approx(expected, abs=1e-6)


def test_g_targets_the_most_probable_real_class_never_the_fake_one():
    logits = torch.tensor([[0.0, 1.0, 5.0], [2.0, -1.0, 0.0]], requires_grad=True)
    assert am_gan.dynamic_labels(logits).tolist() == [1, 0]  # the extra class's 5.0 is ignored
    loss = am_gan.am_generator_loss(logits)
    expected = -0.5 * (_log_softmax([0, 1, 5], 1) + _log_softmax([2, -1, 0], 0))
    assert loss.item() == pytest.approx(expected, abs=1e-6)
    loss.backward()  # the gradient raises the target logit and lowers the others, the fake class's most
    assert logits.grad[0, 1] < 0 and logits.grad[0, 2] > 0


def test_learning_rate_decays_linearly_to_zero_over_the_budget():
    repro = build(MNIST)
    repro.plan(10, 8)
    assert [repro.learning_rate(s) for s in (0, 5, 10)] == pytest.approx([4e-4, 2e-4, 0.0])
    repro.train(True)
    repro.train_step([batch(MNIST, labelled=True)], 5)
    assert repro.opt_G.param_groups[0]["lr"] == pytest.approx(2e-4) and repro.opt_D.param_groups[0]["lr"] == pytest.approx(2e-4)


def test_one_step_changes_both_players_and_d_noise_is_for_training_only():
    repro = build(MNIST)
    repro.train(True)
    g, d = snapshot(repro.G), snapshot(repro.D)
    losses = repro.train_step([batch(MNIST, labelled=True)], 0)
    assert all(torch.isfinite(v) for v in losses.values())
    assert changed(g, repro.G) and changed(d, repro.D)
    x = batch(MNIST).images
    repro.D.eval()
    assert torch.equal(repro.D(x), repro.D(x))
    repro.D.train()
    for module in repro.D.modules():  # dropout off: what differs between two passes is the input noise
        if isinstance(module, torch.nn.Dropout):
            module.p = 0.0
    assert not torch.equal(repro.D(x), repro.D(x))
