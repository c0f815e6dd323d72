"""ProGAN (reproductions/progan.py) and its resolution schedule (reproductions/parts/progressive.py): phases
and α, fitting to a budget, shapes per level, fade-in blending in G, D and the reals, minibatch stddev,
pixel norm, training, Adam resets, sampling at full resolution, resume determinism."""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F

from reproductions import progan
from reproductions.parts.progressive import ResolutionSchedule
from tests.reproduction_kit import CIFAR, MNIST, batch, builder


TINY = {"z_dim": 16, "fmap_max": 8}
build = builder(progan.ProGAN, **TINY)


# -- the schedule ------------------------------------------------------------------------------------
def test_schedule_phases_and_linear_alpha_ramp():
    s = ResolutionSchedule.fixed(levels=3, phase_kimg=1.0)  # 1000 images per phase
    assert s.num_phases == 5
    assert s.phase_starts() == [0, 1000, 2000, 3000, 4000]
    assert s.at(0) == (0, 1.0) and s.at(999) == (0, 1.0)  # stabilise at the start resolution
    assert s.at(1000) == (1, 0.0)  # fade-in starts with the new layers at weight 0
    assert s.at(1250) == (1, 0.25) and s.at(1500) == (1, 0.5)
    assert s.at(2000) == (1, 1.0) and s.at(2999) == (1, 1.0)  # stabilise
    assert s.at(3000) == (2, 0.0) and s.at(3800) == (2, pytest.approx(0.8))
    assert s.at(4000) == (2, 1.0) and s.at(10**9) == (2, 1.0)  # the last stabilisation lasts
    assert [s.phase(i) for i in (0, 999, 1000, 2000, 3999, 4000, 10**9)] == [0, 0, 1, 2, 3, 4, 4]
    alphas = [s.at(i)[1] for i in range(1000, 2000, 100)]
    assert alphas == pytest.approx([i / 10 for i in range(10)])
    assert ResolutionSchedule.fixed(1, 800).at(10**7) == (0, 1.0)  # nothing to grow


def test_schedule_fitted_to_a_budget_ends_at_full_resolution():
    s = ResolutionSchedule.fitted(levels=3, total_images=20 * 16)  # smoke budget, 7 -> 14 -> 28
    assert (s.stabilise_images, s.fade_images) == (64, 64)
    assert s.phase_starts() == [0, 64, 128, 192, 256]
    assert s.at(20 * 16 - 16) == (2, 1.0)  # the last G step trains the full resolution
    s4 = ResolutionSchedule.fitted(levels=4, total_images=7000)  # 4 -> 32: 7 phases
    assert s4.stabilise_images == 1000 and s4.at(6000) == (3, 1.0) and s4.at(5500) == (3, 0.5)
    assert ResolutionSchedule.fitted(levels=3, total_images=2).at(0) == (2, 1.0)  # too short to grow: full res


def test_plan_fits_the_budget_or_uses_a_fixed_phase_length():
    repro = build(MNIST)
    repro.plan(20, 16)
    assert repro.schedule == ResolutionSchedule(3, 64, 64)
    assert [repro.state_at(step) for step in (0, 3, 4, 6, 8, 12, 14, 19)] == [
        (0, 1.0), (0, 1.0), (1, 0.0), (1, 0.5), (1, 1.0), (2, 0.0), (2, 0.5), (2, 1.0)]
    fixed = build(MNIST, phase_kimg=800.0)
    fixed.plan(20, 16)
    assert fixed.schedule == ResolutionSchedule(3, 800_000, 800_000)
    assert fixed.state_at(19) == (0, 1.0)


# -- the networks ------------------------------------------------------------------------------------
@pytest.mark.parametrize("data, sizes", [(MNIST, [7, 14, 28]), (CIFAR, [4, 8, 16, 32])], ids=["28px", "32px"])
def test_shapes_at_each_level(data, sizes):
    repro = build(data)
    assert repro.levels == len(sizes)
    z = torch.randn(4, 16)
    for level, size in enumerate(sizes):
        for alpha in (0.0, 0.5, 1.0):
            images = repro.G(z, level, alpha)
            assert images.shape == (4, data.channels, size, size)
            assert repro.D(images, level, alpha).shape == (4,)
        real = progan.real_at(batch(data, 4).images, level, 1.0, repro.levels)
        assert real.shape == (4, data.channels, size, size)


def test_widths_follow_the_released_formula():
    hp = progan.Hyperparameters()
    assert progan._widths(hp, 5) == [512, 512, 512, 512, 256]  # 4 .. 64 px: Table 2
    cifar = progan.Hyperparameters(fmap_base=4096, fmap_max=128)
    assert progan._widths(cifar, 4) == [128] * 4


