"""f-GAN (reproductions.f_gan): the divergence switch, the single-step update, section 4's MLPs."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from reproductions.f_gan import REPRODUCTION as REPRO
from reproductions.parts.losses import F_DIVERGENCES, d_loss_f, g_loss_f
from tests.reproduction_kit import CIFAR, MNIST, batch, builder, changed, snapshot

build = builder(REPRO)


@pytest.mark.parametrize("spec", [MNIST, CIFAR], ids=["mnist", "cifar10"])
def test_shapes_and_one_step(spec):
    repro = build(spec)
    images = repro.sample(5)
    assert images.shape == (5, spec.channels, spec.resolution, spec.resolution) and images.abs().max() <= 1
    assert repro.D(batch(spec).images).shape == (8,)
    g, d = snapshot(repro.G), snapshot(repro.D)
    out = repro.train_step([batch(spec)], 0)
    assert all(v.dim() == 0 and torch.isfinite(v) for v in out.values())
    assert changed(g, repro.G) and changed(d, repro.D)


@pytest.mark.parametrize("divergence", sorted(F_DIVERGENCES))
def test_every_divergence_trains(divergence):
    repro = build(MNIST, divergence=divergence)
    out = repro.train_step([batch(MNIST)], 0)
    assert torch.isfinite(out["loss_d"]) and torch.isfinite(out["loss_g"])


def test_divergence_switch_changes_the_loss():
    losses = {}
    for divergence in ("kl", "reverse-kl", "pearson", "jensen-shannon"):
        repro = build(MNIST, divergence=divergence)
        torch.manual_seed(3)
        losses[divergence] = float(repro.train_step([batch(MNIST)], 0)["loss_d"])
    assert len(set(losses.values())) == 4, losses


def test_single_step_uses_one_point_for_both_gradients():
    # Algorithm 1: ω and θ both move along gradients taken at (θ_t, ω_t) on the same z. A sequential
    # scheme (D first, then G against the updated D) would give a different G.
    repro, reference = build(MNIST, divergence="kl"), build(MNIST, divergence="kl")
    real = batch(MNIST)
    torch.manual_seed(9)
    repro.train_step([real], 0)
    torch.manual_seed(9)
    fake = reference.G(reference.noise(len(real)))
    v_fake = reference.D(fake)
    loss_d = d_loss_f(reference.D(real.images), v_fake, "kl")
    loss_g = g_loss_f(v_fake, "kl")  # at the old ω
    loss_d.backward(inputs=list(reference.D.parameters()), retain_graph=True)
    loss_g.backward(inputs=list(reference.G.parameters()))
    reference.opt_D.step()
    reference.opt_G.step()
    for net in ("D", "G"):
        for a, b in zip(getattr(repro, net).parameters(), getattr(reference, net).parameters()):
            assert torch.allclose(a, b, atol=1e-6), net


def test_section_4_networks():
    repro = build(MNIST)
    z = repro.noise(1000)
    assert z.shape == (1000, 100) and z.min() >= -1 and z.max() <= 1 and z.min() < -0.9  # Uniform(-1, 1)^100
    linears = [m for m in repro.G.modules() if isinstance(m, nn.Linear)]
    assert [m.out_features for m in linears] == [1200, 1200, 784]
    assert sum(isinstance(m, nn.BatchNorm1d) for m in repro.G.modules()) == 2
    assert sum(isinstance(m, nn.Linear) for m in repro.D.modules()) == 3
    assert sum(isinstance(m, nn.ELU) for m in repro.D.modules()) == 2
    assert repro.opt_G.defaults["lr"] == 2e-4 and repro.opt_G.defaults["betas"][0] == 0.5
