"""What a researcher watches while a run trains: the live progress display and the TensorBoard view.

One object the experiment feeds from the trainer's callbacks, so the training loop and the run store
know nothing of either. Under torchrun only rank 0 shows or writes anything.
"""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path

import torch

from harness.progress import meter


class RunMonitor:
    def __init__(self, run_dir: Path, label: str, resumed_at: dict | None = None, curves: list[dict] = (),
                 enabled: bool = True):
        self.enabled = enabled
        self._stack = ExitStack()
        self._live = None
        self._events = None
        if enabled:
            from harness.tensorboard_log import EventLog

            self._events = EventLog(run_dir, resumed_at, curves)
            start = resumed_at["g_steps"] if resumed_at else 0
            self._live = self._stack.enter_context(meter(label, None, unit="G step", start=start))

    def step(self, progress, planned: int) -> None:
        if self._live is not None:
            self._live.total = planned
            self._live.update(progress.g_steps, images=progress.images_seen)

    def losses(self, record: dict) -> None:
        if self._events is not None:
            self._events.losses(record)
        if self._live is not None:
            self._live.info = {k: v for k, v in record.items() if k not in ("g_step", "kimg", "wall_clock_s")}

    def metrics(self, record: dict, tags: dict) -> None:
        if self._events is not None:
            self._events.metrics(record, tags)

    def samples(self, images: torch.Tensor, kimg: float) -> None:
        if self._events is not None:
            self._events.samples(images, kimg)

    def end_training(self) -> None:
        """The bar ends with training (scoring shows its own); the event file stays open for the final scores."""
        self._stack.close()
        self._live = None

    def close(self) -> None:
        self.end_training()
        if self._events is not None:
            self._events.close()
            self._events = None
