"""Shared pieces of the per-paper unit tests: tiny data specs, random batches, parameter snapshots."""

from __future__ import annotations

from typing import Callable, Iterator

import torch
from torch import nn

from harness.batches import Batch
from harness.reproduction import DataSpec, Reproduction, resolve_hyperparameters

MNIST = DataSpec("mnist", 1, 28, 10)
CIFAR = DataSpec("cifar10", 3, 32, 10)
SPECS = [MNIST, CIFAR]  # both native sizes: 28 px (G starts at 7x7) and 32 px (4x4)
CPU = torch.device("cpu")


def builder(cls: type[Reproduction], **defaults) -> Callable[..., Reproduction]:
    """build(spec, seed=0, **hyperparameter overrides) -> a seeded reproduction on the CPU, with
    `defaults` (e.g. a paper's tiny widths) under the overrides."""

    def build(spec: DataSpec, seed: int = 0, **overrides) -> Reproduction:
        torch.manual_seed(seed)
        return cls(spec, resolve_hyperparameters(cls, {**defaults, **overrides}), CPU)

    return build


def batch(spec: DataSpec, n: int = 8, seed: int = 1, labelled: bool = False) -> Batch:
    """n images uniform in [-1, 1]; labels uniform over the spec's classes if `labelled`, else all 0."""
    g = torch.Generator().manual_seed(seed)
    images = torch.rand(n, spec.channels, spec.resolution, spec.resolution, generator=g) * 2 - 1
    labels = torch.randint(0, spec.num_classes, (n,), generator=g) if labelled else torch.zeros(n, dtype=torch.long)
    return Batch(images=images, labels=labels)


def snapshot(net: nn.Module) -> list[torch.Tensor]:
    return [p.detach().clone() for p in net.parameters()]


def changed(before: list[torch.Tensor], net: nn.Module) -> bool:
    return any(not torch.equal(b, p) for b, p in zip(before, net.parameters()))


def record_updates(repro: Reproduction, *nets: nn.Module) -> list[tuple]:
    """Wrap `repro.update` so that each optimiser step appends (optimizer, snapshot of each of `nets`) taken
    just before the step, then steps: which player moved in which phase of one `train_step`."""
    calls: list[tuple] = []
    original = repro.update

    def spy(optimizer, loss):
        calls.append((optimizer, *(snapshot(net) for net in nets)))
        original(optimizer, loss)

    repro.update = spy
    return calls


def real_mnist_batches(data_root, n: int = 64, seed: int = 0) -> Iterator[Batch]:
    """An endless stream of labelled MNIST minibatches in [-1, 1] (the fixture's blobs without ../shared/data)."""
    from harness.data import load_images

    mnist = load_images("mnist", root=data_root, download=False)
    images = mnist.images.float() / 127.5 - 1
    generator = torch.Generator().manual_seed(seed)
    while True:
        index = torch.randint(0, len(images), (n,), generator=generator)
        yield Batch(images[index], mnist.labels[index])


def assert_trains_finite_on_mnist(repro: Reproduction, data_root, steps: int, n: int = 64,
                                  labelled: Batch | None = None) -> None:
    """`steps` training steps on real MNIST batches of `n` leave every loss and every D weight finite; with
    `labelled`, each batch carries it as a semi-supervised run's batches do (`Batch.labelled`)."""
    repro.train(True)
    stream = real_mnist_batches(data_root, n=n)
    for step in range(steps):
        real = next(stream)
        real.labelled = labelled
        losses = repro.train_step([real], step)
    assert all(torch.isfinite(v) for v in losses.values()), losses
    assert all(torch.isfinite(p).all() for p in repro.D.parameters())
