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
