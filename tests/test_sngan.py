"""SNGAN (reproductions.sngan): spectrally normalised D, the cnn/resnet switch with its optimiser
settings, hinge vs standard loss, shapes on both image sizes."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from reproductions.parts.losses import d_loss_gan, d_loss_hinge
from reproductions.sngan import REPRODUCTION as REPRO
from tests.reproduction_kit import CIFAR, MNIST, batch, builder, changed, snapshot

build = builder(REPRO)


def weighted_layers(net: nn.Module) -> list[nn.Module]:
    return [m for m in net.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear))]


@pytest.mark.parametrize("spec", [MNIST, CIFAR], ids=["mnist", "cifar10"])
@pytest.mark.parametrize("architecture", ["cnn", "resnet"])
def test_shapes_and_one_step(spec, architecture):
    repro = build(spec, architecture=architecture, d_steps_per_g_step=1)
    images = repro.sample(3)
    assert images.shape == (3, spec.channels, spec.resolution, spec.resolution) and images.abs().max() <= 1
    assert repro.D(batch(spec).images).shape == (8,)
    g, d = snapshot(repro.G), snapshot(repro.D)
    out = repro.train_step([batch(spec)], 0)
    assert all(v.dim() == 0 and torch.isfinite(v) for v in out.values())
    assert changed(g, repro.G) and changed(d, repro.D)


@pytest.mark.parametrize("architecture", ["cnn", "resnet"])
def test_every_discriminator_weight_is_spectrally_normalised(architecture):
    repro = build(MNIST, architecture=architecture, d_steps_per_g_step=1)
    layers = weighted_layers(repro.D)
    assert layers and all("weight" in getattr(m, "parametrizations", {}) for m in layers)
    assert not any(hasattr(m, "parametrizations") for m in weighted_layers(repro.G))  # G is not normalised
    with torch.no_grad():  # raw weights far from norm 1, so an unnormalised layer cannot pass
        for m in layers:
            m.parametrizations.weight.original.mul_(5.0)
    repro.train_step([batch(MNIST)], 0)
    with torch.no_grad():  # let the one-step-per-forward power iteration catch up with the update
        for _ in range(5):
            repro.D(batch(MNIST).images)
    repro.D.eval()
    for m in layers:
        sigma = float(torch.linalg.matrix_norm(m.weight.detach().flatten(1), ord=2))
        raw = float(torch.linalg.matrix_norm(m.parametrizations.weight.original.detach().flatten(1), ord=2))
        # The power-iteration estimate never exceeds the true σ, so W/σ̂ has norm ≥ 1; the paper sees
        # "1–1.05" (section 4.1), more for the widest layers early on (appendix C.1).
        assert raw > 2.0 and 1.0 - 1e-4 < sigma < 1.1, (m, sigma, raw)


def test_architecture_switch_builds_different_nets_and_optimisers():
    cnn, resnet = build(CIFAR, architecture="cnn"), build(CIFAR, architecture="resnet")
    assert type(cnn.G) is not type(resnet.G) and type(cnn.D) is not type(resnet.D)
    assert sum(p.numel() for p in cnn.D.parameters()) != sum(p.numel() for p in resnet.D.parameters())
    # Table 1 setting C for the CNN; appendix B.2 (WGAN-GP's) for the ResNet.
    assert (cnn.d_steps(0), cnn.opt_D.defaults["lr"], cnn.opt_D.defaults["betas"]) == (1, 2e-4, (0.5, 0.999))
    assert (resnet.d_steps(0), resnet.opt_D.defaults["lr"], resnet.opt_D.defaults["betas"]) == (5, 2e-4, (0.0, 0.9))
    assert resnet.D.pool == "sum"  # Table 4: global sum pooling
    # Explicit settings override the architecture's.
    assert build(CIFAR, architecture="cnn", lr=1e-4, d_steps_per_g_step=2).d_steps(0) == 2


# D's losses written out (eq. 16 negated; eq. 15 negated), on D's raw outputs for real and fake.
EXPECTED_D_LOSS = {
    "hinge": lambda d_real, d_fake: (1 - d_real).clamp(min=0).mean() + (1 + d_fake).clamp(min=0).mean(),
    "standard": lambda d_real, d_fake: -torch.log(torch.sigmoid(d_real)).mean() - torch.log(1 - torch.sigmoid(d_fake)).mean(),
}


def test_loss_switch():
    hinge, standard = build(MNIST), build(MNIST, loss="standard")
    assert hinge.hp.loss == "hinge" and hinge.d_loss is d_loss_hinge and standard.d_loss is d_loss_gan
    for name, repro in (("hinge", hinge), ("standard", standard)):
        # Replay the step on copies taken before it: same z (same seed), same power-iteration state.
        G, D, real = copy.deepcopy(repro.G), copy.deepcopy(repro.D), batch(MNIST).images
        torch.manual_seed(4)
        out = repro.train_step([batch(MNIST)], 0)
        torch.manual_seed(4)
        with torch.no_grad():
            fake = G(torch.randn(len(real), repro.hp.z_dim))
            d_real, d_fake = D(real), D(fake)
        assert float(out["loss_d"]) == pytest.approx(float(EXPECTED_D_LOSS[name](d_real, d_fake)), rel=1e-5), name


def test_d_losses_on_outputs_past_the_margins():
    """Fresh nets' outputs sit near 0, inside the hinge's margins, where a hinge without its clamp
    gives the same number: these outputs lie past them (|D| > 1), where only the clamped loss is right."""
    d_real, d_fake = torch.tensor([2.0, 0.5, -1.5]), torch.tensor([-3.0, 0.25, 1.5])
    assert float(d_loss_hinge(d_real, d_fake)) == pytest.approx((0 + 0.5 + 2.5) / 3 + (0 + 1.25 + 2.5) / 3)
    for name, repro in (("hinge", build(MNIST)), ("standard", build(MNIST, loss="standard"))):
        expected = EXPECTED_D_LOSS[name](d_real, d_fake)
        assert float(repro.d_loss(d_real, d_fake)) == pytest.approx(float(expected), rel=1e-6), name
