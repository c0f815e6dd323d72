"""Perarnau et al. 2016 (reproductions/icgan.py): the cGAN with y after D's first layer, the 'wrong y'
term, and the encoders E_z (on G's images) and E_y (on labelled real images) trained after the cGAN."""

from __future__ import annotations

import math

import pytest
import torch

from reproductions import icgan
from tests.reproduction_kit import MNIST, SPECS, batch, builder, changed, snapshot

TINY = dict(g_width=8, d_width=8, encoder_width=4, encoder_y_hidden=16)
build = builder(icgan.IcGAN, **TINY)


@pytest.mark.parametrize("data", SPECS, ids=lambda d: d.name)
def test_label_enters_g_at_its_input_and_d_after_its_first_layer(data):
    repro = build(data)
    assert repro.G.net[0].in_channels == 100 + data.num_classes
    assert repro.D.rest[0].in_channels == 8 + data.num_classes  # conv(x) maps, then the replicated y
    images = repro.sample(6, torch.arange(6))
    assert images.shape == (6, data.channels, data.resolution, data.resolution)
    assert repro.D(images, icgan.signed_one_hot(torch.arange(6), data.num_classes)).shape == (6,)
    assert repro.E_z(images).shape == (6, 100) and repro.E_y(images).shape == (6, data.num_classes)
    # D's answer depends on y: the same image with two labels scores differently
    y_a, y_b = (icgan.signed_one_hot(torch.full((6,), c), data.num_classes) for c in (1, 2))
    assert not torch.allclose(repro.D(images, y_a), repro.D(images, y_b))


def test_labels_are_plus_minus_one_vectors_and_encoder_losses_are_mean_squared_errors():
    assert icgan.signed_one_hot(torch.tensor([2]), 4).tolist() == [[-1.0, -1.0, 1.0, -1.0]]
    z, z_hat = torch.tensor([[1.0, -2.0]]), torch.tensor([[0.0, 0.0]])
    y, y_hat = torch.tensor([[1.0, -1.0, -1.0]]), torch.tensor([[0.5, -1.0, 0.0]])
    l_ez, l_ey = icgan.encoder_losses(z, z_hat, y, y_hat)
    assert l_ez.item() == pytest.approx((1 + 4) / 2) and l_ey.item() == pytest.approx((0.25 + 0 + 1) / 3)


def test_discriminator_loss_shares_the_fake_side_with_the_wrong_label_pairs():
    repro = build(MNIST)
    real, wrong, fake = torch.tensor([2.0]), torch.tensor([1.0]), torch.tensor([-0.5])
    softplus = lambda x: math.log1p(math.exp(x))  # noqa: E731  BCE(l, 1) = softplus(-l), BCE(l, 0) = softplus(l)
    expected = 0.5 * (softplus(-2.0) + 0.5 * softplus(-0.5) + 0.5 * softplus(1.0))
    assert repro.discriminator_loss(real, wrong, fake).item() == pytest.approx(expected, abs=1e-6)
    assert repro.discriminator_loss(real, None, fake).item() == pytest.approx(0.5 * (softplus(-2.0) + softplus(-0.5)), abs=1e-6)


def test_the_cgan_trains_first_and_the_encoders_after_it_with_g_and_d_fixed():
    repro = build(MNIST)
    repro.plan(100, 8)
    assert repro.encoder_start == 100 - 28  # the last 28.4% of the steps
    repro.train(True)
    real = [batch(MNIST, labelled=True)]
    nets = {name: getattr(repro, name) for name in ("G", "D", "E_z", "E_y")}
    before = {name: snapshot(net) for name, net in nets.items()}
    losses = repro.train_step(real, 71)
    assert {"loss_d", "loss_g"} <= set(losses)
    assert [changed(before[n], nets[n]) for n in nets] == [True, True, False, False]
    before = {name: snapshot(net) for name, net in nets.items()}
    losses = repro.train_step(real, 72)
    assert {"loss_ez", "loss_ey"} <= set(losses) and all(torch.isfinite(v) for v in losses.values())
    assert [changed(before[n], nets[n]) for n in nets] == [False, False, True, True]


def test_e_z_learns_to_invert_g_on_its_own_samples():
    """A few encoder steps on a fixed G bring E_z's squared error on fresh G samples below chance
    (predicting z = 0 costs E[z^2] = 1 per entry) and well below where it started."""
    torch.manual_seed(0)
    repro = build(MNIST, z_dim=4, encoder_lr=3e-3, encoder_beta1=0.5)
    repro.plan(1, 32)  # every step is an encoder step
    repro.train(True)

    def error() -> float:
        with torch.no_grad():
            z, labels = repro.noise(256), repro.random_labels(256)
            images = repro.generate(z, labels)
            repro.E_z.eval()
            err = torch.nn.functional.mse_loss(repro.E_z(images), z).item()
            repro.E_z.train()
            return err

    start = error()
    for step in range(150):
        repro.train_step([batch(MNIST, n=32, seed=step, labelled=True)], step)
    end = error()
    assert end < 0.5 < start, (start, end)


def test_reconstruct_encodes_then_regenerates_and_edits_with_a_given_label():
    repro = build(MNIST)
    images = batch(MNIST, n=4).images
    kept = repro.reconstruct(images)
    edited = repro.reconstruct(images, labels=torch.full((4,), 7))
    assert kept.shape == edited.shape == images.shape
    assert not torch.allclose(kept, edited)
    assert repro.G.training and repro.E_z.training  # the modes are restored after sampling
