"""LAPGAN (reproductions/lapgan.py): the Laplacian pyramid is exact, one GAN per level with the shapes of
the paper's CIFAR10 model, one step trains every level, and sampling runs the chain coarse to fine on
the passed generator's noise."""

from __future__ import annotations

import pytest
import torch

from harness.reproduction import DataSpec

from reproductions import lapgan
from tests.reproduction_kit import CIFAR, MNIST, batch, builder, snapshot

SPECS = [MNIST, CIFAR]
TINY = {"g_width": 4, "d_width": 4, "g_hidden": 32, "d_hidden": 16, "z_dim": 8}
build = builder(lapgan.LAPGAN)


@pytest.mark.parametrize("resolution, sizes", [(28, [28, 14, 7]), (32, [32, 16, 8]), (64, [64, 32, 16, 8])])
def test_levels_halve_down_to_at_most_8_pixels(resolution, sizes):
    assert lapgan.level_sizes(resolution) == sizes
    with pytest.raises(ValueError):
        lapgan.level_sizes(8)  # no band-pass level left


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
def test_pyramid_builds_and_reconstructs_exactly(spec):
    image = batch(spec, n=4).images
    levels = len(lapgan.level_sizes(spec.resolution))
    gauss = lapgan.gaussian_pyramid(image, levels)
    bands = lapgan.laplacian_pyramid(image, levels)
    for k, size in enumerate(lapgan.level_sizes(spec.resolution)):
        assert gauss[k].shape == bands[k].shape == (4, spec.channels, size, size)
    for k in range(levels - 1):
        # d(.) is the 2×2 mean; h_k = I_k - u(I_{k+1})
        assert torch.allclose(gauss[k + 1], gauss[k].unfold(2, 2, 2).unfold(3, 2, 2).mean((-1, -2)), atol=1e-6)
        assert torch.allclose(bands[k], gauss[k] - lapgan.upsample(gauss[k + 1]))
    assert torch.equal(bands[-1], gauss[-1])  # h_K is the low-pass residual I_K
    assert torch.allclose(lapgan.reconstruct(bands), image, atol=1e-6)
    # I_0 is the sum of every band-pass image upsampled to full size, plus the upsampled low-pass image
    total = torch.zeros_like(image)
    for k, band in enumerate(bands):
        for _ in range(k):
            band = lapgan.upsample(band)
        total = total + band
    assert torch.allclose(total, image, atol=1e-5)


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
def test_paper_cifar10_model_per_level(spec):
    repro = build(spec)  # the paper's sizes: built, run on two images only
    sizes = repro.sizes
    coarse_g, coarse_d = repro.G.levels[-1], repro.D.levels[-1]
    assert [m.out_features for m in coarse_g.net if isinstance(m, torch.nn.Linear)] == [1200, 1200, spec.channels * sizes[-1] ** 2]
    assert [m.out_features for m in coarse_d.net if isinstance(m, torch.nn.Linear)] == [600, 600, 1]
    for k in range(len(sizes) - 1):
        convs = [m for m in repro.G.levels[k].net if isinstance(m, torch.nn.Conv2d)]
        assert [c.kernel_size[0] for c in convs] == [7, 7, 5]
        assert convs[0].in_channels == spec.channels + 1  # l_k plus the noise "color plane"
        assert [c.out_channels for c in convs] == [64, 64, spec.channels]
        assert sum(isinstance(m, torch.nn.Conv2d) for m in repro.D.levels[k].net) == 2
    noises = repro.noise(2)
    assert [tuple(z.shape) for z in noises] == [(2, 1, s, s) for s in sizes[:-1]] + [(2, 100)]
    assert all(z.min() >= -1 and z.max() <= 1 for z in noises)
    lows = [torch.zeros(2, spec.channels, s, s) for s in sizes[:-1]]
    with torch.no_grad():
        bands = repro.G(noises, lows)
        assert [tuple(h.shape) for h in bands] == [(2, spec.channels, s, s) for s in sizes]
        assert [tuple(d.shape) for d in repro.D(bands, lows)] == [(2,)] * len(sizes)
    assert not repro.conditional


