"""Score a generator: stream its samples through the extractor, compare with cached real features.

Generated images go straight from `Reproduction.sample` to the feature extractor in batches (no PNG
round trip). Real-data features are computed once per (dataset, split, resolution, sample count,
extractor) and cached on disk, so a warm evaluation spends no time on real data. The metric
formulas are torch-fidelity's (FID: `fid_statistics_to_metric`, KID: `kid_features_to_metric`,
IS: `isc_features_to_metric`).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Iterator

import torch

from harness.batches import to_uint8
from harness.data import ImageSet, load_images
from harness.metrics.extractors import FID_LAYER, IS_LAYER, ExtractorSpec, build_extractor
from harness.metrics.suites import IS_SPLITS
from harness.progress import meter
from harness.storage import atomic_torch_save

CACHE_ENV = "GAN_BENCH_CACHE"
REAL_SUBSET_SEED = 0  # the same real images for every run, so every run shares one set of statistics
KID_SUBSETS = 100
KID_MAX_SUBSET_SIZE = 1000
# Images per Inception forward pass on a CPU. Inception's activations for 100 images at 299 px are
# hundreds of MB per layer, far above glibc's mmap threshold, so every layer's output is a fresh mmap
# and the process spends a third of its time in page faults (measured: 1.3 img/s at 100 per pass vs
# 1.7 at 20, one thread, load 3). The sampling batch is unchanged (batch-statistics generators sample
# at the protocol's batch); only the extractor sees smaller pieces. GPUs take the whole batch.
CPU_EXTRACTION_CHUNK = 20


def cache_dir(given: str | os.PathLike | None = None) -> Path:
    return Path(given or os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "gan-bench").expanduser()


@dataclass(frozen=True)
class Protocol:
    """How a score is measured. Scores are comparable only when every field is equal."""

    dataset: str
    resolution: int
    num_samples: int
    real_split: str
    real_samples: int
    extractor: ExtractorSpec
    # Two-domain datasets are scored per domain: the real images are that domain's only.
    domain: str | None = None
    # "generation": samples from noise. "translation": the other domain's test images, translated into
    # `domain` — an image-to-image score, never in the same table as generation.
    task: str = "generation"

    def to_dict(self) -> dict:
        fields = asdict(self)
        for name, default in (("domain", None), ("task", "generation")):  # absent = the plain protocol
            if fields[name] == default:
                del fields[name]
        return {**fields, "extractor": self.extractor.to_dict(), "kid_subsets": KID_SUBSETS,
                "kid_subset_size": self.kid_subset_size, "is_splits": IS_SPLITS}

    @property
    def kid_subset_size(self) -> int:
        """1000 as in the KID paper, but at most half the samples: subsets as large as the whole set
        would all be the same set, and KID's std over subsets would read as a spurious 0."""
        return min(KID_MAX_SUBSET_SIZE, max(2, min(self.num_samples, self.real_samples) // 2))


class Evaluator:
    """Scores reproductions under one protocol; holds the extractor and the real features in memory."""

    def __init__(self, protocol: Protocol, device: torch.device, data_root: Path | None = None,
                 cache: Path | None = None, batch_size: int = 100, real: ImageSet | None = None):
        self.device = device
        self.data_root = data_root
        self.cache = cache_dir(cache)
        self.batch_size = batch_size
        self._domain = protocol.domain
        self._real = real if real is not None and real.split == protocol.real_split else None
        if self._real is not None:
            self._real = self._of_domain(self._real)
        self._extractor = None
        self._real_features: dict[str, torch.Tensor] | None = None
        self.real_cache_hit = False
        # The real sample count cannot exceed the split; record what was actually used.
        available = len(self._real) if self._real is not None else None
        if available is not None and protocol.real_samples > available:
            protocol = Protocol(**{**protocol.__dict__, "real_samples": available})
        self.protocol = protocol

    def _of_domain(self, images: ImageSet) -> ImageSet:
        """The protocol's domain of a two-domain set (labels are domain indices); any other set as is."""
        if self._domain is None:
            return images
        index = images.info.domains.index(self._domain)
        keep = images.labels == index
        return ImageSet(images.info, images.split, images.images[keep], images.labels[keep])

    @property
    def layers(self) -> list[str]:
        return [FID_LAYER, IS_LAYER] if self.protocol.extractor.provides_is else [FID_LAYER]

    @property
    def extractor(self):
        if self._extractor is None:
            self._extractor = build_extractor(self.protocol.extractor, self.device)
        return self._extractor

    # -- features ------------------------------------------------------------------------------------
    def features(self, batches: Iterator[torch.Tensor], label: str = "features",
                 total: int | None = None) -> dict[str, torch.Tensor]:
        """Features of uint8 image batches (N, C, H, W); grayscale is repeated to three channels.
        `label` and `total` (images) are for the live progress display."""
        collected: dict[str, list[torch.Tensor]] = {layer: [] for layer in self.layers}
        with torch.no_grad(), meter(label, total) as live:
            for images in batches:
                if images.shape[1] == 1:
                    images = images.expand(-1, 3, -1, -1)
                for piece in self._extraction_pieces(images):
                    outputs = self.extractor(piece.to(self.device))
                    for layer, value in zip(self.layers, outputs):
                        collected[layer].append(value.float().cpu())
                    live.advance(len(piece))
        return {layer: torch.cat(values) for layer, values in collected.items()}

    def _extraction_pieces(self, images: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """A batch as the extractor takes it: whole on a GPU, CPU_EXTRACTION_CHUNK images at a time on a CPU."""
        return (images,) if self.device.type != "cpu" else images.split(CPU_EXTRACTION_CHUNK)

    def _real_cache_path(self) -> Path:
        p = self.protocol
        origin = ""
        if p.dataset == "imagefolder":  # a folder's content is whatever the user points at
            origin = "-" + hashlib.sha256(str(Path(self.data_root or ".").resolve()).encode()).hexdigest()[:8]
        if p.domain is not None:
            origin += f"-{p.domain}"
        name = (f"{p.dataset}{origin}-{p.real_split}-{p.resolution}px-{p.real_samples}-seed{REAL_SUBSET_SEED}"
                f"-{p.extractor.kind}-{p.extractor.weights_sha256[:16]}-{'+'.join(self.layers)}.pt")
        return self.cache / "real-features" / name

    def real_features(self) -> dict[str, torch.Tensor]:
        if self._real_features is not None:
            return self._real_features
        path = self._real_cache_path()
        cached = load_cached_features(path)
        if cached is not None:
            self._real_features, self.real_cache_hit = cached, True
            return cached
        real = self._real or self._of_domain(load_images(self.protocol.dataset, self.protocol.real_split,
                                                         self.data_root, resolution=self.protocol.resolution))
        count = min(self.protocol.real_samples, len(real))
        if count != self.protocol.real_samples:
            self.protocol = Protocol(**{**self.protocol.__dict__, "real_samples": count})
            path = self._real_cache_path()
        chosen = torch.randperm(len(real), generator=torch.Generator().manual_seed(REAL_SUBSET_SEED))[:count]
        images = real.images[chosen]
        self._real_features = self.features((images[i : i + self.batch_size] for i in range(0, count, self.batch_size)),
                                            f"real features {self._describe()} {self.protocol.real_split}", count)
        atomic_torch_save(self._real_features, path)
        return self._real_features

    # -- scoring -------------------------------------------------------------------------------------
    def generated_features(self, sample: Callable[[int, torch.Generator], torch.Tensor], seed: int) -> dict[str, torch.Tensor]:
        """Features of `num_samples` images from `sample(n, generator)` -> float images in [-1, 1]."""
        generator = torch.Generator(device=self.device).manual_seed(seed)
        n = self.protocol.num_samples

        def batches() -> Iterator[torch.Tensor]:
            for start in range(0, n, self.batch_size):
                yield to_uint8(sample(min(self.batch_size, n - start), generator))

        return self.features(batches(), f"scoring {self._describe()}", n)

    def _describe(self) -> str:
        return self.protocol.dataset + (f"/{self._domain}" if self._domain else "")

    def score(self, sample: Callable[[int, torch.Generator], torch.Tensor], seed: int) -> dict[str, float]:
        return feature_metrics(self.generated_features(sample, seed), self.real_features(), self.protocol)


def load_cached_features(path: Path) -> dict[str, torch.Tensor] | None:
    """Features cached at `path`, or None; a damaged cache entry is deleted (recomputed, never trusted)."""
    if not path.exists():
        return None
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception:
        path.unlink(missing_ok=True)
        return None


def feature_metrics(fake: dict[str, torch.Tensor], real: dict[str, torch.Tensor], protocol: Protocol) -> dict[str, float]:
    """FID and KID of `fake` against `real` pool3 features (and IS of `fake`'s logits when the extractor
    gives them), with torch-fidelity's formulas and the protocol's KID subsets and IS splits."""
    from torch_fidelity.metric_fid import fid_features_to_statistics, fid_statistics_to_metric
    from torch_fidelity.metric_isc import isc_features_to_metric
    from torch_fidelity.metric_kid import kid_features_to_metric

    fid = fid_statistics_to_metric(
        fid_features_to_statistics(fake[FID_LAYER]), fid_features_to_statistics(real[FID_LAYER]), verbose=False
    )["frechet_inception_distance"]
    kid = kid_features_to_metric(
        fake[FID_LAYER], real[FID_LAYER], kid_subsets=KID_SUBSETS,
        kid_subset_size=protocol.kid_subset_size, verbose=False,
    )
    metrics = {"fid": fid, "kid_mean": kid["kernel_inception_distance_mean"], "kid_std": kid["kernel_inception_distance_std"]}
    if protocol.extractor.provides_is and IS_LAYER in fake:
        isc = isc_features_to_metric(fake[IS_LAYER], splits=IS_SPLITS)
        metrics.update(is_mean=isc["inception_score_mean"], is_std=isc["inception_score_std"])
    return metrics
