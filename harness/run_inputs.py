"""What a run trains on, decided before anything is written: the variant, a dataset of a kind the
reproduction supports, the DataSpec it sees, and its batch source (shuffled epochs over a dataset
held in memory, or fresh draws from a 2D mixture)."""

from __future__ import annotations

import torch

from harness.acceleration import Acceleration
from harness.batches import DeviceBatches
from harness.budget import Budget
from harness.data import DatasetInfo, dataset_info
from harness.errors import GanBenchError
from harness.points import FreshPoints, points_dataset
from harness.reproduction import DataSpec, Reproduction
from harness.schema import PaperEntry


def pick_variant(entry: PaperEntry, requested: str | None) -> str | None:
    spec = entry.reproduction
    variant = requested or spec.default_variant
    if variant is not None and variant not in spec.variants:
        known = ", ".join(spec.variants) or "none"
        raise GanBenchError(f"{entry.id} has no variant {variant!r}; variants: {known}")
    return variant


def check_data_kind(paper: str, cls: type[Reproduction], dataset: str) -> DatasetInfo:
    """Refuse a dataset of a kind the reproduction's networks are not built for (points vs images)."""
    info = dataset_info(dataset)
    if info.kind not in cls.data_kinds:
        raise GanBenchError(f"{paper} trains on {' or '.join(cls.data_kinds)}; {dataset} is {info.kind}")
    return info


def spec_of(info: DatasetInfo, resolution: int) -> DataSpec:
    return DataSpec(info.name, info.channels, resolution, info.num_classes, info.domains, info.kind)


def make_batches(train_set, budget: Budget, device: torch.device, seed: int, acceleration: Acceleration):
    if getattr(train_set, "fresh_draws", False):  # a mixture sampled anew for every batch (harness.points)
        return FreshPoints(train_set.mixture, budget.batch_size, device, seed)
    try:
        return DeviceBatches(train_set, budget.batch_size, device, seed=seed,
                             memory_format=acceleration.memory_format, on_device=acceleration.data_on_device)
    except ValueError as exc:  # a batch larger than the data (or than one of its domains)
        raise GanBenchError(str(exc)) from None


def scoring_line(protocol, where: str = "") -> str:
    """'scoring 1000 samples[ of RUN] with <extractor>' — or the test images a classifier's suite goes through."""
    from harness.metrics.suites import metric_suite

    what = metric_suite(protocol.metric).scored if getattr(protocol, "metric", None) else "samples"
    return f"scoring {protocol.num_samples} {what}{where} with {scored_with(protocol)}"


def scored_with(protocol) -> str:
    extractor = getattr(protocol, "extractor", None)
    return extractor.label if extractor is not None else f"{protocol.metric} (no feature extractor)"


def scatter_of(data: DataSpec, paper: str, budget: Budget) -> dict:
    """For a points run, the true modes samples.png is drawn over; nothing for images."""
    if data.kind != "points":
        return {}
    return {"modes": points_dataset(data.name).mixture.centers(), "title": f"{paper} · {data.name} · {budget.name}"}
