"""A TensorBoard view of a run, written into its run directory (`tensorboard --logdir runs`).

    loss/<name>             every log record, at step = G step
    metric/<name>[/<domain>] every evaluation, at step = real images shown to D (kimg x 1000)
    samples                 the fixed-noise sample grid at each evaluation and at the end, same step

The run store (curves.jsonl, result.json, samples.png) stays the source of truth; these event files
are a view of it. On resume the view is rebuilt so no step appears twice: the scalars are written
again from curves.jsonl (already cut at the checkpoint, and complete even after a SIGKILL lost the
writer's unflushed buffer), the sample grids up to the checkpoint are copied from the old event
files (they are not in the run store), and the old files are removed.
"""

from __future__ import annotations

from pathlib import Path

import torch

EVENT_FILE_GLOB = "events.out.tfevents.*"
LOSS_PREFIX = "loss/"
SAMPLES_TAG = "samples"


class EventLog:
    def __init__(self, run_dir: Path, resumed_at: dict | None = None, curves: list[dict] = ()):
        """`resumed_at`: the checkpoint's progress, and `curves` the run's records up to it (on resume)."""
        from torch.utils.tensorboard import SummaryWriter

        self.run_dir = Path(run_dir)
        old = sorted(self.run_dir.glob(EVENT_FILE_GLOB))
        grids = _sample_grids_up_to(old, resumed_at["images_seen"]) if resumed_at is not None else []
        self._writer = SummaryWriter(log_dir=str(self.run_dir), flush_secs=30)
        if resumed_at is not None:
            for record in curves:
                if record.get("kind") == "loss":
                    self.losses({k: v for k, v in record.items() if k != "kind"})
                elif record.get("kind") == "metric":
                    self.metrics(record, {k: record[k] for k in ("task", "domain") if k in record})
            writer = self._writer._get_file_writer()
            for event in grids:
                writer.add_event(event)
            self._writer.flush()
            for path in old:  # only once the rebuilt view is on disk
                path.unlink()

    def losses(self, record: dict) -> None:
        step = record["g_step"]
        for name, value in record.items():
            if name not in ("g_step", "kimg", "wall_clock_s"):
                self._writer.add_scalar(f"{LOSS_PREFIX}{name}", value, step)

    def metrics(self, record: dict, tags: dict) -> None:
        """An evaluation record (fid, kid_mean, …, eval_seconds) of the score named by `tags` (domain, task)."""
        suffix = "".join(f"/{tags[name]}" for name in ("task", "domain") if name in tags)
        step = images_step(record["kimg"])
        for name in ("fid", "kid_mean", "kid_std", "is_mean", "is_std", "eval_seconds"):
            if name in record:
                self._writer.add_scalar(f"metric/{name}{suffix}", record[name], step)

    def samples(self, images: torch.Tensor, kimg: float) -> None:
        from torchvision.utils import make_grid

        grid = make_grid(images, nrow=8, normalize=True, value_range=(-1, 1))
        self._writer.add_image(SAMPLES_TAG, grid, images_step(kimg))
        self._writer.flush()  # evaluations are rare: each one is on disk when it is done

    def close(self) -> None:
        self._writer.close()


def images_step(kimg: float) -> int:
    return int(round(kimg * 1000))


def _sample_grids_up_to(paths: list[Path], images_seen: int) -> list:
    """The sample-grid events at or before the checkpoint, read with TensorBoard's own loader."""
    from tensorboard.backend.event_processing.event_file_loader import EventFileLoader

    grids = []
    for path in paths:
        for event in EventFileLoader(str(path)).Load():
            if (event.HasField("summary") and event.step <= images_seen
                    and all(value.tag == SAMPLES_TAG for value in event.summary.value)):
                grids.append(event)
    return grids
