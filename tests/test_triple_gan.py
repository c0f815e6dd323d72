"""Triple-GAN (reproductions.triple_gan): the released MNIST nets, the schedule, pretraining, one game
step's three updates and their inputs, the moving average that `classify` scores."""

from __future__ import annotations

import dataclasses

import pytest
import torch
from torch import nn

from harness.batches import Batch
from reproductions.triple_gan import REPRODUCTION as REPRO
from tests.reproduction_kit import MNIST, assert_trains_finite_on_mnist, batch, builder, changed, real_mnist_batches, record_updates, snapshot

LABELLED_MNIST = dataclasses.replace(MNIST, labels=10)  # a semi-supervised run's data: 10 labels
_build = builder(REPRO)


def build(spec=LABELLED_MNIST, **overrides):
    return _build(spec, **overrides)
SMALL = dict(g_width=16, d_widths=(24, 12), g_batch_size=20, c_dropout=0.0)


def semi_supervised_batch(n: int = 20, seed: int = 1) -> Batch:
    unlabelled = batch(MNIST, n, seed=seed)
    unlabelled.labels = torch.full((n,), -1)
    unlabelled.labelled = batch(MNIST, 10, seed=seed + 10, labelled=True)
    return unlabelled


def in_game(repro, **plan):
    repro.plan(**plan) if plan else repro.plan(603_600, 500)
    return repro.pretrain_steps  # the first step of the game


def test_nets_of_the_released_mnist_code():
    repro = build()
    convs = [m for m in repro.C.modules() if isinstance(m, nn.Conv2d)]
    assert [(c.out_channels, c.kernel_size[0]) for c in convs] == [(32, 5), (64, 3), (64, 3), (128, 3), (128, 3)]
    assert sum(isinstance(m, nn.BatchNorm2d) for m in repro.C.modules()) == 5
    assert sum(isinstance(m, nn.Dropout) for m in repro.C.modules()) == 2
    assert repro.C(torch.rand(3, 1, 28, 28)).shape == (3, 10)
    assert [layer.direction.shape[0] for layer in repro.D.layers] == [1000, 500, 250, 250, 250]
    assert [m.out_features for m in repro.G.hidden] == [500, 500] and repro.G.out.scale.requires_grad
    assert repro.G(torch.rand(4, 100), torch.tensor([0, 1, 2, 3])).shape == (4, 1, 28, 28)
    assert repro.semi_supervised and repro.conditional


def test_schedule_in_steps_of_the_papers_epochs():
    repro = build(**SMALL)
    repro.plan(603_600, 500)  # 30 pretraining epochs of 120 iterations, 1,000 epochs of 600
    assert repro.pretrain_steps == 3600 and repro.epoch_length == 600
    assert repro.pseudo_from == 3600 + 299 * 600  # R_P from (1-based) epoch 300
    lr = repro.hp.lr
    assert repro.learning_rate(repro.anneal_from - 1) == lr  # annealed after epoch 300 …
    assert repro.learning_rate(repro.anneal_from) == pytest.approx(lr * 0.995)
    assert repro.learning_rate(repro.anneal_from + 599) == pytest.approx(lr * 0.995)
    assert repro.learning_rate(repro.anneal_from + 600) == pytest.approx(lr * 0.995 ** 2)  # … once per epoch
    repro.plan(6036, 500)  # a hundredth of the paper's budget keeps its proportions
    assert repro.pretrain_steps == 36 and repro.epoch_length == pytest.approx(6) and repro.pseudo_from == 36 + 299 * 6
    # A budget whose epochs are fractions of a step: 1,000 epochs still fill the game, annealing still
    # ends at 0.995^700 of the rate (700 epochs after epoch 300), as at the paper's budget.
    repro.plan(1509, 500)
    assert repro.pretrain_steps == 9 and repro.epoch_length == pytest.approx(1.5)
    assert repro.pseudo_from == 9 + round(299 * 1.5) and repro.anneal_from == 9 + 450
    assert repro.learning_rate(1508) == pytest.approx(lr * 0.995 ** 700)
    repro.plan(10_000_000, 500)  # a longer budget does not stretch it
    assert repro.pretrain_steps == 3600 and repro.epoch_length == 600


def test_an_unlabelled_run_is_refused():
    with pytest.raises(ValueError, match="needs labelled pairs"):
        build(MNIST, **SMALL)  # an ordinary run's data (no label count)
    with pytest.raises(ValueError, match="needs labelled pairs"):
        build(**SMALL).train_step([batch(MNIST, 20)], 0)  # a batch without its labelled part


def test_pretraining_updates_only_c_on_its_own_optimiser():
    repro = build(**SMALL)
    repro.plan(603_600, 500)
    used = []
    original = repro.update
    repro.update = lambda opt, loss: (used.append(opt), original(opt, loss))
    d, g, c = snapshot(repro.D), snapshot(repro.G), snapshot(repro.C)
    out = repro.train_step([semi_supervised_batch()], 0)
    assert used == [repro.opt_C_pretrain] and set(out) == {"loss_c"}
    assert changed(c, repro.C) and not changed(d, repro.D) and not changed(g, repro.G)


def test_one_game_step_updates_d_then_g_then_c():
    repro = build(**SMALL)
    step = in_game(repro)
    calls = record_updates(repro, repro.D, repro.G, repro.C)
    out = repro.train_step([semi_supervised_batch()], step)
    assert [c[0] for c in calls] == [repro.opt_D, repro.opt_G, repro.opt_C]
    (_, d0, g0, c0), (_, d1, g1, c1), (_, d2, g2, c2) = calls
    assert all(torch.equal(a, b) for a, b in zip(g0, g1)) and all(torch.equal(a, b) for a, b in zip(c0, c1))
    assert changed(d0, repro.D) and all(torch.equal(a, b) for a, b in zip(d1, d2))  # G's and C's steps leave D
    assert changed(g1, repro.G) and all(torch.equal(a, b) for a, b in zip(c1, c2))
    assert changed(c2, repro.C)
    assert "pseudo_ce" not in out  # R_P is off before epoch 300


