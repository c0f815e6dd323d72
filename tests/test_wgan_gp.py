"""WGAN-GP (reproductions.wgan_gp): the penalty enters the critic loss, no batchnorm in the critic,
both architectures, the optimiser settings of Algorithm 1 and appendix F."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from tests.reproduction_kit import CIFAR, MNIST, batch, builder, changed, snapshot
from reproductions.wgan_gp import REPRODUCTION as REPRO

build = builder(REPRO)
SMALL = {"g_width": 16, "d_width": 16}  # same layers, fewer channels: for behaviour, not shape, tests


@pytest.mark.parametrize("spec,architecture", [(MNIST, "cnn"), (CIFAR, "cnn"), (MNIST, "resnet"), (CIFAR, "resnet")],
                         ids=["mnist-cnn", "cifar10-cnn", "mnist-resnet", "cifar10-resnet"])
def test_shapes_and_one_step(spec, architecture):
    overrides = {"architecture": architecture}
    if architecture == "resnet":
        overrides.update(g_width=32, d_width=32)  # appendix F's 128 channels cost seconds per double-backward on a CPU
    repro = build(spec, **overrides)
    images = repro.sample(5)
    assert images.shape == (5, spec.channels, spec.resolution, spec.resolution) and images.abs().max() <= 1
    assert repro.D(batch(spec).images).shape == (8,)
    g, d = snapshot(repro.G), snapshot(repro.D)
    out = repro.train_step([batch(spec)], 0)
    assert all(v.dim() == 0 and torch.isfinite(v) for v in out.values())
    assert changed(g, repro.G) and changed(d, repro.D)


@pytest.mark.parametrize("overrides", [{"architecture": "cnn"}, {"architecture": "cnn", "critic_norm": "layer"},
                                       {"architecture": "resnet"}], ids=["cnn", "cnn-layernorm", "resnet"])
def test_critic_has_no_batchnorm(overrides):
    repro = build(CIFAR, **overrides)
    assert not any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in repro.D.modules())
    assert any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in repro.G.modules())  # G keeps its BN
    has_layer_norm = any(isinstance(m, nn.GroupNorm) and m.num_groups == 1 for m in repro.D.modules())
    assert has_layer_norm == (overrides.get("critic_norm") == "layer")


def test_critic_loss_is_wasserstein_plus_lambda_times_the_penalty():
    """Eq. (3) written out here, on copies of the nets taken before the step, replaying the step's
    random draws (z, then ε) from the same seed."""
    repro = build(MNIST, **SMALL)
    assert repro.hp.gp_weight == 10.0
    G, D, real = copy.deepcopy(repro.G), copy.deepcopy(repro.D), batch(MNIST).images
    torch.manual_seed(7)
    out = repro.train_step([batch(MNIST)], 0)

    torch.manual_seed(7)
    with torch.no_grad():
        fake = G(torch.randn(len(real), repro.hp.z_dim))
    eps = torch.rand(len(real), 1, 1, 1)
    mixed = (eps * real + (1 - eps) * fake).requires_grad_(True)
    (grad,) = torch.autograd.grad(D(mixed).sum(), mixed)
    penalty = ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()
    with torch.no_grad():
        expected = D(fake).mean() - D(real).mean() + 10.0 * penalty
    assert float(penalty) > 0
    assert float(out["gradient_penalty"]) == pytest.approx(float(penalty), rel=1e-4)
    assert float(out["loss_d"]) == pytest.approx(float(expected), rel=1e-4, abs=1e-5)
    # and the penalty reaches the critic's parameters: λ = 0 gives a different critic update
    with_gp, without_gp = build(MNIST, **SMALL), build(MNIST, gp_weight=0.0, **SMALL)
    for repro in (with_gp, without_gp):
        torch.manual_seed(7)
        repro.train_step([batch(MNIST)], 0)
    assert any(not torch.equal(a, b) for a, b in zip(with_gp.D.parameters(), without_gp.D.parameters()))


def test_optimiser_settings_per_architecture():
    cnn = build(MNIST, **SMALL)
    assert cnn.d_steps(0) == 5 and cnn.d_steps(1000) == 5
    assert cnn.opt_D.defaults["betas"] == (0.0, 0.9)  # Algorithm 1
    cnn.train_step([batch(MNIST)], 0)
    assert cnn.opt_G.param_groups[0]["lr"] == pytest.approx(1e-4)  # constant

    resnet = build(MNIST, architecture="resnet", g_width=8, d_width=8)
    assert resnet.opt_G.param_groups[0]["lr"] == pytest.approx(2e-4)  # appendix F
    resnet.train_step([batch(MNIST)], 0)
    for opt in (resnet.opt_G, resnet.opt_D):  # decayed linearly to 0 over 100k G steps
        assert opt.param_groups[0]["lr"] == pytest.approx(2e-4 * (1 - 1 / 100_000))
    assert build(MNIST, architecture="resnet", g_width=8, d_width=8, lr_decay_g_steps=0).sched_G.get_last_lr()[0] == pytest.approx(2e-4)


def test_architectures_differ():
    cnn, resnet = build(CIFAR, architecture="cnn"), build(CIFAR, architecture="resnet")
    assert type(cnn.G) is not type(resnet.G) and type(cnn.D) is not type(resnet.D)
    assert resnet.D.pool == "mean"
