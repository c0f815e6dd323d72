"""On-device batching: the whole uint8 dataset lives on the training device and batches are drawn there.

An epoch is a random permutation drawn from a seeded generator; the position in it and the
generator's state are part of the checkpoint, so a resumed run sees the same data order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch

if TYPE_CHECKING:  # harness.data imports harness.points, which builds Batches
    from harness.data import ImageSet
    from harness.points import PointSet


@dataclass
class Batch:
    """Real data for one discriminator step: images in [-1, 1] (N, C, H, W) and integer labels (N,).

    On a points dataset `images` holds the points, float (N, 2) in the data's own coordinates, and
    `labels` the mixture mode each was drawn from (`points` is the same tensor, by its 2D name).
    """

    images: torch.Tensor
    labels: torch.Tensor
    # On a two-domain dataset: the number of domains, whose equal-sized blocks follow each other
    # (all of A, then all of B); `labels` then hold domain indices. 0 for an ordinary dataset.
    domains: int = 0
    # In a semi-supervised run (`--labels N`, harness.labelled): this batch's `labels` are all -1 (the
    # unlabelled stream never reveals them) and `labelled` holds a batch (images, labels) of the fixed
    # labelled subset. None in an ordinary run.
    labelled: "Batch | None" = None

    def __len__(self) -> int:
        return self.images.shape[0]

    @property
    def points(self) -> torch.Tensor:
        return self.images

    def domain(self, index: int) -> torch.Tensor:
        """The images of one domain of a two-domain batch (a slice: no device sync)."""
        if self.domains:
            return self.images.chunk(self.domains)[index]
        return self.images[self.labels == index]  # a batch built by hand, e.g. in a test


def to_unit_range(images_uint8: torch.Tensor) -> torch.Tensor:
    """uint8 [0, 255] -> float [-1, 1], the range every generator here ends in (tanh)."""
    return images_uint8.float().div_(127.5).sub_(1.0)


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """float [-1, 1] -> uint8 [0, 255], rounding as torchvision's save_image does."""
    return images.add(1.0).mul_(127.5).add_(0.5).clamp_(0, 255).to(torch.uint8)


class DeviceBatches:
    """Endless shuffled batches of a dataset held on `device`; drops the ragged end of each epoch.

    A fixed points set (PointSet) batches the same way; its float points are used as they are.

    On a two-domain dataset each batch holds `batch_size` images of every domain (A first, then B),
    each domain shuffled on its own, so a paired-up step never starves one side.
    """

    def __init__(self, data: ImageSet | PointSet, batch_size: int, device: torch.device, seed: int,
                 memory_format: torch.memory_format = torch.contiguous_format, on_device: bool = True):
        home = device if on_device else torch.device("cpu")
        domains = range(len(data.info.domains)) if data.info.domains else [None]
        self._members = [torch.arange(len(data)) if d is None else torch.nonzero(data.labels == d).flatten()
                         for d in domains]
        smallest = min(len(m) for m in self._members)
        if batch_size > smallest:
            what = f"the {data.info.name} {data.split} set" + (" (per domain)" if data.info.domains else "")
            raise ValueError(f"batch size {batch_size} is larger than {what}: {smallest} images")
        points = data.info.kind == "points"
        self.memory_format = torch.contiguous_format if points else memory_format
        self._decode = (lambda x: x) if points else to_unit_range
        self.images = (data.points if points else data.images).to(home).contiguous(memory_format=self.memory_format)
        self.labels = data.labels.to(home)
        if not on_device and device.type == "cuda":  # pinned pages make the per-batch copy asynchronous
            self.images, self.labels = self.images.pin_memory(), self.labels.pin_memory()
        self._members = [m.to(home) for m in self._members]
        self.batch_size = batch_size
        self.device = device
        self._generator = torch.Generator().manual_seed(seed)
        self._orders = [torch.empty(0, dtype=torch.long) for _ in self._members]
        self._positions = [0 for _ in self._members]
        self.epoch = 0  # epochs of the first (or only) domain

    def _new_epoch(self, group: int) -> None:
        members = self._members[group]
        permutation = torch.randperm(len(members), generator=self._generator).to(members.device)
        self._orders[group] = members[permutation]
        self._positions[group] = 0
        if group == 0:
            self.epoch += 1

    def _take(self, group: int) -> torch.Tensor:
        if self._positions[group] + self.batch_size > len(self._orders[group]):
            self._new_epoch(group)
        start = self._positions[group]
        self._positions[group] += self.batch_size
        return self._orders[group][start : start + self.batch_size]

    def next(self) -> Batch:
        index = torch.cat([self._take(group) for group in range(len(self._members))])
        images = self.images[index].to(self.device, non_blocking=True)
        images = self._decode(images).contiguous(memory_format=self.memory_format)
        return Batch(images=images, labels=self.labels[index].to(self.device, non_blocking=True),
                     domains=len(self._members) if len(self._members) > 1 else 0)

    def state_dict(self) -> dict:
        state = {"generator": self._generator.get_state(), "epoch": self.epoch}
        if len(self._members) == 1:  # the one-domain layout of every existing checkpoint
            return {**state, "order": self._orders[0].cpu(), "position": self._positions[0]}
        return {**state, "orders": [o.cpu() for o in self._orders], "positions": list(self._positions)}

    def load_state_dict(self, state: dict) -> None:
        self._generator.set_state(state["generator"])
        orders = state["orders"] if "orders" in state else [state["order"]]
        positions = state["positions"] if "positions" in state else [state["position"]]
        if len(orders) != len(self._members):
            raise ValueError(f"checkpoint holds data order for {len(orders)} domains, the dataset has {len(self._members)}")
        self._orders = [o.to(self.images.device) for o in orders]
        self._positions = [int(p) for p in positions]
        self.epoch = int(state["epoch"])
