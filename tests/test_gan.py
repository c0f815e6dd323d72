"""Goodfellow et al. 2014 (reproductions/gan.py): shapes, one step trains both players, the G-loss switch."""

from __future__ import annotations

import math

import pytest
import torch

from harness.errors import GanBenchError
from harness.reproduction import resolve_hyperparameters

from reproductions import gan
from tests.reproduction_kit import SPECS, batch, builder
from tests.reproduction_kit import assert_trains_finite_on_mnist


build = builder(gan.GAN)


@pytest.mark.parametrize("data", SPECS, ids=lambda d: d.name)
def test_shapes_follow_the_dataspec(data):
    repro = build(data)
    images = repro.sample(8)
    assert images.shape == (8, data.channels, data.resolution, data.resolution)
    assert images.min() >= -1 and images.max() <= 1
    assert repro.D(images).shape == (8,)
    assert repro.G.net[0].in_features == 100 and repro.G.net[-2].out_features == data.channels * data.resolution**2


@pytest.mark.parametrize("data", SPECS, ids=lambda d: d.name)
def test_one_train_step_changes_both_players(data):
    repro = build(data)
    repro.train(True)
    before = {name: [p.detach().clone() for p in net.parameters()] for name, net in (("G", repro.G), ("D", repro.D))}
    losses = repro.train_step([batch(data)], step=0)
    assert all(torch.isfinite(v) and v.dim() == 0 for v in losses.values())
    for name, net in (("G", repro.G), ("D", repro.D)):
        changed = [not torch.equal(a, b) for a, b in zip(before[name], net.parameters())]
        assert all(changed), f"{name}: some parameters did not move"


def test_minimax_and_nonsaturating_generator_losses_match_hand_values():
    logits = torch.tensor([0.0, 2.0, -6.0], requires_grad=True)
    # eq. 1: G minimises E log(1 - D(G(z))) = -E softplus(f); section 3: G maximises E log D(G(z)) = -E softplus(-f).
    softplus = lambda x: math.log1p(math.exp(x))  # noqa: E731
    minimax_expected = -(softplus(0.0) + softplus(2.0) + softplus(-6.0)) / 3  # ≈ -1.41082
    nonsat_expected = (softplus(0.0) + softplus(-2.0) + softplus(6.0)) / 3  # ≈ 2.27543

    minimax = build(SPECS[0], g_loss="minimax").generator_loss(logits)
    nonsat = build(SPECS[0], g_loss="nonsaturating").generator_loss(logits)
    assert minimax.item() == pytest.approx(minimax_expected, abs=1e-6)
    assert nonsat.item() == pytest.approx(nonsat_expected, abs=1e-6)

    # The reason for section 3's switch: when D rejects a sample (f = -6) the minimax gradient vanishes
    # (-σ(f)/n) while the non-saturating one stays near -1/n (-(1 - σ(f))/n).
    (grad_minimax,) = torch.autograd.grad(minimax, logits)
    (grad_nonsat,) = torch.autograd.grad(nonsat, logits)
    sigmoid = 1 / (1 + math.exp(6.0))
    assert grad_minimax[2].item() == pytest.approx(-sigmoid / 3, abs=1e-7)
    assert grad_nonsat[2].item() == pytest.approx(-(1 - sigmoid) / 3, abs=1e-7)


def test_k_discriminator_steps_and_unknown_loss_names():
    repro = build(SPECS[0], d_steps_per_g_step=3)
    assert repro.d_steps(0) == 3
    repro.train(True)
    calls = []
    repro.opt_D.register_step_post_hook(lambda *_: calls.append(1))
    repro.train_step([batch(SPECS[0]) for _ in range(3)], step=0)
    assert len(calls) == 3
    with pytest.raises(GanBenchError, match="g_loss"):
        resolve_hyperparameters(gan.GAN, {"g_loss": "wasserstein"})


def test_sgd_schedule_and_maxout():
    hp = gan.Hyperparameters()
    assert gan.sgd_schedule(0, hp) == (pytest.approx(0.1), pytest.approx(0.5))
    lr, momentum = gan.sgd_schedule(10_000_000, hp)
    assert lr == pytest.approx(1e-6) and momentum == pytest.approx(0.7)
    assert gan.sgd_schedule(62_500, hp)[1] == pytest.approx(0.6)

    maxout = gan.Maxout(2, units=1, pieces=3)
    with torch.no_grad():
        maxout.linear.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0]]))
        maxout.linear.bias.zero_()
    assert maxout(torch.tensor([[0.5, -2.0]])).item() == pytest.approx(1.5)  # max(0.5, -2, 1.5)


def test_the_paper_sgd_setup_stays_finite_on_mnist(data_root):
    # Regression: with a tanh G and D fed [-1, 1] pixels, lr 0.1 SGD sent the logits to inf within
    # 300 updates. The paper's nets work on [0, 1] pixels, which keeps its learning rate stable.
    assert_trains_finite_on_mnist(build(SPECS[0]), data_root, steps=400)
