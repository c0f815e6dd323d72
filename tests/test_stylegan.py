"""StyleGAN (reproductions/stylegan.py, reproductions/parts/equalized.py): shapes per resolution, training,
style mixing, truncation in W, the mapping network's learning-rate multiplier, R1."""

from __future__ import annotations

import math

import pytest
import torch

from harness.reproduction import DataSpec

from reproductions import stylegan
from reproductions.parts.equalized import EqualizedConv2d, EqualizedLinear
from reproductions.parts.regularizers import gradient_penalty
from tests.reproduction_kit import SPECS, batch, builder


TINY = {"z_dim": 16, "w_dim": 16, "fmap_max": 8}
build = builder(stylegan.StyleGAN, **TINY)


@pytest.mark.parametrize("data, layers", [(SPECS[0], 6), (SPECS[1], 8), (DataSpec("imagefolder", 3, 64, 0), 10)],
                         ids=["28px", "32px", "64px"])
def test_shapes_and_number_of_style_layers_follow_the_resolution(data, layers):
    repro = build(data)
    assert repro.G.num_layers == layers  # two per resolution from the 4×4 (7×7) constant
    images = repro.sample(4)
    assert images.shape == (4, data.channels, data.resolution, data.resolution)
    assert images.min() >= -1 and images.max() <= 1
    assert repro.D(images).shape == (4,)
    assert len(repro.G.mapping.layers) == 8


@pytest.mark.parametrize("data", SPECS, ids=lambda d: d.name)
def test_one_train_step_changes_both_players(data):
    repro = build(data, style_mixing_prob=1.0)
    repro.train(True)
    nets = {"G": repro.G, "D": repro.D}
    before = {k: [p.detach().clone() for p in net.parameters()] for k, net in nets.items()}
    w_avg = repro.G.w_avg.clone()
    losses = repro.train_step([batch(data)], step=0)
    assert all(torch.isfinite(v) and v.dim() == 0 for v in losses.values())
    assert losses["r1"] > 0
    for name, net in nets.items():
        unchanged = [n for (n, p), b in zip(net.named_parameters(), before[name]) if torch.equal(p, b)]
        assert not unchanged, f"{name}: {unchanged} did not move"
    assert not torch.equal(repro.G.w_avg, w_avg)  # w̄ tracks the mapped latents
    assert not torch.equal(repro.G_ema.shadow.const, repro.G.const)  # the sampled G is an average


def test_style_mixing_changes_the_image_only_from_the_crossover_on():
    G = build(SPECS[1]).G
    z, z_mix = torch.randn(2, 16), torch.randn(2, 16)
    with torch.no_grad():
        plain = G(z, noise_mode="none")
        mixed = G(z, z_mix=z_mix, crossover=3, noise_mode="none")
        assert not torch.allclose(mixed, plain, atol=1e-5)
        ws = G.styles(z, z_mix=z_mix, crossover=3)
        w1, w2 = G.mapping(z), G.mapping(z_mix)
        assert torch.allclose(ws[:, :3], w1[:, None].expand(-1, 3, -1))
        assert torch.allclose(ws[:, 3:], w2[:, None].expand(-1, 5, -1))
        assert torch.allclose(G(z, z_mix=z_mix, crossover=G.num_layers, noise_mode="none"), plain)


def test_training_mixes_with_the_given_probability():
    repro = build(SPECS[1])
    calls = []
    repro.G.forward = lambda z, z_mix=None, crossover=None: calls.append((z_mix is not None, crossover))  # record only
    torch.manual_seed(1)
    for _ in range(400):
        repro.generate_for_training(2)
    mixed = [c for m, c in calls if m]
    assert 0.8 < len(mixed) / len(calls) < 0.97  # p = 0.9
    assert min(mixed) >= 1 and max(mixed) <= repro.G.num_layers - 1


