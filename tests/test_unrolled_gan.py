"""Metz et al. 2016 (reproductions/unrolled_gan.py): G's gradient through K unrolled Adam steps of D."""

from __future__ import annotations

import pytest
import torch

from harness.batches import Batch
from harness.reproduction import DataSpec

from reproductions import unrolled_gan
from reproductions.parts.losses import d_loss_gan, g_loss_minimax
from tests.smoke_kit import assert_smoke_run, declared_datasets
from tests.reproduction_kit import builder, changed, snapshot

RING = DataSpec("ring8", 2, 1, 8, kind="points")
build = builder(unrolled_gan.UnrolledGAN)


def points(n: int = 64, seed: int = 1) -> torch.Tensor:
    return torch.randn(n, 2, generator=torch.Generator().manual_seed(seed))


def g_gradient(repro, x, z) -> list[torch.Tensor]:
    loss = repro.generator_loss(x, repro.generate(z))
    return torch.autograd.grad(loss, list(repro.G.parameters()))


def warm_up(repro, steps: int = 3) -> None:
    """A few real steps, so D's Adam moments are non-zero when unrolling starts from them."""
    for step in range(steps):
        repro.train_step([Batch(points(seed=step + 10), torch.zeros(64, dtype=torch.long))], step)


def test_zero_unrolling_steps_give_the_plain_gan_generator_gradient():
    repro = build(RING, unrolling_steps=0)
    warm_up(repro)
    x, z = points(), repro.noise(64)
    # K = 0: f_0 = f, and only f's fake term depends on G: the minimax G loss of eq. 1.
    plain = torch.autograd.grad(g_loss_minimax(repro.D(repro.generate(z)).flatten()), list(repro.G.parameters()))
    for a, b in zip(g_gradient(repro, x, z), plain):
        torch.testing.assert_close(a, b)


@pytest.mark.parametrize("k", [1, 5])
def test_unrolling_changes_the_generator_gradient_but_not_d(k):
    repro = build(RING, unrolling_steps=k)
    warm_up(repro)
    x, z = points(), repro.noise(64)
    d_before = snapshot(repro.D)
    moments_before = [s["exp_avg"].clone() for s in repro.opt_D.state.values()]
    unrolled = g_gradient(repro, x, z)
    assert not changed(d_before, repro.D)  # the unrolling works on copies of θ_D
    assert all(torch.equal(a, s["exp_avg"]) for a, s in zip(moments_before, repro.opt_D.state.values()))

    plain = build(RING, unrolling_steps=0)
    plain.load_state_dict(repro.state_dict())
    difference = max((a - b).abs().max().item() for a, b in zip(unrolled, g_gradient(plain, x, z)))
    assert difference > 1e-6

    # The gradient flows *through* the unrolled steps (eq. 7): treating θ_D^K as a constant gives another.
    fake = repro.generate(z)
    frozen = {name: p.detach() for name, p in repro.unrolled_parameters(x, fake).items()}
    loss = -d_loss_gan(repro.discriminate(frozen, x), repro.discriminate(frozen, fake))
    stopped = torch.autograd.grad(loss, list(repro.G.parameters()))
    assert max((a - b).abs().max().item() for a, b in zip(unrolled, stopped)) > 1e-6


def test_one_unrolled_step_is_exactly_ds_own_adam_step():
    repro = build(RING, unrolling_steps=1)
    warm_up(repro)
    x, fake = points(), repro.generate(repro.noise(64)).detach()
    unrolled = repro.unrolled_parameters(x, fake)
    loss = d_loss_gan(repro.D(x).flatten(), repro.D(fake).flatten())
    repro.opt_D.zero_grad()
    loss.backward()
    repro.opt_D.step()
    for name, p in repro.D.named_parameters():
        torch.testing.assert_close(unrolled[name], p, rtol=1e-5, atol=1e-7)


def test_a_train_step_moves_both_players_and_stays_finite():
    repro = build(RING, unrolling_steps=2)
    g_before, d_before = snapshot(repro.G), snapshot(repro.D)
    losses = repro.train_step([Batch(points(), torch.zeros(64, dtype=torch.long))], 0)
    assert changed(g_before, repro.G) and changed(d_before, repro.D)
    assert all(torch.isfinite(v) for v in losses.values())
    assert repro.sample(5).shape == (5, 2)


@pytest.mark.slow
@pytest.mark.parametrize("dataset", declared_datasets("unrolled-gan"))
def test_smoke_run_on_every_declared_dataset(dataset, cli, tmp_path):
    # Image datasets train through the whole pipeline but skip scoring (the Stacked MNIST classifier
    # and FID are tested with their metrics); points are scored with the 2D mode metrics.
    extra = ("--no-eval",) if dataset.startswith("stacked") or dataset == "mnist" else ()
    data = assert_smoke_run(cli, tmp_path, "unrolled-gan", dataset, *extra)
    if not extra:
        assert {"modes", "high_quality", "reverse_kl"} <= set(data["scores"][0]["metrics"])
