"""A run's curves (curves.jsonl) as SVG, drawn with matplotlib at report time.

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

import matplotlib
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from harness.storage import atomic_path

BOOKKEEPING = {"kind", "g_step", "kimg", "wall_clock_s", "eval_seconds"}
METRIC_PANELS = (("fid", "FID (lower is better)"), ("kid_mean", "KID (lower is better)"), ("is_mean", "IS (higher is better)"))
# Text as <text> (svg.fonttype none), not glyph paths: smaller files, and drawing is the slow part.
RC = {"svg.hashsalt": "gan-bench", "svg.fonttype": "none", "font.size": 9, "axes.spines.top": False,
      "axes.spines.right": False}
# Fixed margins instead of tight_layout / bbox_inches="tight", each of which draws the figure again.
MARGINS = {"left": 0.09, "right": 0.98, "bottom": 0.17, "top": 0.9, "wspace": 0.28}


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


def loss_plot(curves: list[dict]) -> bytes | None:
    """Losses over kimg; other logged scalars (D accuracy, penalties) in a second panel, on their own scale."""
    records = [r for r in curves if r.get("kind") == "loss"]
    keys = _numeric_keys(records)
    if not keys:
        return None
    losses = [k for k in keys if k.startswith("loss")]
    others = [k for k in keys if k not in losses]
    panels = [(title, group) for title, group in (("losses", losses), ("other logged values", others)) if group]
    with matplotlib.rc_context(RC):
        figure = _figure(4.6 * len(panels), 3.0)
        figure.subplots_adjust(**{**MARGINS, "left": MARGINS["left"] / len(panels)})
        for index, (title, group) in enumerate(panels):
            axes = figure.add_subplot(1, len(panels), index + 1)
            for key in group:
                xs, ys = _series(records, key)
                axes.plot(xs, ys, marker="." if len(xs) < 30 else None, label=_literal(key), linewidth=1.2)
            axes.set_title(title)
            axes.set_xlabel("kimg (real images shown to D, thousands)")
            axes.legend(frameon=False)
            axes.grid(alpha=0.3)
    return _svg(figure)


def metric_plot(curves: list[dict]) -> bytes | None:
    """FID / KID / IS over kimg, one panel each (their scales differ by orders of magnitude)."""
    records = [r for r in curves if r.get("kind") == "metric"]
    panels = [(key, title) for key, title in METRIC_PANELS if _series(records, key)[0]]
    if not panels:
        return None
    with matplotlib.rc_context(RC):
        figure = _figure(3.6 * len(panels), 2.8)
        figure.subplots_adjust(**{**MARGINS, "left": 0.14 / len(panels), "wspace": 0.35})
        # A two-domain run logs one record per domain (or translation direction): one line each.
        labels = sorted({_score_label(r) for r in records})
        for index, (key, title) in enumerate(panels):
            axes = figure.add_subplot(1, len(panels), index + 1)
            for colour, label in enumerate(labels):
                xs, ys = _series([r for r in records if _score_label(r) == label], key)
                axes.plot(xs, ys, marker="o", linewidth=1.2, color=f"C{3 + colour}", label=_literal(label) if label else None)
            if len(labels) > 1:
                axes.legend(frameon=False)
            axes.set_title(title)
            axes.set_xlabel("kimg")
            axes.grid(alpha=0.3)
    return _svg(figure)


class PlotCache:
    """Plots of unchanged curves are reused: drawing is most of a rebuild's time, and a run's curves
    stop changing once it ends. Keyed by the bytes of curves.jsonl, this module's source and the
    matplotlib version, so any change that could alter a plot draws it again."""

    KINDS = {"losses": loss_plot, "metrics": metric_plot}

    def __init__(self, folder: Path | None):
        self.folder = folder
        self.used: set[str] = set()
        self._salt = Path(__file__).read_bytes() + matplotlib.__version__.encode()

    def plots(self, data: bytes, curves: list[dict]) -> dict[str, bytes | None]:
        """The SVGs of `curves`, parsed from `data` (curves.jsonl's bytes, the cache key); None: nothing to plot."""
        key = hashlib.sha256(self._salt + data).hexdigest()[:32]
        result = {}
        for kind, draw in self.KINDS.items():
            name = f"{key}-{kind}.svg"
            self.used.add(name)
            cached = self.folder / name if self.folder is not None else None
            if cached is not None and cached.is_file():
                svg = cached.read_bytes()
                result[kind] = svg or None  # an empty file records "nothing to plot"
                continue
            svg = draw(curves)
            result[kind] = svg
            if cached is not None:
                cached.parent.mkdir(parents=True, exist_ok=True)
                with atomic_path(cached) as tmp:
                    tmp.write_bytes(svg or b"")
        return result

    def prune(self) -> None:
        """Forget plots of runs that changed or went away, so the cache does not grow forever."""
        if self.folder is None or not self.folder.is_dir():
            return
        for path in self.folder.glob("*.svg"):
            if path.name not in self.used:
                path.unlink()