@pytest.mark.parametrize("data", [MNIST, CIFAR], ids=lambda d: d.name)
def test_fade_in_blends_old_and_new_paths(data):
    repro = build(data)
    G, D = repro.G, repro.D
    z = torch.randn(4, 16)
    x = batch(data, 4).images
    with torch.no_grad():
        for level in range(1, repro.levels):
            # α = 0: G is exactly the previous level, nearest up-sampled; D exactly the previous level on
            # the average-pooled image; the reals exactly the previous level's reals, up-sampled.
            previous = F.interpolate(G(z, level - 1, 1.0), scale_factor=2, mode="nearest")
            assert torch.allclose(G(z, level, 0.0), previous, atol=1e-6)
            assert not torch.allclose(G(z, level, 1.0), previous, atol=1e-3)
            assert torch.allclose(G(z, level, 0.5), 0.5 * (G(z, level, 0.0) + G(z, level, 1.0)), atol=1e-5)
            images = G(z, level, 1.0)
            assert torch.allclose(D(images, level, 0.0), D(F.avg_pool2d(images, 2), level - 1, 1.0), atol=1e-5)
            assert not torch.allclose(D(images, level, 1.0), D(images, level, 0.0), atol=1e-4)
            real_old = progan.real_at(x, level - 1, 1.0, repro.levels)
            real_new = progan.real_at(x, level, 1.0, repro.levels)
            assert torch.allclose(progan.real_at(x, level, 0.0, repro.levels),
                                  F.interpolate(real_old, scale_factor=2, mode="nearest"), atol=1e-6)
            assert torch.allclose(progan.real_at(x, level, 0.25, repro.levels),
                                  0.75 * F.interpolate(real_old, scale_factor=2, mode="nearest") + 0.25 * real_new, atol=1e-6)
    top = repro.levels - 1
    assert torch.equal(progan.real_at(x, top, 1.0, repro.levels), x)  # the last level sees the data as is


def test_minibatch_stddev_appends_the_average_feature_std():
    x = torch.tensor([0.0, 2.0, 0.0, 2.0, 1.0, 1.0, 1.0, 1.0]).view(2, 4).t().reshape(4, 2, 1, 1)
    out = progan.minibatch_stddev(x, group_size=4)
    assert out.shape == (4, 3, 1, 1)
    assert torch.equal(out[:, :2], x)
    # feature 0: values 0, 2, 0, 2 -> population std 1; feature 1: constant -> 0 (+ the 1e-8 inside the sqrt)
    expected = (1.0 + 1e-4) / 2
    assert torch.allclose(out[:, 2], torch.full((4, 1, 1), expected), atol=1e-6)
    # 8 images, groups of 4: images k·2 + m form group m (the released layout)
    y = torch.zeros(8, 1, 2, 2)
    y[0::2] = torch.tensor([0.0, 2.0, 0.0, 2.0]).view(4, 1, 1, 1)  # group 0: std 1 everywhere
    out = progan.minibatch_stddev(y, group_size=4)
    assert out.shape == (8, 2, 2, 2)
    assert torch.allclose(out[0::2, 1], torch.ones(4, 2, 2), atol=1e-3)
    assert torch.allclose(out[1::2, 1], torch.full((4, 2, 2), 1e-4), atol=1e-6)


def test_pixel_norm_gives_unit_mean_square_per_pixel():
    x = torch.randn(3, 16, 5, 5) * 7 + 2
    y = progan.pixel_norm(x)
    assert torch.allclose(y.pow(2).mean(dim=1), torch.ones(3, 5, 5), atol=1e-5)
    assert torch.allclose(progan.pixel_norm(3 * x), y, atol=1e-5)  # scale-free
    assert torch.allclose(y / y.norm(dim=1, keepdim=True), x / x.norm(dim=1, keepdim=True), atol=1e-5)


