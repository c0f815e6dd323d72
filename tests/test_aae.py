"""AAE (reproductions.aae): the nets of the MNIST experiment, the two phases of section 2 on one batch,
and sampling through the decoder from the prior."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from harness.reproduction import DataSpec

from reproductions.aae import REPRODUCTION as REPRO
from tests.reproduction_kit import MNIST, assert_trains_finite_on_mnist, batch, builder, changed, record_updates, snapshot

build = builder(REPRO)


def same(a: list[torch.Tensor], b: list[torch.Tensor]) -> bool:
    return all(torch.equal(x, y) for x, y in zip(a, b))


def test_nets_of_the_mnist_experiment():
    repro = build(MNIST)
    assert [m.out_features for m in repro.encoder.modules() if isinstance(m, nn.Linear)] == [1000, 1000, 8]
    assert repro.encoder.log_variance is None  # deterministic q(z|x)
    assert [m.out_features for m in repro.D.modules() if isinstance(m, nn.Linear)] == [1000, 1000, 1]
    assert repro.G.logits.out_features == 784


def test_each_phase_updates_only_its_own_nets():
    repro = build(MNIST, hidden=16)
    real = batch(MNIST)
    # Phase by phase: the reconstruction phase never touches D; D's phase never touches the autoencoder.
    e, g, d = snapshot(repro.encoder), snapshot(repro.G), snapshot(repro.D)
    calls = record_updates(repro, repro.encoder, repro.G, repro.D)
    out = repro.train_step([real], 0)
    assert [c[0] for c in calls] == [repro.opt_AE, repro.opt_D, repro.opt_E]
    _, e1, g1, d1 = calls[1]  # after the reconstruction phase
    assert not same(e1, e) and not same(g1, g) and same(d1, d)
    _, e2, g2, d2 = calls[2]  # after D's step
    assert same(e2, e1) and same(g2, g1)
    assert changed(d1, repro.D)
    assert same(snapshot(repro.G), g2)  # the encoder's adversarial step leaves the decoder
    assert changed(e2, repro.encoder)
    assert set(out) == {"reconstruction", "loss_d", "loss_g", "d_accuracy"}


def test_samples_decode_prior_draws():
    repro = build(MNIST, hidden=16, prior_std=5.0)
    z = repro.noise(4000, torch.Generator().manual_seed(0))
    assert abs(z.std().item() - 5.0) < 0.1
    images = repro.sample(6, generator=torch.Generator().manual_seed(1))
    assert images.shape == (6, 1, 28, 28) and images.min() >= -1 and images.max() <= 1
    with torch.no_grad():
        expected = torch.sigmoid(repro.G(repro.noise(6, torch.Generator().manual_seed(1)))) * 2 - 1
    assert torch.allclose(images, expected)


def test_trains_finite_on_mnist(data_root):
    assert_trains_finite_on_mnist(build(MNIST, hidden=64), data_root, steps=20)


def test_supervised_decoder_sees_the_one_hot_label_and_the_encoder_does_not():
    repro = build(MNIST, hidden=16, supervised=True)
    assert repro.conditional and repro.G.body[0].in_features == 8 + 10
    assert repro.encoder.body[0].in_features == 784  # q(z|x): the image only
    z = torch.zeros(2, 8)
    labels = torch.tensor([3, 7])
    with torch.no_grad():
        expected = repro.G(torch.cat([z, torch.nn.functional.one_hot(labels, 10).float()], 1))
        assert torch.allclose(repro.decode(z, labels), expected)
        assert not torch.allclose(repro.decode(z, torch.tensor([3, 3])), expected)
    # Training reconstructs through the batch's own labels.
    real = batch(MNIST, labelled=True)
    seen = []
    original = repro.decode
    repro.decode = lambda z, y: (seen.append(y.clone()), original(z, y))[1]
    repro.train_step([real], 0)
    assert torch.equal(seen[0], real.labels)


def test_supervised_samples_use_the_given_labels_else_uniform_ones():
    repro = build(MNIST, hidden=16, supervised=True)
    labels = torch.tensor([0, 9, 4])
    images = repro.sample(3, labels=labels, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        z = repro.noise(3, torch.Generator().manual_seed(2))
        assert torch.allclose(images, torch.sigmoid(repro.decode(z, labels)) * 2 - 1)
    assert repro.sample(4, generator=torch.Generator().manual_seed(2)).shape == (4, 1, 28, 28)
    with pytest.raises(ValueError):
        build(DataSpec("unlabelled", 1, 28, 0), hidden=16, supervised=True)
    assert not build(MNIST, hidden=16).conditional
