"""VAE (reproductions.vae): section 5's MNIST model, the ELBO step of Algorithm 1, sampling from the prior."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from reproductions.parts.autoencoders import evidence_lower_bound
from reproductions.gan import to_unit_interval
from reproductions.vae import REPRODUCTION as REPRO
from tests.reproduction_kit import MNIST, batch, builder, changed, real_mnist_batches, snapshot

build = builder(REPRO)


def test_section_5_mnist_model_and_optimiser():
    repro = build(MNIST)
    linears = [m for m in repro.encoder.modules() if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(784, 500), (500, 20), (500, 20)]  # body, μ, log σ²
    assert any(isinstance(m, nn.Tanh) for m in repro.G.modules())
    assert repro.G.logits.out_features == 784
    weights = repro.encoder.body[0].weight
    assert weights.std().item() == pytest.approx(0.01, rel=0.05)
    assert isinstance(repro.opt, torch.optim.Adagrad) and repro.opt.defaults["lr"] == 0.02
    assert len(repro.opt.param_groups[0]["params"]) == len(list(repro.encoder.parameters())) + len(list(repro.G.parameters()))


def test_the_step_ascends_eq_10_and_returns_it():
    repro = build(MNIST)
    real = batch(MNIST, n=16)
    enc, dec = snapshot(repro.encoder), snapshot(repro.G)
    torch.manual_seed(3)
    out = repro.train_step([real], 0)
    assert changed(enc, repro.encoder) and changed(dec, repro.G)
    # The logged ELBO is eq. 10 on the same ε, computed with the parameters before the step.
    fresh = build(MNIST)
    torch.manual_seed(3)
    pixels = to_unit_interval(real.images)
    mean, log_var = fresh.encoder(pixels)
    z = mean + torch.exp(0.5 * log_var) * torch.randn(mean.shape)
    expected = evidence_lower_bound(fresh.G(z), pixels, mean, log_var).mean()
    assert out["elbo"].item() == pytest.approx(expected.item(), rel=1e-5)
    assert out["reconstruction"].item() + out["kl"].item() == pytest.approx(-out["elbo"].item(), rel=1e-5)


def test_training_on_mnist_raises_the_bound(data_root):
    repro = build(MNIST, lr=0.05)
    stream = real_mnist_batches(data_root, n=100)
    first = [repro.train_step([next(stream)], s)["elbo"].item() for s in range(5)]
    for s in range(5, 150):
        repro.train_step([next(stream)], s)
    last = [repro.train_step([next(stream)], s)["elbo"].item() for s in range(150, 155)]
    assert sum(last) / 5 > sum(first) / 5 + 50  # nats per digit: far above noise


def test_samples_are_decoder_means_from_the_prior():
    repro = build(MNIST)
    images = repro.sample(6, generator=torch.Generator().manual_seed(0))
    assert images.shape == (6, 1, 28, 28) and images.min() >= -1 and images.max() <= 1
    z = repro.noise(6, torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert torch.allclose(images, torch.sigmoid(repro.G(z)) * 2 - 1)
