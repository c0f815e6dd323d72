"""Odena et al. 2016 (reproductions/acgan.py): CIFAR-10 nets scaled to the data, L_S + L_C on real and fake."""

from __future__ import annotations

import math

import pytest
import torch

from reproductions import acgan
from tests.reproduction_kit import SPECS, batch, builder


build = builder(acgan.ACGAN)


@pytest.mark.parametrize("data", SPECS, ids=lambda d: d.name)
def test_shapes_follow_the_dataspec(data):
    repro = build(data)
    assert repro.conditional
    assert repro.G.project[0].in_features == 100 + data.num_classes  # 110 for CIFAR-10, as in the appendix
    images = repro.sample(8, torch.arange(8))
    assert images.shape == (8, data.channels, data.resolution, data.resolution)
    assert images.min() >= -1 and images.max() <= 1
    source, classes = repro.D(images)
    assert source.shape == (8,) and classes.shape == (8, data.num_classes)
    assert repro.D.head.out_features == 1 + data.num_classes  # one linear layer for both outputs


def test_g_width_and_d_width_give_the_appendix_widths():
    # G: linear 384, transposed convs 192 and 96 (4, 2, 1 × g_width = 96); D: 16 → 512, doubling.
    repro = build(SPECS[1])  # CIFAR-10
    convs = [m for m in repro.G.net if isinstance(m, torch.nn.ConvTranspose2d)]
    assert repro.G.project[0].out_features == 384 * 4 * 4 and [c.out_channels for c in convs] == [192, 96, 3]
    d_convs = [m for m in repro.D.body if isinstance(m, torch.nn.Conv2d)]
    assert [c.out_channels for c in d_convs] == [16, 32, 64, 128, 256, 512]
    narrow = build(SPECS[1], g_width=8, d_width=2)
    assert [c.out_channels for c in narrow.G.net if isinstance(c, torch.nn.ConvTranspose2d)] == [16, 8, 3]
    assert narrow.D.body[0].out_channels == 2


@pytest.mark.parametrize("data", SPECS, ids=lambda d: d.name)
def test_one_train_step_changes_both_players(data):
    repro = build(data)
    repro.train(True)
    before = {name: [p.detach().clone() for p in net.parameters()] for name, net in (("G", repro.G), ("D", repro.D))}
    losses = repro.train_step([batch(data, labelled=True)], step=0)
    assert all(torch.isfinite(v) for v in losses.values())
    for name, net in (("G", repro.G), ("D", repro.D)):
        assert all(not torch.equal(a, b) for a, b in zip(before[name], net.parameters())), name


def _log_softmax(row: list[float], k: int) -> float:
    return row[k] - math.log(sum(math.exp(v) for v in row))


def test_losses_apply_the_class_term_to_real_and_fake():
    repro = build(SPECS[0])
    real = (torch.tensor([1.0, -1.0]), torch.tensor([[2.0, 0.0, 0.0], [0.0, 1.0, 0.0]]))
    fake = (torch.tensor([0.5, -2.0]), torch.tensor([[0.0, 0.0, 3.0], [1.0, 1.0, 0.0]]))
    labels, fake_labels = torch.tensor([0, 2]), torch.tensor([2, 0])
    log_sig = lambda x: -math.log1p(math.exp(-x))  # noqa: E731
    l_s = 0.5 * (log_sig(1.0) + log_sig(-1.0)) + 0.5 * (log_sig(-0.5) + log_sig(2.0))  # eq. 2 (log(1-σ(f)) = log σ(-f))
    l_c = (0.5 * (_log_softmax([2, 0, 0], 0) + _log_softmax([0, 1, 0], 2))  # eq. 3 on real …
           + 0.5 * (_log_softmax([0, 0, 3], 2) + _log_softmax([1, 1, 0], 0)))  # … and on generated images
    loss_d, loss_c = repro.discriminator_loss(real, labels, fake, fake_labels)
    assert loss_c.item() == pytest.approx(-l_c, abs=1e-5)
    assert loss_d.item() == pytest.approx(-(l_s + l_c), abs=1e-5)

    # G maximises L_C − L_S on its samples: non-saturating source term + class cross-entropy.
    loss_g, loss_g_c = repro.generator_loss(fake, fake_labels)
    expected_c = -0.5 * (_log_softmax([0, 0, 3], 2) + _log_softmax([1, 1, 0], 0))
    assert loss_g_c.item() == pytest.approx(expected_c, abs=1e-5)
    assert loss_g.item() == pytest.approx(-0.5 * (log_sig(0.5) + log_sig(-2.0)) + expected_c, abs=1e-5)


def test_sampling_honours_labels():
    repro = build(SPECS[0])
    repro.train(True)
    with torch.no_grad():  # move batchnorm's running statistics away from their init, as training would
        repro.G(repro.noise(16), torch.arange(16) % 10)
    seed = lambda: torch.Generator().manual_seed(3)  # noqa: E731
    threes = repro.sample(4, torch.full((4,), 3), generator=seed())
    sevens = repro.sample(4, torch.full((4,), 7), generator=seed())
    assert torch.equal(threes, repro.sample(4, torch.full((4,), 3), generator=seed()))
    assert (threes - sevens).abs().amax(dim=(1, 2, 3)).min() > 1e-5, "class 3 and class 7 gave the same image"
    assert repro.G.training
