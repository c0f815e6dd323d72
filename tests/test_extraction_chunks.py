"""On a CPU the extractor sees a sampling batch in pieces of CPU_EXTRACTION_CHUNK images (page-fault
cost of Inception's large activations); the features must be those of the whole batch, in order."""

from __future__ import annotations

import torch

from harness.metrics import evaluate
from harness.metrics.evaluate import Evaluator, Protocol
from harness.metrics.extractors import ExtractorSpec

SPEC = ExtractorSpec(kind="torchscript", weights_path="stand-in", weights_sha256="0" * 64,
                     official_weights=False, provides_is=False)


class RecordingExtractor:
    """A per-image feature (mean and max of each channel), recording the size of every call."""

    def __init__(self):
        self.calls: list[int] = []

    def __call__(self, images: torch.Tensor) -> tuple[torch.Tensor]:
        self.calls.append(len(images))
        x = images.float()
        return (torch.cat([x.mean((2, 3)), x.amax((2, 3))], dim=1),)


def _evaluator(device: str) -> tuple[Evaluator, RecordingExtractor]:
    protocol = Protocol(dataset="mnist", resolution=28, num_samples=50, real_split="train", real_samples=50,
                        extractor=SPEC)
    evaluator = Evaluator(protocol, torch.device("cpu"), batch_size=50)
    evaluator.device = torch.device(device)  # only the piece size depends on it; the stand-in runs anywhere
    evaluator._extractor = RecordingExtractor()
    return evaluator, evaluator._extractor


def test_a_cpu_batch_reaches_the_extractor_in_chunks_and_the_features_are_the_whole_batchs():
    images = torch.randint(0, 256, (50, 1, 28, 28), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    whole = RecordingExtractor()(images.expand(-1, 3, -1, -1))[0]

    evaluator, extractor = _evaluator("cpu")
    features = evaluator.features(iter([images[:45], images[45:]]))
    chunk = evaluate.CPU_EXTRACTION_CHUNK
    assert extractor.calls == [chunk, chunk, 45 - 2 * chunk, 5]
    torch.testing.assert_close(features["2048"], whole, rtol=0, atol=0)


def test_a_gpu_batch_reaches_the_extractor_whole():
    images = torch.randint(0, 256, (50, 3, 28, 28), dtype=torch.uint8)
    evaluator, _ = _evaluator("cuda")
    assert [len(piece) for piece in evaluator._extraction_pieces(images)] == [50]