def test_band_pass_discriminator_sees_the_low_pass_image_added():
    repro = build(CIFAR, **TINY)
    repro.train(False)  # dropout off
    h, low = torch.randn(3, 3, 32, 32), torch.randn(3, 3, 32, 32)
    d0 = repro.D.levels[0]
    with torch.no_grad():
        assert torch.allclose(d0(h, low), d0(h + low, torch.zeros_like(low)), atol=1e-5)


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
def test_one_train_step_changes_every_levels_g_and_d(spec):
    repro = build(spec, **TINY)
    repro.train(True)
    before = {(name, k): snapshot(level) for name, net in (("G", repro.G), ("D", repro.D))
              for k, level in enumerate(net.levels)}
    losses = repro.train_step([batch(spec)], step=0)
    assert all(torch.isfinite(v) and v.dim() == 0 for v in losses.values())
    assert {f"loss_d_{k}" for k in range(len(repro.sizes))} <= set(losses)
    for (name, k), params in before.items():
        net = (repro.G if name == "G" else repro.D).levels[k]
        unchanged = [n for (n, p), b in zip(net.named_parameters(), params) if torch.equal(p, b)]
        assert not unchanged, f"{name}_{k}: {unchanged} did not move"


def test_schedule_follows_epochs_with_torch7_dampened_momentum():
    repro = build(MNIST, **TINY, epoch_images=32)
    repro.plan(100, 16)  # two steps per epoch
    for step in range(5):
        repro.train_step([batch(MNIST, n=16)], step=step)
    group = repro.opt_D.param_groups[0]
    epoch = 4 * 16 // 32
    assert group["lr"] == pytest.approx(0.02 / 1.00004**epoch)
    assert group["momentum"] == group["dampening"] == pytest.approx(0.5 + 0.0008 * epoch)
    assert lapgan.sgd_schedule(10_000, repro.hp)[1] == pytest.approx(0.8)  # momentum ceiling


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
def test_sample_shape_range_and_generator(spec):
    repro = build(spec, **TINY)
    state = torch.get_rng_state()
    a = repro.sample(5, generator=torch.Generator().manual_seed(3))
    assert torch.equal(torch.get_rng_state(), state)  # every draw came from the passed generator
    b = repro.sample(5, generator=torch.Generator().manual_seed(3))
    c = repro.sample(5, generator=torch.Generator().manual_seed(4))
    assert a.shape == (5, spec.channels, spec.resolution, spec.resolution)
    assert a.min() >= -1 and a.max() <= 1
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_sampling_runs_the_chain_coarse_to_fine():
    repro = build(CIFAR, **TINY)
    with torch.no_grad():
        for level in repro.G.levels[:-1]:  # band-pass generators that output h̃_k = 0 …
            level.net[-1].weight.zero_()
            level.net[-1].bias.zero_()
        images = repro.sample(4, generator=torch.Generator().manual_seed(0))
        coarse = repro.G.levels[-1](repro.noise(4, torch.Generator().manual_seed(0))[-1])
    # … leave u(u(G_K(z_K))): the 8×8 low-pass image carried up to 32×32
    assert torch.allclose(images, lapgan.upsample(lapgan.upsample(coarse)).clamp(-1, 1), atol=1e-6)
    # and a band-pass generator's output is added at its level
    with torch.no_grad():
        repro.G.levels[0].net[-1].bias.fill_(0.25)
        shifted = repro.sample(4, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(shifted, (lapgan.upsample(lapgan.upsample(coarse)) + 0.25).clamp(-1, 1), atol=1e-6)


def test_class_conditional_variant():
    repro = build(MNIST, **TINY, class_conditional=True)
    assert repro.conditional
    assert repro.G.levels[0].net[0].in_channels == 1 + 2  # l_k, noise plane, class plane
    repro.train(True)
    labelled = batch(MNIST)
    labelled.labels = torch.arange(8) % 10
    assert all(torch.isfinite(v) for v in repro.train_step([labelled], step=0).values())
    seed = lambda: torch.Generator().manual_seed(5)
    threes = repro.sample(4, torch.full((4,), 3), generator=seed())
    sevens = repro.sample(4, torch.full((4,), 7), generator=seed())
    assert threes.shape == (4, 1, 28, 28) and not torch.equal(threes, sevens)
    with pytest.raises(ValueError):
        build(DataSpec("imagefolder", 3, 32, 0), class_conditional=True)
