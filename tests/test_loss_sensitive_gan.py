"""Loss-Sensitive GAN (reproductions.loss_sensitive_gan): the L1 margin, the hinge objective of eq. 6
as the released code minimises it, L_θ ≥ 0, and G's step on D's own generated batch."""

from __future__ import annotations

import pytest
import torch

from reproductions import loss_sensitive_gan as lsg
from tests.reproduction_kit import MNIST, assert_trains_finite_on_mnist, batch, builder, changed, snapshot

build = builder(lsg.LossSensitiveGAN)


def test_margin_is_tau_times_the_l1_distance_and_stops_gradients_into_g():
    real = torch.zeros(2, 1, 2, 2)
    fake = torch.tensor([[[[1.0, -1.0], [0.5, 0.0]]], [[[0.0, 0.0], [0.0, 2.0]]]], requires_grad=True)
    m = lsg.margin(real, fake, scale=0.5)
    assert m.tolist() == pytest.approx([0.5 * 2.5, 0.5 * 2.0])
    assert not m.requires_grad


def test_hinge_objective_on_hand_made_losses():
    real, fake, margins = torch.tensor([1.0, 2.0]), torch.tensor([4.0, 2.5]), torch.tensor([1.0, 1.0])
    # (1 + 1 − 4)₊ = 0 and (1 + 2 − 2.5)₊ = 0.5: only the pair inside its margin counts.
    assert lsg.loss_function_objective(real, fake, margins).item() == pytest.approx(0.25)
    assert lsg.loss_function_objective(real, fake, margins, real_weight=0.1).item() == pytest.approx(0.25 + 0.15)


def test_loss_function_is_non_negative_and_noise_uniform():
    repro = build(MNIST, g_width=8, d_width=8)
    assert (repro.D(batch(MNIST, n=16).images) >= 0).all()
    z = repro.noise(4000, torch.Generator().manual_seed(0))
    assert z.min() >= -1 and z.max() <= 1
    assert repro.opt_D.defaults["lr"] == 1e-4 and repro.opt_D.defaults["betas"] == (0.5, 0.999)


def test_one_step_moves_both_and_g_minimises_the_loss_of_its_samples():
    repro = build(MNIST, g_width=8, d_width=8)
    g, d = snapshot(repro.G), snapshot(repro.D)
    out = repro.train_step([batch(MNIST, n=16)], 0)
    assert changed(g, repro.G) and changed(d, repro.D)
    assert out["loss_g"].item() >= 0 and out["margin"].item() > 0


def test_trains_finite_on_mnist(data_root):
    assert_trains_finite_on_mnist(build(MNIST, g_width=16, d_width=16), data_root, steps=15)
