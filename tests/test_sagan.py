"""SAGAN (reproductions/sagan.py) and the shared attention / conditioning modules it is built of."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.nn.utils import parametrize

from reproductions import sagan
from reproductions.parts.attention import SelfAttention
from reproductions.parts.conditional import ConditionalBatchNorm2d, ProjectionDiscriminator
from tests.reproduction_kit import SPECS, batch, builder


TINY = {"g_width": 16, "d_width": 16, "z_dim": 16}
build = builder(sagan.SAGAN, **TINY)


@pytest.mark.parametrize("data", SPECS, ids=lambda d: d.name)
def test_shapes_follow_the_dataspec(data):
    repro = build(data)
    labels = torch.arange(8) % 10
    images = repro.sample(8, labels)
    assert images.shape == (8, data.channels, data.resolution, data.resolution)
    assert images.min() >= -1 and images.max() <= 1
    assert repro.D(images, labels).shape == (8,)
    assert sagan.SAGAN.conditional


@pytest.mark.parametrize("data", SPECS, ids=lambda d: d.name)
def test_one_train_step_changes_both_players(data):
    repro = build(data)
    repro.train(True)
    nets = {"G": repro.G, "D": repro.D}
    before = {k: [p.detach().clone() for p in net.parameters()] for k, net in nets.items()}
    losses = repro.train_step([batch(data, labelled=True)], step=0)
    assert all(torch.isfinite(v) and v.dim() == 0 for v in losses.values())
    attention_projection = (".f.", ".g.", ".h.", ".v.")
    for name, net in nets.items():
        unchanged = [n for (n, p), b in zip(net.named_parameters(), before[name]) if torch.equal(p, b)]
        # With γ = 0 the attention's 1×1 convs get no gradient on the first step; only γ moves.
        assert unchanged and all(any(k in n for k in attention_projection) for n in unchanged), (name, unchanged)
    repro.train_step([batch(data, labelled=True)], step=1)  # now γ ≠ 0, so they learn too
    for name, net in nets.items():
        unchanged = [n for (n, p), b in zip(net.named_parameters(), before[name]) if torch.equal(p, b)]
        assert not unchanged, f"{name}: {unchanged} did not move"


@pytest.mark.parametrize("data, side", [(SPECS[0], 7), (SPECS[1], 8)], ids=["28px", "32px"])
def test_attention_sits_on_a_quarter_side_map_in_g_and_d_and_starts_as_identity(data, side):
    repro = build(data)
    seen: dict[str, tuple] = {}
    for name, net in (("G", repro.G), ("D", repro.D)):
        blocks = [m for m in net.modules() if isinstance(m, SelfAttention)]
        assert len(blocks) == 1, name
        assert blocks[0].gamma.item() == 0.0  # eq. 3: γ initialised to 0
        blocks[0].register_forward_hook(lambda m, i, o, name=name: seen.__setitem__(name, (i[0], o)))
    labels = torch.arange(4)
    repro.D(repro.G(repro.noise(4), labels), labels)
    for name, (x, y) in seen.items():
        assert x.shape[-2:] == (side, side), name
        assert torch.equal(x, y), f"{name}: with γ = 0 the block must return its input"


def test_self_attention_equations():
    torch.manual_seed(0)
    block = SelfAttention(16)
    assert block.f.out_channels == block.g.out_channels == 2 and block.h.out_channels == 8  # C/8; values C/2
    x = torch.randn(2, 16, 5, 5)
    beta = block.attention_map(x)
    assert beta.shape == (2, 25, 25)
    assert torch.allclose(beta.sum(-1), torch.ones(2, 25))  # a softmax over the attended locations
    with torch.no_grad():
        block.gamma.fill_(1.0)
    y = block(x)
    assert not torch.allclose(y, x)
    # y = γ·v(Σ_i β_{j,i} h(x_i)) + x, written out for one location j of sample 0
    h = block.h(x)[0].flatten(1)  # (C/2, N)
    o_j = block.v.weight[:, :, 0, 0] @ (h @ beta[0, 7])
    assert torch.allclose(y[0].flatten(1)[:, 7], o_j + x[0].flatten(1)[:, 7], atol=1e-5)


def test_spectral_norm_on_every_layer_of_g_and_d_but_not_the_class_tables():
    repro = build(SPECS[1])
    for name, net in (("G", repro.G), ("D", repro.D)):
        layers = [m for m in net.modules() if isinstance(m, (nn.Conv2d, nn.Linear, nn.Embedding))]
        assert layers and all(parametrize.is_parametrized(m, "weight") for m in layers), name
    cbn = [m for m in repro.G.modules() if isinstance(m, ConditionalBatchNorm2d)]
    assert cbn and all(m.by_class and not parametrize.is_parametrized(m) for m in cbn)
    # TTUR (section 4.2)
    assert repro.opt_G.param_groups[0]["lr"] == 1e-4 and repro.opt_D.param_groups[0]["lr"] == 4e-4
    assert repro.opt_G.param_groups[0]["betas"] == (0.0, 0.9)


def test_conditional_bn_and_projection_depend_on_the_class():
    torch.manual_seed(0)
    cbn = ConditionalBatchNorm2d(4, num_classes=3)
    with torch.no_grad():
        cbn.class_gain[1].fill_(2.0)
    x = torch.randn(6, 4, 3, 3)
    same, other = cbn(x, torch.zeros(6, dtype=torch.long)), cbn(x, torch.ones(6, dtype=torch.long))
    assert torch.allclose(other, 2 * same)  # class 1's gain is twice class 0's (biases are 0)
    vector = ConditionalBatchNorm2d(4, cond_dim=5)
    nn.init.zeros_(vector.gain.weight), nn.init.zeros_(vector.bias.weight)
    assert torch.allclose(vector(x, torch.randn(6, 5)), nn.functional.batch_norm(x, None, None, training=True), atol=1e-5)
    with pytest.raises(ValueError):
        ConditionalBatchNorm2d(4, num_classes=3, cond_dim=5)

    D = ProjectionDiscriminator(3, 32, 8, num_classes=10)
    images = torch.randn(4, 3, 32, 32)
    a, b = D(images, torch.zeros(4, dtype=torch.long)), D(images, torch.ones(4, dtype=torch.long))
    phi = torch.relu(D.blocks(images)).sum(dim=(2, 3))
    assert torch.allclose(a - b, phi @ (D.head.embed.weight[0] - D.head.embed.weight[1]), atol=1e-4)
