"""DRAGAN (reproductions.dragan): DCGAN's nets plus the perturbed-real penalty with the notebook's settings."""

from __future__ import annotations

import torch

from reproductions.dragan import REPRODUCTION as REPRO
from tests.reproduction_kit import MNIST, assert_trains_finite_on_mnist, batch, builder, changed, snapshot

build = builder(REPRO, g_width=8, d_width=8)


def test_one_step_adds_lambda_times_the_penalty_and_trains_both_nets():
    repro = build(MNIST)
    assert repro.hp.gp_weight == 10.0 and repro.hp.perturbation == 0.5
    assert repro.opt_D.defaults["betas"] == (0.5, 0.9) and repro.opt_D.defaults["lr"] == 1e-4
    g, d = snapshot(repro.G), snapshot(repro.D)
    out = repro.train_step([batch(MNIST)], 0)
    assert all(v.dim() == 0 and torch.isfinite(v) for v in out.values())
    assert out["gradient_penalty"] > 0 and changed(g, repro.G) and changed(d, repro.D)


def test_without_the_penalty_the_d_loss_is_the_plain_gan_loss():
    """λ = 0 and λ = 10 from the same seed differ by the penalty term (the test fails if it is dropped)."""
    losses = {}
    for weight in (0.0, 10.0):
        repro = build(MNIST, gp_weight=weight)
        torch.manual_seed(4)
        losses[weight] = repro.train_step([batch(MNIST)], 0)
    assert torch.allclose(losses[10.0]["loss_d"] - losses[0.0]["loss_d"], 10.0 * losses[10.0]["gradient_penalty"],
                          rtol=1e-4, atol=1e-5)


def test_z_is_uniform():
    z = build(MNIST).noise(2000)
    assert z.shape == (2000, 100) and z.min() >= -1 and z.max() <= 1 and abs(float(z.var()) - 1 / 3) < 0.02


def test_trains_finite_on_mnist(data_root):
    assert_trains_finite_on_mnist(build(MNIST), data_root, steps=3)
