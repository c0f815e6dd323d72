"""The real-data floor: FID/KID (and IS) between two real splits at a protocol's sample counts.

No generator reaches a FID of 0: two finite samples of the *same* distribution already differ by
sampling noise, and that noise grows as the sample count shrinks (SNGAN's Table 2 prints it as its
"real data" row). `score_real` measures it like torch-fidelity's `fidelity --input1 --input2`: the
first N images of one split (e.g. MNIST test) against the first N of another (train), or a seeded
random N of each. Each side's features are cached, keyed by everything that decides them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from harness.data import Split, load_images
from harness.errors import GanBenchError
from harness.metrics.evaluate import Evaluator, Protocol, feature_metrics, load_cached_features
from harness.metrics.extractors import ExtractorSpec
from harness.storage import atomic_torch_save

SPLITS: tuple[Split, ...] = ("train", "test")
MIN_SAMPLES = 2  # a covariance (FID) and a KID subset need at least two images


@dataclass(frozen=True)
class RealFloor:
    """What `score-real` compared, and the metrics it got."""

    dataset: str
    split: str  # the held-out side, in the place of the generated samples
    against: str  # the protocol's real reference split
    samples: int  # images taken from each side
    selection: str  # "first" or "random (seed N)"
    protocol: Protocol
    metrics: dict[str, float]
    device: torch.device = torch.device("cpu")  # where the features were computed (the record's hardware)

    def record(self, command: str, wall_clock_s: float | None = None):
        """The floor as the runs directory stores it (harness.real_floor_record), with where and when it was measured."""
        from datetime import datetime, timezone

        from harness.provenance import device_description, git_commit
        from harness.real_floor_record import RealFloorRecord

        spec = self.protocol.extractor
        device = device_description(self.device)
        hardware = ", ".join(str(device[k]) for k in ("type", "name") if device.get(k))
        if "threads" in device:
            hardware += f", {device['threads']} thread{'s' if device['threads'] != 1 else ''}"
        code = git_commit()
        commit = code["commit"][:12] + ("+dirty" if code.get("dirty") else "")
        return RealFloorRecord(
            dataset=self.dataset, resolution=self.protocol.resolution, split=self.split, against=self.against,
            samples=self.samples, real_samples=self.protocol.real_samples, selection=self.selection,
            extractor_kind=spec.kind, extractor_sha256=spec.weights_sha256, extractor_label=spec.label,
            metrics=self.metrics, command=command,
            measured_at=datetime.now(timezone.utc).isoformat(timespec="seconds"), wall_clock_s=wall_clock_s,
            hardware=hardware, code_commit=commit)

    def to_dict(self) -> dict:
        return {"dataset": self.dataset, "split": self.split, "against": self.against, "samples": self.samples,
                "selection": self.selection, "protocol": self.protocol.to_dict(), "metrics": self.metrics}


def score_real(dataset: str, split: str, against: str, samples: int, extractor: ExtractorSpec,
               device: torch.device, data_root: Path | None = None, cache: Path | None = None,
               random_seed: int | None = None, real_samples: int | None = None) -> RealFloor:
    """The metrics of `samples` images of `split` against `real_samples` (default `samples`) of `against`.

    `random_seed` None takes the first `samples` images of each split (torch-fidelity's order);
    otherwise a random subset drawn with that seed, independently per split.
    """
    for name, value in (("--split", split), ("--against", against)):
        if value not in SPLITS:
            raise GanBenchError(f"{name} {value!r}: choose one of {', '.join(SPLITS)}")
    if split == against:
        raise GanBenchError(f"--split and --against are both {split!r}: the floor compares two different splits")
    real_samples = samples if real_samples is None else real_samples
    for name, value in (("--samples", samples), ("--real-samples", real_samples)):
        if value < MIN_SAMPLES:
            raise GanBenchError(f"{name} {value}: FID and KID need at least {MIN_SAMPLES} images per side")

    held_out = load_images(dataset, split, data_root)  # type: ignore[arg-type]
    reference = load_images(dataset, against, data_root)  # type: ignore[arg-type]
    for name, images, wanted in (("--samples", held_out, samples), ("--real-samples", reference, real_samples)):
        if len(images) < wanted:
            raise GanBenchError(f"{name} {wanted}: {dataset} {images.split} has only {len(images)} images")

    protocol = Protocol(dataset=dataset, resolution=held_out.info.resolution, num_samples=samples,
                        real_split=against, real_samples=real_samples, extractor=extractor)
    evaluator = Evaluator(protocol, device, data_root, cache)
    selection = "first" if random_seed is None else f"random (seed {random_seed})"
    fake = _cached_features(evaluator, held_out.images, dataset, split, samples, random_seed)
    real = _cached_features(evaluator, reference.images, dataset, against, real_samples, random_seed)
    return RealFloor(dataset, split, against, samples, selection, protocol, feature_metrics(fake, real, protocol), device)


def _cached_features(evaluator: Evaluator, images: torch.Tensor, dataset: str, split: str, samples: int,
                     random_seed: int | None) -> dict[str, torch.Tensor]:
    spec = evaluator.protocol.extractor
    chosen = "first" if random_seed is None else f"random{random_seed}"
    path = (evaluator.cache / "real-floor" /
            f"{dataset}-{split}-{images.shape[-1]}px-{samples}-{chosen}-{spec.kind}-{spec.weights_sha256[:16]}"
            f"-{'+'.join(evaluator.layers)}.pt")
    cached = load_cached_features(path)
    if cached is not None:
        return cached
    if random_seed is None:
        subset = images[:samples]
    else:
        subset = images[torch.randperm(len(images), generator=torch.Generator().manual_seed(random_seed))[:samples]]
    size = evaluator.batch_size
    features = evaluator.features(subset[i : i + size] for i in range(0, samples, size))
    atomic_torch_save(features, path)
    return features
