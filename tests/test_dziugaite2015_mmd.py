"""MMD nets (reproductions.dziugaite2015_mmd): G's step descends the unbiased MMD² with the median-heuristic
kernel, the estimate it logs is the parts' estimator on that step's batch, and samples are G's pixels."""

from __future__ import annotations

import pytest
import torch

from reproductions.dziugaite2015_mmd import REPRODUCTION as REPRO
from reproductions.parts.mmd import median_bandwidth, mmd_squared
from tests.reproduction_kit import MNIST, assert_trains_finite_on_mnist, batch, builder, changed, snapshot

build = builder(REPRO)


def test_step_minimises_the_unbiased_mmd_with_the_median_bandwidth():
    repro = build(MNIST, g_widths=(32,))
    real = batch(MNIST, n=16)
    before = snapshot(repro.G)
    # Replay the step's noise to recompute the loss it took.
    torch.manual_seed(5)
    out = repro.train_step([real], 0)
    assert changed(before, repro.G)
    after = [p.detach().clone() for p in repro.G.parameters()]
    for p, b in zip(repro.G.parameters(), before):
        p.data.copy_(b)
    torch.manual_seed(5)
    data = (real.images.flatten(1) + 1) / 2
    samples = repro.G(repro.noise(16))
    sigma = median_bandwidth(samples, data)
    expected = mmd_squared(samples, data, (sigma,), "unbiased")
    assert out["mmd2"].item() == pytest.approx(expected.item(), rel=1e-6)
    assert out["bandwidth"].item() == pytest.approx(sigma, rel=1e-6)
    assert mmd_squared(samples, data, (sigma,), "biased").item() != pytest.approx(expected.item(), rel=1e-3)
    for p, a in zip(repro.G.parameters(), after):
        p.data.copy_(a)


def test_a_fixed_bank_replaces_the_median_heuristic():
    repro = build(MNIST, g_widths=(8,), bandwidths=(2.0, 5.0))
    out = repro.train_step([batch(MNIST)], 0)
    assert out["bandwidth"].item() == 2.0


def test_many_steps_lower_the_mmd_on_a_fixed_batch():
    repro = build(MNIST, g_widths=(64,), lr=1e-3)
    real = batch(MNIST, n=32)
    losses = [repro.train_step([real], s)["mmd2"].item() for s in range(60)]
    assert sum(losses[-10:]) / 10 < sum(losses[:10]) / 10


def test_samples_are_g_pixels_in_range():
    repro = build(MNIST, g_widths=(8,))
    images = repro.sample(5, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        expected = repro.G(repro.noise(5, torch.Generator().manual_seed(0))) * 2 - 1
    assert images.shape == (5, 1, 28, 28) and torch.allclose(images.flatten(1), expected)


def test_trains_finite_on_mnist(data_root):
    repro = build(MNIST, g_widths=(64,))
    repro.D = repro.G  # the kit checks D's weights; MMD nets have none, so G's are checked
    assert_trains_finite_on_mnist(repro, data_root, steps=10)
