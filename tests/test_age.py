"""AGE (reproductions.age): the latent-space game's losses as the paper and code state them, the update
plan (one encoder step, then g_updates generator steps, each net moved only by its own step), sphere noise."""

from __future__ import annotations

import pytest
import torch

from reproductions.age import REPRODUCTION as REPRO, cosine_distance
from reproductions.parts.autoencoders import batch_kl_to_standard_normal
from tests.reproduction_kit import MNIST, assert_trains_finite_on_mnist, batch, builder, record_updates, snapshot

build = builder(REPRO, g_width=8, d_width=8, z_dim=16)


def same(a, b):
    return all(torch.equal(x, y) for x, y in zip(a, b))


def test_noise_and_codes_lie_on_the_unit_sphere():
    repro = build(MNIST)
    assert torch.allclose(repro.noise(50).norm(dim=1), torch.ones(50))
    assert torch.allclose(repro.E(batch(MNIST).images).norm(dim=1), torch.ones(8))


def test_cosine_distance_is_the_codes_two_minus_mean_product():
    a = torch.randn(4, 5)
    assert cosine_distance(a, a).item() == pytest.approx(2 - 1 / 5)
    assert cosine_distance(a, -3 * a).item() == pytest.approx(2 + 1 / 5)


def test_update_plan_and_which_net_each_step_moves():
    repro = build(MNIST, g_updates=3)
    calls = record_updates(repro, repro.G, repro.E)
    g0, e0 = snapshot(repro.G), snapshot(repro.E)
    out = repro.train_step([batch(MNIST)], 0)
    assert [c[0] for c in calls] == [repro.opt_E, repro.opt_G, repro.opt_G, repro.opt_G]
    _, g1, e1 = calls[1]  # after the encoder's step
    assert same(g1, g0) and not same(e1, e0)
    assert same(snapshot(repro.E), e1) and not same(snapshot(repro.G), g1)
    assert {"kl_real", "kl_fake", "reconstruction", "latent_reconstruction", "loss_e", "loss_g"} <= set(out)


def test_the_losses_are_the_game_plus_weighted_reconstructions():
    hp = dict(reconstruction_weight=3.0, latent_reconstruction_weight=7.0, g_updates=1)
    repro, twin = build(MNIST, **hp), build(MNIST, **hp)  # same seed: same initial nets
    x = batch(MNIST).images
    losses, original = [], repro.update
    repro.update = lambda optimizer, loss: (losses.append(loss.item()), original(optimizer, loss))
    torch.manual_seed(3)
    repro.train_step([batch(MNIST)], 0)
    with torch.no_grad():  # the encoder's loss, recomputed from the initial nets and the same noise draw
        torch.manual_seed(3)
        ex = twin.E(x)
        rec = (twin.G(ex) - x).abs().mean()
        fake = twin.G(twin.noise(8))
        expected_e = batch_kl_to_standard_normal(ex) - batch_kl_to_standard_normal(twin.E(fake)) + 3.0 * rec
    assert losses[0] == pytest.approx(expected_e.item(), rel=1e-5)
    # The generator's loss: KL of e(g(z)) plus μ · cos distance(e(g(z)), z).
    torch.manual_seed(4)
    out = twin.generator_loss(8)
    with torch.no_grad():
        torch.manual_seed(4)
        z = twin.noise(8)
        egz = twin.E(twin.G(z))
        expected_g = batch_kl_to_standard_normal(egz) + 7.0 * cosine_distance(egz, z)
    assert out["loss_g"].item() == pytest.approx(expected_g.item(), rel=1e-5)


def test_trains_finite_on_mnist(data_root):
    repro = build(MNIST, g_width=16, d_width=16)
    repro.D = repro.E  # the kit checks D's weights; AGE's adversary is the encoder
    assert_trains_finite_on_mnist(repro, data_root, steps=10)
