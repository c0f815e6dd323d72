"""Speed switches the harness applies to any reproduction, each recorded in the run's config.

- `amp`: bf16 autocast around the training step. bf16 keeps fp32's exponent range, so GAN losses
  need no loss scaling (fp16 would: its overflow on D's logits is a classic source of NaNs, which is
  why fp16 is not offered). The gradient penalty always runs in fp32 (reproductions.parts.regularizers).
- `channels_last`: networks and real batches in NHWC, which cuDNN's convolutions prefer.
- `compile`: `torch.compile` of each network's forward (the module itself is untouched, so
  checkpoints keep their plain parameter names).
- `data_on_device`: the whole uint8 dataset lives on the training device and batches are cut there
  (default); off, it stays in host memory and each batch is copied over — for datasets larger than
  the device's memory.
"""

from __future__ import annotations

import contextlib
from dataclasses import asdict, dataclass
from typing import Literal

import torch

from harness.errors import GanBenchError
from harness.reproduction import Reproduction


@dataclass(frozen=True)
class Acceleration:
    amp: Literal["off", "bf16"] = "off"
    channels_last: bool = False
    compile: bool = False
    data_on_device: bool = True

    def __post_init__(self):
        if self.amp not in ("off", "bf16"):
            raise GanBenchError(f"unknown --amp {self.amp!r}; choose off or bf16")

    def to_dict(self) -> dict:
        return asdict(self)

    def apply(self, reproduction: Reproduction) -> None:
        for module in reproduction.networks().values():
            if self.channels_last:
                module.to(memory_format=torch.channels_last)
            if self.compile:
                module.forward = torch.compile(module.forward)

    def autocast(self, device: torch.device):
        if self.amp == "bf16":
            return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    @property
    def memory_format(self) -> torch.memory_format:
        return torch.channels_last if self.channels_last else torch.contiguous_format
