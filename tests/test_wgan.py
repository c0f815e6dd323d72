"""WGAN (reproductions.wgan): weight clipping, the critic schedule, RMSProp, shapes on both image sizes."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from tests.reproduction_kit import CIFAR, MNIST, batch, builder, changed, snapshot
from reproductions.wgan import REPRODUCTION as REPRO

build = builder(REPRO)


@pytest.mark.parametrize("spec", [MNIST, CIFAR], ids=["mnist", "cifar10"])
def test_shapes_and_one_step(spec):
    repro = build(spec)
    images = repro.sample(5)
    assert images.shape == (5, spec.channels, spec.resolution, spec.resolution) and images.abs().max() <= 1
    assert repro.D(batch(spec).images).shape == (8,)
    g, d = snapshot(repro.G), snapshot(repro.D)
    out = repro.train_step([batch(spec)], 30)
    assert all(v.dim() == 0 and torch.isfinite(v) for v in out.values())
    assert changed(g, repro.G) and changed(d, repro.D)
    assert torch.equal(out["wasserstein_estimate"], -out["loss_d"])


def test_every_critic_parameter_is_within_the_clip_bound_after_train_step():
    repro = build(MNIST)
    c = repro.hp.clip
    assert c == 0.01
    # N(0, 0.02) init and BN scales ≈ 1 start far outside [-c, c]: the test below can fail.
    assert max(float(p.detach().abs().max()) for p in repro.D.parameters()) > c
    repro.train_step([batch(MNIST, seed=s) for s in range(2)], 30)
    for name, p in repro.D.named_parameters():
        assert float(p.detach().abs().max()) <= c, name  # batchnorm's scale and shift included
    assert max(float(p.detach().abs().max()) for p in repro.G.parameters()) > c  # G is not clipped


def test_critic_schedule():
    repro = build(MNIST)
    # Reference code: 100 critic iterations while gen_iterations < 25 and whenever it is a multiple of 500.
    assert [repro.d_steps(s) for s in (0, 1, 24, 25, 26, 499, 500, 501, 1000, 1001)] == [100, 100, 100, 5, 5, 5, 100, 5, 100, 5]
    plain = build(MNIST, critic_boost=False)  # Algorithm 1 alone: n_critic = 5 throughout
    assert {plain.d_steps(s) for s in (0, 24, 500, 1000, 7)} == {5}


def test_one_critic_update_per_batch_and_rmsprop():
    repro = build(MNIST)
    assert isinstance(repro.opt_D, torch.optim.RMSprop) and repro.opt_D.defaults["lr"] == 5e-5
    assert isinstance(repro.opt_G, torch.optim.RMSprop) and repro.opt_G.defaults["lr"] == 5e-5
    repro.train_step([batch(MNIST, seed=s) for s in range(3)], 30)
    d_steps = {int(state["step"]) for state in repro.opt_D.state.values()}
    g_steps = {int(state["step"]) for state in repro.opt_G.state.values()}
    assert d_steps == {3} and g_steps == {1}


def test_critic_is_the_dcgan_discriminator_without_a_sigmoid():
    repro = build(MNIST)
    assert not any(isinstance(m, (nn.Sigmoid, nn.Tanh)) for m in repro.D.modules())
    assert any(isinstance(m, nn.BatchNorm2d) for m in repro.D.modules())  # DCGAN critic, as in the reference code
