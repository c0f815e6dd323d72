"""What `Reproduction` gives every paper: the default noise, `update`, eval-mode sampling."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from harness.reproduction import Reproduction, evaluating
from tests.reproduction_kit import CPU, MNIST


class Tiny(Reproduction):
    """z (4 dims) → BN → linear → a 1x28x28 image: enough to see batch vs running statistics."""

    def __init__(self):
        super().__init__(MNIST, type("HP", (), {"z_dim": 4})(), CPU)
        torch.manual_seed(0)
        self.G = nn.Sequential(nn.BatchNorm1d(4), nn.Linear(4, 28 * 28), nn.Tanh(), nn.Unflatten(1, (1, 28, 28)))


def test_default_noise_is_a_standard_normal_of_z_dim_from_the_given_generator():
    repro = Tiny()
    z = repro.noise(5, torch.Generator().manual_seed(3))
    assert z.shape == (5, 4) and torch.equal(z, torch.randn(5, 4, generator=torch.Generator().manual_seed(3)))


def test_update_clears_old_gradients_then_steps():
    repro, net = Tiny(), nn.Linear(3, 1, bias=False)
    nn.init.zeros_(net.weight)
    opt = torch.optim.SGD(net.parameters(), lr=1.0)
    x = torch.ones(1, 3)
    net(x).sum().backward()  # a stale gradient that `update` must not add in
    repro.update(opt, net(x).sum())
    assert torch.equal(net.weight.detach(), -torch.ones(1, 3))  # one step of gradient 1, not 2


@pytest.mark.parametrize("mode", [True, False])
def test_sample_uses_running_statistics_and_restores_the_mode(mode):
    repro = Tiny()
    repro.G[0].running_mean.fill_(5.0)  # far from any batch's mean: batch statistics would differ
    repro.G.train(mode)
    images = repro.sample(3, generator=torch.Generator().manual_seed(1))
    assert repro.G.training is mode and repro.G[0].training is mode
    with torch.no_grad():
        expected = repro.G.eval()(torch.randn(3, 4, generator=torch.Generator().manual_seed(1)))
    assert images.shape == (3, 1, 28, 28) and torch.equal(images, expected)


def test_evaluating_restores_each_module_even_after_an_error():
    a, b = nn.Linear(1, 1).train(), nn.Linear(1, 1).eval()
    with pytest.raises(RuntimeError):
        with evaluating(a, b):
            assert not a.training and not b.training
            raise RuntimeError("inside")
    assert a.training and not b.training


class TinyConditional(Reproduction):
    """G(z, y): the label's one-hot added to z, enough to see which labels `sample` used."""

    conditional = True

    def __init__(self, data=MNIST):
        super().__init__(data, type("HP", (), {"z_dim": 10})(), CPU)
        self.G = lambda z, labels: z + nn.functional.one_hot(labels, 10).float() * 100
        self.G_module = nn.Identity()

    def sampling_mode(self, *modules):  # the lambda G has no modes to switch
        return evaluating(self.G_module)


def test_a_conditional_models_default_sample_draws_z_first_then_uniform_labels_or_takes_the_given_ones():
    repro = TinyConditional()
    given = torch.tensor([3, 3, 7])
    out = repro.sample(3, labels=given, generator=torch.Generator().manual_seed(1))
    z = torch.randn(3, 10, generator=torch.Generator().manual_seed(1))
    assert torch.equal(out.argmax(1), given) and torch.allclose(out - 100 * nn.functional.one_hot(given, 10), z, atol=1e-4)
    drawn = repro.sample(500, generator=torch.Generator().manual_seed(2)).argmax(1)
    g = torch.Generator().manual_seed(2)
    torch.randn(500, 10, generator=g)  # z first, then the labels from the same stream
    assert torch.equal(drawn, torch.randint(10, (500,), generator=g)) and set(drawn.tolist()) == set(range(10))


def test_a_class_conditional_model_refuses_an_unlabelled_dataset_but_not_a_two_domain_one():
    from harness.reproduction import DataSpec

    with pytest.raises(ValueError, match="TinyConditional is class-conditional: it needs a labelled dataset"):
        TinyConditional(DataSpec("imagefolder", 3, 32, 1))
    TinyConditional(DataSpec("mnist-edges", 1, 28, 2, ("digits", "edges")))  # domain labels: fine


def test_frozen_holds_every_parameter_and_restores_each_flag_even_after_an_error():
    from harness.reproduction import frozen

    net = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 1))
    net[1].bias.requires_grad_(False)  # a parameter that was already fixed stays fixed afterwards
    with pytest.raises(RuntimeError):
        with frozen(net):
            assert not any(p.requires_grad for p in net.parameters())
            raise RuntimeError("boom")
    assert [p.requires_grad for p in net.parameters()] == [True, True, True, False]
    x = torch.ones(1, 2, requires_grad=True)
    with frozen(net):
        net(x).sum().backward()  # gradients reach the input, not the frozen weights
    assert x.grad is not None and all(p.grad is None for p in net.parameters())
