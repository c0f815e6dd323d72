"""CycleGAN (reproductions/cyclegan.py): shapes at 64 and 28 px, the 70x70 PatchGAN, the image pool and
its checkpoint, the lr schedule fitted to the budget, translation routing, the cycle loss, one step."""

from __future__ import annotations

import io

import pytest
import torch

from harness.batches import Batch
from harness.reproduction import DataSpec, resolve_hyperparameters

from reproductions import cyclegan
from tests.reproduction_kit import changed, snapshot

H2Z = DataSpec("horse2zebra", 3, 64, 2, ("A", "B"))
EDGES = DataSpec("mnist-edges", 1, 28, 2, ("digits", "edges"))
TINY = {"g_width": 8, "d_width": 8, "n_blocks": 1}


def build(data: DataSpec, seed: int = 0, **overrides) -> cyclegan.CycleGAN:
    torch.manual_seed(seed)
    hp = resolve_hyperparameters(cyclegan.CycleGAN, {**TINY, "resolution": data.resolution, **overrides})
    return cyclegan.CycleGAN(data, hp, torch.device("cpu"))


def two_domain_batch(data: DataSpec, per_domain: int = 1, seed: int = 1) -> Batch:
    g = torch.Generator().manual_seed(seed)
    images = torch.rand(2 * per_domain, data.channels, data.resolution, data.resolution, generator=g) * 2 - 1
    labels = torch.arange(2 * per_domain) % 2  # domains interleaved: Batch.domain() must pick them out
    return Batch(images=images, labels=labels)


@pytest.mark.parametrize("data, patches", [(H2Z, 6), (EDGES, 1)], ids=["64px", "28px"])
def test_shapes_follow_the_resolution(data, patches):
    repro = build(data)
    x = two_domain_batch(data, per_domain=2).images
    for target in (0, 1):
        out = repro.translate(x, target)
        assert out.shape == x.shape
        assert out.min() >= -1 and out.max() <= 1
    assert repro.D_X(x).shape == (4, 1, patches, patches)  # a grid of patch scores
    blocks = [m for m in repro.G.modules() if isinstance(m, cyclegan.ResidualBlock)]
    assert len(blocks) == 1 and cyclegan.Hyperparameters().n_blocks == 6  # paper: R256 x 6 at 128 px
    norms = [m for m in repro.D_Y.modules() if isinstance(m, torch.nn.InstanceNorm2d)]
    assert len(norms) == 3  # C128, C256, C512; none on C64


