"""Srivastava et al. 2017 (reproductions/veegan.py): the reconstructor, the joint D and Algorithm 1's objective."""

from __future__ import annotations

import pytest
import torch

from harness.batches import Batch
from harness.reproduction import DataSpec

from reproductions import veegan
from tests.smoke_kit import assert_smoke_run, declared_datasets
from tests.reproduction_kit import builder, changed, snapshot

GRID = DataSpec("grid25", 2, 1, 25, kind="points")
build = builder(veegan.VEEGAN)


def batch(n: int = 32) -> list[Batch]:
    return [Batch(torch.randn(n, 2, generator=torch.Generator().manual_seed(3)), torch.zeros(n, dtype=torch.long))]


def test_reconstruction_term_on_a_known_case():
    # d(z, F(x_g)) = ||z - F(x_g)||^2 / 2 summed over z's dimensions, averaged over the batch.
    z = torch.tensor([[1.0, 2.0], [0.0, 0.0]])
    reconstructed = torch.tensor([[1.0, 0.0], [3.0, 4.0]])
    assert veegan.reconstruction_loss(z, reconstructed).item() == pytest.approx((0.5 * 4 + 0.5 * 25) / 2)

    # F with zero weights and bias b reconstructs every x_g as b: the loss is E||z - b||^2 / 2.
    repro = build(GRID, z_dim=3, eps_dim=1)
    with torch.no_grad():
        for p in repro.F.parameters():
            p.zero_()
        repro.F[-1].bias.copy_(torch.tensor([1.0, -1.0, 0.5]))
    torch.manual_seed(5)
    losses = repro.losses(batch()[0].images)
    torch.manual_seed(5)
    z = repro.noise(32)
    expected = 0.5 * (z - torch.tensor([1.0, -1.0, 0.5])).pow(2).sum(1).mean()
    assert losses["reconstruction"].item() == pytest.approx(expected.item(), rel=1e-6)


def test_nets_and_the_joint_discriminator_shapes():
    repro = build(GRID)
    assert repro.F[0].in_features == 2 and repro.F[-1].out_features == 254  # F: x -> z
    assert repro.G[0].in_features == 254 + 1  # z and the extra noise ε
    assert repro.D.net[0].in_features == 2 + 254  # D(z, x) on the concatenation
    assert repro.sample(7).shape == (7, 2)


def test_gradients_follow_algorithm_1():
    repro = build(GRID)
    torch.manual_seed(0)
    losses = repro.losses(batch()[0].images)
    # Line 9: F's gradient is the reconstruction term's alone (the O_LR term never reaches θ).
    f_params = list(repro.F.parameters())
    from_objective = torch.autograd.grad(losses["loss_g"], f_params, retain_graph=True, allow_unused=True)
    from_reconstruction = torch.autograd.grad(losses["reconstruction"], f_params, retain_graph=True)
    for a, b in zip(from_objective, from_reconstruction):
        torch.testing.assert_close(a, b)
    # Line 7: the generated pair is D's positive class: O_LR = softplus(-D(z, x_g)) + softplus(D(z_g, x)).
    expected = torch.nn.functional.softplus(-losses["d_generated"]).mean() + torch.nn.functional.softplus(losses["d_data"]).mean()
    torch.testing.assert_close(losses["loss_d"], expected)
    # Line 11: G's objective is the ratio estimate plus the reconstruction.
    torch.testing.assert_close(losses["loss_g"], losses["d_generated"].mean() + losses["reconstruction"])


def test_one_step_updates_generator_reconstructor_and_discriminator():
    repro = build(GRID)
    before = {name: snapshot(getattr(repro, name)) for name in ("G", "F", "D")}
    losses = repro.train_step(batch(), 0)
    assert all(torch.isfinite(v) for v in losses.values())
    assert all(changed(before[name], getattr(repro, name)) for name in before)


@pytest.mark.slow
@pytest.mark.parametrize("dataset", declared_datasets("veegan"))
def test_smoke_run_on_every_declared_dataset(dataset, cli, tmp_path):
    # Image datasets train through the whole pipeline but skip scoring (the Stacked MNIST classifier
    # and FID are tested with their metrics); points are scored with the 2D mode metrics.
    extra = ("--no-eval",) if dataset.startswith("stacked") or dataset == "mnist" else ()
    data = assert_smoke_run(cli, tmp_path, "veegan", dataset, *extra)
    if not extra:
        assert {"modes", "high_quality", "reverse_kl"} <= set(data["scores"][0]["metrics"])
