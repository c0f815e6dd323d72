"""VAE-GAN (reproductions.vae_gan): the three losses (L_prior, L_llike in D's l-th layer, L_GAN on real,
reconstructed and prior-sampled images) and Algorithm 1's per-network gradients: the encoder never
sees L_GAN, D never sees L_llike, the decoder descends γ·L_llike − L_GAN."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from reproductions.parts.autoencoders import gaussian_kl
from reproductions.vae_gan import REPRODUCTION as REPRO
from tests.reproduction_kit import MNIST, assert_trains_finite_on_mnist, batch, builder

build = builder(REPRO, hidden=16, z_dim=4)


def grads(loss, net):
    return torch.autograd.grad(loss, list(net.parameters()), retain_graph=True, allow_unused=True)


def captured_step_grads(repro, x, seed):
    """The gradients train_step hands each optimiser (the steps themselves are skipped)."""
    for opt in (repro.opt_E, repro.opt_G, repro.opt_D):
        opt.step = lambda: None
    torch.manual_seed(seed)
    repro.train_step([x], 0)
    return {name: [p.grad.clone() if p.grad is not None else None for p in net.parameters()]
            for name, net in (("E", repro.encoder), ("G", repro.G), ("D", repro.D))}


def close(a, b):
    return all((x is None and y is None) or (x is not None and y is not None and torch.allclose(x, y, atol=1e-7))
               for x, y in zip(a, b))


def test_each_network_gets_the_gradient_of_its_own_loss_only():
    gamma = 0.5
    repro, twin = build(MNIST, gamma=gamma), build(MNIST, gamma=gamma)
    real = batch(MNIST, n=8)
    got = captured_step_grads(repro, real, seed=7)
    torch.manual_seed(7)
    out = twin.losses(real.images)
    d_bce = F.softplus(-out["d_real"]).mean() + F.softplus(out["d_tilde"]).mean() + F.softplus(out["d_prior"]).mean()
    decoder_gan = -F.softplus(out["d_tilde"]).mean() - F.softplus(out["d_prior"]).mean()
    assert close(got["E"], grads(out["prior"] + out["llike"], twin.encoder))
    assert close(got["G"], grads(gamma * out["llike"] + decoder_gan, twin.G))
    assert close(got["D"], grads(d_bce, twin.D))
    # The separations matter: L_GAN does reach the encoder's and L_llike D's parameters through the graph.
    assert not close(got["E"], grads(out["prior"] + out["llike"] + d_bce, twin.encoder))
    assert not close(got["D"], grads(d_bce + out["llike"], twin.D))


def test_the_losses_on_one_batch():
    repro, twin = build(MNIST), build(MNIST)
    x = batch(MNIST, n=6).images
    torch.manual_seed(2)
    out = repro.losses(x)
    torch.manual_seed(2)
    with torch.no_grad():
        mean, log_variance = twin.encoder(x)
        z = mean + torch.exp(0.5 * log_variance) * torch.randn(mean.shape)
        x_tilde = twin.G(z)
        x_p = twin.G(torch.randn(6, 4))
        f_x, f_tilde = twin.D.lower(x.flatten(1)), twin.D.lower(x_tilde.flatten(1))
        expected_llike = 0.5 * ((f_tilde - f_x) ** 2).sum(1).mean()
    assert out["prior"].item() == pytest.approx(gaussian_kl(mean, log_variance).mean().item(), rel=1e-5)
    assert out["llike"].item() == pytest.approx(expected_llike.item(), rel=1e-5)
    assert torch.allclose(out["d_prior"], twin.D(x_p), atol=1e-6)  # the prior samples are D's third set
    assert f_x.shape == (6, 16)  # Dis_l is a hidden layer's output, not the logit


def test_similarity_layer_picks_the_depth_of_dis_l():
    assert len(build(MNIST, similarity_layer=2).D.lower) == 6
    with pytest.raises(ValueError):
        build(MNIST, similarity_layer=3)


def test_trains_finite_on_mnist(data_root):
    assert_trains_finite_on_mnist(build(MNIST, hidden=64), data_root, steps=10)
