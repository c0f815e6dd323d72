"""`--set key=value` hyperparameter overrides, parsed as YAML scalars and checked for type.

A value is read as YAML (so `lr=2e-4`, `betas=[0.5, 0.999]` and `norm=none` mean what they look
like), but a bool is never taken for a number: pydantic would quietly turn `z_dim=true` into 1.
"""

from __future__ import annotations

import dataclasses
import typing
from typing import Any

import yaml

from harness.errors import GanBenchError
from harness.yaml_limits import MAX_YAML_VALUES, short_repr, too_large


def parse_sets(values: list[str]) -> dict[str, Any]:
    parsed = {}
    for item in values:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise GanBenchError(f"--set expects key=value, got {short_repr(item)}")
        try:
            value = yaml.safe_load(raw)
        except yaml.YAMLError as exc:
            problem = getattr(exc, "problem", None) or "not a YAML value"
            raise GanBenchError(f"--set {key.strip()}: cannot read {short_repr(raw)} ({problem})") from None
        if too_large(value, MAX_YAML_VALUES):
            raise GanBenchError(f"--set {key.strip()}: the value expands to more than {MAX_YAML_VALUES:,} values")
        parsed[key.strip()] = value
    return parsed


def bool_for_number(hp_cls: type, values: dict[str, Any]) -> str | None:
    """The first field given a bool where the dataclass declares a number (int, float), or None."""
    hints = typing.get_type_hints(hp_cls)
    for f in dataclasses.fields(hp_cls):
        value = values.get(f.name)
        if not isinstance(value, bool):
            continue
        accepted = set(typing.get_args(hints[f.name])) or {hints[f.name]}
        if bool not in accepted and accepted & {int, float}:
            return f.name
    return None
