"""Dumoulin et al. / Donahue et al. 2016 (reproductions/ali.py): encoder, joint (x, z) D, one module for ALI and BiGAN."""

from __future__ import annotations

import pytest
import torch

from harness.batches import Batch
from harness.reproduction import DataSpec

from reproductions import ali
from tests.smoke_kit import assert_smoke_run, declared_datasets
from tests.reproduction_kit import MNIST, builder, changed, snapshot

GRID = DataSpec("grid25", 2, 1, 25, kind="points")
build = builder(ali.ALI)


def x(n: int = 16) -> torch.Tensor:
    return torch.randn(n, 2, generator=torch.Generator().manual_seed(2))


def test_the_encoders_gradient_flows_through_d_of_x_and_e_of_x():
    repro = build(GRID)
    data_preds, sample_preds = repro.predictions(x())
    # The (x, E(x)) term alone reaches E; the (G(z), z) term alone reaches G.
    e_grads = torch.autograd.grad(torch.nn.functional.softplus(data_preds).mean(), list(repro.E.parameters()),
                                  retain_graph=True)
    assert all(g.abs().sum() > 0 for g in e_grads)
    unused = torch.autograd.grad(torch.nn.functional.softplus(-sample_preds).mean(), list(repro.E.parameters()),
                                 allow_unused=True)
    assert all(g is None for g in unused)


def test_ali_encoder_is_stochastic_and_bigans_deterministic():
    ali_model, bigan_model = build(GRID), build(GRID, stochastic_encoder=False)
    assert ali_model.E[0].in_features == 4 and bigan_model.E[0].in_features == 2  # concat(x, ε) vs x
    for model, same in ((ali_model, False), (bigan_model, True)):
        model.E.eval()
        assert torch.equal(model.encode(x()), model.encode(x())) is same


def test_one_step_moves_generator_encoder_and_discriminator():
    for spec, overrides in ((GRID, {}), (MNIST, {"stochastic_encoder": False, "z_dim": 8, "g_hidden": 32,
                                                 "e_hidden": 32, "d_units": 16, "g_output": "tanh"})):
        repro = build(spec, **overrides)
        before = {name: snapshot(getattr(repro, name)) for name in ("G", "E", "D")}
        images = torch.rand(8, *spec.shape) * 2 - 1
        losses = repro.train_step([Batch(images, torch.zeros(8, dtype=torch.long))], 0)
        assert all(torch.isfinite(v) for v in losses.values())
        assert all(changed(before[name], getattr(repro, name)) for name in before)
        assert repro.sample(3).shape == (3, *spec.shape)


@pytest.mark.slow
@pytest.mark.parametrize("dataset", declared_datasets("ali"))
def test_smoke_run_on_every_declared_dataset(dataset, cli, tmp_path):
    # Image datasets train through the whole pipeline but skip scoring (the Stacked MNIST classifier
    # and FID are tested with their metrics); points are scored with the 2D mode metrics.
    extra = ("--no-eval",) if dataset.startswith("stacked") or dataset == "mnist" else ()
    data = assert_smoke_run(cli, tmp_path, "ali", dataset, *extra)
    if not extra:
        assert {"modes", "high_quality", "reverse_kl"} <= set(data["scores"][0]["metrics"])


@pytest.mark.slow
@pytest.mark.parametrize("dataset", declared_datasets("bigan"))
def test_bigan_smoke_run_on_every_declared_dataset(dataset, cli, tmp_path):
    extra = ("--no-eval",) if dataset == "mnist" else ()
    assert_smoke_run(cli, tmp_path, "bigan", dataset, *extra)
