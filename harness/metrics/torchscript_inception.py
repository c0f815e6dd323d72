"""A TorchScript pool3 Inception detector as a torch-fidelity feature extractor.

NVIDIA's `inception-2015-12-05.pt` (and ports of it) take float images already at 299x299 in
[-1, 1]; this wrapper does the resize the same way torch-fidelity's own InceptionV3 does
(TensorFlow-1.x-compatible bilinear) so both kinds see identical pixels.
"""

from __future__ import annotations

import warnings

import torch
from torch_fidelity.feature_extractor_base import FeatureExtractorBase
from torch_fidelity.interpolate_compat_tensorflow import interpolate_bilinear_2d_like_tensorflow1x

from harness.errors import GanBenchError


class TorchScriptPool3(FeatureExtractorBase):
    INPUT_IMAGE_SIZE = 299

    def __init__(self, name: str, features_list: list[str], feature_extractor_weights_path: str, **kwargs):
        super().__init__(name, features_list)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", FutureWarning)  # torch.jit.load's deprecation notice
                self.net = torch.jit.load(feature_extractor_weights_path, map_location="cpu")
        except Exception as exc:
            raise GanBenchError(
                f"{feature_extractor_weights_path}: not a loadable TorchScript detector ({type(exc).__name__})"
            ) from None
        self.requires_grad_(False)
        self.eval()

    @classmethod
    def register(cls, name: str) -> None:
        """Make this class torch-fidelity's feature extractor `name` (once per process)."""
        from torch_fidelity.registry import FEATURE_EXTRACTORS_REGISTRY, register_feature_extractor

        if name not in FEATURE_EXTRACTORS_REGISTRY:
            register_feature_extractor(name, cls)

    @staticmethod
    def get_provided_features_list():
        return ("2048",)

    @staticmethod
    def get_default_feature_layer_for_metric(metric):
        return {"fid": "2048", "kid": "2048"}[metric]

    @staticmethod
    def can_be_compiled():
        return False

    @staticmethod
    def get_dummy_input_for_compile():
        return torch.zeros(1, 3, 299, 299, dtype=torch.uint8)

    def forward(self, x: torch.Tensor):
        if x.dtype != torch.uint8 or x.dim() != 4 or x.shape[1] != 3:
            raise ValueError(f"expected uint8 images (N, 3, H, W), got {x.dtype} {tuple(x.shape)}")
        x = interpolate_bilinear_2d_like_tensorflow1x(
            x.float(), size=(self.INPUT_IMAGE_SIZE, self.INPUT_IMAGE_SIZE), align_corners=False
        )
        features = self.net((x - 128) / 128)
        return (features.float(),)
