"""AdaGAN (reproductions.adagan): the rounds fitted to the budget, which nets each phase moves, the
data weights from the round's classifier entering D's real term, and sampling from the mixture."""

from __future__ import annotations

import pytest
import torch

from reproductions.adagan import REPRODUCTION as REPRO, split_rounds
from reproductions.parts.boosting import density_ratios, optimal_lambda
from tests.reproduction_kit import MNIST, assert_trains_finite_on_mnist, batch, builder, snapshot

build = builder(REPRO, rounds=3, g_width=4, d_width=4, z_dim=6)


def same(a, b):
    return all(torch.equal(x, y) for x, y in zip(a, b))


def test_rounds_split_the_budget_with_the_classifier_share():
    assert split_rounds(100, 4, 0.2) == [(0, 0, 25), (25, 5, 20), (50, 5, 20), (75, 5, 20)]
    assert split_rounds(3, 10, 0.2) == [(0, 0, 1), (1, 0, 1), (2, 0, 1)]  # at most a round per step
    assert split_rounds(7, 2, 0.2) == [(0, 0, 3), (3, 1, 3)]
    repro = build(MNIST)
    repro.plan(30, 8)
    assert [repro.locate(s) for s in (0, 9, 10, 29, 40)] == [(0, 0), (0, 9), (1, 0), (2, 9), (2, 20)]


def test_each_phase_moves_only_its_round_s_nets():
    repro = build(MNIST)
    repro.plan(30, 8)
    nets = lambda: [snapshot(m) for m in (*repro.G, *repro.D, *repro.C)]  # noqa: E731
    before = nets()
    repro.train_step([batch(MNIST)], 0)  # round 1, a GAN step: G_1 and D_1 only
    after = nets()
    assert [not same(b, a) for b, a in zip(before, after)] == [True, False, False, True, False, False, False, False]
    repro.train_step([batch(MNIST)], 10)  # round 2's classifier phase: C_2 only
    third = nets()
    assert [not same(a, t) for a, t in zip(after, third)] == [False] * 6 + [True, False]
    assert repro.components == 2 and repro.pool is not None and len(repro.pool) == 8


def test_round_two_weights_real_examples_by_the_theory_star_rule():
    repro = build(MNIST)
    repro.plan(30, 8)
    pool = batch(MNIST, n=8, seed=3)
    for s in (10, 11):  # the two classifier steps of round 2
        repro.train_step([pool], s)
    h = density_ratios(torch.sigmoid(repro.C[0].eval()(pool.images)).detach())
    repro.C[0].train()
    lam = optimal_lambda(h, 0.5)
    expected_raw = (lam - 0.5 * h).clamp_min(0)
    seen = []
    original = repro.data_weights
    repro.data_weights = lambda r, x: (seen.append(original(r, x)), seen[-1])[1]
    repro.train_step([pool], 12)  # the first GAN step: λ* solved on the pool, then W(x) on the batch
    assert repro.weighting[0] == pytest.approx(lam)
    assert torch.allclose(seen[0], expected_raw / expected_raw.mean(), atol=1e-5)
    assert repro.pool is None


def test_the_weights_scale_d_s_real_term():
    repro = build(MNIST, rounds=1)
    real = batch(MNIST, n=4)
    losses = []
    for w in (torch.ones(4), torch.tensor([4.0, 0.0, 0.0, 0.0])):
        twin = build(MNIST, rounds=1)
        twin.data_weights = lambda r, x, w=w: w
        captured = []
        twin.update = lambda opt, loss, c=captured: c.append(loss.item())
        torch.manual_seed(0)
        twin.train_step([real], 0)
        losses.append(captured[0])
    torch.manual_seed(0)
    with torch.no_grad():
        d_real = repro.D[0](real.images)
        fake = repro.G[0](repro.noise(4))
        fake_term = torch.nn.functional.softplus(repro.D[0](fake)).mean()
        sp = torch.nn.functional.softplus(-d_real)
    assert losses[0] == pytest.approx((sp.mean() + fake_term).item(), rel=1e-5)
    assert losses[1] == pytest.approx((sp[0] + fake_term).item(), rel=1e-5)


def test_mixture_samples_come_from_the_components_by_their_weights():
    repro = build(MNIST)
    repro.components = 3
    g = torch.Generator().manual_seed(0)
    chosen = torch.multinomial(torch.tensor([1 / 3] * 3), 600, replacement=True, generator=g)
    assert all(150 < int((chosen == k).sum()) < 250 for k in range(3))
    images = repro.sample(6, generator=torch.Generator().manual_seed(1))
    g = torch.Generator().manual_seed(1)
    chosen = torch.multinomial(torch.tensor([1 / 3] * 3), 6, replacement=True, generator=g)
    z = repro.noise(6, g)
    with torch.no_grad():
        for i in range(6):
            repro.G[int(chosen[i])].eval()
            assert torch.allclose(images[i], repro.G[int(chosen[i])](z[i:i + 1])[0], atol=1e-6)
    assert repro.extra_state()["components"] == 3


def test_trains_finite_on_mnist(data_root):
    repro = build(MNIST, g_width=8, d_width=8)
    repro.plan(12, 64)
    assert_trains_finite_on_mnist(repro, data_root, steps=12)


def test_a_checkpoint_mid_round_keeps_the_pool_and_the_mixture():
    repro = build(MNIST)
    repro.plan(30, 8)
    for s in (0, 10):  # a GAN step of round 1, then round 2's first classifier step
        repro.train_step([batch(MNIST, seed=s)], s)
    state = repro.state_dict()
    twin = build(MNIST, seed=5)
    twin.plan(30, 8)
    twin.load_state_dict(state)
    assert twin.components == 2 and torch.equal(twin.pool, repro.pool) and twin.weighting is None
    assert same(snapshot(twin.G), snapshot(repro.G)) and same(snapshot(twin.C), snapshot(repro.C))
    torch.manual_seed(9)
    a = repro.train_step([batch(MNIST, seed=11)], 11)
    torch.manual_seed(9)
    b = twin.train_step([batch(MNIST, seed=11)], 11)
    assert a["loss_classifier"].item() == pytest.approx(b["loss_classifier"].item(), rel=1e-6)
