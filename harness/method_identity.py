"""A run's method identity, and its budget as a table key: what decides which runs are pooled.

Two runs are seeds of one method only when they ran the same registry entry, at the same `version`
of it, as the same named variant, with the same hyperparameters wherever they differ from the
entry's defaults for that dataset (a `--set loss=rsgan` run is a method of its own). The leaderboard
gives each identity its own row, labelled by what differs ("f-gan [loss=rsgan]"); a sweep's cell key
carries it, so a variant's run never completes the default's cell.

A run records its identity when it starts (`version`, `overrides`, `budget_changes` in config.json
and result.json). Runs written before that have `version` None: their row says so ("before entry
versions") and never pools with a versioned one; their overrides are worked out against today's
defaults (torch-free, from the module's source), and a run whose hyperparameters the module no
longer has (a knob renamed since) cannot be identified and is excluded with that reason.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from harness.errors import GanBenchError
from harness.run_record import RecordError

# Budget fields that change what a run computes; how often it logs or checkpoints changes nothing.
SCHEDULE_FIELDS = ("g_steps", "batch_size", "kimg", "wall_clock_s", "eval_samples", "real_split", "real_samples")
UNVERSIONED = "before entry versions"


def pairs(values: dict[str, Any] | None) -> tuple[tuple[str, str], ...]:
    """A mapping as sorted (name, value as JSON) pairs: hashable, the label's order, and "1" ≠ 1."""
    return tuple(sorted((k, json.dumps(v, sort_keys=True)) for k, v in (values or {}).items()))


def _shown(pairs_: tuple[tuple[str, str], ...]) -> str:
    """`k=v, …` with strings bare (loss=rsgan), everything else as JSON (lr=0.001, betas=[0.5, 0.9])."""
    def value(text: str) -> str:
        loaded = json.loads(text)
        return loaded if isinstance(loaded, str) else text

    return ", ".join(f"{k}={value(v)}" for k, v in pairs_)


@dataclass(frozen=True, order=True)
class MethodIdentity:
    paper: str
    variant: str | None = None
    overrides: tuple[tuple[str, str], ...] = ()  # (name, value) where the run differs from the entry's defaults
    version: int | None = None  # None: a run from before entries had versions

    @property
    def row(self) -> str:
        """The paper, or `paper@variant`: the run directory's first level and a registry name."""
        return self.paper + (f"@{self.variant}" if self.variant else "")

    @property
    def label(self) -> str:
        """The leaderboard row: "f-gan [loss=rsgan]", "pacgan@m2", "dcgan v2", "gan (before entry versions)".
        Version 1 (every entry's first) is not spelled out."""
        text = self.row + (f" [{_shown(self.overrides)}]" if self.overrides else "")
        if self.version is None:
            return f"{text} ({UNVERSIONED})"
        return text + (f" v{self.version}" if self.version != 1 else "")

    @property
    def key(self) -> str:
        """The identity in a sweep cell's key: always names the version."""
        version = "unversioned" if self.version is None else f"v{self.version}"
        return f"{self.row} {version}" + (f" [{_shown(self.overrides)}]" if self.overrides else "")


def differing(defaults: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """The values that differ from `defaults` (compared as JSON, as config.json holds them)."""
    def same(a, b) -> bool:
        return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)

    return {k: v for k, v in values.items() if k not in defaults or not same(defaults[k], v)}


def budget_changes(budget: dict[str, Any], base: dict[str, Any]) -> dict[str, Any]:
    """The schedule fields in which `budget` differs from the named budget `base` it was resolved from."""
    return {k: budget.get(k) for k in SCHEDULE_FIELDS if budget.get(k) != base.get(k)}


def budget_label(name: str, changes: dict[str, Any] | None) -> str:
    """A budget as a table key: a custom budget carries what it overrode, so two never share a table."""
    if not name.endswith("-custom") or not changes:
        return name
    return f"{name} [{_shown(pairs(changes))}]"


