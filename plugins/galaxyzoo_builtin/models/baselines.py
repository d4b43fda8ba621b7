"""Hildebrandt's baselines for the 37 GZ2 vote fractions, as zoo models.

* ``central_pixel_linreg``: linear regression on the RGB value of the image's central pixel;
* ``mean_pixel_linreg``: linear regression on the image's mean RGB colour;
* ``mean_vote``: the mean of the training vote fractions, whatever the image.

Each is an affine map of (at most) three features, trained by the ordinary loop with MSE, i.e.
least squares. The outputs are the fractions themselves (``outputs_fractions``: no sigmoid), as
in scikit-learn's ``LinearRegression``. The features are standardised by a BatchNorm without
affine parameters whose running statistics are cumulative averages (``momentum=None``), so the
problem is well conditioned and the recipes' SGD reaches the least-squares solution in a couple
of hundred steps (tests/test_gz2_real_benchmarks.py checks it against ``numpy.linalg.lstsq``);
weights start at zero. The images should reach the model without an ROI crop (``preprocess mode=None``): for the
central pixel, the central 8/424 of the image at 8 px (its pixel [4, 4] is exactly the seed's
``pic[:, 212, 212, :]``) or the whole image at 424 px; the mean colour does not depend on an
area resize, so 64 px gives the same feature.
"""
from __future__ import annotations

import torch
from torch import nn

FEATURES = ("central_pixel", "mean_pixel", "none")


class LinearBaseline(nn.Module):
    outputs_fractions = True  # linear outputs are the predicted fractions, as in the seed

    def __init__(self, num_outputs: int, in_chans: int, feature: str):
        super().__init__()
        if feature not in FEATURES:
            raise ValueError(f"feature must be one of {FEATURES}, got {feature!r}")
        self.feature = feature
        width = 0 if feature == "none" else in_chans
        self.norm = nn.BatchNorm1d(width, affine=False, momentum=None) if width else None
        self.linear = nn.Linear(width, num_outputs) if width else None
        self.bias = nn.Parameter(torch.zeros(num_outputs)) if not width else None
        if self.linear is not None:
            nn.init.zeros_(self.linear.weight)
            nn.init.zeros_(self.linear.bias)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        if self.feature == "central_pixel":
            return x[:, :, x.shape[2] // 2, x.shape[3] // 2].float()
        return x.float().mean(dim=(2, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.linear is None:
            return self.bias.expand(x.shape[0], -1)
        return self.linear(self.norm(self.features(x)))

    def extra_repr(self) -> str:
        return f"feature={self.feature}"


def build_central_pixel(num_outputs: int, in_chans: int = 3, input_size: int = 8) -> nn.Module:
    return LinearBaseline(num_outputs, in_chans, "central_pixel")


def build_mean_pixel(num_outputs: int, in_chans: int = 3, input_size: int = 64) -> nn.Module:
    return LinearBaseline(num_outputs, in_chans, "mean_pixel")


def build_mean_vote(num_outputs: int, in_chans: int = 3, input_size: int = 64) -> nn.Module:
    return LinearBaseline(num_outputs, in_chans, "none")
