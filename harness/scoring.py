"""What gets scored for a reproduction, and how its samples are drawn: one `Scorer` per protocol.

The dataset's metric suite (harness.metrics.suites) builds the scorers; the image suite ("fid") is here:

- A plain dataset gets one generation score; a conditional model draws labels uniformly.
- A two-domain dataset gets one score per domain. A generation model (CoGAN) is asked for that
  domain's images (`labels` = the domain index); a translation model (CycleGAN) translates the other
  domain's test images into it, and the score's protocol says so (`task: translation`), so
  image-to-image numbers land in their own leaderboard tables.

The same scorers serve `gan-bench run`, `resume` and `evaluate`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

import torch

from harness.batches import to_unit_range
from harness.budget import Budget
from harness.data import ImageSet, dataset_info, load_images
from harness.metrics.evaluate import Evaluator, Protocol
from harness.metrics.extractors import ExtractorSpec
from harness.metrics.suites import metric_suite, run_metric
from harness.reproduction import Reproduction

Sampler = Callable[[int, torch.Generator], torch.Tensor]
TRANSLATION_SOURCE_SPLIT = "test"  # translated images come from the held-out split, as in the papers' tables
SAMPLE_GRID = 64
SCATTER_POINTS = 2500  # a points run's samples.png: as many points as the papers score


@dataclass
class Scorer:
    evaluator: Evaluator
    sampler: Sampler

    @property
    def protocol(self) -> Protocol:
        return self.evaluator.protocol


def build_scorers(repro: Reproduction, budget: Budget, extractor: ExtractorSpec | None, device: torch.device,
                  data_root: Path | None, cache: Path | None, train_set=None,
                  num_samples: int | None = None) -> list[Scorer]:
    """The run's scorers, from its metric suite (`extractor` is None for suites without one): its dataset's,
    or the test error for a semi-supervised run (`repro.data.labels`)."""
    build = metric_suite(run_metric(dataset_info(repro.data.name).metric, repro.data.labels)).build()
    return build(repro, budget, extractor, device, data_root, cache, train_set, num_samples)


def fid_scorers(repro: Reproduction, budget: Budget, extractor: ExtractorSpec, device: torch.device,
                data_root: Path | None, cache: Path | None, train_set: ImageSet | None = None,
                num_samples: int | None = None) -> list[Scorer]:
    data = repro.data
    base = Protocol(data.name, data.resolution, num_samples or budget.eval_samples, budget.real_split,
                    budget.real_samples, extractor)
    if not data.domains:
        return [Scorer(Evaluator(base, device, data_root, cache, real=train_set), class_sampler(repro))]
    scorers = []
    for index, domain in enumerate(data.domains):
        if repro.translates:
            sources = domain_images(load_images(data.name, TRANSLATION_SOURCE_SPLIT, data_root, data.resolution), 1 - index)
            protocol = replace(base, domain=domain, task="translation", num_samples=min(base.num_samples, len(sources)))
            sampler = translation_sampler(repro, sources, index)
        else:
            protocol, sampler = replace(base, domain=domain), domain_sampler(repro, index)
        scorers.append(Scorer(Evaluator(protocol, device, data_root, cache, real=train_set), sampler))
    return scorers


def domain_images(images: ImageSet, index: int) -> torch.Tensor:
    return images.images[images.labels == index]


def class_sampler(repro: Reproduction) -> Sampler:
    labels_needed = repro.conditional and repro.data.num_classes > 0

    def sample(n: int, generator: torch.Generator) -> torch.Tensor:
        labels = None
        if labels_needed:  # conditional models are scored on uniformly drawn labels
            labels = torch.randint(repro.data.num_classes, (n,), device=repro.device, generator=generator)
        return repro.sample(n, labels=labels, generator=generator)

    return sample


def domain_sampler(repro: Reproduction, index: int) -> Sampler:
    def sample(n: int, generator: torch.Generator) -> torch.Tensor:
        labels = torch.full((n,), index, dtype=torch.long, device=repro.device)
        return repro.sample(n, labels=labels, generator=generator)

    return sample


def translation_sampler(repro: Reproduction, sources: torch.Tensor, target: int) -> Sampler:
    """Each call translates the next `n` source images, in order (the evaluator asks for them in turn)."""
    position = 0

    def sample(n: int, generator: torch.Generator) -> torch.Tensor:
        nonlocal position
        chunk = sources[position : position + n]
        position = (position + n) % len(sources)
        return repro.translate(to_unit_range(chunk.to(repro.device)), target)

    return sample


@torch.no_grad()
def fixed_samples(repro: Reproduction, seed: int, data_root: Path | None = None) -> torch.Tensor:
    """The run's sample grid: 64 images from a fixed seed (one label per row position for conditional
    models, domains alternating for two-domain models; for translation models, rows of test images
    each followed by their translations). For points: 2,500 points, drawn as a scatter."""
    data = repro.data
    generator = torch.Generator(device=repro.device).manual_seed(seed)
    if data.kind == "points":
        return repro.sample(SCATTER_POINTS, generator=generator).cpu()
    if repro.translates:
        test = load_images(data.name, TRANSLATION_SOURCE_SPLIT, data_root, data.resolution)
        rows = []
        for source in (0, 1):
            for start in (0, 8):
                images = to_unit_range(domain_images(test, source)[start : start + 8].to(repro.device))
                if len(images):
                    rows += [images, repro.translate(images, 1 - source)]
        return torch.cat(rows).cpu()
    labels = None
    if repro.conditional and data.num_classes > 0:
        labels = torch.arange(SAMPLE_GRID, device=repro.device) % data.num_classes
    return repro.sample(SAMPLE_GRID, labels=labels, generator=generator).cpu()
