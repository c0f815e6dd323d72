"""CoGAN (reproductions/cogan.py): weight sharing is real sharing, domain labels route to the right
generator, alternating labels give coupled pairs, one step trains all four networks, pixel agreement."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from harness.batches import Batch
from harness.reproduction import DataSpec

from reproductions import cogan
from tests.reproduction_kit import builder, changed, snapshot

EDGES = DataSpec("mnist-edges", 1, 28, 2, ("digits", "edges"))
NEGATIVE = DataSpec("mnist-negative", 1, 28, 2, ("digits", "negative"))
TINY = {"g_width": 4, "d_conv1": 4, "d_conv2": 6, "d_hidden": 16}
build_cogan = builder(cogan.CoGAN)


def build(spec: DataSpec = EDGES, **overrides) -> cogan.CoGAN:
    return build_cogan(spec, **{**TINY, **overrides})


def two_domain_batch(n: int = 6, seed: int = 1) -> Batch:
    """n images of each domain, as the harness hands them over: images and domain labels 0/1."""
    g = torch.Generator().manual_seed(seed)
    digits = torch.rand(n, 1, 28, 28, generator=g) * 2 - 1
    other = torch.rand(n, 1, 28, 28, generator=g) * 2 - 1
    labels = torch.cat([torch.zeros(n, dtype=torch.long), torch.ones(n, dtype=torch.long)])
    return Batch(torch.cat([digits, other]), labels)


def ids(params) -> set[int]:
    return {id(p) for p in params}


def test_constructor_rejects_a_one_domain_dataset():
    with pytest.raises(ValueError, match="CoGAN needs a two-domain dataset"):
        build(DataSpec("mnist", 1, 28, 10))
    with pytest.raises(ValueError, match="CoGAN needs a two-domain dataset"):
        build(DataSpec("three", 1, 28, 3, ("a", "b", "c")))


def test_paper_architecture_and_shapes():
    repro = cogan.CoGAN(EDGES, cogan.Hyperparameters(), torch.device("cpu"))  # the paper's widths
    G, D = repro.G, repro.D
    assert repro.conditional
    assert len(G.shared) == 4 and len(G.heads[0]) == 1  # four shared layers, the output layer per domain
    assert [G.shared[i][0].out_channels for i in range(4)] == [1024, 512, 256, 128]
    assert G.shared[0][0].kernel_size == (4, 4) and G.heads[0][0][0].kernel_size == (6, 6)
    assert all(isinstance(G.shared[i][2], nn.PReLU) for i in range(4))
    assert len(D.stems[0]) == 1 and len(D.shared) == 3  # first conv per domain, the rest shared
    assert D.stems[0][0][0].out_channels == 20 and D.shared[0][0].out_channels == 50
    assert D.shared[1][0].out_channels == 500 and D.shared[2].out_channels == 1
    with torch.no_grad():
        h = G.shared.eval()(repro.noise(2).view(2, -1, 1, 1))
    assert h.shape == (2, 128, 25, 25)  # 4 → 7 → 13 → 25, then the 6×6 output deconv makes 28


@pytest.mark.parametrize("spec", [EDGES, NEGATIVE], ids=lambda s: s.name)
def test_sample_and_discriminator_shapes(spec):
    repro = build(spec)
    images = repro.sample(5, torch.tensor([0, 0, 1, 1, 0]), torch.Generator().manual_seed(0))
    assert images.shape == (5, 1, 28, 28)
    assert images.min() >= -1 and images.max() <= 1
    a, b = repro.D(images[:3], images[3:])
    assert a.shape == (3,) and b.shape == (2,)
    assert repro.sample(4).shape == (4, 1, 28, 28)  # no labels: coupled pairs


def test_generators_share_their_first_layers_as_the_same_parameters():
    G = build().G
    trunk = ids(G.shared.parameters())
    head_a, head_b = ids(G.heads[0].parameters()), ids(G.heads[1].parameters())
    assert trunk and head_a and head_b
    assert not head_a & head_b and not trunk & (head_a | head_b)  # heads are each domain's own
    assert ids(G.parameters()) == trunk | head_a | head_b
    # Both domains' images are computed through the very same trunk modules.
    z = torch.randn(3, 100)
    G.eval()
    with torch.no_grad():
        a, b = G(z)
        h = G.shared(z.view(3, 100, 1, 1))
        assert torch.equal(a, G.heads[0](h)) and torch.equal(b, G.heads[1](h))


def test_discriminators_share_their_last_layers_as_the_same_parameters():
    D = build().D
    tail = ids(D.shared.parameters())
    stem_a, stem_b = ids(D.stems[0].parameters()), ids(D.stems[1].parameters())
    assert tail and stem_a and stem_b and not stem_a & stem_b and not tail & (stem_a | stem_b)
    D.eval()  # no dropout
    x_a, x_b = torch.rand(2, 1, 28, 28), torch.rand(3, 1, 28, 28)
    with torch.no_grad():
        a, b = D(x_a, x_b)
        assert torch.allclose(a, D.shared(D.stems[0](x_a)).flatten(), atol=1e-6)
        assert torch.allclose(b, D.shared(D.stems[1](x_b)).flatten(), atol=1e-6)


def test_a_gradient_step_moves_the_shared_trunk_once_with_both_domains_gradients():
    repro = build()
    G = repro.G
    z = repro.noise(4)
    weight = G.shared[1][0].weight  # a shared deconvolution
    grads = []
    for index in (0, 1):
        G.zero_grad()
        G.domain(z, index).sum().backward()
        grads.append(weight.grad.clone())
    G.zero_grad()
    a, b = G(z)
    (a.sum() + b.sum()).backward()
    assert torch.allclose(weight.grad, grads[0] + grads[1], atol=1e-5)  # one parameter, summed gradient
    # The optimiser holds every parameter exactly once, so a step moves the shared weight once.
    held = [id(p) for group in repro.opt_G.param_groups for p in group["params"]]
    assert len(held) == len(set(held)) == len(list(G.parameters()))
    held_d = [id(p) for group in repro.opt_D.param_groups for p in group["params"]]
    assert len(held_d) == len(set(held_d)) == len(list(repro.D.parameters()))
    # A step on domain 0's loss alone moves the trunk and domain 0's head, never domain 1's head.
    before_b, before_trunk = snapshot(G.heads[1]), snapshot(G.shared)
    optimizer = torch.optim.SGD(G.parameters(), lr=0.1)
    optimizer.zero_grad()
    G.domain(z, 0).pow(2).mean().backward()
    optimizer.step()
    assert changed(before_trunk, G.shared) and not changed(before_b, G.heads[1])


def test_domain_labels_route_to_their_generator():
    repro = build()
    for index in (0, 1):
        images = repro.sample(4, torch.full((4,), index), torch.Generator().manual_seed(3))
        z = repro.noise(4, torch.Generator().manual_seed(3))
        repro.G.eval()
        with torch.no_grad():
            expected = repro.G.domain(z, index)
        repro.G.train()
        assert torch.allclose(images, expected, atol=1e-6)
    # Mixed, non-alternating labels: one z per image, each through its own domain's head.
    labels = torch.tensor([0, 0, 1, 1, 1, 0])
    images = repro.sample(6, labels, torch.Generator().manual_seed(4))
    assert repro.G.training  # sample() leaves G in training mode
    z = repro.noise(6, torch.Generator().manual_seed(4))
    repro.G.eval()
    with torch.no_grad():
        a, b = repro.G(z)
    assert torch.allclose(images[labels == 0], a[labels == 0], atol=1e-6)
    assert torch.allclose(images[labels == 1], b[labels == 1], atol=1e-6)


def test_alternating_labels_give_coupled_pairs_from_one_z():
    repro = build()
    images = repro.sample(7, torch.arange(7) % 2, torch.Generator().manual_seed(5))
    z = repro.noise(4, torch.Generator().manual_seed(5))  # ceil(7 / 2) latents
    repro.G.eval()
    with torch.no_grad():
        a, b = repro.G(z)
    assert torch.allclose(images[0::2], a, atol=1e-6)
    assert torch.allclose(images[1::2], b[:3], atol=1e-6)
    # starting with domain 1 pairs up the same way: (1, 0) shares a z
    flipped = repro.sample(4, torch.tensor([1, 0, 1, 0]), torch.Generator().manual_seed(5))
    with torch.no_grad():
        a, b = repro.G(repro.noise(2, torch.Generator().manual_seed(5)))
    assert torch.allclose(flipped[0::2], b, atol=1e-6) and torch.allclose(flipped[1::2], a, atol=1e-6)
    # the given generator fixes the samples
    again = repro.sample(7, torch.arange(7) % 2, torch.Generator().manual_seed(5))
    assert torch.equal(images, again)


@pytest.mark.parametrize("spec", [EDGES, NEGATIVE], ids=lambda s: s.name)
def test_one_train_step_changes_both_generators_and_both_discriminators(spec):
    repro = build(spec)
    parts = {"G trunk": repro.G.shared, "G1": repro.G.heads[0], "G2": repro.G.heads[1],
             "D1": repro.D.stems[0], "D2": repro.D.stems[1], "D tail": repro.D.shared}
    before = {name: snapshot(net) for name, net in parts.items()}
    losses = repro.train_step([two_domain_batch()], step=0)
    assert set(losses) == {"loss_d", "loss_g", "d_accuracy"}
    assert all(v.dim() == 0 and torch.isfinite(v) for v in losses.values())
    for name, net in parts.items():
        assert changed(before[name], net), f"{name} did not move"


def test_weight_sharing_depth_is_configurable():
    repro = build(g_shared_layers=2, d_shared_layers=1)
    assert len(repro.G.shared) == 2 and len(repro.G.heads[0]) == 3
    assert len(repro.D.stems[0]) == 3 and len(repro.D.shared) == 1
    assert repro.sample(4, torch.arange(4) % 2).shape == (4, 1, 28, 28)
    repro.train_step([two_domain_batch(4)], step=0)
    unshared = build(g_shared_layers=0, d_shared_layers=0)  # two independent GANs
    assert not list(unshared.G.shared.parameters()) and not list(unshared.D.shared.parameters())
    with pytest.raises(ValueError):
        build(g_shared_layers=5)


def test_training_settings_of_the_official_code():
    repro = build()
    for optimizer in (repro.opt_G, repro.opt_D):
        (group,) = optimizer.param_groups
        assert group["lr"] == 2e-4 and group["betas"] == (0.5, 0.999) and group["weight_decay"] == 5e-4
    # the port's init: Xavier-uniform with gain √2, biases 0.1
    head = repro.G.heads[0][0][0]
    fan_in, fan_out = head.weight.shape[1] * 36, head.weight.shape[0] * 36
    assert head.weight.abs().max() <= 2 * (3 / (fan_in + fan_out)) ** 0.5 + 1e-6
    assert torch.all(head.bias == 0.1) and torch.all(repro.D.shared[2].bias == 0.1)
    assert repro.noise(2000).std().item() == pytest.approx(1.0, abs=0.05)  # z ~ N(0, I)
    caffe = build(init="msra", noise="uniform", d_dropout=0.5)
    z = caffe.noise(1000)
    assert z.min() >= -1 and z.max() <= 1 and z.mean().abs() < 0.05  # U[-1, 1]
    assert torch.all(caffe.G.heads[0][0][0].bias == 0) and caffe.D.shared[1][2].p == 0.5


def test_pixel_agreement():
    g = torch.Generator().manual_seed(0)
    digits = (torch.rand(8, 1, 28, 28, generator=g) > 0.7).float() * 2 - 1
    negate = cogan.DOMAIN_TRANSFORMS["negative"]
    assert cogan.pixel_agreement(digits, -digits, negate).item() == 1.0
    assert cogan.pixel_agreement(digits, digits, negate).item() == 0.0
    noise = torch.rand(8, 1, 28, 28, generator=g) * 2 - 1
    assert 0.4 < cogan.pixel_agreement(digits, noise, negate).item() < 0.6
    edge = cogan.DOMAIN_TRANSFORMS["edges"]
    assert cogan.pixel_agreement(digits, edge(digits), edge).item() == 1.0
    with pytest.raises(ValueError):
        cogan.pixel_agreement(digits, digits[:2], negate)
    score = build(NEGATIVE).coupled_agreement(4, torch.Generator().manual_seed(0))
    assert 0.0 <= score.item() <= 1.0
