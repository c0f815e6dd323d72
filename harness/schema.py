"""The registry's schema: what a paper entry may say, validated at load.

An entry is data (lm-evaluation-harness style): the paper's metadata, the source lists that name it,
and — for papers we implement — a `reproduction` block that names the module, the datasets, the
hyperparameters that differ per dataset, the paper's own schedule and the numbers the paper reported.

Unknown keys are errors (`extra="forbid"`), so a typo in a YAML file is caught rather than ignored.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, field_validator, model_validator

PAPER_ID = re.compile(r"^[a-z0-9][a-z0-9-]*$")
# New-style arXiv ids (YYMM.NNNN or YYMM.NNNNN); the GAN literature predates none of the old style.
ARXIV_ID = re.compile(r"^\d{4}\.\d{4,5}$")
# \Z, not $ (which also matches before a trailing newline); no dunder module (reproductions.__init__).
MODULE_NAME = re.compile(r"^reproductions\.(?!__)[a-z_][a-z0-9_]*\Z")

Category = Literal[
    "theory",
    "architecture",
    "loss",
    "conditional",
    "image-to-image",
    "super-resolution",
    "video",
    "text",
    "audio",
    "3d",
    "semi-supervised",
    "representation",
    "inference",
    "evaluation",
    "training",
    "application",
    "survey",
]
Split = Literal["train", "test"]
# The network a reported FID/KID/IS was computed with, by family: numbers from two families differ
# for the same images. "tf-inception": the 2015-12-05 TensorFlow Inception graph of Salimans et al.
# and Heusel et al., or a faithful port of it (torch-fidelity, pytorch-fid, NVIDIA's pool3 TorchScript);
# "torchvision-inception": torchvision's ImageNet Inception v3; "mnist-classifier": a classifier of
# the dataset's digits (Stacked MNIST modes); "none": no network (2D mixture statistics).
ExtractorFamily = Literal["tf-inception", "torchvision-inception", "mnist-classifier", "none"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ReportedResult(_Strict):
    """A number a paper (or a large-scale study) published, with where it was published."""

    dataset: str
    metric: str = Field(description="a metric suite column's key: fid, is, kid, modes, high_quality, reverse_kl, ...")
    value: float
    std: float | None = None
    spread: Literal["std", "stderr"] = Field(default="std", description="what `std` is: a std over trials or a standard error")
    trials: int | None = Field(default=None, gt=0, description="independent runs the number is over")
    variant: str | None = Field(default=None, description="the registry variant the number belongs to (k5, m3, ...)")
    # The protocol the number was measured under, as the paper (or its official code) states it;
    # None where neither states it, said in `protocol_note` (never guessed).
    num_samples: int | None = Field(default=None, gt=0, description="generated samples scored")
    real_samples: int | None = Field(default=None, gt=0, description="real images the reference statistics use")
    real_split: Literal["train", "test", "train+test"] | None = Field(default=None, description="where those come from")
    is_splits: int | None = Field(default=None, gt=0, description="splits the Inception Score is averaged over")
    labels: int | None = Field(default=None, gt=0, description="semi-supervised: labelled training examples in all")
    extractor: ExtractorFamily | None = Field(default=None, description="the network the metric used, by family")
    protocol_note: str | None = Field(default=None, description="which protocol fields the source leaves unstated, and why")
    source: str = Field(min_length=8, description="who reported it and which table, e.g. 'WGAN-GP paper, Table 3'")
    note: str | None = Field(default=None, description="protocol differences worth knowing")

    @field_validator("metric")
    @classmethod
    def _known_metric(cls, value: str) -> str:
        from harness.metrics.suites import reported_metric_keys

        known = reported_metric_keys()
        if value not in known:
            raise ValueError(f"unknown metric {value!r}; known: {', '.join(known)}")
        return value


class BudgetSpec(_Strict):
    """A training budget as written in YAML; any field left out falls back to the named budget."""

    g_steps: int | None = Field(default=None, gt=0)
    batch_size: int | None = Field(default=None, gt=0)
    kimg: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    wall_clock_s: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    eval_samples: int | None = Field(default=None, gt=0)
    real_split: Split | None = None
    real_samples: int | None = Field(default=None, gt=0)
    eval_every: int | None = Field(default=None, gt=0)
    log_every: int | None = Field(default=None, gt=0)
    checkpoint_every: int | None = Field(default=None, gt=0)


class VariantSpec(_Strict):
    """A named setting of one reproduction (Unrolled GAN's k, PacGAN's m): its own leaderboard row."""

    hyperparameters: dict[str, Any] = Field(default_factory=dict, description="over the per-dataset values")
    paper_budget: BudgetSpec | None = Field(default=None, description="over the dataset's paper budget")
    per_dataset_budget: dict[str, BudgetSpec] = Field(default_factory=dict, description="over paper_budget, per dataset")
    note: str | None = None


class ReproductionSpec(_Strict):
    """How to reproduce a paper: which module, on which data, with which settings."""

    module: str = Field(description="a module inside reproductions/, e.g. reproductions.dcgan")
    version: int = Field(
        default=1, ge=1,
        description="the entry's revision: raised whenever a change would make its new runs disagree with old "
        "ones (defaults, networks, objective); recorded in every result, part of the leaderboard row and sweep "
        "cell, so seeds of two versions are never pooled (as lm-eval's task VERSION)",
    )
    datasets: list[str] = Field(min_length=1)
    default_dataset: str | None = None
    hyperparameters: dict[str, Any] = Field(default_factory=dict, description="overrides of the module's defaults")
    per_dataset: dict[str, dict[str, Any]] = Field(default_factory=dict)
    paper_budget: BudgetSpec = Field(default_factory=BudgetSpec, description="the paper's own schedule")
    per_dataset_budget: dict[str, BudgetSpec] = Field(
        default_factory=dict, description="the paper's schedule on one dataset, over paper_budget (e.g. a 2D mixture)"
    )
    batch_size: int | None = Field(
        default=None, gt=0,
        description="the paper's minibatch size where the method depends on it (CycleGAN's 1): used by every budget",
    )
    reported: list[ReportedResult] = Field(default_factory=list)
    variants: dict[str, VariantSpec] = Field(default_factory=dict, description="named settings, each its own row")
    default_variant: str | None = None
    deviations: list[str] = Field(default_factory=list, description="where we knowingly differ from the paper")
    labels: int | dict[str, int] | None = Field(
        default=None, description="a semi-supervised paper's label count (N in all, N / K per class) for every "
        "dataset, or per dataset: the default of `gan-bench run --labels`")

    @field_validator("module")
    @classmethod
    def _module_inside_reproductions(cls, value: str) -> str:
        # Loading code named in a data file is only safe if the name cannot reach outside our package.
        if not MODULE_NAME.match(value):
            raise ValueError(f"must name a module inside reproductions/ (like 'reproductions.dcgan'), got {value!r}")
        return value

    @model_validator(mode="after")
    def _datasets_consistent(self) -> "ReproductionSpec":
        if self.default_dataset is not None and self.default_dataset not in self.datasets:
            raise ValueError(f"default_dataset {self.default_dataset!r} is not among datasets {self.datasets}")
        for field_name, names in (("per_dataset", self.per_dataset), ("per_dataset_budget", self.per_dataset_budget)):
            for name in names:
                if name not in self.datasets:
                    raise ValueError(f"{field_name} names {name!r}, which is not among datasets {self.datasets}")
        if self.default_variant is not None and self.default_variant not in self.variants:
            raise ValueError(f"default_variant {self.default_variant!r} is not among variants {sorted(self.variants)}")
        for name in (self.labels if isinstance(self.labels, dict) else {}):
            if name not in self.datasets:
                raise ValueError(f"labels names {name!r}, which is not among datasets {self.datasets}")
        for result in self.reported:
            if result.variant is not None and result.variant not in self.variants:
                raise ValueError(f"reported result names variant {result.variant!r}, not among {sorted(self.variants)}")
            if result.dataset not in self.datasets and result.dataset not in KNOWN_REPORT_ONLY_DATASETS:
                raise ValueError(
                    f"reported result on {result.dataset!r}: not a supported dataset nor one of "
                    f"{sorted(KNOWN_REPORT_ONLY_DATASETS)}"
                )
        return self

    @property
    def dataset(self) -> str:
        return self.default_dataset or self.datasets[0]

    def labels_for(self, dataset: str) -> int | None:
        """The paper's label count on `dataset` (None: not a semi-supervised default there)."""
        return self.labels.get(dataset) if isinstance(self.labels, dict) else self.labels

    def paper_budget_for(self, dataset: str, variant: str | None = None) -> BudgetSpec:
        """`paper_budget`, then the dataset's `per_dataset_budget`, then the variant's `paper_budget` and
        its `per_dataset_budget` for the dataset, each over the one before."""
        layers = [self.paper_budget, self.per_dataset_budget.get(dataset)]
        if variant is not None:
            layers += [self.variants[variant].paper_budget, self.variants[variant].per_dataset_budget.get(dataset)]
        merged: dict[str, Any] = {}
        for layer in layers:
            if layer is not None:
                merged.update(layer.model_dump(exclude_none=True))
        return BudgetSpec(**merged)


