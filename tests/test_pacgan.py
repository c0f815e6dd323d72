"""Lin et al. 2017 (reproductions/pacgan.py): m samples packed into one D input, over the 2D GAN and DCGAN."""

from __future__ import annotations

import pytest
import torch

from harness.batches import Batch
from harness.reproduction import DataSpec

from reproductions import pacgan
from tests.smoke_kit import assert_smoke_run, declared_datasets
from tests.reproduction_kit import builder, changed, snapshot

RING = DataSpec("ring8-pacgan", 2, 1, 8, kind="points")
STACKED = DataSpec("stacked-mnist", 3, 28, 1000)
build = builder(pacgan.PacGAN)


def test_packing_groups_consecutive_samples_side_by_side():
    points = torch.arange(14.0).view(7, 2)  # sample i = (2i, 2i + 1)
    packed = pacgan.pack(points, 3)  # 2 packs; the 7th sample is left over
    assert packed.tolist() == [[0, 1, 2, 3, 4, 5], [6, 7, 8, 9, 10, 11]]
    images = torch.arange(4.0).view(4, 1, 1, 1).expand(4, 3, 2, 2)
    packed = pacgan.pack(images, 2)
    assert packed.shape == (2, 6, 2, 2)
    assert packed[1, :3].eq(2).all() and packed[1, 3:].eq(3).all()  # pack 1 = samples 2 and 3, by channel
    with pytest.raises(ValueError, match="no pack"):
        pacgan.pack(points[:2], 3)


@pytest.mark.parametrize("m", [1, 2, 4])
def test_discriminator_input_has_m_times_the_features(m):
    repro = build(RING, packing=m)
    assert repro.D[0].linear.in_features == 2 * m
    fake = repro.packed_fakes(5)
    assert fake.shape == (5, 2 * m)
    assert repro.discriminate(fake).shape == (5,)

    images = build(STACKED, packing=m, architecture="small-dc", z_dim=16)
    assert images.D.net[0].in_channels == 3 * m
    assert images.packed_fakes(4).shape == (4, 3 * m, 28, 28)


def test_fake_pack_j_holds_sample_j_of_each_generator_batch():
    repro = build(RING, packing=3)
    repro.G.eval()  # batchnorm from running statistics, so a sample does not depend on its batch
    torch.manual_seed(7)
    packed = repro.packed_fakes(4)
    torch.manual_seed(7)
    separate = [repro.generate(repro.noise(4)) for _ in range(3)]
    for j in range(4):
        torch.testing.assert_close(packed[j], torch.cat([batch[j] for batch in separate]))


@pytest.mark.parametrize("overrides", [{}, {"architecture": "small-dc", "z_dim": 16, "simultaneous_updates": False},
                                       {"architecture": "dcgan", "z_dim": 16, "d_width": 8, "g_width": 8}],
                         ids=["mlp", "small-dc", "dcgan"])
def test_one_step_moves_both_players(overrides):
    spec = RING if not overrides else STACKED
    repro = build(spec, packing=2, **overrides)
    repro.train(True)
    x = torch.randn(8, *spec.shape)
    g_before, d_before = snapshot(repro.G), snapshot(repro.D)
    losses = repro.train_step([Batch(x, torch.zeros(8, dtype=torch.long))], 0)
    assert all(torch.isfinite(v) for v in losses.values())
    assert changed(g_before, repro.G) and changed(d_before, repro.D)
    assert repro.sample(3).shape == (3, *spec.shape)


@pytest.mark.slow
@pytest.mark.parametrize("dataset", declared_datasets("pacgan"))
def test_smoke_run_on_every_declared_dataset(dataset, cli, tmp_path):
    # Image datasets train through the whole pipeline but skip scoring (the Stacked MNIST classifier
    # and FID are tested with their metrics); points are scored with the 2D mode metrics.
    extra = ("--no-eval",) if dataset.startswith("stacked") or dataset == "mnist" else ()
    data = assert_smoke_run(cli, tmp_path, "pacgan", dataset, *extra)
    if not extra:
        assert {"modes", "high_quality", "reverse_kl"} <= set(data["scores"][0]["metrics"])


@pytest.mark.slow
@pytest.mark.parametrize("variant", ["m1", "m3"])
def test_variants_run_as_their_own_rows(variant, cli, tmp_path):
    data = assert_smoke_run(cli, tmp_path, f"pacgan@{variant}", "grid25-pacgan")
    assert data.get("variant") == variant
