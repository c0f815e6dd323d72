"""BigGAN (reproductions/biggan.py): shapes, training, EMA sampling, truncation, orthogonal
regularisation, shared embedding and hierarchical latent."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.nn.utils import parametrize

from harness.reproduction import batch_statistics

from reproductions import biggan
from reproductions.parts.conditional import ConditionalBatchNorm2d
from reproductions.parts.regularizers import orthogonal_regularisation
from tests.reproduction_kit import SPECS, batch, builder


TINY = {"g_width": 4, "d_width": 4, "z_dim": 24, "shared_dim": 8, "d_steps_per_g_step": 1}
build = builder(biggan.BigGAN, **TINY)


@pytest.mark.parametrize("data", SPECS, ids=lambda d: d.name)
def test_shapes_follow_the_dataspec(data):
    repro = build(data)
    labels = torch.arange(8) % 10
    images = repro.sample(8, labels)
    assert images.shape == (8, data.channels, data.resolution, data.resolution)
    assert images.min() >= -1 and images.max() <= 1
    assert repro.D(images, labels).shape == (8,)
    # one z chunk per up-block plus one for the dense layer: 3 at 28 px, 4 at 32 px
    chunks = 3 if data.resolution == 28 else 4
    assert repro.G.chunk == 24 // chunks and repro.G.z_dim == repro.G.chunk * chunks
    assert biggan.Hyperparameters().d_steps_per_g_step == 4 and biggan.BigGAN.conditional


@pytest.mark.parametrize("data", SPECS, ids=lambda d: d.name)
def test_one_train_step_changes_both_players(data):
    repro = build(data, d_steps_per_g_step=2)
    repro.train(True)
    calls = []
    repro.opt_D.register_step_post_hook(lambda *_: calls.append(1))
    nets = {"G": repro.G, "D": repro.D}
    before = {k: [p.detach().clone() for p in net.parameters()] for k, net in nets.items()}
    losses = repro.train_step([batch(data, labelled=True) for _ in range(repro.d_steps(0))], step=0)
    assert len(calls) == 2
    assert all(torch.isfinite(v) and v.dim() == 0 for v in losses.values())
    for name, net in nets.items():
        unchanged = [n for (n, p), b in zip(net.named_parameters(), before[name]) if torch.equal(p, b)]
        assert not unchanged, f"{name}: {unchanged} did not move"


def test_ema_copies_g_before_ema_start_then_averages_and_sample_uses_it():
    data = SPECS[1]
    repro = build(data, ema_start=1, ema_decay=0.5)
    repro.train(True)
    repro.train_step([batch(data, labelled=True)], step=0)  # before ema_start: the average is G itself
    for a, b in zip(repro.G_ema.shadow.parameters(), repro.G.parameters()):
        assert torch.equal(a, b)
    repro.train_step([batch(data, labelled=True)], step=1)
    repro.train_step([batch(data, labelled=True)], step=2)
    differs = [not torch.equal(a, b) for a, b in zip(repro.G_ema.shadow.parameters(), repro.G.parameters())]
    assert all(differs)

    labels = torch.arange(6)
    images = repro.sample(6, labels, generator=torch.Generator().manual_seed(3))
    z = repro.noise(6, torch.Generator().manual_seed(3))
    assert repro.sampling == "batch-stats"  # BigGAN-PyTorch's CIFAR script: G_eval_mode off
    with torch.no_grad():
        with batch_statistics(repro.G_ema.shadow):
            assert torch.allclose(images, repro.G_ema.shadow(z, labels))
        with batch_statistics(repro.G):
            assert not torch.allclose(images, repro.G(z, labels), atol=1e-4)


def test_truncation_bounds_the_latent():
    generator = torch.Generator().manual_seed(0)
    plain = biggan.truncated_normal((2000, 32), None, torch.device("cpu"), generator)
    assert plain.abs().max() > 2.0  # the untruncated prior does exceed the threshold
    z = biggan.truncated_normal((2000, 32), 0.5, torch.device("cpu"), generator)
    assert z.abs().max() <= 0.5 and z.std() > 0.2  # resampled, not clipped onto ±0.5
    assert (z.abs() == 0.5).float().mean() < 0.01

    repro = build(SPECS[0], truncation=0.3)
    labels = torch.zeros(4, dtype=torch.long)
    images = repro.sample(4, labels, generator=torch.Generator().manual_seed(1))
    z = repro.noise(4, torch.Generator().manual_seed(1), truncation=0.3)
    assert z.abs().max() <= 0.3
    with torch.no_grad(), batch_statistics(repro.G_ema.shadow):
        assert torch.allclose(images, repro.G_ema.shadow(z, labels))


def test_orthogonal_regulariser_is_part_of_the_generator_loss():
    repro = build(SPECS[1], ortho_strength=1e-2)
    d_fake = torch.randn(8)
    total, hinge, ortho = repro.generator_loss(d_fake)
    expected = 0.5 * orthogonal_regularisation(repro.G, 1e-2)  # the authors' utils.ortho: half of eq. 3
    assert ortho.item() == pytest.approx(expected.item()) and ortho.item() > 0
    assert total.item() == pytest.approx(hinge.item() + ortho.item())
    assert hinge.item() == pytest.approx(-d_fake.mean().item())
    # it reaches G's weights through the gradient; the shared embedding is exempt (eq. 3 is for weights)
    total.backward()
    assert repro.G.dense.parametrizations.weight.original.grad.abs().sum() > 0
    assert repro.G.embed.weight.grad is None
    no_ortho = build(SPECS[1], ortho_strength=0.0)
    assert no_ortho.generator_loss(d_fake)[2].item() == 0.0


def test_shared_embedding_and_hierarchical_latent_condition_every_block():
    repro = build(SPECS[1])
    G = repro.G
    assert isinstance(G.embed, nn.Embedding) and not parametrize.is_parametrized(G.embed)
    cbn = [m for m in G.modules() if isinstance(m, ConditionalBatchNorm2d)]
    assert len(cbn) == 6 and all(m.gain.in_features == 8 + G.chunk for m in cbn)  # [embedding, z chunk]
    assert all(parametrize.is_parametrized(m.gain, "weight") for m in cbn)  # SN in G (section 3)
    G.eval()
    z, labels = torch.randn(2, G.z_dim), torch.tensor([1, 2])
    with torch.no_grad():
        base = G(z, labels)
        for k in range(4):  # changing any one chunk (dense input or a block's condition) changes the image
            other = z.clone()
            other[:, k * G.chunk:(k + 1) * G.chunk] += 1.0
            assert not torch.allclose(G(other, labels), base, atol=1e-5), k
        assert not torch.allclose(G(z, torch.tensor([3, 4])), base, atol=1e-5)


def test_optional_attention_uses_the_shared_block():
    from reproductions.parts.attention import SelfAttention

    repro = build(SPECS[1], attention_resolution=16)
    assert sum(isinstance(m, SelfAttention) for m in repro.G.modules()) == 1
    assert sum(isinstance(m, SelfAttention) for m in repro.D.modules()) == 1
    assert not any(isinstance(m, SelfAttention) for m in build(SPECS[1]).G.modules())
    with pytest.raises(ValueError, match="feature map"):
        build(SPECS[1], attention_resolution=5)
