"""Whether a paper's reported number was measured as a leaderboard table measures: the reasons it was not.

A number sits beside ours (with a Δ) only when the protocol the registry records for it is the
table's: generated sample count, and for FID/KID the real reference (split and count), for IS the
splits, and for every Inception metric the extractor family. A field the paper leaves unstated is
a difference too: we cannot claim it matches. Such a number is shown apart with these reasons.
"""

from __future__ import annotations

from harness.metrics.suites import IS_SPLITS
from harness.schema import ReportedResult

# What our extractor kinds are, when their weights are the published file: ports of the TF graph.
_FAMILY_OF_KIND = {"torch-fidelity": "tf-inception", "torchscript": "tf-inception"}
_REAL_METRICS = ("fid", "kid")  # the metrics that compare with real images


def extractor_family(label: str | None) -> str | None:
    """The family of a table's extractor from its label ('torch-fidelity (6726825d)'); None when its
    weights are unverified (an unchecked port is no member of any family) or the label is unknown."""
    if not label or "unverified" in label:
        return None
    return _FAMILY_OF_KIND.get(label.split(" ")[0])


def _count(value: int | None) -> str:
    return "an unstated number of" if value is None else f"{value:,}"


def mismatches(reported: ReportedResult, protocol) -> list[str]:
    """Why `reported` was not measured under `protocol` (a reports.runs.Protocol); empty when it was."""
    reasons = []
    if getattr(protocol, "labels", None) or reported.labels:  # semi-supervised: the label count and the test images
        if reported.labels != protocol.labels:
            reasons.append(f"the paper trained with {_count(reported.labels)} labels, this table with "
                           f"{_count(protocol.labels)}")
        if reported.num_samples != protocol.num_samples:
            reasons.append(f"the paper classified {_count(reported.num_samples)} test images, this table "
                           f"{_count(protocol.num_samples)}")
        return reasons
    if reported.num_samples != protocol.num_samples:
        reasons.append(f"the paper scored {_count(reported.num_samples)} generated samples, this table "
                       f"{_count(protocol.num_samples)}")
    if protocol.metric != "fid":  # a mode-coverage suite: its protocol is the sample count (and its detail)
        return reasons
    if reported.metric in _REAL_METRICS:
        if reported.real_split != protocol.real_split:
            split = reported.real_split or "an unstated"
            reasons.append(f"the paper's real images are {split} split, this table's {protocol.real_split}")
        if reported.real_samples != protocol.real_samples:
            reasons.append(f"the paper used {_count(reported.real_samples)} real images, this table "
                           f"{_count(protocol.real_samples)}")
    if reported.metric == "is" and reported.is_splits != IS_SPLITS:
        reasons.append(f"the paper's IS is over {reported.is_splits or 'unstated'} splits, ours {IS_SPLITS}")
    ours = extractor_family(protocol.extractor)
    if reported.extractor is None or ours is None or reported.extractor != ours:
        theirs = reported.extractor or "an unstated extractor"
        reasons.append(f"the paper used {theirs}, this table {ours or protocol.extractor or 'no known extractor'}")
    return reasons
