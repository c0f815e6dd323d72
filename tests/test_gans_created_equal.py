"""Lucic et al.'s study (reproductions.gans_created_equal): compare_gan's shared network, its losses,
its schedule and protocol as the registry states them."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from harness.budget import resolve_budget
from harness.registry import load_registry
from reproductions.gans_created_equal import REPRODUCTION as REPRO
from tests.reproduction_kit import CIFAR, MNIST, assert_trains_finite_on_mnist, batch, builder, changed, snapshot

build = builder(REPRO)
LOSSES = ["ns-gan", "mm-gan", "lsgan", "wgan", "wgan-gp", "dragan", "began"]


def _study_parameter_count(channels: int, resolution: int, d_batchnorm: bool) -> tuple[int, int]:
    """(G, D) parameters of abstract_gan.py's networks, counted by hand from its layer list."""
    cells = (resolution // 4) ** 2
    g = (64 * 1024 + 1024) + 2 * 1024 + (1024 * 128 * cells + 128 * cells) + 2 * 128 * cells \
        + (128 * 64 * 16 + 64) + 2 * 64 + (64 * channels * 16 + channels)
    d = (channels * 64 * 16 + 64) + (64 * 128 * 16 + 128) + (128 * cells * 1024 + 1024) + (1024 + 1)
    return g, d + (2 * 128 + 2 * 1024 if d_batchnorm else 0)


@pytest.mark.parametrize("spec", [MNIST, CIFAR], ids=["mnist", "cifar10"])
@pytest.mark.parametrize("d_batchnorm", [True, False])
def test_the_networks_are_the_studys_layer_for_layer(spec, d_batchnorm):
    repro = build(spec, d_batchnorm=d_batchnorm)
    count = lambda net: sum(p.numel() for p in net.parameters())  # noqa: E731
    assert (count(repro.G), count(repro.D)) == _study_parameter_count(spec.channels, spec.resolution, d_batchnorm)
    assert any(isinstance(m, nn.BatchNorm2d) for m in repro.D.modules()) == d_batchnorm
    # Every hidden unit of both nets is a leaky ReLU of slope 0.2 (ops.lrelu); G ends in a sigmoid.
    assert not any(isinstance(m, (nn.ReLU, nn.Tanh)) for net in (repro.G, repro.D) for m in net.modules())
    assert {m.negative_slope for m in repro.G.modules() if isinstance(m, nn.LeakyReLU)} == {0.2}
    assert isinstance(list(repro.G.modules())[-1], nn.Sigmoid)
    bn = [m for m in repro.G.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    assert len(bn) == 3 and {(m.momentum, m.eps) for m in bn} == {(0.001, 0.001)}  # TF decay 0.999, eps 1e-3
    assert repro.D(batch(spec).images).shape == (8,)


def test_z_is_uniform_on_the_cube_and_samples_are_in_range_without_batch_dependence():
    repro = build(MNIST)
    z = repro.noise(4000)
    assert z.shape == (4000, 64) and z.min() >= -1 and z.max() <= 1
    assert abs(float(z.mean())) < 0.02 and abs(float(z.var()) - 1 / 3) < 0.01  # U(-1, 1): mean 0, var 1/3
    repro.train_step([batch(MNIST)], 0)  # move the running statistics off their start
    images = repro.sample(6, generator=torch.Generator().manual_seed(3))
    assert images.shape == (6, 1, 28, 28) and images.min() >= -1 and images.max() <= 1
    # Test-mode batch norm: the first 3 samples do not depend on being drawn with 3 others.
    first = repro.sample(3, generator=torch.Generator().manual_seed(3))
    assert torch.allclose(images[:3], first, atol=1e-6)
    assert repro.G.training  # sampling leaves the mode as it found it


def test_the_generator_losses_are_the_studys_on_hand_made_logits():
    logits = torch.tensor([-2.0, 0.0, 3.0])
    expected = {
        "ns-gan": F.softplus(-logits).mean(),  # -log sigmoid(f)
        "dragan": F.softplus(-logits).mean(),  # DRAGAN.py: NS GAN's G
        "mm-gan": -F.softplus(logits).mean(),  # log(1 - sigmoid(f))
        "lsgan": 0.5 * ((torch.sigmoid(logits) - 1) ** 2).mean(),  # on the sigmoid output, as LSGAN.py
        "wgan": -logits.mean(),
        "wgan-gp": -logits.mean(),
    }
    for loss, value in expected.items():
        assert torch.allclose(build(MNIST, loss=loss).generator_loss(logits), value), loss


@pytest.mark.parametrize("loss", LOSSES)
def test_each_loss_trains_both_nets_with_one_adam_setting(loss):
    repro = build(MNIST, loss=loss, d_steps_per_g_step=2, lr=3e-4, beta1=0.25)
    for opt in (repro.opt_D, repro.opt_G):
        assert isinstance(opt, torch.optim.Adam) and opt.defaults["lr"] == 3e-4 and opt.defaults["betas"] == (0.25, 0.999)
    g, d = snapshot(repro.G), snapshot(repro.D)
    out = repro.train_step([batch(MNIST, seed=s) for s in range(repro.d_steps(0))], 0)
    assert all(v.dim() == 0 and torch.isfinite(v) for v in out.values()), out
    assert changed(g, repro.G) and changed(d, repro.D)
    assert {int(s["step"]) for s in repro.opt_D.state.values()} == {2}
    assert {int(s["step"]) for s in repro.opt_G.state.values()} == {1}


def test_wgan_clips_every_d_weight_and_wgan_gp_adds_the_penalty():
    repro = build(MNIST, loss="wgan")
    assert max(float(p.detach().abs().max()) for p in repro.D.parameters()) > repro.hp.clip  # BN scales start at 1
    repro.train_step([batch(MNIST)], 0)
    assert max(float(p.detach().abs().max()) for p in repro.D.parameters()) <= repro.hp.clip
    gp = build(MNIST, loss="wgan-gp", d_batchnorm=False)
    out = gp.train_step([batch(MNIST)], 0)
    assert out["gradient_penalty"] > 0
    assert torch.allclose(out["loss_d"], -out["wasserstein_estimate"] + 10.0 * out["gradient_penalty"])


def test_dragan_adds_the_penalty_on_ds_probability_at_perturbed_real_points():
    repro = build(MNIST, loss="dragan", d_batchnorm=False)
    real, fake = batch(MNIST).images, repro.G(repro.noise(8)).detach()
    torch.manual_seed(5)
    loss, logs = repro.discriminator_loss((real + 1) / 2, fake)
    torch.manual_seed(5)
    from reproductions.parts.regularizers import perturbed_real_penalty
    penalty = perturbed_real_penalty(repro.D, (real + 1) / 2, 0.5, activation=torch.sigmoid)
    plain = F.softplus(-repro.D((real + 1) / 2)).mean() + F.softplus(repro.D(fake)).mean()
    assert torch.allclose(logs["gradient_penalty"], penalty) and penalty > 0
    assert torch.allclose(loss, plain + 10.0 * penalty, rtol=1e-5)


def test_began_d_is_an_autoencoder_and_k_follows_the_equilibrium_update():
    repro = build(MNIST, loss="began", lambda_k=0.5)
    out = repro.D(torch.rand(4, 1, 28, 28))
    assert out.shape == (4, 1, 28, 28) and out.min() >= 0 and out.max() <= 1
    assert float(repro.equilibrium.k) == 0.0
    logs = repro.train_step([batch(MNIST, seed=s) for s in range(repro.d_steps(0))], 0)
    # k after the last D step = k before it + λ_k (γ L(x) − L(G(z))) with that step's losses
    expected = logs["k"] + 0.5 * (0.75 * logs["reconstruction_real"] - logs["reconstruction_fake"])
    assert torch.allclose(repro.equilibrium.k, expected)
    assert torch.allclose(logs["m_global"], logs["reconstruction_real"]
                          + (0.75 * logs["reconstruction_real"] - logs["reconstruction_fake"]).abs())
    # k_t is part of the checkpoint
    fresh = build(MNIST, loss="began", lambda_k=0.5)
    fresh.load_state_dict(repro.state_dict())
    assert float(fresh.equilibrium.k) == pytest.approx(float(repro.equilibrium.k)) and float(fresh.equilibrium.k) != 0


def test_g_reuses_the_z_of_the_last_d_step():
    repro = build(MNIST, d_steps_per_g_step=3)
    drawn = []
    original = repro.noise
    repro.noise = lambda n, generator=None: drawn.append(original(n, generator)) or drawn[-1]
    fed = []
    repro.G.register_forward_pre_hook(lambda module, args: fed.append(args[0]))
    repro.train_step([batch(MNIST, seed=s) for s in range(3)], 0)
    assert len(drawn) == 3 and len(fed) == 4  # three D steps draw z; G's step draws none
    assert fed[-1] is drawn[-1]


def test_the_paper_budget_counts_the_studys_d_steps():
    spec = load_registry().get("gans-created-equal").reproduction
    assert spec.default_variant == "ns-gan"
    for dataset in ("mnist", "fashion-mnist"):
        budget = resolve_budget("paper", spec.paper_budget_for(dataset, "ns-gan"))
        # 20 epochs of 50,000 images at batch 64 (TuneParams), one D step per G step
        assert (budget.g_steps, budget.batch_size) == (20 * 50_000 // 64, 64)
        assert (budget.eval_samples, budget.real_split, budget.real_samples) == (10_000, "test", 10_000)
        for variant in ("wgan", "wgan-gp", "began"):  # disc_iters = 5: the same D steps, a fifth of the G steps
            hp = spec.variants[variant].hyperparameters
            budget = resolve_budget("paper", spec.paper_budget_for(dataset, variant))
            assert budget.g_steps * hp["d_steps_per_g_step"] == 15_625
    assert resolve_budget("paper", spec.paper_budget_for("cifar10", "ns-gan")).g_steps == 100 * 50_000 // 64


def test_ns_gan_trains_finite_on_mnist(data_root):
    assert_trains_finite_on_mnist(build(MNIST), data_root, steps=3)
