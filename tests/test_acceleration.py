"""The speed switches change how a step runs, not what it computes, and are recorded with the run."""

from __future__ import annotations

import json
import math

import pytest
import torch

from harness.acceleration import Acceleration
from harness.batches import Batch
from harness.errors import GanBenchError
from harness.experiment import configure, instantiate
from harness.registry import load_registry
from harness.reproduction import DataSpec


def dcgan(acceleration: Acceleration):
    torch.manual_seed(0)
    cls, hp, _ = configure(load_registry().get("dcgan"), "cifar10", {"g_width": 8, "d_width": 8})
    repro = instantiate(cls, hp, DataSpec("cifar10", 3, 32, 10), torch.device("cpu"), "dcgan")
    acceleration.apply(repro)
    return repro


def test_bf16_autocast_and_channels_last_train_finite():
    acceleration = Acceleration(amp="bf16", channels_last=True)
    repro = dcgan(acceleration)
    conv = repro.D.net[0].weight
    assert conv.is_contiguous(memory_format=torch.channels_last)
    batch = Batch(torch.rand(4, 3, 32, 32).mul(2).sub(1).contiguous(memory_format=torch.channels_last),
                  torch.zeros(4, dtype=torch.long))
    with acceleration.autocast(repro.device):
        losses = repro.train_step([batch], 0)
    assert all(math.isfinite(float(v)) for v in losses.values())
    assert repro.G.net[0].weight.dtype == torch.float32  # autocast computes in bf16, weights stay fp32


def test_unknown_amp_mode_is_refused():
    with pytest.raises(GanBenchError, match="unknown --amp 'fp16'"):
        Acceleration(amp="fp16")


@pytest.mark.slow
def test_switches_are_recorded_in_the_run_config(cli, tmp_path):
    result = cli("run", "dcgan", "--budget", "smoke", "--g-steps", "2", "--device", "cpu", "--no-eval",
                 "--channels-last", "--runs-dir", tmp_path)
    assert result.exit_code == 0, result.output
    (config,) = tmp_path.glob("dcgan/mnist/*/*/config.json")
    assert json.loads(config.read_text())["acceleration"] == {"amp": "off", "channels_last": True, "compile": False,
                                                              "data_on_device": True}
