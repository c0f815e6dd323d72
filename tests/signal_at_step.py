"""`python -m tests.signal_at_step SIGNAL G_STEP gan-bench-args…`: the CLI, sending itself SIGNAL
while it trains G step G_STEP (counted from 0), so a test interrupts a run at a chosen step rather
than racing a timer. The harness is unchanged: the reproduction's train_step is wrapped from here.
"""

from __future__ import annotations

import os
import signal
import sys

from harness import trainer


def signal_at(signal_name: str, g_step: int) -> None:
    original_init = trainer.Trainer.__init__

    def init(self, reproduction, *args, **kwargs):
        original_init(self, reproduction, *args, **kwargs)
        train_step = reproduction.train_step

        def train_step_then_signal(real, step):
            if step == g_step:
                os.kill(os.getpid(), getattr(signal, signal_name))  # SIGKILL: dead here, mid-step
            return train_step(real, step)

        reproduction.train_step = train_step_then_signal

    trainer.Trainer.__init__ = init


if __name__ == "__main__":
    signal_at(sys.argv[1], int(sys.argv[2]))
    from harness.cli import app

    app(sys.argv[3:], prog_name="gan-bench")
