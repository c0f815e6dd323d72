"""Improved-GAN (reproductions.improved_gan) and its techniques (reproductions.parts.improved_techniques):
the K+1 losses on hand-made logits, feature matching, minibatch discrimination's shape and permutation
behaviour, historical averaging's penalty on known weights, virtual batch norm, the weight-normalised
layer's data-dependent init, and the reproduction's nets, step and test-time average."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from harness.batches import Batch
from reproductions.improved_gan import REPRODUCTION as REPRO
from reproductions.parts.improved_techniques import (HistoricalAverage, MinibatchDiscrimination, VirtualBatchNorm,
                                                     WeightNormDense, d_loss_one_sided_smoothing,
                                                     feature_matching_loss, k_plus_one_labelled_loss,
                                                     k_plus_one_unlabelled_loss)
from tests.reproduction_kit import MNIST, batch, builder, changed, snapshot

build = builder(REPRO)


# ------------------------------------------------------------------------------------ the K+1 losses
def test_k_plus_one_unlabelled_loss_on_hand_made_logits():
    # Z(real) = e^0 + e^0 = 2, so D = Z/(Z+1) = 2/3; Z(fake) = e^{ln 3} + e^{-10⁴} = 3, so D = 3/4.
    real = torch.tensor([[0.0, 0.0]])
    fake = torch.tensor([[math.log(3.0), -1e4]])
    expected = 0.5 * -math.log(2 / 3) + 0.5 * -math.log(1 - 3 / 4)
    assert abs(k_plus_one_unlabelled_loss(real, fake).item() - expected) < 1e-6
    # one-sided smoothing: the real term becomes −[α log D + (1−α) log(1−D)], the fake term unchanged
    smoothed = 0.5 * -(0.9 * math.log(2 / 3) + 0.1 * math.log(1 / 3)) + 0.5 * -math.log(1 / 4)
    assert abs(k_plus_one_unlabelled_loss(real, fake, real_target=0.9).item() - smoothed) < 1e-6


def test_k_plus_one_labelled_loss_is_the_k_class_cross_entropy():
    logits = torch.tensor([[math.log(3.0), 0.0, 0.0]])  # p(y=0 | x, real) = 3/5
    assert abs(k_plus_one_labelled_loss(logits, torch.tensor([0])).item() + math.log(3 / 5)) < 1e-6


def test_feature_matching_loss_is_the_squared_distance_of_the_batch_means():
    real = torch.tensor([[1.0, 2.0], [3.0, 2.0]])  # means (2, 2)
    fake = torch.tensor([[0.0, 5.0], [0.0, 5.0]])  # means (0, 5)
    assert feature_matching_loss(real, fake).item() == (4 + 9) / 2
    assert feature_matching_loss(real, real[[1, 0]]).item() == 0  # batch order does not matter


def test_one_sided_label_smoothing_smooths_only_the_real_target():
    real, fake = torch.zeros(3), torch.full((3,), 2.0)
    expected = F.binary_cross_entropy_with_logits(real, torch.full((3,), 0.9)) + F.softplus(torch.tensor(2.0))
    assert abs(d_loss_one_sided_smoothing(real, fake).item() - expected.item()) < 1e-6
    high = torch.full((3,), 10.0)  # D sure it is real: the fake side is punished at full strength
    assert d_loss_one_sided_smoothing(real, high) > d_loss_one_sided_smoothing(high, real)


# --------------------------------------------------------------------------- minibatch discrimination
def test_minibatch_discrimination_shape_and_permutation():
    torch.manual_seed(0)
    layer = MinibatchDiscrimination(6, kernels=4, kernel_dim=3)
    x = torch.randn(5, 6)
    out = layer(x)
    assert out.shape == (5, 6 + 4)
    assert torch.equal(out[:, :6], x)  # the features pass through, closeness appended
    order = torch.tensor([3, 0, 4, 1, 2])
    assert torch.allclose(layer(x[order]), out[order], atol=1e-6)  # permuting the batch permutes the output


def test_minibatch_features_count_close_neighbours_but_not_the_example_itself():
    layer = MinibatchDiscrimination(2, kernels=1, kernel_dim=1)
    lone = layer(torch.randn(1, 2))[:, 2]
    assert torch.allclose(lone, torch.tensor([-1.0]))  # no other example: only the bias
    twins = layer(torch.ones(2, 2))[:, 2]
    assert torch.allclose(twins, torch.tensor([0.0, 0.0]))  # one identical neighbour: exp(0) = 1, plus -1


# ------------------------------------------------------------------------------- historical averaging
def test_historical_average_penalty_on_known_weights():
    net = torch.nn.Linear(1, 1, bias=False)
    history = HistoricalAverage(net)
    assert history.penalty().item() == 0  # nothing averaged yet
    for value in (1.0, 2.0, 6.0):
        with torch.no_grad():
            net.weight.fill_(value)
        history.update()
    assert history.mean[0].item() == 3.0  # (1 + 2 + 6) / 3
    with torch.no_grad():
        net.weight.fill_(5.0)
    assert history.penalty().item() == 4.0  # (5 − 3)²
    history.penalty().backward()
    assert net.weight.grad.item() == 4.0  # d/dθ (θ − 3)² at 5


# --------------------------------------------------------------------------------- virtual batch norm
def test_virtual_batch_norm_uses_the_reference_batch_and_the_example_only():
    torch.manual_seed(0)
    norm = VirtualBatchNorm(3, affine=False)
    net = torch.nn.Sequential(norm)
    reference = torch.randn(8, 3) * 2 + 1
    with VirtualBatchNorm.reference_pass(net):
        net(reference)
    x = torch.randn(4, 3)
    out = net(x)
    pooled = torch.cat([reference, x[:1]])  # example 0 with the reference batch
    expected = (x[0] - pooled.mean(0)) / torch.sqrt(pooled.var(0, unbiased=False) + norm.eps)
    assert torch.allclose(out[0], expected, atol=1e-5)
    assert torch.allclose(net(x[[2, 0]])[1], out[0], atol=1e-6)  # independent of its batch-mates


# ------------------------------------------------------------------------- the official code's layers
def test_data_dependent_init_gives_zero_mean_unit_variance_pre_activations():
    torch.manual_seed(0)
    layer = WeightNormDense(5, 4, relu=False)
    x = torch.randn(64, 5) * 3 + 2
    out = layer.initialise_from(x)
    assert torch.allclose(out.mean(0), torch.zeros(4), atol=1e-5)
    assert torch.allclose(out.std(0, unbiased=False), torch.ones(4), atol=1e-5)


# -------------------------------------------------------------------------------------- the reproduction
def _ssl_batch(n: int = 8) -> Batch:
    real = batch(MNIST, n)
    labelled = batch(MNIST, n, seed=2, labelled=True)
    return Batch(images=real.images, labels=torch.full((n,), -1), labelled=labelled)


def test_nets_of_the_code():
    repro = build(MNIST)
    assert [layer.theta.shape[1] for layer in repro.D.layers() if isinstance(layer, WeightNormDense)] == \
        [1000, 500, 250, 250, 250, 10]
    sigmas = [m.sigma for m in repro.D.body if hasattr(m, "sigma")]
    assert sigmas == [0.3, 0.5, 0.5, 0.5, 0.5, 0.5]
    assert repro.sample(4).shape == (4, 1, 28, 28) and repro.sample(4).min() >= -1
    assert repro.noise(1000).min() >= 0 and repro.noise(1000).max() < 1  # z ~ U[0, 1)


def test_step_updates_both_players_and_the_test_average():
    repro = build(MNIST, d_widths=(32, 16), g_width=16)
    d, g = snapshot(repro.D), snapshot(repro.G)
    out = repro.train_step([_ssl_batch()], 0)
    assert changed(d, repro.D) and changed(g, repro.G)
    assert set(out) == {"loss_lab", "loss_unl", "loss_g", "train_error"}
    assert repro.initialised and repro.average_steps == 1
    # after one step the bias-corrected average is exactly D's parameters: classify equals the current D
    repro.train(False)
    x = batch(MNIST, 4).images
    assert torch.allclose(repro.classify(x), repro.D(((x + 1) / 2).flatten(1))[0], atol=1e-5)
    assert repro.classify(x).shape == (4, 10)


def test_switches_build_and_train():
    repro = build(MNIST, d_widths=(32, 16), g_width=16, minibatch_kernels=4, historical_averaging=0.1,
                  real_target=0.9, g_norm="virtual", feature_matching=False)
    for step in range(2):
        out = repro.train_step([_ssl_batch()], step)
    assert all(torch.isfinite(v) for v in out.values())
    assert repro.history["D"].count == 2 and repro.history["G"].count == 2
