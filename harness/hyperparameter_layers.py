"""Hyperparameters come in layers (paper defaults < registry < per-dataset < command line); each layer
knows where it was written, so a bad key is reported with its file and key path.

Torch-free: `gan-bench show` overlays the registry's layers on defaults read from the module's source.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

from harness.errors import GanBenchError, display_path


@dataclass(frozen=True)
class HyperparameterLayer:
    """Hyperparameter values and where they were written.

    `where` is prefixed to the key: "registry/papers/rgan.yaml: reproduction.per_dataset.cifar10."
    """

    values: dict[str, Any]
    where: str = "hyperparameter "


def registry_layers(entry, dataset: str, variant: str | None = None) -> tuple[HyperparameterLayer, ...]:
    """The registry's hyperparameter layers for `dataset` (and a named variant's, applied last), each
    labelled with its file and key path."""
    from harness.registry import paper_file

    path = paper_file(entry.id)
    file = f"{display_path(path)}: " if path is not None else f"registry entry {entry.id}: "
    spec = entry.reproduction
    layers = (HyperparameterLayer(spec.hyperparameters, f"{file}reproduction.hyperparameters."),
              HyperparameterLayer(spec.per_dataset.get(dataset, {}), f"{file}reproduction.per_dataset.{dataset}."))
    if variant is None:
        return layers
    return (*layers, HyperparameterLayer(spec.variants[variant].hyperparameters,
                                         f"{file}reproduction.variants.{variant}.hyperparameters."))


def merge_layers(defaults: dict[str, Any], layers: Iterable[dict | HyperparameterLayer],
                 owner: str) -> tuple[dict[str, Any], dict[str, str]]:
    """The defaults overridden by each layer in turn, and where each overridden key was written.

    An unknown key is an error naming its layer's file and key path; `owner` names the class.
    """
    values, written_at = dict(defaults), {}
    for layer in layers:
        if not isinstance(layer, HyperparameterLayer):
            layer = HyperparameterLayer(layer)
        for key, value in layer.values.items():
            if key not in defaults:
                raise GanBenchError(f"{layer.where}{key}: unknown hyperparameter {key!r} for {owner}; "
                                    f"known: {', '.join(sorted(defaults))}")
            values[key] = value
            written_at[key] = layer.where
    return values, written_at
