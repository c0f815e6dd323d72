"""A points run's samples.png: its samples as a scatter over the true modes (matplotlib, Agg canvas).

Drawn on a figure of its own with the Agg canvas, as reports/plots.py does, so no display is needed
and the process's global matplotlib state is left alone.
"""

from __future__ import annotations

from pathlib import Path

import torch


def save_scatter(points: torch.Tensor, centers: torch.Tensor, path: Path, title: str = "") -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(4, 4), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    finite = points[torch.isfinite(points).all(dim=1)]
    axes.scatter(finite[:, 0], finite[:, 1], s=2, alpha=0.4, color="tab:blue", label=f"{len(points):,} samples")
    axes.scatter(centers[:, 0], centers[:, 1], s=30, marker="x", color="tab:red", label="true modes")
    span = float(centers.abs().max()) * 1.5 or 1.0
    axes.set_xlim(-span, span)
    axes.set_ylim(-span, span)
    axes.set_aspect("equal")
    axes.legend(loc="upper right", fontsize=7)
    if title:
        axes.set_title(title, fontsize=9)
    figure.tight_layout()
    figure.savefig(path, format="png", metadata={"Software": None})