def static_entry_defaults(entry, dataset: str, variant: str | None) -> dict[str, Any] | None:
    """The entry's hyperparameters for `dataset` (and variant) without importing its module: the
    module's literal defaults read from source, the registry's layers over them; None if unreadable."""
    from harness.hyperparameter_layers import merge_layers, registry_layers
    from harness.module_source import static_defaults

    defaults = static_defaults(entry.reproduction.module)
    if defaults is None:
        return None
    try:
        return merge_layers(defaults, registry_layers(entry, dataset, variant), entry.reproduction.module)[0]
    except GanBenchError:
        return None


def base_budget(entry, name: str, dataset: str, variant: str | None) -> dict[str, Any]:
    """The named budget a `<name>-custom` run was resolved from, as the registry gives it today."""
    from harness.budget import resolve_budget

    spec = entry.reproduction
    return resolve_budget(name.removesuffix("-custom"), spec.paper_budget_for(dataset, variant), None,
                          spec.batch_size).to_dict()


def identity_of(record, registry, hyperparameters: dict[str, Any] | None) -> tuple[MethodIdentity, str]:
    """A run's identity and its budget label, from its result (or config) record.

    `hyperparameters` is the run's resolved set (its config's), needed only for a run that did not
    record its overrides. Raises RecordError (one line) when a run from before identities were
    recorded cannot be identified against today's registry."""
    variant = record.variant
    overrides, changes = record.overrides, record.budget_changes
    budget_name = record.budget.name if hasattr(record.budget, "name") else (record.budget or {}).get("name", "?")
    needs_entry = overrides is None or (changes is None and budget_name.endswith("-custom"))
    if needs_entry:
        entry = registry.papers.get(record.paper) if registry is not None else None
        if entry is None or entry.reproduction is None:
            raise RecordError(f"paper {record.paper!r} is not an implemented registry entry; its method cannot be identified")
        if variant is not None and variant not in entry.reproduction.variants:
            raise RecordError(f"variant {variant!r} is no longer one of {record.paper}'s; its method cannot be identified")
        if overrides is None:
            defaults = static_entry_defaults(entry, record.dataset, variant)
            if defaults is None:
                raise RecordError(f"{entry.reproduction.module}'s defaults cannot be read; the run's method cannot be identified")
            if not hyperparameters:
                raise RecordError("no config.json with the run's hyperparameters; its method cannot be identified")
            gone = sorted(set(hyperparameters) - set(defaults))
            if gone:
                raise RecordError(f"recorded before a rename: {', '.join(gone[:4])} "
                                  f"{'is no longer a hyperparameter' if len(gone) == 1 else 'are no longer hyperparameters'} of "
                                  f"{entry.reproduction.module}; its method cannot be identified")
            overrides = differing(defaults, hyperparameters)
        if changes is None and budget_name.endswith("-custom"):
            budget = record.budget.model_dump() if hasattr(record.budget, "model_dump") else dict(record.budget)
            changes = budget_changes(budget, base_budget(entry, budget_name, record.dataset, variant))
    identity = MethodIdentity(record.paper, variant, pairs(overrides), record.version)
    return identity, budget_label(budget_name, changes)


IDENTITY_FIELDS = ("variant", "version", "overrides", "budget_changes")


def identity_fields(entry, dataset: str, variant: str | None, defaults: dict[str, Any], hyperparameters: dict[str, Any],
                    budget: dict[str, Any], requested_budget: str) -> dict[str, Any]:
    """What a new run records of its identity in config.json: the entry's version, the variant, the
    hyperparameters that differ from `defaults` (the entry's for this dataset and variant) and the
    budget fields that differ from the named budget asked for."""
    base = base_budget(entry, requested_budget, dataset, variant)
    return {**({"variant": variant} if variant else {}), "version": entry.reproduction.version,
            "overrides": differing(defaults, hyperparameters), "budget_changes": budget_changes(budget, base)}


def recorded_identity(config: dict[str, Any]) -> dict[str, Any]:
    """The identity fields a config recorded, to be copied into its result (absent ones stay absent)."""
    return {name: config[name] for name in IDENTITY_FIELDS if config.get(name) is not None}