# -- training ----------------------------------------------------------------------------------------
def test_one_train_step_changes_g_and_d_at_the_active_level():
    repro = build(CIFAR)
    repro.plan(40, 8)  # 7 phases of 320 // 7 = 45 images
    repro.train(True)
    nets = {"G": repro.G, "D": repro.D}
    before = {k: {n: p.detach().clone() for n, p in net.named_parameters()} for k, net in nets.items()}
    losses = repro.train_step([batch(CIFAR)], step=0)
    assert all(torch.isfinite(v) and v.dim() == 0 for v in losses.values())
    assert losses["level"] == 0 and losses["alpha"] == 1
    expected = losses["wasserstein_estimate"] * -1 + 10 * losses["gradient_penalty"] + 0.001 * losses["drift"]
    assert losses["loss_d"].item() == pytest.approx(expected.item(), rel=1e-5)
    moved = {k: {n for n, p in net.named_parameters() if not torch.equal(p, before[k][n])} for k, net in nets.items()}
    assert {"dense.weight", "conv0.weight", "to_rgb.0.weight"} <= moved["G"]
    assert {"from_rgb.0.weight", "conv.weight", "dense.weight", "out.weight"} <= moved["D"]
    assert not any(n.startswith(("blocks.", "to_rgb.1", "to_rgb.3")) for n in moved["G"])  # not grown yet
    assert not any(n.startswith(("blocks.", "from_rgb.1")) for n in moved["D"])
    assert not torch.equal(repro.G_ema.shadow.dense.weight, repro.G.dense.weight)  # sampling uses the average

    # A fade-in step (step 6: 48 images, α = 3/45) trains both the old and the new toRGB / fromRGB.
    level, alpha = repro.state_at(6)
    assert level == 1 and 0 < alpha < 1
    before = {k: {n: p.detach().clone() for n, p in net.named_parameters()} for k, net in nets.items()}
    repro.train_step([batch(CIFAR, seed=2)], step=6)
    moved = {k: {n for n, p in net.named_parameters() if not torch.equal(p, before[k][n])} for k, net in nets.items()}
    assert {"to_rgb.0.weight", "to_rgb.1.weight", "blocks.1.0.weight"} <= moved["G"]
    assert {"from_rgb.0.weight", "from_rgb.1.weight", "blocks.1.1.weight"} <= moved["D"]


def test_adam_state_resets_when_a_phase_starts():
    repro = build(MNIST)
    repro.plan(10, 8)  # 80 images over 5 phases: two G steps per phase
    repro.train(True)
    steps = lambda opt: int(opt.state[opt.param_groups[0]["params"][0]]["step"])
    for step in range(2):
        repro.train_step([batch(MNIST, seed=step)], step)
    assert steps(repro.opt_G) == 2 and steps(repro.opt_D) == 2
    repro.train_step([batch(MNIST, seed=2)], 2)  # a fade-in starts: fresh moments
    assert steps(repro.opt_G) == 1 and steps(repro.opt_D) == 1
    repro.train_step([batch(MNIST, seed=3)], 3)
    assert steps(repro.opt_G) == 2
    kept = build(MNIST, reset_optimizers=False)
    kept.plan(10, 8)
    for step in range(3):
        kept.train_step([batch(MNIST, seed=step)], step)
    assert steps(kept.opt_G) == 3


def test_sample_is_at_full_resolution_before_and_after_growing():
    repro = build(MNIST)
    repro.plan(6, 8)  # 48 images, 9 per phase: steps 0-1 at 7x7, full 28x28 from step 5 on
    g = lambda: torch.Generator().manual_seed(0)
    early = repro.sample(3, generator=g())
    assert early.shape == (3, 1, 28, 28) and early.min() >= -1 and early.max() <= 1
    blocks = early.unfold(2, 4, 4).unfold(3, 4, 4)  # 7x7 output, nearest up-sampled by 4: constant 4x4 blocks
    assert torch.equal(blocks, blocks[..., :1, :1].expand_as(blocks))
    assert torch.equal(early, repro.sample(3, generator=g()))  # all noise from the given generator
    repro.train(True)
    for step in range(6):
        repro.train_step([batch(MNIST, seed=step)], step)
    assert repro.state_at(5) == (2, 1.0)
    late = repro.sample(3, generator=g())
    assert late.shape == (3, 1, 28, 28)
    blocks = late.unfold(2, 4, 4).unfold(3, 4, 4)
    assert not torch.equal(blocks, blocks[..., :1, :1].expand_as(blocks))


def test_resumed_run_continues_identically():
    def run(steps, repro=None):
        for step in steps:
            repro.train_step([batch(MNIST, seed=step)], step)
        return repro

    straight = build(MNIST)
    straight.plan(10, 8)  # phase changes at steps 2, 4, 6, 8 (Adam resets included)
    torch.manual_seed(5)
    run(range(3), straight)
    state, rng = copy.deepcopy(straight.state_dict()), torch.get_rng_state()  # as a checkpoint file holds it
    run(range(3, 7), straight)

    resumed = build(MNIST)
    resumed.load_state_dict(state)
    resumed.plan(10, 8)
    torch.set_rng_state(rng)
    assert resumed.state_at(3) == straight.state_at(3)
    run(range(3, 7), resumed)
    for net in ("G", "D", "G_ema"):
        for a, b in zip(getattr(straight, net).parameters(), getattr(resumed, net).parameters()):
            assert torch.equal(a, b), net
    # Re-scoring a checkpoint without plan() (gan-bench evaluate) samples at the same level.
    scored = build(MNIST)
    scored.load_state_dict(straight.state_dict())
    g = lambda: torch.Generator().manual_seed(0)
    assert torch.equal(scored.sample(2, generator=g()), straight.sample(2, generator=g()))