# Datasets a paper may report on that we cannot (yet) train on; listed so typos are still caught.
KNOWN_REPORT_ONLY_DATASETS = frozenset(
    {"cifar10", "stl10", "celeba", "ring8", "grid25", "ring8-pacgan", "grid25-pacgan", "stacked-mnist", "celeba-hq", "lsun-bedroom", "imagenet", "ffhq", "mnist", "fashion-mnist", "svhn",
     "cityscapes", "horse2zebra", "cat2dog"}
)


class PaperEntry(_Strict):
    """One paper of the literature, as the catalogue knows it."""

    id: str
    title: str = Field(min_length=3)
    authors: list[str] = Field(min_length=1)
    year: int = Field(ge=1990, le=2100)
    venue: str | None = None
    arxiv: str | None = None
    code: list[HttpUrl] = Field(default_factory=list, description="official or list-given code links")
    category: Category
    sources: list[str] = Field(default_factory=list, description="ids of the source documents that name it")
    tags: list[str] = Field(default_factory=list)
    aliases: list[str] = Field(default_factory=list, description="other names, e.g. the Chinese title in a list")
    reproduction: ReproductionSpec | None = None

    @field_validator("id")
    @classmethod
    def _id_shape(cls, value: str) -> str:
        if not PAPER_ID.match(value):
            raise ValueError(f"must be lower-case letters, digits and '-', got {value!r}")
        return value

    @field_validator("arxiv")
    @classmethod
    def _arxiv_shape(cls, value: str | None) -> str | None:
        if value is not None and not ARXIV_ID.match(value):
            raise ValueError(f"must look like 1511.06434, got {value!r}")
        return value


class Resource(_Strict):
    """A non-paper item of the source lists: a tutorial, talk, workshop, blog post or code library."""

    id: str
    title: str = Field(min_length=3)
    kind: Literal["tutorial", "talk", "video", "workshop", "blog", "code", "book", "course", "dataset", "list", "other"]
    url: HttpUrl | None = None
    authors: list[str] = Field(default_factory=list)
    year: int | None = Field(default=None, ge=1990, le=2100)
    sources: list[str] = Field(min_length=1)

    @field_validator("id")
    @classmethod
    def _id_shape(cls, value: str) -> str:
        if not PAPER_ID.match(value):
            raise ValueError(f"must be lower-case letters, digits and '-', got {value!r}")
        return value


class SourceDocument(_Strict):
    """One of the source lists the catalogue is built from (../shared/seeds/)."""

    id: str
    file: str
    title: str
    description: str
