"""Metric suites: which numbers score a dataset, what the report calls them, and who computes them.

A dataset names its suite (`DatasetInfo.metric`): images are scored by FID/KID/IS ("fid"), 2D point
mixtures by mode coverage ("modes2d"). A suite declares its columns (so the leaderboard builds its
tables from them, with no per-metric code in a template) and where its scorers are built; that
builder is imported only when something is scored, so the report (which reads run directories,
never models) can use the columns without importing torch.

Another module adds a suite with `register_suite`; `_BUILTIN_SUITE_MODULES` lists the modules whose
import registers one, so every entry point sees the same suites.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from harness.errors import GanBenchError


@dataclass(frozen=True)
class Column:
    key: str  # the metric's name in the registry's `reported` blocks
    label: str
    column: str  # the per-run value's key in result.json's score metrics
    lower_is_better: bool
    digits: int
    percent: bool = False  # a 0-100 percentage: shown with a % sign


@dataclass(frozen=True)
class MetricSuite:
    name: str
    columns: tuple[Column, ...]
    # "module:function" returning the run's scorers (harness.scoring.Scorer list); see scoring.build_scorers.
    builder: str
    needs_extractor: bool  # whether it scores with an Inception-style feature extractor
    extra_keys: tuple[str, ...] = ()  # result keys beyond the columns' (spreads such as kid_std)
    # The leaderboard's ± over seeds: the sample std, or the standard error (what the mode-coverage
    # papers print: PacGAN Tables 1-3 give standard errors over their trials).
    spread: str = "std"
    # What its scorers go through, as a run's log line counts them ("scoring 10000 <scored>"): generated
    # samples, or (a classifier's suite) the test split's real images.
    scored: str = "samples"

    @property
    def metric_keys(self) -> tuple[str, ...]:
        """Every key its scores may hold in result.json (columns, and their spreads where recorded)."""
        return tuple(dict.fromkeys(c.column for c in self.columns)) + self.extra_keys

    def build(self):
        module, _, function = self.builder.partition(":")
        return getattr(importlib.import_module(module), function)


SUITES: dict[str, MetricSuite] = {}
# The Inception Score is the mean over this many splits of the samples (Salimans et al. 2016's 10, as
# torch-fidelity's default); here, without torch, so the report can compare it with a paper's.
IS_SPLITS = 10


def register_suite(suite: MetricSuite) -> None:
    SUITES[suite.name] = suite


def reported_metric_keys() -> tuple[str, ...]:
    """Every name a registry `reported` block may give its metric (a column key of some suite)."""
    _load_builtin_suites()
    return tuple(dict.fromkeys(column.key for suite in SUITES.values() for column in suite.columns))


def metric_suite(name: str) -> MetricSuite:
    _load_builtin_suites()
    try:
        return SUITES[name]
    except KeyError:
        raise GanBenchError(f"unknown metric suite {name!r}; known: {', '.join(sorted(SUITES))}") from None


register_suite(MetricSuite(
    "fid",
    (Column("fid", "FID", "fid", True, 2), Column("is", "IS", "is_mean", False, 2),
     Column("kid", "KID", "kid_mean", True, 4)),
    builder="harness.scoring:fid_scorers", needs_extractor=True, extra_keys=("kid_std", "is_std"),
))
register_suite(MetricSuite(
    "modes2d",
    # Names as in VEEGAN Table 1 / PacGAN Table 1: modes captured, % high-quality samples, reverse KL.
    (Column("modes", "modes", "modes", False, 1), Column("high_quality", "% HQ", "high_quality", False, 1, percent=True),
     Column("reverse_kl", "reverse KL", "reverse_kl", True, 3)),
    builder="harness.metrics.modes2d:modes2d_scorers", needs_extractor=False, spread="stderr",
))

def format_metrics(suite_name: str, metrics: dict) -> str:
    """A score's numbers in words, by the suite's columns: `modes 8.0, % HQ 52.9%, reverse KL 0.012`."""
    parts = []
    for column in metric_suite(suite_name).columns:
        value = metrics.get(column.column)
        text = "—" if value is None else f"{value:.{column.digits}f}{'%' if column.percent else ''}"
        parts.append(f"{column.label} {text}")
    return ", ".join(parts)


register_suite(MetricSuite(
    "stacked-modes",
    # VEEGAN Table 2 / PacGAN Tables 2-3: modes (of 1,000) hit, KL(p_gen ‖ uniform).
    (Column("modes", "modes", "modes", False, 1), Column("kl", "KL", "kl", True, 3)),
    builder="harness.metrics.stacked_modes:stacked_modes_scorers", needs_extractor=False, spread="stderr",
))

register_suite(MetricSuite(
    "semi-supervised",
    # Salimans et al. 2016 Table 1 (MNIST): test examples misclassified, out of 10,000; the error in percent
    # first (the tables' order). Scored on the whole test split from the run's `classify` (harness.metrics.classification).
    (Column("test_error", "test error", "test_error", True, 2, percent=True),
     Column("test_errors", "errors", "test_errors", True, 1)),
    builder="harness.metrics.classification:semi_supervised_scorers", needs_extractor=False,
    scored="test images classified",
))


def run_metric(dataset_metric: str, labels: int | None) -> str:
    """The suite a run is scored by: a semi-supervised run's (`--labels N`) is the test error, whatever its
    dataset's suite; any other run's is its dataset's."""
    return "semi-supervised" if labels else dataset_metric


# Modules (outside this file) whose import registers a suite of their own; none yet (the suites
# above are declared here so that reading the registry never imports torch).
_BUILTIN_SUITE_MODULES: tuple[str, ...] = ()
_loaded = False


def _load_builtin_suites() -> None:
    global _loaded
    if not _loaded:
        _loaded = True
        for module in _BUILTIN_SUITE_MODULES:
            importlib.import_module(module)
