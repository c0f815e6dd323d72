"""How numbers look on the page. Plain functions, registered as Jinja filters and reused by the
Markdown export, so a number reads the same in the browser and in a pasted table."""

from __future__ import annotations

import math

DASH = "—"


def num(value: float | None, digits: int = 2) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return DASH
    return f"{value:.{digits}f}"


def mean_std(mean: float | None, std: float | None, digits: int = 2) -> str:
    if mean is None:
        return DASH
    return f"{mean:.{digits}f} ± {std:.{digits}f}" if std is not None else f"{mean:.{digits}f}"


def signed(value: float | None, digits: int = 2) -> str:
    # A real minus sign: a hyphen next to a number is easy to misread as a dash.
    if value is None:
        return DASH
    text = f"{value:+.{digits}f}"
    return text.replace("-", "−")


def kimg(value: float | None) -> str:
    if value is None:
        return DASH
    return f"{value:,.1f}" if value >= 10 else f"{value:.2f}"


def duration(seconds: float | None) -> str:
    if seconds is None or math.isnan(seconds):
        return DASH
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 2 * 3600:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def count(value: int | None) -> str:
    return DASH if value is None else f"{value:,}"


def sort_value(value) -> str:
    """The machine-readable value sort.js sorts on; empty means missing (always sorted last)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return str(value)
    return repr(float(value)) if isinstance(value, float) else str(value)


FILTERS = {"num": num, "mean_std": mean_std, "signed": signed, "kimg": kimg, "duration": duration, "count": count,
           "sort_value": sort_value}
