"""LSGAN (reproductions.lsgan): shapes on both image sizes, the a-b-c coding, Figure 3's layers."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from reproductions.lsgan import REPRODUCTION as REPRO
from reproductions.parts.losses import d_loss_least_squares
from tests.reproduction_kit import CIFAR, MNIST, batch, builder, changed, snapshot

build = builder(REPRO)
SMALL = {"z_dim": 16, "g_width": 16, "d_width": 8}  # same layers, fewer channels: for behaviour, not shape, tests


@pytest.mark.parametrize("spec", [MNIST, CIFAR], ids=["mnist", "cifar10"])
def test_shapes_and_one_step(spec):
    repro = build(spec)
    shape = (spec.channels, spec.resolution, spec.resolution)
    images = repro.sample(5)
    assert images.shape == (5, *shape) and images.abs().max() <= 1
    assert repro.D(batch(spec).images).shape == (8,)
    g, d = snapshot(repro.G), snapshot(repro.D)
    out = repro.train_step([batch(spec)], 0)
    assert all(v.dim() == 0 and torch.isfinite(v) and not v.requires_grad for v in out.values())
    assert changed(g, repro.G) and changed(d, repro.D)


def test_default_coding_is_0_1_1_and_the_coding_changes_the_objective():
    hp = build(MNIST).hp
    assert (hp.a, hp.b, hp.c) == (0.0, 1.0, 1.0)  # eq. (9), the coding the paper trains with
    losses = {}
    for coding in ((0.0, 1.0, 1.0), (-1.0, 1.0, 0.0)):
        repro = build(MNIST, a=coding[0], b=coding[1], c=coding[2], **SMALL)
        torch.manual_seed(5)
        losses[coding] = repro.train_step([batch(MNIST)], 0)
    assert losses[(0.0, 1.0, 1.0)]["loss_d"] != losses[(-1.0, 1.0, 0.0)]["loss_d"]
    assert losses[(0.0, 1.0, 1.0)]["loss_g"] != losses[(-1.0, 1.0, 0.0)]["loss_g"]


def test_logged_d_loss_is_the_least_squares_loss_of_the_pre_update_discriminator():
    repro = build(MNIST, a=-1.0, b=1.0, c=0.0, **SMALL)
    real = batch(MNIST)
    torch.manual_seed(3)
    fake = repro.G(repro.noise(len(real)))  # the same draw train_step makes first (G in train mode)
    with torch.no_grad():
        expected = d_loss_least_squares(repro.D(real.images), repro.D(fake), a=-1.0, b=1.0)
    repro = build(MNIST, a=-1.0, b=1.0, c=0.0, **SMALL)
    torch.manual_seed(3)
    assert torch.allclose(repro.train_step([real], 0)["loss_d"], expected, atol=1e-5)


def test_figure_3_layers():
    repro = build(CIFAR)
    deconvs = [m for m in repro.G.modules() if isinstance(m, nn.ConvTranspose2d)]
    assert all(m.kernel_size == (3, 3) for m in deconvs)
    assert [m.stride[0] for m in deconvs] == [2, 1, 2, 2, 1]  # 4→8 (+ stride-1) →16 →32, then to RGB
    convs = [m for m in repro.D.modules() if isinstance(m, nn.Conv2d)]
    assert [(m.kernel_size, m.stride, m.out_channels) for m in convs] == [
        ((5, 5), (2, 2), 64), ((5, 5), (2, 2), 128), ((5, 5), (2, 2), 256), ((5, 5), (2, 2), 512)]
    features = list(repro.D.features)
    assert isinstance(features[1], nn.LeakyReLU)  # no BN after the first convolution
    assert sum(isinstance(m, nn.BatchNorm2d) for m in features) == 3
    assert not any(isinstance(m, nn.Sigmoid) for m in repro.D.modules())  # least squares on the raw output
    assert isinstance(repro.opt_D, torch.optim.Adam) and repro.opt_D.defaults["betas"][0] == 0.5
