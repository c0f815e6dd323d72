"""Stacked MNIST: the construction, the mode metric, the MNIST classifier and a DCGAN smoke run.

On the real MNIST in ../shared/data when it exists (conftest links it), otherwise on IDX fixtures.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from harness.data import load_images
from harness.errors import GanBenchError
from harness.metrics import stacked_modes as stacked_modes_module
from harness.metrics.mnist_classifier import ARCHITECTURE, ClassifierTraining, mnist_classifier, weights_sha256
from harness.metrics.stacked_modes import image_modes, stacked_modes
from harness.stacked_mnist import CONSTRUCTIONS

TINY_TRAINING = ClassifierTraining(epochs=2, batch_size=50, train_images=1000)


def _pool(data_root, splits):
    parts = [load_images("mnist", split, data_root) for split in splits]
    return torch.cat([p.images[:, 0] for p in parts]), torch.cat([p.labels for p in parts])


def _source_labels(channel: torch.Tensor, pool_images: torch.Tensor, pool_labels: torch.Tensor) -> set[int]:
    """The labels of every pool digit identical to `channel` (MNIST has a few exact duplicates)."""
    same = (pool_images == channel).flatten(1).all(dim=1)
    return set(pool_labels[same].tolist())


@pytest.mark.parametrize("name", ["stacked-mnist", "stacked-mnist-unrolled"])
def test_each_channel_is_a_pool_digit_and_the_label_is_its_mode(name, data_root):
    stacked = load_images(name, "test", data_root)
    assert stacked.images.shape == (10_000, 3, 28, 28) and stacked.info.num_classes == 1000
    pool_images, pool_labels = _pool(data_root, CONSTRUCTIONS[name]["test"].pool)
    for i in range(0, 10_000, 500):
        mode = int(stacked.labels[i])
        for channel, digit in enumerate((mode // 100, mode // 10 % 10, mode % 10)):
            assert digit in _source_labels(stacked.images[i, channel], pool_images, pool_labels), (i, channel)


@pytest.mark.slow  # builds both 128,000-image training sets (~30 s on one thread)
def test_the_veegan_set_draws_from_train_and_test_and_the_unrolled_set_from_train_only(data_root):
    train_images, train_labels = _pool(data_root, ("train",))
    veegan = load_images("stacked-mnist", "train", data_root)
    unrolled = load_images("stacked-mnist-unrolled", "train", data_root)
    assert len(veegan) == len(unrolled) == 128_000
    found_outside_train = False
    for i in range(0, 128_000, 4000):
        for channel in range(3):
            assert _source_labels(unrolled.images[i, channel], train_images, train_labels)
            found_outside_train |= not _source_labels(veegan.images[i, channel], train_images, train_labels)
    assert found_outside_train  # 96 channels, 1/7 of them from the test digits: none would be a broken pool


def test_construction_is_deterministic_and_cached_by_its_parameters(data_root, tmp_path, monkeypatch):
    first = load_images("stacked-mnist-unrolled", "test", data_root)
    monkeypatch.setenv("GAN_BENCH_CACHE", str(tmp_path))  # an empty cache: built again from MNIST
    again = load_images("stacked-mnist-unrolled", "test", data_root)
    assert torch.equal(first.images, again.images) and torch.equal(first.labels, again.labels)
    cached = sorted(p.name for p in (tmp_path / "stacked-mnist").iterdir())
    assert len(cached) == 2 and all(n.startswith("test-10000-seed1-mnist") for n in cached), cached
    other = load_images("stacked-mnist", "test", data_root)  # same pool split, its own entry
    assert torch.equal(other.images, first.images)  # both test splits are the same construction
    assert len(list((tmp_path / "stacked-mnist").iterdir())) == 2


def test_all_modes_evenly_gives_kl_0_and_1000_modes():
    result = stacked_modes(torch.arange(1000).repeat(26))
    assert result.modes == 1000 and abs(result.kl) < 1e-12


def test_one_mode_gives_kl_log_1000():
    result = stacked_modes(torch.full((26_000,), 314))
    assert result.modes == 1 and math.isclose(result.kl, math.log(1000), rel_tol=1e-12)
    assert result.counts[314] == 26_000


def test_two_modes_unevenly():
    result = stacked_modes(torch.tensor([7] * 3 + [900]))
    assert result.modes == 2
    assert math.isclose(result.kl, 0.75 * math.log(750) + 0.25 * math.log(250), rel_tol=1e-12)


class _BrightnessClassifier(torch.nn.Module):
    """A stand-in classifier: the digit of a constant image is its value / 20."""

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        digit = (images.float().mean(dim=(1, 2, 3)) / 20).round().long()
        return torch.nn.functional.one_hot(digit, 10).float()


def test_each_channel_is_classified_on_its_own_in_rgb_order():
    images = torch.zeros(2, 3, 28, 28, dtype=torch.uint8)
    for i, digits in enumerate(((3, 1, 4), (0, 9, 2))):
        for channel, digit in enumerate(digits):
            images[i, channel] = 20 * digit
    assert image_modes(_BrightnessClassifier(), images).tolist() == [314, 92]


def test_classifier_trains_to_a_sane_accuracy_and_is_cached_by_sha256(data_root, tmp_path):
    said: list[str] = []
    spec, model = mnist_classifier(tmp_path, data_root, TINY_TRAINING, min_accuracy=0.0, say=said.append)
    assert spec.test_accuracy > 0.8, spec  # 1,000 digits, 40 steps; chance is 0.1
    assert spec.weights_sha256 == weights_sha256(model)
    assert spec.weights_path == str(tmp_path / "mnist-classifier" / f"{spec.weights_sha256}.pt")
    assert spec.training["train_images"] == 1000 and any("training it once" in line for line in said)

    said.clear()
    again, _ = mnist_classifier(tmp_path, data_root, TINY_TRAINING, min_accuracy=0.0, say=said.append)
    assert again == spec and not said  # a cache hit: nothing trained

    state = torch.load(spec.weights_path, weights_only=True)
    state["net.0.bias"][0] += 1.0  # weights that no longer match their sha256
    torch.save(state, spec.weights_path)
    retrained, _ = mnist_classifier(tmp_path, data_root, TINY_TRAINING, min_accuracy=0.0, say=said.append)
    assert any("training it once" in line for line in said)
    assert retrained.weights_sha256 == spec.weights_sha256  # seeded: the same weights again


def test_a_classifier_under_the_accuracy_floor_is_refused_and_not_cached(data_root, tmp_path):
    training = ClassifierTraining(epochs=1, batch_size=50, train_images=100)
    with pytest.raises(GanBenchError, match="test accuracy"):
        mnist_classifier(tmp_path, data_root, training, min_accuracy=1.01, say=lambda line: None)
    assert not list((tmp_path / "mnist-classifier").glob("*.json"))


def test_dcgan_smoke_run_on_stacked_mnist_records_modes_and_the_classifier(cli, tmp_path, monkeypatch):
    monkeypatch.setattr(stacked_modes_module, "CLASSIFIER_TRAINING", TINY_TRAINING)
    monkeypatch.setattr(stacked_modes_module, "CLASSIFIER_MIN_ACCURACY", 0.0)
    result = cli("run", "dcgan", "--dataset", "stacked-mnist-unrolled", "--budget", "smoke", "--device", "cpu",
                 "--runs-dir", tmp_path)
    assert result.exit_code == 0, result.output
    (result_file,) = tmp_path.glob("dcgan/stacked-mnist-unrolled/smoke/*/result.json")
    (score,) = json.loads(result_file.read_text())["scores"]
    assert set(score["metrics"]) == {"modes", "kl"}
    assert 1 <= score["metrics"]["modes"] <= 64 and 0 <= score["metrics"]["kl"] <= math.log(1000) + 1e-9
    protocol = score["protocol"]
    assert protocol["metric"] == "stacked-modes" and protocol["num_samples"] == 64
    assert protocol["classifier"]["architecture"] == ARCHITECTURE
    assert len(protocol["classifier"]["weights_sha256"]) == 64 and 0 < protocol["classifier"]["test_accuracy"] <= 1
    config = json.loads((result_file.parent / "config.json").read_text())
    assert config["hyperparameters"]["architecture"] == "small-dc"
    assert np.isfinite(score["metrics"]["kl"])


def test_the_small_dc_nets_on_another_resolution_are_one_error_line(cli, tmp_path):
    result = cli("run", "dcgan", "--dataset", "cifar10", "--set", "architecture=small-dc", "--budget", "smoke",
                 "--device", "cpu", "--no-eval", "--runs-dir", tmp_path)
    assert result.exit_code == 2
    assert "small-dc nets are drawn for 28x28" in result.output and "Traceback" not in result.output
