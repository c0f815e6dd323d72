"""On-device batching: the whole uint8 dataset lives on the training device and batches are drawn there.

An epoch is a random permutation drawn from a seeded generator; the position in it and the
generator's state are part of the checkpoint, so a resumed run sees the same data order.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from harness.data import ImageSet


@dataclass
class Batch:
    """Real data for one discriminator step: images in [-1, 1] (N, C, H, W) and integer labels (N,)."""

    images: torch.Tensor
    labels: torch.Tensor

    def __len__(self) -> int:
        return self.images.shape[0]


def to_unit_range(images_uint8: torch.Tensor) -> torch.Tensor:
    """uint8 [0, 255] -> float [-1, 1], the range every generator here ends in (tanh)."""
    return images_uint8.float().div_(127.5).sub_(1.0)


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """float [-1, 1] -> uint8 [0, 255], rounding as torchvision's save_image does."""
    return images.add(1.0).mul_(127.5).add_(0.5).clamp_(0, 255).to(torch.uint8)


class DeviceBatches:
    """Endless shuffled batches of a dataset held on `device`; drops the ragged end of each epoch."""

    def __init__(self, data: ImageSet, batch_size: int, device: torch.device, seed: int,
                 memory_format: torch.memory_format = torch.contiguous_format, on_device: bool = True):
        if batch_size > len(data):
            raise ValueError(f"batch size {batch_size} is larger than the dataset ({len(data)} images)")
        self.memory_format = memory_format
        home = device if on_device else torch.device("cpu")
        self.images = data.images.to(home).contiguous(memory_format=memory_format)
        self.labels = data.labels.to(home)
        if not on_device and device.type == "cuda":  # pinned pages make the per-batch copy asynchronous
            self.images, self.labels = self.images.pin_memory(), self.labels.pin_memory()
        self.batch_size = batch_size
        self.device = device
        self._generator = torch.Generator().manual_seed(seed)
        self._order = torch.empty(0, dtype=torch.long)
        self._position = 0
        self.epoch = 0

    def _new_epoch(self) -> None:
        self._order = torch.randperm(len(self.images), generator=self._generator).to(self.images.device)
        self._position = 0
        self.epoch += 1

    def next(self) -> Batch:
        if self._position + self.batch_size > len(self._order):
            self._new_epoch()
        index = self._order[self._position : self._position + self.batch_size]
        self._position += self.batch_size
        images = self.images[index].to(self.device, non_blocking=True)
        images = to_unit_range(images).contiguous(memory_format=self.memory_format)
        return Batch(images=images, labels=self.labels[index].to(self.device, non_blocking=True))

    def state_dict(self) -> dict:
        return {
            "generator": self._generator.get_state(),
            "order": self._order.cpu(),
            "position": self._position,
            "epoch": self.epoch,
        }

    def load_state_dict(self, state: dict) -> None:
        self._generator.set_state(state["generator"])
        self._order = state["order"].to(self.images.device)
        self._position = int(state["position"])
        self.epoch = int(state["epoch"])
