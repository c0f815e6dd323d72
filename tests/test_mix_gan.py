"""MIX+GAN (reproductions/mix_gan.py): shapes, training of all components and both mixtures, the
weighted payoff, the entropy regulariser's sign, and sampling from the mixture."""

from __future__ import annotations

import math

import pytest
import torch

from reproductions import mix_gan
from reproductions.dcgan import Discriminator, Generator
from reproductions.parts.losses import d_loss_gan, g_loss_nonsaturating
from tests.reproduction_kit import SPECS, batch, builder


TINY = {"components": 3, "g_width": 4, "d_width": 4, "z_dim": 8}
build = builder(mix_gan.MIXGAN, **TINY)


@pytest.mark.parametrize("data", SPECS, ids=lambda d: d.name)
def test_shapes_and_components_are_dcgan_networks(data):
    repro = build(data)
    images = repro.sample(8)
    assert images.shape == (8, data.channels, data.resolution, data.resolution)
    assert images.min() >= -1 and images.max() <= 1
    assert len(repro.Gs) == len(repro.Ds) == 3
    assert all(isinstance(G, Generator) for G in repro.Gs) and all(isinstance(D, Discriminator) for D in repro.Ds)
    assert repro.Ds[0](images).shape == (8,)
    assert mix_gan.Hyperparameters().components == 5


@pytest.mark.parametrize("data", SPECS, ids=lambda d: d.name)
def test_one_train_step_changes_every_component_and_both_mixtures(data):
    repro = build(data)
    repro.train(True)
    nets = {"Gs": repro.Gs, "Ds": repro.Ds, "G_mix": repro.G_mix, "D_mix": repro.D_mix}
    before = {k: [p.detach().clone() for p in net.parameters()] for k, net in nets.items()}
    losses = repro.train_step([batch(data)], step=0)
    assert all(torch.isfinite(v) and v.dim() == 0 for v in losses.values())
    for name, net in nets.items():
        unchanged = [n for (n, p), b in zip(net.named_parameters(), before[name]) if torch.equal(p, b)]
        assert not unchanged, f"{name}: {unchanged} did not move"


def test_mixture_weights_sum_to_one_and_receive_gradients():
    repro = build(SPECS[0])
    with torch.no_grad():
        repro.G_mix.logits.copy_(torch.tensor([0.5, -1.0, 2.0]))
    w = repro.G_mix.weights()
    assert w.sum().item() == pytest.approx(1.0) and (w > 0).all()
    z = repro.noise(8)
    repro.generator_loss([G(z) for G in repro.Gs]).backward()
    assert repro.G_mix.logits.grad is not None and repro.G_mix.logits.grad.abs().sum() > 0
    assert repro.D_mix.logits.grad is None  # w_v is the discriminators' to choose
    fakes = [G(z).detach() for G in repro.Gs]
    repro.discriminator_loss(batch(SPECS[0]).images, fakes).backward()
    assert repro.D_mix.logits.grad is not None and repro.D_mix.logits.grad.abs().sum() > 0


def test_payoff_is_the_weighted_expectation_over_pairs():
    repro = build(SPECS[0], entropy_weight=0.0)
    repro.train(False)
    with torch.no_grad():
        repro.G_mix.logits.copy_(torch.tensor([0.3, -0.2, 1.0]))
        repro.D_mix.logits.copy_(torch.tensor([-0.5, 0.7, 0.1]))
        real = batch(SPECS[0]).images
        fakes = [G(repro.noise(8)) for G in repro.Gs]
        w_u, w_v = repro.G_mix.weights(), repro.D_mix.weights()
        pairs = [(w_u[i] * w_v[j], D, f) for i, f in enumerate(fakes) for j, D in enumerate(repro.Ds)]
        expected_d = sum(w * d_loss_gan(D(real), D(f)) for w, D, f in pairs)
        expected_g = sum(w * g_loss_nonsaturating(D(f)) for w, D, f in pairs)
        assert repro.discriminator_loss(real, fakes).item() == pytest.approx(expected_d.item(), rel=1e-5)
        assert repro.generator_loss(fakes).item() == pytest.approx(expected_g.item(), rel=1e-5)


def test_entropy_regulariser_rewards_spread_weights():
    mixture = mix_gan.Mixture(4)
    # uniform weights: H = log T, the largest entropy, so −λH is at its minimum
    assert mixture.entropy().item() == pytest.approx(math.log(4))
    assert mixture.regulariser(0.1).item() == pytest.approx(-0.1 * math.log(4))
    with torch.no_grad():
        mixture.logits.copy_(torch.tensor([3.0, 0.0, 0.0, -1.0]))
    skewed = mixture.regulariser(0.1).item()
    assert skewed > -0.1 * math.log(4)  # a collapsing mixture pays more
    optimizer = torch.optim.SGD(mixture.parameters(), lr=1.0)
    for _ in range(20):  # minimising the regulariser alone pushes the weights back towards uniform
        optimizer.zero_grad()
        mixture.regulariser(0.1).backward()
        optimizer.step()
    assert mixture.regulariser(0.1).item() < skewed
    assert mixture.weights().max().item() < 0.85


def test_sample_draws_each_image_from_the_mixture():
    repro = build(SPECS[0])
    with torch.no_grad():
        repro.G_mix.logits.copy_(torch.tensor([-30.0, 30.0, -30.0]))  # all mass on component 1
    images = repro.sample(6, generator=torch.Generator().manual_seed(0))
    z = repro.noise(6, torch.Generator().manual_seed(0))
    repro.Gs.eval()
    with torch.no_grad():
        assert torch.allclose(images, repro.Gs[1](z))
        assert not torch.allclose(images, repro.Gs[0](z))
    with torch.no_grad():
        repro.G_mix.logits.copy_(torch.tensor([0.0, math.log(3.0), 0.0]))  # weights 0.2, 0.6, 0.2
    draws = repro.G_mix.draw(5000, torch.Generator().manual_seed(1))
    share = torch.bincount(draws, minlength=3).float() / 5000
    assert torch.allclose(share, torch.tensor([0.2, 0.6, 0.2]), atol=0.03)
