"""A run's curves (curves.jsonl) as SVG panels, one per scale or metric, drawn with matplotlib at report time.

One panel per file, so the page can lay them out side by side at 1400 px and one under another
at 400 px, each still at a readable size.

The SVG must be byte-identical when nothing changed, so the site can be rebuilt and diffed:
a fixed `svg.hashsalt` makes matplotlib's element ids stable and `metadata={'Date': None}`
leaves out the creation date. We draw on a bare `Figure` with an Agg canvas (no pyplot): no GUI
backend, no display, and the process's global matplotlib state (backend, rcParams) is left alone.
"""

from __future__ import annotations

import hashlib
import io
import math
from pathlib import Path
from typing import Callable

import matplotlib
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from harness.storage import atomic_path

BOOKKEEPING = {"kind", "g_step", "kimg", "wall_clock_s", "eval_seconds"}
METRIC_TITLES = {"fid": "FID (lower is better)", "kid_mean": "KID (lower is better)", "is_mean": "IS (higher is better)"}
MIN_POINTS = 2  # fewer is not a curve
SCALE_RATIO = 10.0  # curves whose magnitudes differ more than this get separate axes
# Text as <text> (svg.fonttype none), not glyph paths: smaller files, and drawing is the slow part.
RC = {"svg.hashsalt": "gan-bench", "svg.fonttype": "none", "font.size": 9, "axes.spines.top": False,
      "axes.spines.right": False}
# Fixed margins instead of tight_layout / bbox_inches="tight", each of which draws the figure again.
MARGINS = {"left": 0.15, "right": 0.97, "bottom": 0.17, "top": 0.89}


