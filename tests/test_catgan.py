"""CatGAN (reproductions.catgan): the PI-MNIST nets, the entropy game of section 3 with and without the
labelled cross-entropy of section 4, batchnorm statistics kept clear of generated batches, and D as
the classifier."""

from __future__ import annotations

import torch
from torch import nn

from harness.batches import Batch
from reproductions.catgan import REPRODUCTION as REPRO
from reproductions.catgan import statistics_kept
from reproductions.parts.entropy import catgan_discriminator_loss, catgan_generator_loss
from tests.reproduction_kit import MNIST, assert_trains_finite_on_mnist, batch, builder, changed, real_mnist_batches, record_updates, snapshot

build = builder(REPRO)
SMALL = dict(g_width=16, d_width=32)


def semi_supervised_batch(n: int = 8, seed: int = 1) -> Batch:
    unlabelled = batch(MNIST, n, seed=seed)
    unlabelled.labels = torch.full((n,), -1)
    unlabelled.labelled = batch(MNIST, n, seed=seed + 10, labelled=True)
    return unlabelled


def test_nets_of_the_pi_mnist_model():
    repro = build(MNIST)
    assert [m.out_features for m in repro.D.modules() if isinstance(m, nn.Linear)] == [1000, 1000, 10]
    assert [m.out_features for m in repro.G.modules() if isinstance(m, nn.Linear)] == [500, 500, 784]
    assert sum(isinstance(m, nn.BatchNorm1d) for m in repro.D.modules()) == 2
    assert repro.semi_supervised
    z = repro.noise(5000, torch.Generator().manual_seed(0))
    assert z.shape == (5000, 128) and z.min() >= -1 and z.max() <= 1 and abs(z.mean().item()) < 0.03


def test_d_then_g_each_updating_only_its_own_net():
    repro = build(MNIST, **SMALL)
    calls = record_updates(repro, repro.D, repro.G)
    d0, g0 = snapshot(repro.D), snapshot(repro.G)
    out = repro.train_step([semi_supervised_batch()], 0)
    assert [c[0] for c in calls] == [repro.opt_D, repro.opt_G]
    _, d1, g1 = calls[1]  # after D's step
    assert changed(d0, repro.D) and changed(g0, repro.G)
    assert all(torch.equal(a, b) for a, b in zip(g0, g1))  # D's step leaves G
    assert all(torch.equal(a, b) for a, b in zip(d1, repro.D.parameters()))  # G's step leaves D
    assert {"loss_d", "loss_g", "labelled_ce"} <= set(out)


def _d_after_one_step(labelled_weight: float, with_labels: bool) -> list[torch.Tensor]:
    repro = build(MNIST, seed=0, labelled_weight=labelled_weight, **SMALL)
    real = semi_supervised_batch() if with_labels else batch(MNIST, 8, seed=1)
    torch.manual_seed(7)
    repro.train_step([real], 0)
    return snapshot(repro.D)


def test_the_labelled_cross_entropy_is_the_only_difference_from_the_unsupervised_game():
    unsupervised = _d_after_one_step(1.0, with_labels=False)
    weightless = _d_after_one_step(0.0, with_labels=True)
    semi = _d_after_one_step(1.0, with_labels=True)
    assert all(torch.allclose(a, b) for a, b in zip(unsupervised, weightless))
    assert not all(torch.allclose(a, b) for a, b in zip(unsupervised, semi))


def test_unsupervised_run_logs_no_labelled_term():
    out = build(MNIST, **SMALL).train_step([batch(MNIST, 8)], 0)
    assert "labelled_ce" not in out and torch.isfinite(out["loss_d"])


def test_generated_batches_leave_the_running_statistics_alone():
    repro = build(MNIST, **SMALL)
    norm = next(m for m in repro.D.modules() if isinstance(m, nn.BatchNorm1d))
    before = norm.running_mean.clone()
    with statistics_kept(repro.D):
        repro.D(torch.rand(8, 1, 28, 28))
    assert torch.equal(norm.running_mean, before) and norm.momentum == 0.1
    repro.D(torch.rand(8, 1, 28, 28))
    assert not torch.equal(norm.running_mean, before)
    # Through a whole step (no input noise, so the first layer's batch means are known): the running
    # mean moves exactly as the real pass and then the labelled pass move it; the generated passes, never.
    repro = build(MNIST, input_noise=0.0, **SMALL)
    real = semi_supervised_batch()
    norm = next(m for m in repro.D.modules() if isinstance(m, nn.BatchNorm1d))
    first = next(m for m in repro.D.modules() if isinstance(m, nn.Linear))
    with torch.no_grad():
        expected = norm.running_mean.clone()
        for images in (real.images, real.labelled.images):
            expected = 0.9 * expected + 0.1 * first(((images + 1) / 2).flatten(1)).mean(0)
    repro.train_step([real], 0)
    assert torch.allclose(norm.running_mean, expected, atol=1e-6)


def test_the_step_minimises_the_papers_objectives(monkeypatch):
    import reproductions.catgan as module

    seen = {}

    def spy(name, fn):
        def wrapped(*logits):
            seen[name] = [t.detach() for t in logits]
            return fn(*logits)
        monkeypatch.setattr(module, name, wrapped)

    spy("catgan_discriminator_loss", module.catgan_discriminator_loss)
    spy("catgan_generator_loss", module.catgan_generator_loss)
    repro = build(MNIST, **SMALL)
    out = repro.train_step([semi_supervised_batch()], 0)
    real, fake = seen["catgan_discriminator_loss"]
    assert real.shape == fake.shape == (8, 10)
    # D's loss is the entropy game plus λ times the labelled cross-entropy; G's is L_G, nothing else.
    expected_d = catgan_discriminator_loss(real, fake) + out["labelled_ce"]
    assert torch.allclose(out["loss_d"], expected_d)
    (g_fake,) = seen["catgan_generator_loss"]
    assert torch.allclose(out["loss_g"], catgan_generator_loss(g_fake))


def test_classify_is_d_in_eval_mode_on_unit_pixels():
    repro = build(MNIST, **SMALL)
    repro.train(False)
    images = batch(MNIST, 6).images
    logits = repro.classify(images)
    assert logits.shape == (6, 10)
    assert torch.equal(logits, repro.classify(images))  # no noise in eval mode
    assert torch.allclose(logits, repro.D((images + 1) / 2))


def test_samples_in_range():
    images = build(MNIST, **SMALL).sample(5, generator=torch.Generator().manual_seed(0))
    assert images.shape == (5, 1, 28, 28) and images.min() >= -1 and images.max() <= 1


def test_semi_supervised_training_fits_the_labelled_batch(data_root):
    repro = build(MNIST, g_width=64, d_width=128)
    labelled = next(real_mnist_batches(data_root, n=32, seed=5))
    assert_trains_finite_on_mnist(repro, data_root, steps=40, n=32, labelled=labelled)
    repro.train(False)
    with torch.no_grad():
        accuracy = (repro.classify(labelled.images).argmax(1) == labelled.labels).float().mean().item()
    assert accuracy > 0.8
