"""BEGAN (reproductions.began): the autoencoder D of section 3.5, the equilibrium k_t and M_global."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from reproductions.began import REPRODUCTION as REPRO
from tests.reproduction_kit import CIFAR, MNIST, assert_trains_finite_on_mnist, batch, builder, changed, snapshot

build = builder(REPRO, width=8)


@pytest.mark.parametrize("spec", [MNIST, CIFAR], ids=["mnist", "cifar10"])
def test_d_reconstructs_images_and_g_shares_the_decoder_shape(spec):
    repro = build(spec)
    x = batch(spec).images
    assert repro.D(x).shape == x.shape
    assert repro.D.encoder(x).shape == (8, 64)  # N_h = 64
    assert not any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in repro.D.modules())  # no batch norm
    assert any(isinstance(m, nn.ELU) for m in repro.G.modules())
    images = repro.sample(5)
    assert images.shape == (5, spec.channels, spec.resolution, spec.resolution) and images.abs().max() <= 1


def test_k_follows_eq_5_from_zero_and_m_global_is_logged():
    repro = build(MNIST, lambda_k=0.5)
    assert float(repro.equilibrium.k) == 0.0
    g, d = snapshot(repro.G), snapshot(repro.D)
    out = repro.train_step([batch(MNIST)], 0)
    assert changed(g, repro.G) and changed(d, repro.D)
    balance = 0.5 * out["reconstruction_real"] - out["loss_g"]
    assert torch.allclose(repro.equilibrium.k, (out["k"] + 0.5 * balance).clamp(0, 1))
    assert torch.allclose(out["m_global"], out["reconstruction_real"] + balance.abs())
    assert 0.0 <= float(repro.equilibrium.k) <= 1.0  # the paper's clamp


def test_k_is_checkpointed():
    repro = build(MNIST, lambda_k=0.5)
    for step in range(2):
        repro.train_step([batch(MNIST, seed=step)], step)
    fresh = build(MNIST, lambda_k=0.5)
    fresh.load_state_dict(repro.state_dict())
    assert float(fresh.equilibrium.k) == pytest.approx(float(repro.equilibrium.k))


def test_trains_finite_on_mnist(data_root):
    assert_trains_finite_on_mnist(build(MNIST), data_root, steps=3)