def test_pseudo_discriminative_loss_switches_on_at_epoch_300():
    repro = build(**SMALL)
    repro.plan(603_600, 500)
    assert "pseudo_ce" not in repro.train_step([semi_supervised_batch()], repro.pseudo_from - 1)
    out = repro.train_step([semi_supervised_batch()], repro.pseudo_from)
    assert "pseudo_ce" in out and torch.isfinite(out["pseudo_ce"])


def test_d_sees_labelled_and_pseudo_labelled_pairs_as_data_and_c_pairs_as_fake():
    repro = build(**SMALL)
    step = in_game(repro)
    real = semi_supervised_batch(n=20)
    x = (real.images + 1) / 2
    with torch.no_grad():  # C without dropout, batchnorm on the batch: the pseudo-labels are reproducible
        pseudo_d, pseudo_c = repro.C(x[4:]).argmax(1), repro.C(x[:4]).argmax(1)
    seen = []
    d_forward = repro.D.forward
    repro.D.forward = lambda images, labels: (seen.append((images.detach(), labels)), d_forward(images, labels))[1]
    repro.train_step([real], step)
    (data_x, data_y), (c_x, c_y), (g_x, g_y) = seen[:3]  # D's step: data, C's pairs, G's pairs
    n_labelled = repro.hp.d_labelled_batch_size
    assert len(data_x) == n_labelled + 16 and torch.equal(data_y[:n_labelled], real.labelled.labels[:n_labelled])
    assert torch.equal(data_x[n_labelled:], x[4:]) and torch.equal(data_y[n_labelled:], pseudo_d)
    assert torch.equal(c_x, x[:4]) and torch.equal(c_y, pseudo_c)
    assert torch.equal(g_y, torch.arange(10).repeat_interleave(2))  # G's labels: balanced, 20 / 10 per class


def test_c_is_pushed_by_ds_verdict_on_its_own_argmax_pairs_weighted_by_confidence(monkeypatch):
    import reproductions.triple_gan as module

    seen = []
    original = module.triple_c_adversarial_loss
    monkeypatch.setattr(module, "triple_c_adversarial_loss",
                        lambda d, confidence, alpha: (seen.append((d.detach(), confidence.detach(), alpha)),
                                                      original(d, confidence, alpha))[1])
    repro = build(**SMALL)
    step = in_game(repro)
    real = semi_supervised_batch(n=20)
    x_c = (real.images[:4] + 1) / 2
    pairs = []
    d_forward = repro.D.forward
    repro.D.forward = lambda images, labels: (pairs.append((images.detach(), labels)), d_forward(images, labels))[1]
    c_forward = repro.C.forward
    c_outputs = []
    repro.C.forward = lambda images: (lambda out: (c_outputs.append((images.detach(), out.detach())), out)[1])(c_forward(images))
    repro.train_step([real], step)
    ((d, confidence, alpha),) = seen
    assert alpha == 0.5
    # C's last forward on its unlabelled part (the one its step differentiates) gives the confidence …
    c_in, c_logits = [(i, o) for i, o in c_outputs if torch.equal(i, x_c)][-1]
    probabilities = torch.softmax(c_logits, dim=1)
    assert torch.allclose(confidence, probabilities.max(1).values)
    # … and D judged exactly (x, argmax) pairs of that batch.
    d_x, d_y = pairs[-1]
    assert torch.equal(d_x, x_c) and torch.equal(d_y, probabilities.argmax(1))


def test_the_moving_average_follows_c_and_is_what_classify_scores():
    repro = build(**SMALL)
    repro.plan(603_600, 500)
    start = {k: v.clone() for k, v in repro.C_average.state_dict().items()}
    repro.train_step([semi_supervised_batch()], 0)
    current = repro.C.state_dict()
    for name, value in repro.C_average.state_dict().items():
        if value.is_floating_point():
            assert torch.allclose(value, 0.99 * start[name] + 0.01 * current[name], atol=1e-7), name
    with torch.no_grad():
        for p in repro.C.parameters():
            p.add_(1.0)  # C moves far from its average: classify must not follow it
    repro.train(False)
    images = batch(MNIST, 5).images
    assert torch.allclose(repro.classify(images), repro.C_average((images + 1) / 2))
    assert not torch.allclose(repro.classify(images), repro.C((images + 1) / 2))


def test_samples_are_class_conditional_and_in_range():
    repro = build(**SMALL)
    labels = torch.tensor([3, 3, 7])
    images = repro.sample(3, labels=labels, generator=torch.Generator().manual_seed(0))
    assert images.shape == (3, 1, 28, 28) and images.min() >= -1 and images.max() <= 1
    other = repro.sample(3, labels=torch.tensor([1, 1, 1]), generator=torch.Generator().manual_seed(0))
    assert not torch.allclose(images, other)


def test_game_trains_finite_on_mnist(data_root):
    repro = build(g_width=32, d_widths=(64, 32), g_batch_size=20)
    repro.plan(40, 50)  # a short budget: the game from step 0 on
    labelled = next(real_mnist_batches(data_root, n=10, seed=5))
    assert_trains_finite_on_mnist(repro, data_root, steps=8, n=50, labelled=labelled)