def test_patchgan_outputs_see_70x70_patches():
    D = cyclegan.PatchDiscriminator(3, 8, 0.2)
    # Instance norm spreads every pixel over the whole map; the convolutions alone define the patch.
    D.net = torch.nn.Sequential(*[torch.nn.Identity() if isinstance(m, torch.nn.InstanceNorm2d) else m for m in D.net])
    x = torch.randn(1, 3, 160, 160, requires_grad=True)
    out = D(x)
    out[0, 0, out.shape[2] // 2, out.shape[3] // 2].backward()
    rows = x.grad.abs().sum(dim=(0, 1, 3)).nonzero().flatten()
    cols = x.grad.abs().sum(dim=(0, 1, 2)).nonzero().flatten()
    assert rows.max() - rows.min() + 1 == 70 and cols.max() - cols.min() + 1 == 70


def test_constructor_rejects_one_domain_data_and_bad_sizes():
    with pytest.raises(ValueError, match="two-domain"):
        build(DataSpec("mnist", 1, 28, 10))
    with pytest.raises(ValueError, match="divisible by 4"):
        build(DataSpec("unpaired", 3, 30, 2, ("A", "B")))


def test_image_pool_fills_then_swaps_half_the_time():
    pool = cyclegan.ImagePool(3, seed=0)
    first = [torch.full((1, 1, 2, 2), float(i)) for i in range(3)]
    for image in first:  # while filling, every image comes straight back
        assert torch.equal(pool.query(image), image)
    assert pool.count == 3
    seen = {0.0, 1.0, 2.0}
    swapped = 0
    for i in range(3, 403):
        image = torch.full((1, 1, 2, 2), float(i))
        out = pool.query(image)
        value = out[0, 0, 0, 0].item()
        if value != i:  # a stored image came back, and the new one took its place
            swapped += 1
            assert value in seen
            seen.discard(value)
            seen.add(float(i))
        assert set(pool.images[:, 0, 0, 0].tolist()) == seen
    assert 0.4 < swapped / 400 < 0.6
    assert cyclegan.ImagePool(0, seed=0).query(image).equal(image)  # size 0: no history (detached)


def test_pool_contents_and_random_stream_survive_a_checkpoint_exactly():
    batch = two_domain_batch(H2Z)
    repro = build(H2Z, pool_size=2)
    for step in range(3):  # fills both pools and starts swapping
        torch.manual_seed(100 + step)
        repro.train_step([batch], step)
    buffer = io.BytesIO()  # through bytes, as the harness's checkpoint file (no tensors shared with `repro`)
    torch.save(repro.state_dict(), buffer)
    buffer.seek(0)
    state = torch.load(buffer, weights_only=True)
    assert state["extra"]["pool_X"]["count"] == 2 and state["extra"]["pool_Y"]["images"].shape == (2, 3, 64, 64)

    resumed = build(H2Z, seed=5, pool_size=2)  # different init and pool seeds, then restored
    resumed.load_state_dict(state)
    assert torch.equal(resumed.pool_Y.images, repro.pool_Y.images)
    for step in range(3, 6):
        for r in (repro, resumed):
            torch.manual_seed(100 + step)  # the harness restores the global stream (augmentation)
            r.train_step([batch], step)
    for name in ("G", "F", "D_X", "D_Y"):
        for a, b in zip(getattr(repro, name).parameters(), getattr(resumed, name).parameters()):
            assert torch.equal(a, b), name
    assert torch.equal(repro.pool_X.images, resumed.pool_X.images)
    assert torch.equal(repro.pool_X.generator.get_state(), resumed.pool_X.generator.get_state())


def test_lr_is_constant_for_half_the_budget_then_decays_linearly_to_zero():
    repro = build(EDGES)
    assert repro.lr_factor(123) == 1.0  # no plan: constant
    repro.plan(10, 1)
    factors = [repro.lr_factor(s) for s in range(10)]
    assert factors[:5] == [1.0] * 5
    assert factors[5:] == pytest.approx([1 - k / 6 for k in range(1, 6)])  # equal steps towards 0
    assert repro.lr_factor(11) == 0.0 and repro.lr_factor(10_000) == 0.0
    repro.plan(1000, 1)
    assert repro.lr_factor(499) == 1.0 and repro.lr_factor(999) == pytest.approx(1 / 501)
    repro.plan(10, 1)
    repro.train_step([two_domain_batch(EDGES)], step=7)
    for opt in (repro.opt_G, repro.opt_D):
        assert opt.param_groups[0]["lr"] == pytest.approx(2e-4 * (1 - 3 / 6))


def test_translate_routes_to_the_right_generator(monkeypatch):
    repro = build(EDGES)
    monkeypatch.setattr(repro.G, "forward", lambda x: torch.full_like(x, 0.5))  # A -> B
    monkeypatch.setattr(repro.F, "forward", lambda x: torch.full_like(x, -0.5))  # B -> A
    x = torch.zeros(2, 1, 28, 28)
    assert torch.all(repro.translate(x, 1) == 0.5)
    assert torch.all(repro.translate(x, 0) == -0.5)
    with pytest.raises(ValueError):
        repro.translate(x, 2)


def test_cycle_and_identity_losses_vanish_for_identity_generators(monkeypatch):
    repro = build(EDGES)
    batch = two_domain_batch(EDGES, per_domain=2)
    real_a, real_b = batch.domain(0), batch.domain(1)
    losses, _, _ = repro.generator_losses(real_a, real_b)
    assert losses["cycle"] > 0 and losses["identity"] > 0
    monkeypatch.setattr(repro.G, "forward", lambda x: x)
    monkeypatch.setattr(repro.F, "forward", lambda x: x)
    losses, fake_a, fake_b = repro.generator_losses(real_a, real_b)
    assert losses["cycle"] == 0 and losses["identity"] == 0
    assert torch.equal(fake_b, real_a) and torch.equal(fake_a, real_b)
    assert losses["loss_g"].item() == pytest.approx(losses["adversarial_g"].item())
    # λ weighs the L1 cycle: one generator off by 0.1 everywhere costs λ·0.1 per cycle through it
    monkeypatch.setattr(repro.G, "forward", lambda x: x + 0.1)
    losses, _, _ = repro.generator_losses(real_a, real_b)
    assert losses["cycle"].item() == pytest.approx(10 * (0.1 + 0.1), rel=1e-5)
    assert losses["identity"].item() == pytest.approx(5 * 0.1, rel=1e-5)


def test_augmentation_keeps_the_size_and_range():
    repro = build(H2Z)
    assert repro.load_size == 72  # 64 · 286 / 256
    x = torch.rand(3, 3, 64, 64) * 2 - 1
    out = repro.augment(x)
    assert out.shape == x.shape and out.min() >= -1 and out.max() <= 1
    assert not torch.equal(out, x)
    assert torch.equal(build(H2Z, augment=False).augment(x), x)
    assert build(EDGES).load_size == 31


@pytest.mark.parametrize("data", [H2Z, EDGES], ids=lambda d: d.name)
def test_one_train_step_changes_both_generators_and_both_discriminators(data):
    repro = build(data)
    repro.train(True)
    nets = {name: getattr(repro, name) for name in ("G", "F", "D_X", "D_Y")}
    before = {name: snapshot(net) for name, net in nets.items()}
    losses = repro.train_step([two_domain_batch(data)], step=0)
    assert all(torch.isfinite(v) and v.dim() == 0 for v in losses.values())
    assert {"loss_g", "cycle", "identity", "loss_d_x", "loss_d_y"} <= set(losses)
    for name, net in nets.items():
        assert changed(before[name], net), f"{name} did not move"
    assert repro.pool_X.count == 1 and repro.pool_Y.count == 1


def test_without_a_history_pool_the_discriminators_still_train_on_detached_fakes():
    # pool_size 0 (no history) must hand D the fakes detached, or D's backward reaches G's freed graph.
    repro = build(EDGES, pool_size=0)
    repro.train(True)
    losses = repro.train_step([two_domain_batch(repro.data)], step=0)
    assert all(torch.isfinite(v) for v in losses.values())
