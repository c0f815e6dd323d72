"""Warde-Farley & Bengio 2017 (reproductions/denoising_feature_matching.py): the denoiser r on D's
features of real data (eq. 5) and G's regression towards r(Φ(G(z))) held constant (eq. 4)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from reproductions import denoising_feature_matching as dfm
from tests.reproduction_kit import MNIST, SPECS, batch, builder, changed, snapshot

TINY = dict(g_width=8, d_width=8, denoiser_width=16, denoiser_depth=3)
build = builder(dfm.DenoisingFeatureMatching, **TINY)


@pytest.mark.parametrize("data", SPECS, ids=lambda d: d.name)
def test_the_denoiser_works_on_ds_penultimate_layer(data):
    repro = build(data)
    images = batch(data).images
    seen = []
    hook = repro.D.net[-1].register_forward_hook(lambda module, args, out: seen.append(args[0].flatten(1)))
    phi, logit = repro.discriminate(images)
    hook.remove()
    assert torch.allclose(logit, repro.D(images))  # Φ then d is D
    assert torch.equal(phi, seen[0])  # Φ is what D's logit layer reads: its last hidden layer, activated
    assert phi.shape == (8, {28: 16 * 7 * 7, 32: 32 * 4 * 4}[data.resolution])
    assert repro.R(phi).shape == phi.shape
    linears = [m for m in repro.R.net if isinstance(m, nn.Linear)]
    norms = [m for m in repro.R.net if isinstance(m, nn.BatchNorm1d)]
    assert len(linears) == 4 and len(norms) == 3  # 3 hidden layers with BN, a linear output without
    assert isinstance(repro.R.net[-1], nn.Linear)


def test_denoiser_loss_reconstructs_the_clean_features_from_gaussian_corruption():
    h = torch.randn(4000, 8)
    # an identity denoiser leaves the noise in: its loss is σ² per entry
    assert dfm.denoiser_loss(nn.Identity(), h, corruption_std=0.5).item() == pytest.approx(0.25, rel=0.05)
    assert dfm.denoiser_loss(nn.Identity(), h, corruption_std=0.0).item() == 0.0
    # a denoiser answering 0 is scored against the clean features, whatever the noise
    zero = lambda x: torch.zeros_like(x)  # noqa: E731
    assert dfm.denoiser_loss(zero, h, corruption_std=3.0).item() == pytest.approx(h.pow(2).mean().item())
    # Φ(x) is a constant for the denoiser's loss: no gradient reaches D's features
    h.requires_grad_(True)
    net = nn.Linear(8, 8)
    dfm.denoiser_loss(net, h, 1.0).backward()
    assert h.grad is None and net.weight.grad is not None


def test_g_regresses_towards_the_denoised_features_held_constant():
    h = torch.tensor([[2.0, -4.0]], requires_grad=True)
    halve = nn.Linear(2, 2, bias=False)
    with torch.no_grad():
        halve.weight.copy_(0.5 * torch.eye(2))
    loss = dfm.denoising_feature_matching(halve, h)
    assert loss.item() == pytest.approx(((2 - 1) ** 2 + (-4 + 2) ** 2) / 2)
    loss.backward()
    # with r(h) a constant target, d/dh mean((h - r)^2) = 2 (h - r) / k = h / 2 here; through r it would be h / 4
    assert torch.allclose(h.grad, torch.tensor([[1.0, -2.0]]))
    assert halve.weight.grad is None


def test_one_step_trains_g_d_and_the_denoiser():
    repro = build(MNIST)
    repro.train(True)
    before = {name: snapshot(getattr(repro, name)) for name in ("G", "D", "R")}
    losses = repro.train_step([batch(MNIST)], 0)
    assert all(torch.isfinite(v) for v in losses.values())
    assert all(changed(before[name], getattr(repro, name)) for name in before)
    assert losses["loss_g"].item() == pytest.approx(losses["loss_g_denoise"].item() + losses["loss_g_adv"].item(), rel=1e-5)


def test_the_denoising_term_alone_moves_g_and_neither_term_leaves_it_still():
    for weights, moves in (((0.0, 1.0), True), ((0.0, 0.0), False)):
        repro = build(MNIST, adversarial_weight=weights[0], denoise_weight=weights[1])
        repro.train(True)
        g = snapshot(repro.G)
        repro.train_step([batch(MNIST)], 0)
        assert changed(g, repro.G) == moves, weights
