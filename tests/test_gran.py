"""Im et al. 2016 (reproductions/gran.py): the recurrent canvas generator, x = σ(Σ_t ΔC_t) with
ΔC_t = g([h_z, f(ΔC_{t-1})]), and the code's DCGAN-style D with L2 weight decay."""

from __future__ import annotations

import pytest
import torch

from reproductions import gran
from tests.reproduction_kit import MNIST, SPECS, batch, builder, changed, snapshot

build = builder(gran.GRAN, g_width=8, d_width=2, d_hidden=8, canvas_steps=3)


def test_the_canvas_is_the_sigmoid_of_the_summed_increments_on_minus_one_to_one():
    deltas = [torch.tensor([[1.0, -2.0]]), torch.tensor([[0.5, 0.0]]), torch.tensor([[-1.5, 3.0]])]
    expected = 2 * torch.sigmoid(torch.tensor([[0.0, 1.0]])) - 1
    assert torch.allclose(gran.canvas(deltas), expected)
    assert torch.allclose(gran.canvas(deltas[:1]), 2 * torch.sigmoid(deltas[0]) - 1)


@pytest.mark.parametrize("data", SPECS, ids=lambda d: d.name)
def test_g_writes_t_increments_and_returns_their_canvas(data):
    repro = build(data)
    repro.G.eval()
    z = repro.noise(4)
    deltas = repro.G.increments(z)
    assert len(deltas) == 3 and all(d.shape == (4, data.channels, data.resolution, data.resolution) for d in deltas)
    assert torch.allclose(repro.G(z), gran.canvas(deltas))
    assert repro.sample(4).shape == (4, data.channels, data.resolution, data.resolution)
    assert repro.D(repro.sample(4)).shape == (4,)


def test_each_step_reads_the_previous_increment_through_f():
    repro = build(MNIST, canvas_steps=2)
    repro.G.eval()
    z = repro.noise(3)
    first, second = repro.G.increments(z)
    h_z = repro.G.noise_code(z)
    assert torch.allclose(first, repro.G.g(torch.cat([h_z, torch.zeros_like(h_z)], dim=1)))  # h_c,1 = 0
    assert torch.allclose(second, repro.G.g(torch.cat([h_z, repro.G.f(first)], dim=1)), atol=1e-6)
    assert not torch.allclose(first, second)  # the feedback changes what the same z writes


def test_d_loss_adds_half_the_squared_weights_times_lambda():
    repro = build(MNIST, weight_decay=0.0)
    decay = repro.d_weight_decay()
    weights = [m.weight for m in repro.D.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
    assert decay.detach().item() == pytest.approx(0.5 * sum(float(w.pow(2).sum()) for w in weights), rel=1e-5)
    assert len(weights) == 4  # two convs, the tanh layer and the output


def test_one_step_trains_both_players_at_their_own_rates():
    repro = build(MNIST)
    assert repro.opt_D.param_groups[0]["lr"] == 4e-5 and repro.opt_G.param_groups[0]["lr"] == 1e-4
    repro.train(True)
    g, d, f = snapshot(repro.G), snapshot(repro.D), snapshot(repro.G.f)
    losses = repro.train_step([batch(MNIST)], 0)
    assert all(torch.isfinite(v) for v in losses.values())
    assert changed(g, repro.G) and changed(d, repro.D)
    assert changed(f, repro.G.f)  # the encoder of the feedback loop is trained through the canvas