def _finite(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _series(records: list[dict], key: str) -> tuple[list[float], list[float]]:
    xs, ys = [], []
    for record in records:
        value, kimg = record.get(key), record.get("kimg", 0.0)
        if _finite(value) and _finite(kimg):
            xs.append(float(kimg))
            ys.append(float(value))
    return xs, ys


def _literal(text: str) -> str:
    """A name from curves.jsonl as a plot label: `$…$` would be parsed as mathtext (and may not parse)."""
    return str(text).replace("$", r"\$")


def _score_label(record: dict) -> str:
    domain = record.get("domain") or ""
    return f"into {domain}" if record.get("task") == "translation" else domain


def _figure(width: float, height: float) -> Figure:
    figure = Figure(figsize=(width, height))
    FigureCanvasAgg(figure)  # headless canvas; savefig(format="svg") hands the drawing to the SVG renderer
    return figure


def _svg(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    with matplotlib.rc_context(RC):
        figure.savefig(buffer, format="svg", metadata={"Date": None})
    return buffer.getvalue()


def _numeric_keys(records: list[dict]) -> list[str]:
    keys = {k for r in records for k, v in r.items()
            if k not in BOOKKEEPING and isinstance(v, (int, float)) and not isinstance(v, bool)}
    return sorted(keys)


def _scale(ys: list[float]) -> float:
    return max(abs(y) for y in ys) or 1e-12


def scale_groups(series: dict[str, tuple[list, list]]) -> list[list[str]]:
    """Keys grouped so that no axis holds two curves whose magnitudes differ by more than SCALE_RATIO
    (VEEGAN's loss_g of ~126 beside loss_d of ~1 would flatten loss_d into a line)."""
    ordered = sorted(series, key=lambda k: (_scale(series[k][1]), k))
    groups: list[list[str]] = []
    for key in ordered:
        if groups and _scale(series[key][1]) <= SCALE_RATIO * _scale(series[groups[-1][0]][1]):
            groups[-1].append(key)
        else:
            groups.append([key])
    return groups


def _curves(records: list[dict], keys: list[str]) -> dict[str, tuple[list, list]]:
    """Series with at least two points: a single point is not a curve (the scores table has it)."""
    series = {key: _series(records, key) for key in keys}
    return {key: xy for key, xy in series.items() if len(xy[0]) >= MIN_POINTS}


def _panel(title: str, lines: dict[str, tuple[list, list]], xlabel: str, colours: dict[str, str]) -> bytes:
    with matplotlib.rc_context(RC):
        figure = _figure(4.4, 2.9)
        figure.subplots_adjust(**MARGINS)
        axes = figure.add_subplot(1, 1, 1)
        for key, (xs, ys) in lines.items():
            axes.plot(xs, ys, marker="." if len(xs) < 30 else None, label=_literal(key), linewidth=1.2, color=colours[key])
        axes.set_title(title)
        axes.set_xlabel(xlabel)
        if len(lines) > 1 or next(iter(lines)) != title:
            axes.legend(frameon=False)
        axes.grid(alpha=0.3)
    return _svg(figure)


def loss_panels(curves: list[dict]) -> list[bytes]:
    """Losses over kimg, one panel per scale; other logged scalars (D accuracy, penalties) apart."""
    records = [r for r in curves if r.get("kind") == "loss"]
    series = _curves(records, _numeric_keys(records))
    colours = {key: f"C{index % 10}" for index, key in enumerate(sorted(series))}
    losses = {k: v for k, v in series.items() if k.startswith("loss")}
    others = {k: v for k, v in series.items() if k not in losses}
    panels = []
    for title, group in (("losses", losses), ("other logged values", others)):
        groups = scale_groups(group)
        for index, keys in enumerate(groups):
            name = title if len(groups) == 1 else f"{title} ({index + 1} of {len(groups)}, by scale)"
            panels.append(_panel(name, {k: group[k] for k in keys}, "kimg (real images shown to D, thousands)", colours))
    return panels


def metric_panels(curves: list[dict]) -> list[bytes]:
    """FID / KID / IS (or a suite's own numbers) over kimg, one panel each; only with >= 2 evaluations."""
    records = [r for r in curves if r.get("kind") == "metric"]
    labels = sorted({_score_label(r) for r in records})  # a two-domain run: one line per domain or direction
    panels = []
    for key in (k for k in _numeric_keys(records) if not k.endswith("_std")):  # spreads are in the scores table
        title = METRIC_TITLES.get(key, key)
        lines = {}
        for label in labels:
            xs, ys = _series([r for r in records if _score_label(r) == label], key)
            if len(xs) >= MIN_POINTS:
                lines[label or title] = (xs, ys)
        if lines:
            colours = {name: f"C{3 + index}" for index, name in enumerate(lines)}
            panels.append(_panel(title, lines, "kimg", colours))
    return panels


class PlotCache:
    """Plots of unchanged inputs are reused: drawing is most of a rebuild's time, and a run's curves
    stop changing once it ends. Keyed by the input bytes, this module's source and the matplotlib
    version, so any change that could alter a plot draws it again. The folder lives outside the site
    (a published site should not carry our cache)."""

    def __init__(self, folder: Path | None):
        self.folder = folder
        self.used: set[str] = set()
        self._salt = Path(__file__).read_bytes() + matplotlib.__version__.encode()

    def panels(self, data: bytes, kind: str, draw: Callable[[], list[bytes]]) -> list[bytes]:
        """The SVG panels `draw` makes from `data` (their cache key): from the cache when it has them."""
        key = hashlib.sha256(self._salt + kind.encode() + b"\0" + data).hexdigest()[:32]
        index_name = f"{key}-{kind}.count"
        self.used.add(index_name)
        index = self.folder / index_name if self.folder is not None else None
        if index is not None and index.is_file():
            names = [f"{key}-{kind}-{i}.svg" for i in range(int(index.read_text() or 0))]
            if all((self.folder / name).is_file() for name in names):
                self.used.update(names)
                return [(self.folder / name).read_bytes() for name in names]
        svgs = draw()
        if index is not None:
            self.folder.mkdir(parents=True, exist_ok=True)
            for i, svg in enumerate(svgs):
                name = f"{key}-{kind}-{i}.svg"
                self.used.add(name)
                with atomic_path(self.folder / name) as tmp:
                    tmp.write_bytes(svg)
            with atomic_path(index) as tmp:  # written last: a count means its panels are all there
                tmp.write_text(str(len(svgs)))
        return svgs

    def run_plots(self, data: bytes, curves: list[dict]) -> dict[str, list[bytes]]:
        """A run's loss and metric panels from curves.jsonl's bytes."""
        return {"losses": self.panels(data, "losses", lambda: loss_panels(curves)),
                "metrics": self.panels(data, "metrics", lambda: metric_panels(curves))}

    def prune(self) -> None:
        """Forget plots of inputs that changed or went away, so the cache does not grow forever."""
        if self.folder is None or not self.folder.is_dir():
            return
        for path in list(self.folder.glob("*.svg")) + list(self.folder.glob("*.count")):
            if path.name not in self.used:
                path.unlink()
