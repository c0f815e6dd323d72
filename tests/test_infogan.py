"""Chen et al. 2016 (reproductions/infogan.py): appendix C.1 nets, one step trains G and D/Q, the bound L_I."""

from __future__ import annotations

import math

import pytest
import torch

from reproductions import infogan
from tests.reproduction_kit import SPECS, batch, builder


build = builder(infogan.InfoGAN)


def gaussian_log_density(x: float, mean: float, std: float) -> float:
    return -0.5 * math.log(2 * math.pi) - math.log(std) - (x - mean) ** 2 / (2 * std**2)


@pytest.mark.parametrize("data", SPECS, ids=lambda d: d.name)
def test_shapes_follow_the_dataspec(data):
    repro = build(data)
    assert repro.G.fc[0].in_features == 74  # 62 noise + 10-way categorical + 2 continuous codes
    images = repro.sample(8)
    assert images.shape == (8, data.channels, data.resolution, data.resolution)
    assert images.min() >= -1 and images.max() <= 1
    d_logit, q = repro.D(images)
    assert d_logit.shape == (8,) and q.shape == (8, 10 + 2)  # σ fixed at 1: Q gives logits and means


@pytest.mark.parametrize("data", SPECS, ids=lambda d: d.name)
def test_one_train_step_changes_g_d_and_q(data):
    repro = build(data)
    repro.train(True)
    before = {name: [p.detach().clone() for p in net.parameters()] for name, net in (("G", repro.G), ("D", repro.D))}
    losses = repro.train_step([batch(data, labelled=True)], step=0)
    assert all(torch.isfinite(v) for v in losses.values())
    for name, net in (("G", repro.G), ("D", repro.D)):  # D includes Q's head
        assert all(not torch.equal(a, b) for a, b in zip(before[name], net.parameters())), name
    assert repro.opt_D.param_groups[0]["lr"] == 2e-4 and repro.opt_G.param_groups[0]["lr"] == 1e-3


def test_info_lower_bound_matches_a_hand_computation():
    # Two samples, a 2-way categorical code and one continuous code.
    logits = torch.tensor([[0.0, 0.0], [math.log(3.0), 0.0]])  # Q(c₁|x): (1/2, 1/2) and (3/4, 1/4)
    cat = torch.tensor([0, 1])
    mean, cont = torch.tensor([[0.5], [-0.5]]), torch.tensor([[0.5], [0.5]])
    log_std = torch.zeros(2, 1)
    expected = 0.5 * ((math.log(1 / 2) + gaussian_log_density(0.5, 0.5, 1.0))
                      + (math.log(1 / 4) + gaussian_log_density(0.5, -0.5, 1.0)))
    expected += math.log(2) + math.log(2)  # H(c) = log K + log 2 for one U(-1, 1) code
    assert infogan.info_lower_bound(logits, cat, mean, log_std, cont).item() == pytest.approx(expected, abs=1e-6)

    # A learned σ enters the factored Gaussian: σ = 2.
    log_std2 = torch.full((2, 1), math.log(2.0))
    expected2 = 0.5 * ((math.log(1 / 2) + gaussian_log_density(0.5, 0.5, 2.0))
                       + (math.log(1 / 4) + gaussian_log_density(0.5, -0.5, 2.0))) + 2 * math.log(2)
    assert infogan.info_lower_bound(logits, cat, mean, log_std2, cont).item() == pytest.approx(expected2, abs=1e-6)


def test_the_categorical_part_is_a_lower_bound_that_tightens_as_q_improves():
    cat = torch.tensor([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
    no_cont = torch.zeros(10, 0)
    bound = lambda logits: infogan.info_lower_bound(logits, cat, no_cont, no_cont, no_cont).item()  # noqa: E731
    uninformed = bound(torch.zeros(10, 10))  # Q ignores x: E log Q = -log 10, so L_I = 0
    better = bound(torch.eye(10) * 3.0)
    perfect = bound(torch.eye(10) * 50.0)
    assert uninformed == pytest.approx(0.0, abs=1e-6)
    assert uninformed < better < perfect <= math.log(10) + 1e-6
    assert perfect == pytest.approx(math.log(10), abs=1e-4)  # = H(c): the bound is tight


def test_info_term_reaches_g_and_q_and_codes_change_the_image():
    repro = build(SPECS[0])
    repro.train(True)
    z, cat, cont = repro.codes(8)
    _, q = repro.D(repro.generate(z, cat, cont))
    loss, lower_bound = repro.info_loss(q, cat, cont)
    assert loss.item() == pytest.approx(-lower_bound.item())  # λ = 1
    loss.backward()
    assert repro.G.fc[0].weight.grad.abs().sum() > 0 and repro.D.q_head[-1].weight.grad.abs().sum() > 0
    assert repro.D.d_head.weight.grad is None  # L_I does not touch D's real/fake output

    repro.G.eval()
    with torch.no_grad():
        a = repro.generate(z, torch.full((8,), 2), cont)
        b = repro.generate(z, torch.full((8,), 5), cont)
        c = repro.generate(z, cat, cont + 0.5)
    assert (a - b).abs().amax(dim=(1, 2, 3)).min() > 0 and (repro.generate(z, cat, cont) - c).abs().amax() > 0