def test_truncation_psi_zero_gives_one_image_and_psi_one_does_not():
    repro = build(SPECS[1])
    G = repro.G
    with torch.no_grad():
        G.w_avg.copy_(G.mapping(torch.randn(64, 16)).mean(0))
        z = torch.randn(3, 16)
        same = G(z, psi=0.0, noise_mode="none")
        assert torch.allclose(same[0], same[1], atol=1e-6) and torch.allclose(same[0], same[2], atol=1e-6)
        varied = G(z, psi=1.0, noise_mode="none")
        assert not torch.allclose(varied[0], varied[1], atol=1e-4)
        half = G.styles(z, psi=0.5, cutoff=2)
        full = G.styles(z)
        assert torch.allclose(half[:, :2], G.w_avg + 0.5 * (full[:, :2] - G.w_avg), atol=1e-6)
        assert torch.allclose(half[:, 2:], full[:, 2:])  # beyond the cutoff, untouched
    # sample() applies the configured ψ to the averaged G
    truncated = build(SPECS[1], truncation_psi=0.0, truncation_cutoff=None)
    images = truncated.sample(3, noise_mode="none")
    assert torch.allclose(images[0], images[1], atol=1e-6)


def test_noise_inputs_are_per_pixel_with_learned_per_channel_scales():
    G = build(SPECS[1]).G
    layer = G.layers[3]
    assert torch.equal(layer.noise_strength, torch.zeros_like(layer.noise_strength))
    z = torch.randn(1, 16)
    with torch.no_grad():
        assert torch.allclose(G(z, noise_mode="random"), G(z, noise_mode="none"))  # zero scales at init
        for l in G.layers:
            l.noise_strength.fill_(0.5)
        a = G(z, noise_mode="random", generator=torch.Generator().manual_seed(0))
        b = G(z, noise_mode="random", generator=torch.Generator().manual_seed(1))
        assert not torch.allclose(a, b)


def test_mapping_network_learns_a_hundred_times_slower():
    hp = stylegan.Hyperparameters(**TINY)
    G = stylegan.Generator(hp, 3, 32)
    mapping = G.mapping.layers[1]
    assert isinstance(mapping, EqualizedLinear) and mapping.weight_gain == pytest.approx(0.01 * math.sqrt(2 / 16))
    # Equalised lr: stored weights N(0, 1/λ²) scaled at runtime -> effective weights N(0, 2/fan_in) either way.
    torch.manual_seed(0)
    slow, fast = EqualizedLinear(256, 256, lr_multiplier=0.01), EqualizedLinear(256, 256, lr_multiplier=1.0)
    assert (slow.weight * slow.weight_gain).std().item() == pytest.approx(math.sqrt(2 / 256), rel=0.05)
    assert (fast.weight * fast.weight_gain).std().item() == pytest.approx(math.sqrt(2 / 256), rel=0.05)
    x = torch.randn(32, 256)
    change = {}
    for name, layer in (("slow", slow), ("fast", fast)):
        before = (layer.weight * layer.weight_gain).detach().clone()
        optimizer = torch.optim.Adam(layer.parameters(), lr=1e-3, betas=(0.0, 0.99))
        layer(x).pow(2).mean().backward()
        optimizer.step()
        change[name] = ((layer.weight * layer.weight_gain).detach() - before).abs().mean().item()
    assert change["slow"] / change["fast"] == pytest.approx(0.01, rel=0.05)
    conv = EqualizedConv2d(8, 4, 3)
    assert conv.weight_gain == pytest.approx(math.sqrt(2 / 72))


def test_r1_is_the_squared_gradient_norm_at_real_images():
    repro = build(SPECS[1])
    x = batch(SPECS[1]).images
    penalty = gradient_penalty(repro.D, x, x, target=0.0)
    inputs = x.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(repro.D(inputs).sum(), inputs)
    assert penalty.item() == pytest.approx(grad.flatten(1).pow(2).sum(1).mean().item(), rel=1e-4)
