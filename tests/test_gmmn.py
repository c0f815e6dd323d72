"""GMMN (reproductions.gmmn): the data-space net and its MMD step, the code-space variant's two phases."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from reproductions.gan import to_unit_interval
from reproductions.gmmn import REPRODUCTION as REPRO
from reproductions.parts.mmd import mmd
from tests.reproduction_kit import MNIST, batch, builder, changed, real_mnist_batches, snapshot

build = builder(REPRO)


def test_data_space_net_follows_the_released_mnist_config():
    repro = build(MNIST)
    linears = [m for m in repro.G.modules() if isinstance(m, nn.Linear)]
    assert [m.out_features for m in linears] == [64, 256, 256, 1024, 784] and linears[0].in_features == 10
    assert isinstance(list(repro.G.net)[-1], nn.Sigmoid)
    u = repro.noise(2000, torch.Generator().manual_seed(0))
    assert u.min() >= -1 and u.max() <= 1 and u.mean().abs() < 0.02  # U[-1, 1]
    assert repro.opt_G.defaults["lr"] == 2.0 and repro.opt_G.defaults["momentum"] == 0.9


def test_the_step_minimises_sqrt_mmd_of_samples_against_the_batch():
    repro = build(MNIST)
    real = batch(MNIST, n=32)
    before = snapshot(repro.G)
    torch.manual_seed(4)
    out = repro.train_step([real], 0)
    assert changed(before, repro.G)
    fresh = build(MNIST)
    torch.manual_seed(4)
    samples = fresh.G(fresh.noise(32))
    expected = mmd(samples, to_unit_interval(real.images).flatten(1), (2.0, 5.0, 10.0, 20.0, 40.0, 80.0))
    assert out["mmd"].item() == pytest.approx(expected.item(), rel=1e-5)


def test_the_schedule_drops_lr_and_raises_momentum():
    repro = build(MNIST, schedule_step=3)
    repro.train_step([batch(MNIST)], 2)
    assert repro.opt_G.param_groups[0]["lr"] == 2.0
    repro.train_step([batch(MNIST)], 3)
    assert repro.opt_G.param_groups[0]["lr"] == pytest.approx(0.2)
    assert repro.opt_G.param_groups[0]["momentum"] == pytest.approx(0.99)


def test_code_variant_trains_the_autoencoder_first_then_matches_codes():
    repro = build(MNIST, space="code", bandwidths=(1.0,), g_widths=(16,), ae_hidden=32, code_dim=4)
    repro.plan(430, 16)
    assert repro.autoencoder_steps == 30  # 3,000 of 43,000
    ae, g = snapshot(repro.autoencoder), snapshot(repro.G)
    out = repro.train_step([batch(MNIST, n=16)], 0)
    assert set(out) == {"autoencoder_bce"} and changed(ae, repro.autoencoder) and not changed(g, repro.G)
    ae = snapshot(repro.autoencoder)
    out = repro.train_step([batch(MNIST, n=16)], 30)
    assert set(out) == {"mmd"} and changed(g, repro.G) and not changed(ae, repro.autoencoder)
    images = repro.sample(5)
    assert images.shape == (5, 1, 28, 28) and images.min() >= -1 and images.max() <= 1
    repro.plan(100_000, 1000)
    assert repro.autoencoder_steps == 3000


def test_mmd_falls_on_real_mnist(data_root):
    repro = build(MNIST, lr=1.0)
    stream = real_mnist_batches(data_root, n=200)
    first = [repro.train_step([next(stream)], s)["mmd"].item() for s in range(3)]
    for s in range(3, 60):
        repro.train_step([next(stream)], s)
    last = [repro.train_step([next(stream)], s)["mmd"].item() for s in range(60, 63)]
    assert max(last) < 0.7 * min(first)
