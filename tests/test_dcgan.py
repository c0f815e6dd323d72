"""DCGAN (reproductions.dcgan): section 3's guidelines layer by layer, section 4's initialisation
and optimiser, shapes on both image sizes, one step that moves both players."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from reproductions.dcgan import REPRODUCTION as REPRO
from tests.reproduction_kit import CIFAR, SPECS, batch, builder, changed, snapshot

build = builder(REPRO)


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
def test_shapes_and_one_step(spec):
    repro = build(spec)
    images = repro.sample(5)
    assert images.shape == (5, spec.channels, spec.resolution, spec.resolution) and images.abs().max() <= 1
    assert repro.D(batch(spec).images).shape == (8,)
    g, d = snapshot(repro.G), snapshot(repro.D)
    out = repro.train_step([batch(spec)], 0)
    assert all(v.dim() == 0 and torch.isfinite(v) for v in out.values())
    assert changed(g, repro.G) and changed(d, repro.D)


def test_section_3_guidelines():
    repro = build(CIFAR)
    g_layers, d_layers = list(repro.G.net), list(repro.D.net)
    assert not any(isinstance(m, (nn.Linear, nn.MaxPool2d, nn.AvgPool2d)) for m in repro.G.modules())
    assert not any(isinstance(m, (nn.Linear, nn.MaxPool2d, nn.AvgPool2d)) for m in repro.D.modules())
    assert isinstance(g_layers[-1], nn.Tanh) and isinstance(g_layers[-2], nn.ConvTranspose2d)  # no BN at G's output
    assert isinstance(d_layers[1], nn.LeakyReLU) and d_layers[1].negative_slope == 0.2  # no BN on D's input layer
    assert [m.out_channels for m in repro.G.modules() if isinstance(m, nn.ConvTranspose2d)] == [256, 128, 64, 3]
    assert sum(isinstance(m, nn.BatchNorm2d) for m in repro.D.modules()) == 2


def test_section_4_initialisation_and_adam():
    repro = build(CIFAR)
    weights = torch.cat([m.weight.flatten() for m in repro.G.modules() if isinstance(m, nn.ConvTranspose2d)])
    assert weights.mean().abs() < 1e-3 and weights.std().item() == pytest.approx(0.02, rel=0.05)
    scales = torch.cat([m.weight for m in repro.D.modules() if isinstance(m, nn.BatchNorm2d)])
    assert scales.mean().item() == pytest.approx(1.0, abs=0.01) and 0 < scales.std().item() < 0.05
    assert repro.opt_G.defaults["lr"] == 2e-4 and repro.opt_D.defaults["betas"] == (0.5, 0.999)


def test_sampling_uses_batch_statistics_as_the_reference_code_and_leaves_g_as_it_was():
    repro = build(CIFAR)
    repro.train_step([batch(CIFAR)], 0)  # running statistics that differ from the initial ones
    repro.train(True)
    running = [b.clone() for b in repro.G.buffers()]
    z = repro.noise(4, torch.Generator().manual_seed(2))
    images = repro.sample(4, generator=torch.Generator().manual_seed(2))
    assert repro.G.training and all(torch.equal(a, b) for a, b in zip(repro.G.buffers(), running))
    with torch.no_grad():
        repro.G.eval()
        assert not torch.allclose(images, repro.G(z), atol=1e-4)  # not the running statistics
        repro.G.train()
        assert torch.allclose(images, repro.G(z), atol=1e-6)  # train mode: this batch's own statistics
