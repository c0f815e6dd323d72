"""Live progress for long loops (training, real-feature computation, scoring, any classifier training).

In a terminal: a rich progress bar per loop (they stack when one runs inside another, e.g. a periodic
evaluation during training). Anywhere else (a log file, SLURM, CI): one plain line every
$GAN_BENCH_PROGRESS_INTERVAL seconds (default 30) with the same numbers, and one when the loop ends.

    with meter("train dcgan", total=g_steps, unit="G step") as live:
        ...
        live.update(done, images=images_seen, info={"loss_d": 0.7})

The numbers are the loop's own counts; nothing here touches the device or any random stream.
"""

from __future__ import annotations

import os
import sys
import time
from contextlib import contextmanager
from typing import Iterator

INTERVAL_ENV = "GAN_BENCH_PROGRESS_INTERVAL"
DEFAULT_INTERVAL_S = 30.0


def plain_interval() -> float:
    try:
        return max(0.0, float(os.environ.get(INTERVAL_ENV, DEFAULT_INTERVAL_S)))
    except ValueError:
        return DEFAULT_INTERVAL_S


def duration(seconds: float) -> str:
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


class Meter:
    """One loop's counts, and the text both displays show for them."""

    def __init__(self, label: str, total: int | None, unit: str, start: int = 0):
        self.label, self.total, self.unit = label, total, unit
        self.started = time.monotonic()
        self.start = start  # a resumed loop: its rate counts this session's work only
        self.completed, self.images = start, None
        self.first_images = start if unit == "img" else None  # image loops count their images from `start`
        self.info: dict[str, float] = {}
        self._rich_task = None
        self._last_line = self.started

    def update(self, completed: int, images: int | None = None, info: dict[str, float] | None = None) -> None:
        self.completed = completed
        if images is not None:
            self.first_images = images if self.first_images is None else self.first_images
            self.images = images
        if info is not None:
            self.info = info
        _DISPLAY.refresh(self)

    def advance(self, count: int) -> None:
        """For loops over images: `count` more done (the images are the units)."""
        self.update(self.completed + count, images=self.completed + count)

    def numbers(self) -> str:
        """'G step 120/1000 · 7.7 kimg · 512 img/s · ETA 3:12 · loss_d 0.690' (what is known so far)."""
        elapsed = max(time.monotonic() - self.started, 1e-9)
        of = f"/{self.total}" if self.total else ""
        parts = [f"{self.unit} {self.completed}{of}" if self.unit != "img" else f"{self.completed}{of} img"]
        if self.images is not None and self.unit != "img":
            parts.append(f"{self.images / 1000:.1f} kimg")
        if self.images is not None and self.first_images is not None:
            parts.append(f"{(self.images - self.first_images) / elapsed:.0f} img/s")
        done = self.completed - self.start
        if self.total and done > 0:
            parts.append(f"ETA {duration((self.total - self.completed) * elapsed / done)}")
        if self.info:
            parts.append(" ".join(f"{name} {value:.3g}" for name, value in self.info.items()))
        return " · ".join(parts)


class _Display:
    """Where meters are shown: one rich Live for all meters in a terminal, plain lines otherwise."""

    def __init__(self):
        self._rich = None
        self._open: list[Meter] = []

    def open(self, meter: Meter) -> None:
        self._open.append(meter)
        if sys.stdout.isatty():
            if self._rich is None:
                self._rich = _rich_progress()
                self._rich.start()
            meter._rich_task = self._rich.add_task(meter.label, total=meter.total, completed=meter.completed,
                                                   numbers=meter.numbers())

    def refresh(self, meter: Meter) -> None:
        if meter._rich_task is not None and self._rich is not None:
            self._rich.update(meter._rich_task, total=meter.total, completed=meter.completed, numbers=meter.numbers())
            return
        now = time.monotonic()
        if now - meter._last_line >= plain_interval():
            meter._last_line = now
            self._line(meter)

    def close(self, meter: Meter) -> None:
        self._open.remove(meter)
        if meter._rich_task is not None and self._rich is not None:
            if self._open:  # a loop inside another (an evaluation during training): one line above the bars
                self._rich.remove_task(meter._rich_task)
                self._rich.console.print(f"{meter.label}: {meter.numbers()} (done)", markup=False, highlight=False)
            else:
                self._rich.update(meter._rich_task, total=meter.total, completed=meter.completed,
                                  numbers=meter.numbers())
                self._rich.stop()  # leaves the finished bar on screen
                self._rich = None
            return
        self._line(meter, final=True)

    @staticmethod
    def _line(meter: Meter, final: bool = False) -> None:
        print(f"[{meter.label}] {meter.numbers()}{' (done)' if final else ''}", file=sys.stdout, flush=True)


def _rich_progress():
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(TextColumn("[bold]{task.description}"), BarColumn(bar_width=30),
                    TextColumn("{task.percentage:>3.0f}%"), TimeElapsedColumn(), TextColumn("{task.fields[numbers]}"),
                    refresh_per_second=4)


_DISPLAY = _Display()


@contextmanager
def meter(label: str, total: int | None, unit: str = "img", start: int = 0) -> Iterator[Meter]:
    """Show a loop's progress while the block runs (see the module docstring)."""
    live = Meter(label, total, unit, start)
    _DISPLAY.open(live)
    try:
        yield live
    finally:
        _DISPLAY.close(live)
