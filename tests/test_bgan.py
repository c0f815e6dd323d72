"""Boundary-Seeking GAN (reproductions.bgan): the squared log-ratio of section 2.2, Algorithm 1's
self-normalised importance weights, and both variants' steps and samples."""

from __future__ import annotations

import math

import pytest
import torch

from reproductions import bgan
from tests.reproduction_kit import MNIST, batch, builder, changed, snapshot

build = builder(bgan.BGAN, g_width=8, d_width=8)


def test_boundary_seeking_loss_is_zero_on_the_boundary():
    # D = ½ ⇔ logit 0: no push; D = sigmoid(2): log D − log(1 − D) = 2, loss ½·4.
    assert bgan.boundary_seeking_loss(torch.zeros(5)).item() == 0.0
    assert bgan.boundary_seeking_loss(torch.tensor([2.0, -2.0])).item() == pytest.approx(2.0)


def test_importance_weights_are_the_normalised_density_ratios():
    logits = torch.tensor([[0.0, math.log(3.0)], [1.0, 1.0]])
    # w = D / (1 − D) = e^logit: (1, 3) → (¼, ¾); equal ratios → (½, ½).
    assert bgan.importance_weights(logits).tolist() == [pytest.approx([0.25, 0.75]), pytest.approx([0.5, 0.5])]
    log_g = torch.tensor([[-1.0, -2.0], [-4.0, -4.0]], requires_grad=True)
    loss = bgan.discrete_generator_loss(log_g, logits.requires_grad_(True))
    assert loss.item() == pytest.approx(((0.25 * 1 + 0.75 * 2) + 4) / 2)
    loss.backward()
    assert logits.grad is None  # the weights are constants for G's step


def test_binarise_thresholds_at_half_grey():
    assert bgan.binarise(torch.tensor([-0.5, 0.0, 0.2])).tolist() == [-1.0, -1.0, 1.0]


@pytest.mark.parametrize("variant", ["continuous", "discrete"])
def test_one_step_moves_both_players(variant):
    repro = build(MNIST, variant=variant, samples_per_z=3)
    g, d = snapshot(repro.G), snapshot(repro.D)
    out = repro.train_step([batch(MNIST)], 0)
    assert changed(g, repro.G) and changed(d, repro.D)
    assert all(torch.isfinite(v) for v in out.values())


def test_discrete_samples_are_binary_and_continuous_in_range():
    discrete = build(MNIST, variant="discrete").sample(4, generator=torch.Generator().manual_seed(0))
    assert set(discrete.unique().tolist()) <= {-1.0, 1.0} and discrete.shape == (4, 1, 28, 28)
    continuous = build(MNIST).sample(4)
    assert continuous.abs().max() <= 1 and len(continuous.unique()) > 2
