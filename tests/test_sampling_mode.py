"""Each reproduction samples for scoring the way it declares (`Reproduction.sampling`), and sampling
never changes the model: batch statistics or running statistics as the paper's reference code uses,
then every buffer and every module's train/eval mode back as they were."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from harness.data import dataset_info
from harness.experiment import configure, instantiate
from harness.registry import load_registry
from harness.reproduction import DataSpec, Reproduction, batch_statistics, evaluating

REGISTRY = load_registry()
SAMPLED = sorted(entry.id for entry in REGISTRY.implemented())
# Their reference code samples in train mode: pytorch/examples and dcgan.torch (DCGAN, and IcGAN built on it),
# WassersteinGAN, improved_wgan_training, BigGAN-PyTorch's CIFAR scripts, openai/improved-gan
# (deterministic=False), AM-GAN's batch_norm (no moving average), GRAN's get_samples (testF=False),
# lr-gan.pytorch's train.py (netG in training mode).
BATCH_STATISTICS_PAPERS = {"dcgan", "wgan", "wgan-gp", "biggan", "icgan", "salimans2016-improved-techniques", "am-gan",
                           "gran", "lr-gan"}


def build(paper: str) -> Reproduction:
    entry = REGISTRY.get(paper)
    dataset = entry.reproduction.dataset
    cls, hp, resolution = configure(entry, dataset)
    info = dataset_info(dataset)
    # A semi-supervised paper is built as its default `--labels` run builds it (Triple-GAN refuses to be built without).
    spec = DataSpec(dataset, info.channels, resolution, info.num_classes or 10, info.domains,
                    labels=entry.reproduction.labels_for(dataset))
    torch.manual_seed(0)
    return instantiate(cls, hp, spec, torch.device("cpu"), paper)


def norm_modes_seen_while_sampling(repro: Reproduction) -> list[bool]:
    """`training` of every batchnorm layer each time one runs inside `repro.sample`."""
    seen: list[bool] = []
    hooks = [m.register_forward_pre_hook(lambda m, args: seen.append(m.training))
             for net in repro.networks().values() for m in net.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    try:
        labels = torch.zeros(6, dtype=torch.long) if repro.conditional else None
        repro.sample(6, labels=labels, generator=torch.Generator().manual_seed(1))
    finally:
        for hook in hooks:
            hook.remove()
    return seen


@pytest.mark.parametrize("paper", SAMPLED)
def test_sample_uses_the_declared_statistics_and_leaves_the_model_as_it_was(paper):
    repro = build(paper)
    if repro.translates:
        pytest.skip(f"{paper} translates real images; it has no sample()")
    repro.train(True)
    before = {name: {k: v.clone() for k, v in net.state_dict().items()} for name, net in repro.networks().items()}
    modes_before = {name: [m.training for m in net.modules()] for name, net in repro.networks().items()}

    seen = norm_modes_seen_while_sampling(repro)

    expected = "batch-stats" if paper in BATCH_STATISTICS_PAPERS else "running-stats"
    assert type(repro).sampling == expected
    if expected == "batch-stats":
        assert seen and all(seen), f"{paper} must normalise each scoring batch by its own statistics"
    else:
        assert not any(seen), f"{paper} must sample from running statistics"
    for name, net in repro.networks().items():
        assert [m.training for m in net.modules()] == modes_before[name], f"{name}'s train/eval modes changed"
        for key, value in net.state_dict().items():
            assert torch.equal(value, before[name][key]), f"sampling changed {name}.{key}"


def test_batch_statistics_restores_running_stats_and_modes():
    net = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4)).eval()
    running = net[1].running_mean.clone()
    with batch_statistics(net):
        assert net.training and net[1].training
        out = net(torch.randn(8, 3) * 5 + 3)
    # batch statistics: the output of a batch is normalised to mean 0 per feature
    assert torch.allclose(out.mean(0), net[1].bias.detach(), atol=1e-5)
    assert not net.training
    assert torch.equal(net[1].running_mean, running)
    assert int(net[1].num_batches_tracked) == 0


def test_evaluating_uses_running_stats():
    net = nn.Sequential(nn.BatchNorm1d(2)).train()
    with evaluating(net):
        assert not net[0].training
        x = torch.randn(5, 2) + 10
        assert torch.allclose(net(x), x / torch.sqrt(torch.tensor(1 + net[0].eps)), atol=1e-5)
    assert net[0].training
