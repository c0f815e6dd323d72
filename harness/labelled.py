"""The semi-supervised protocol's data: a fixed labelled subset of the training split, and batches that
hide every other label.

`gan-bench run PAPER --labels N` (N labels in all, N / K per class, as the papers' MNIST tables count
them) picks the subset once, as a deterministic function of (dataset, N, seed): within each class a
seeded permutation of that class's training indices, its first N / K. The subset's indices are
written into the run directory (`labelled_indices.json`) and their sha256 recorded in the config and
result, so two runs with the same subset can be told from two with different ones (those are seeds of
one cell). The unlabelled stream is the whole training split, as openai/improved-gan's `trainx_unl`
(the labelled examples are in it too); every batch of it has labels -1, and carries `labelled`: a batch
of the subset, drawn from seeded permutations of it laid end to end (the subset tiled, as the code's
`txs[rng.permutation(...)]` per epoch), checkpointed with the unlabelled order so a resume is exact.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import torch

from harness.batches import Batch
from harness.errors import GanBenchError
from harness.safe_files import read_plain_bytes

INDICES_FILE = "labelled_indices.json"
MAX_INDICES_BYTES = 8 * 1024 * 1024  # 60,000 indices of 6 digits is under 0.5 MB
_SUBSET_SEED_OFFSET = 7_919  # the subset's stream is apart from the data order's and the networks'
_LABELLED_ORDER_OFFSET = 104_729


def check_label_count(n: int, num_classes: int, labels: torch.Tensor, what: str) -> None:
    """Refuse a label count that is not balanced over the classes, or more than the split has."""
    if num_classes < 2:
        raise GanBenchError(f"--labels: {what} has no classes to label")
    if n <= 0 or n % num_classes:
        raise GanBenchError(f"--labels {n}: must be a positive multiple of the {num_classes} classes of {what} "
                            f"(the same number of labels per class)")
    per_class = n // num_classes
    smallest = int(torch.bincount(labels.long(), minlength=num_classes).min())
    if per_class > smallest:
        raise GanBenchError(f"--labels {n}: {per_class} per class, but the smallest class of {what} has {smallest}")


def labelled_subset(labels: torch.Tensor, n: int, num_classes: int, seed: int) -> torch.Tensor:
    """The labelled indices (sorted, int64): per class, the first n / K of a seeded permutation of it."""
    generator = torch.Generator().manual_seed(seed + _SUBSET_SEED_OFFSET)
    per_class = n // num_classes
    chosen = []
    for k in range(num_classes):
        members = torch.nonzero(labels == k).flatten()
        chosen.append(members[torch.randperm(len(members), generator=generator)[:per_class]])
    return torch.cat(chosen).sort().values


def subset_sha256(indices: torch.Tensor) -> str:
    """The sha256 of the indices as written to labelled_indices.json's list (decimal, comma-separated)."""
    return hashlib.sha256(",".join(str(int(i)) for i in indices).encode()).hexdigest()


def write_indices(run_path: Path, indices: torch.Tensor, dataset: str, seed: int) -> None:
    from harness.storage import atomic_write_text

    record = {"dataset": dataset, "split": "train", "labels": len(indices), "seed": seed,
              "sha256": subset_sha256(indices), "indices": [int(i) for i in indices]}
    atomic_write_text(run_path / INDICES_FILE, json.dumps(record) + "\n")


def read_indices(run_path: Path) -> list[int]:
    """The indices a run recorded (bounded read, never through a symlink), checked against their sha256."""
    path = run_path / INDICES_FILE
    raw = read_plain_bytes(path, MAX_INDICES_BYTES)
    if raw is None:
        raise GanBenchError(f"{path}: missing, a symlink or larger than {MAX_INDICES_BYTES // 2**20} MiB")
    try:
        record = json.loads(raw.decode("utf-8"))
        indices = record["indices"]
        ok = isinstance(indices, list) and all(isinstance(i, int) and not isinstance(i, bool) and i >= 0 for i in indices)
    except (ValueError, UnicodeDecodeError, TypeError, KeyError, RecursionError):
        ok = False
    if not ok:
        raise GanBenchError(f"{path}: not a list of labelled indices")
    if subset_sha256(torch.tensor(indices, dtype=torch.long)) != record.get("sha256"):
        raise GanBenchError(f"{path}: the indices do not match their recorded sha256")
    return indices


class LabelledBatches:
    """Endless batches of the labelled subset: seeded permutations of it, end to end (tiled)."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, batch_size: int, device: torch.device, seed: int,
                 decode):
        self.images, self.labels = images.to(device), labels.to(device)
        self.batch_size, self.device, self._decode = batch_size, device, decode
        self._generator = torch.Generator().manual_seed(seed + _LABELLED_ORDER_OFFSET)
        self._order = torch.empty(0, dtype=torch.long)

    def next(self) -> Batch:
        while len(self._order) < self.batch_size:
            self._order = torch.cat([self._order, torch.randperm(len(self.labels), generator=self._generator)])
        index, self._order = self._order[: self.batch_size], self._order[self.batch_size :]
        index = index.to(self.device)
        return Batch(images=self._decode(self.images[index]), labels=self.labels[index])

    def state_dict(self) -> dict:
        return {"generator": self._generator.get_state(), "order": self._order.clone()}

    def load_state_dict(self, state: dict) -> None:
        self._generator.set_state(state["generator"])
        self._order = state["order"].to(torch.long)


class SemiSupervisedBatches:
    """The unlabelled stream (labels hidden: -1), each batch carrying a labelled batch of the subset."""

    def __init__(self, unlabelled, labelled: LabelledBatches):
        self.unlabelled, self.labelled = unlabelled, labelled
        self.batch_size = unlabelled.batch_size

    def __getattr__(self, name):  # epoch, device, images, ... of the unlabelled stream
        if name in ("unlabelled", "labelled"):
            raise AttributeError(name)
        return getattr(self.unlabelled, name)

    def next(self) -> Batch:
        batch = self.unlabelled.next()
        return Batch(images=batch.images, labels=torch.full_like(batch.labels, -1), domains=batch.domains,
                     labelled=self.labelled.next())

    def state_dict(self) -> dict:
        return {**self.unlabelled.state_dict(), "labelled": self.labelled.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        if "labelled" not in state:
            raise ValueError("checkpoint holds no labelled-batch order: it is not of a semi-supervised run")
        self.unlabelled.load_state_dict({k: v for k, v in state.items() if k != "labelled"})
        self.labelled.load_state_dict(state["labelled"])


def semi_supervised_batches(unlabelled, train_set, labels: int, seed: int, batch_size: int,
                            device: torch.device) -> tuple[SemiSupervisedBatches, torch.Tensor]:
    """The run's batches and its labelled indices (from the training split: `train_set`, an ImageSet)."""
    from harness.batches import to_unit_range

    info = train_set.info
    check_label_count(labels, info.num_classes, train_set.labels, f"the {info.name} train split")
    indices = labelled_subset(train_set.labels, labels, info.num_classes, seed)
    labelled = LabelledBatches(train_set.images[indices], train_set.labels[indices], batch_size, device, seed,
                               to_unit_range)
    return SemiSupervisedBatches(unlabelled, labelled), indices
