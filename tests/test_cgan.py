"""Mirza & Osindero 2014 (reproductions/cgan.py): section 4.1's nets, one step trains both, sampling honours y."""

from __future__ import annotations

import pytest
import torch

from reproductions import cgan
from tests.reproduction_kit import SPECS, batch, builder
from tests.reproduction_kit import assert_trains_finite_on_mnist


build = builder(cgan.ConditionalGAN)


@pytest.mark.parametrize("data", SPECS, ids=lambda d: d.name)
def test_section_4_1_architecture_and_shapes(data):
    repro = build(data)
    assert repro.conditional
    pixels = data.channels * data.resolution**2
    assert [repro.G.z_path[0].out_features, repro.G.y_path[0].out_features, repro.G.joint[0].out_features] == [200, 1000, 1200]
    assert repro.G.joint[-2].out_features == pixels
    assert repro.D.x_path[0].linear.in_features == pixels
    assert (repro.D.x_path[0].units, repro.D.x_path[0].pieces) == (240, 5)
    assert (repro.D.y_path[0].units, repro.D.y_path[0].pieces) == (50, 5)
    assert (repro.D.joint[0].units, repro.D.joint[0].pieces) == (240, 4)
    labels = torch.arange(8) % 10
    images = repro.sample(8, labels)
    assert images.shape == (8, data.channels, data.resolution, data.resolution)
    assert images.min() >= -1 and images.max() <= 1
    assert repro.D(images, labels).shape == (8,)


@pytest.mark.parametrize("data", SPECS, ids=lambda d: d.name)
def test_one_train_step_changes_both_players(data):
    repro = build(data)
    repro.train(True)
    before = {name: [p.detach().clone() for p in net.parameters()] for name, net in (("G", repro.G), ("D", repro.D))}
    losses = repro.train_step([batch(data, labelled=True)], step=0)
    assert all(torch.isfinite(v) for v in losses.values())
    for name, net in (("G", repro.G), ("D", repro.D)):
        assert all(not torch.equal(a, b) for a, b in zip(before[name], net.parameters())), name


def test_sampling_honours_labels():
    repro = build(SPECS[0])
    repro.train(True)
    seed = lambda: torch.Generator().manual_seed(7)  # noqa: E731
    threes = repro.sample(4, torch.full((4,), 3), generator=seed())
    sevens = repro.sample(4, torch.full((4,), 7), generator=seed())
    again = repro.sample(4, torch.full((4,), 3), generator=seed())
    assert torch.equal(threes, again), "same z and y must give the same image (dropout off when sampling)"
    assert (threes - sevens).abs().amax(dim=(1, 2, 3)).min() > 1e-4, "y = 3 and y = 7 gave the same image"
    assert repro.G.training, "sample() must restore training mode"

    # labels=None draws uniform labels after z from the same generator: reproduce that by hand.
    g = seed()
    z = torch.rand(6, 100, generator=g)
    y = torch.randint(10, (6,), generator=g)
    repro.G.eval()
    expected = repro.G(z, y)
    repro.G.train()
    assert torch.allclose(repro.sample(6, None, generator=seed()), expected)


def test_discriminator_sees_the_label():
    repro = build(SPECS[0])
    repro.D.eval()
    x = batch(SPECS[0], 4, labelled=True).images
    assert not torch.allclose(repro.D(x, torch.zeros(4, dtype=torch.long)), repro.D(x, torch.ones(4, dtype=torch.long)))


def test_the_paper_sgd_setup_stays_finite_on_mnist(data_root):
    # Regression: with a tanh G and D fed [-1, 1] pixels, lr 0.1 SGD sent the logits to inf within
    # 100 updates. The paper's nets work on [0, 1] pixels, which keeps its learning rate stable.
    assert_trains_finite_on_mnist(build(SPECS[0]), data_root, steps=200)
