"""EBGAN (reproductions.ebgan): the margin loss of eq. 1-2, the autoencoder D, PT on G's step only."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from reproductions import ebgan
from reproductions.parts.energy import pulling_away_term
from tests.reproduction_kit import MNIST, assert_trains_finite_on_mnist, batch, builder, changed, snapshot

build = builder(ebgan.EBGAN)


def test_margin_loss_on_hand_made_energies():
    real, fake = torch.tensor([1.0, 3.0]), torch.tensor([4.0, 12.0])
    # D(x) = 2 on average; [m − D(G(z))]⁺ = [6, 0] with m = 10 → mean 3.
    assert ebgan.discriminator_loss(real, fake, margin=10.0).item() == pytest.approx(2.0 + 3.0)
    # Fakes past the margin no longer push D: only the real energy is left.
    assert ebgan.discriminator_loss(real, fake + 20, margin=10.0).item() == pytest.approx(2.0)
    codes = torch.tensor([[1.0, 0.0], [1.0, 1.0]])
    assert ebgan.generator_loss(fake, codes, 0.0).item() == pytest.approx(8.0)
    assert ebgan.generator_loss(fake, codes, 0.1).item() == pytest.approx(8.0 + 0.1 * 0.5)


def test_nets_match_the_mnist_grid_setting():
    repro = build(MNIST)
    g_linears = [m for m in repro.G.modules() if isinstance(m, nn.Linear)]
    assert len(g_linears) == 5 and g_linears[0].out_features == 800 and g_linears[-1].out_features == 784
    assert sum(isinstance(m, nn.BatchNorm1d) for m in repro.G.modules()) == 4
    energy, code = repro.D(batch(MNIST).images)
    assert energy.shape == (8,) and code.shape == (8, 1024) and (energy >= 0).all()
    assert repro.opt_D.defaults["lr"] == 1e-3


def test_one_step_moves_both_players_and_pt_reaches_g_only():
    repro = build(MNIST, g_hidden=32, d_hidden=16)
    g, d = snapshot(repro.G), snapshot(repro.D)
    out = repro.train_step([batch(MNIST)], 0)
    assert changed(g, repro.G) and changed(d, repro.D)
    assert all(v.dim() == 0 and torch.isfinite(v) for v in out.values())
    # With PT on, G's loss exceeds its mean energy by λ_PT · f_PT of the codes (f_PT ≥ 0).
    repro.G.eval()
    z = repro.noise(8)
    energy, codes = repro.D(repro.G(z))
    gap = (ebgan.generator_loss(energy, codes, 0.1) - energy.mean()).item()
    assert gap == pytest.approx((0.1 * pulling_away_term(codes)).item(), rel=1e-5) and gap > 0


def test_trains_finite_on_mnist(data_root):
    assert_trains_finite_on_mnist(build(MNIST, g_hidden=64, d_hidden=64), data_root, steps=20)
