"""Each dataset loader on real files (../shared/data) or fixtures in the real formats."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from harness.batches import DeviceBatches, to_uint8, to_unit_range
from harness.data import load_images, read_idx
from harness.errors import DataNotFoundError, GanBenchError
from tests import fixtures


@pytest.mark.parametrize("name, folder", [("mnist", "MNIST"), ("fashion-mnist", "FashionMNIST")])
def test_idx_datasets(data_root, name, folder):
    train = load_images(name, "train", data_root, download=False)
    test = load_images(name, "test", data_root, download=False)
    assert train.images.dtype == torch.uint8 and train.images.shape[1:] == (1, 28, 28)
    assert train.labels.dtype == torch.int64 and set(train.labels.unique().tolist()) <= set(range(10))
    assert len(train) == len(train.labels) and len(test) < len(train)
    if (data_root / folder / "raw" / "train-images-idx3-ubyte.gz").stat().st_size > 1_000_000:  # the real files
        assert (len(train), len(test)) == (60000, 10000)


def test_idx_reader_reads_plain_and_gzip_and_rejects_truncation(tmp_path):
    array = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    plain = fixtures.write_idx(tmp_path / "plain-idx3-ubyte", array, compress=False)
    packed = fixtures.write_idx(tmp_path / "packed-idx3-ubyte", array)
    assert np.array_equal(read_idx(plain), array) and np.array_equal(read_idx(packed), array)
    plain.write_bytes(plain.read_bytes()[:-3])
    with pytest.raises(GanBenchError, match="truncated"):
        read_idx(plain)


def test_resolution_is_applied_at_load(data_root):
    images = load_images("mnist", "test", data_root, resolution=32, download=False).images
    assert images.shape[1:] == (1, 32, 32) and images.dtype == torch.uint8


def test_cifar10_pickle_format(tmp_path):
    fixtures.write_cifar10_like(tmp_path, per_batch=10)
    train = load_images("cifar10", "train", tmp_path, download=False)
    test = load_images("cifar10", "test", tmp_path, download=False)
    assert train.images.shape == (50, 3, 32, 32) and test.images.shape == (10, 3, 32, 32)
    assert train.info.num_classes == 10
    # The pickle's row layout is 1024 R, then G, then B values of a 32x32 image in row-major order.
    import pickle

    with (tmp_path / "cifar-10-batches-py" / "data_batch_1").open("rb") as handle:
        row = pickle.load(handle, encoding="latin1")["data"][0]
    assert torch.equal(train.images[0, 1], torch.from_numpy(row[1024:2048].reshape(32, 32)))


def test_image_folder(tmp_path):
    fixtures.write_image_folder(tmp_path, classes=3, per_class=4, size=40)
    data = load_images("imagefolder", "train", tmp_path, resolution=32, download=False)
    assert data.images.shape == (12, 3, 32, 32) and data.info.num_classes == 3
    assert sorted(data.labels.unique().tolist()) == [0, 1, 2]


def test_missing_data_says_where_files_go(tmp_path):
    with pytest.raises(DataNotFoundError) as error:
        load_images("mnist", "train", tmp_path / "nowhere", download=False)
    message = str(error.value)
    assert "MNIST/raw/" in message and "nowhere" in message and "--data-root" in message and "\n" not in message


def test_unknown_dataset(tmp_path):
    with pytest.raises(GanBenchError, match="unknown dataset 'imagenet-1k'"):
        load_images("imagenet-1k", "train", tmp_path)


def test_device_batches_cover_each_epoch_once_and_scale_to_unit_range(data_root):
    data = load_images("mnist", "test", data_root, download=False)
    subset = type(data)(data.info, "test", data.images[:40], data.labels[:40])
    batches = DeviceBatches(subset, 8, torch.device("cpu"), seed=3)
    seen = torch.cat([batches.next().images for _ in range(5)])
    assert seen.min() >= -1 and seen.max() <= 1
    # one epoch = a permutation: the 40 images come back exactly once each
    assert torch.equal(torch.sort(to_uint8(seen).flatten(1).sum(1)).values,
                       torch.sort(subset.images.flatten(1).long().sum(1)).values)
    assert torch.equal(to_uint8(to_unit_range(subset.images)), subset.images)  # the round trip is exact


def test_host_resident_data_gives_the_same_batches(data_root):
    data = load_images("mnist", "test", data_root, download=False)
    on_device = DeviceBatches(data, 16, torch.device("cpu"), seed=7)
    on_host = DeviceBatches(data, 16, torch.device("cpu"), seed=7, on_device=False,
                            memory_format=torch.channels_last)
    for _ in range(3):
        a, b = on_device.next(), on_host.next()
        assert torch.equal(a.images, b.images) and torch.equal(a.labels, b.labels)
    assert b.images.is_contiguous(memory_format=torch.channels_last)
