"""The plugin-author check kit (galaxyzoo.testing) catches each broken rule it promises to."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from galaxyzoo import DatasetSpec, MetricSpec, ModelSpec, Task
from galaxyzoo.errors import DatasetNotFoundError
from galaxyzoo.errors import ContractError
from galaxyzoo.testing import check_dataset, check_metric, check_model

TASK = Task("classification", ("a", "b"))


def tiny(num_outputs, in_chans, input_size, **_):
    return nn.Sequential(nn.Conv2d(in_chans, 4, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, num_outputs))


class Unused(nn.Module):
    def __init__(self, num_outputs, in_chans, input_size):
        super().__init__()
        self.used, self.spare = tiny(num_outputs, in_chans, input_size), nn.Linear(3, 3)

    def forward(self, x):
        return self.used(x)


class BatchMixer(nn.Module):
    def __init__(self, num_outputs, in_chans, input_size):
        super().__init__()
        self.net = tiny(num_outputs, in_chans, input_size)

    def forward(self, x):
        out = self.net(x)
        return out - out.mean(0)


class FixedChannels(nn.Module):
    def __init__(self, num_outputs, in_chans, input_size):
        super().__init__()
        self.net = tiny(num_outputs, 3, input_size)

    def forward(self, x):
        return self.net(x)


class Then(nn.Module):
    """``tiny`` followed by a fault: ``fault(output)``."""

    def __init__(self, fault, **kw):
        super().__init__()
        self.net, self.fault = tiny(**kw), fault

    def forward(self, x):
        return self.fault(self.net(x))


def model(builder) -> ModelSpec:
    return ModelSpec(name="m", summary="s", builder=builder, input_size=16)


def test_check_model_passes_a_good_model():
    assert "eval batch independence" in check_model(model(tiny)).checks


@pytest.mark.parametrize("builder, message", [
    (lambda **kw: "not a module", "not nn.Module"),
    (lambda num_outputs, **kw: tiny(num_outputs + 1, **kw), "output shape"),
    (lambda **kw: Then(torch.Tensor.double, **kw), "output dtype"),
    (lambda **kw: Then(lambda y: y * float("nan"), **kw), "NaN or inf"),
    (Unused, r"no gradient reaches \['spare.weight', 'spare.bias'\]"),
    (BatchMixer, "depends on the rest of its batch"),
    (FixedChannels, "in_chans=1 is not honoured"),
])
def test_check_model_catches(builder, message):
    with pytest.raises(ContractError, match=message):
        check_model(model(builder))


class Rings:
    """A minimal in-memory GalaxyDataset whose faults the tests switch on."""

    task = TASK

    def __init__(self, split="train", root=None, n=6, size=8, offset=0, labels=None, noisy=False):
        self.ids = [f"g{offset + i}" for i in range(n)]
        self.targets = np.asarray(labels) if labels is not None else np.arange(n) % 2
        self.size, self.noisy = size, noisy

    def __len__(self):
        return len(self.ids)

    def read_images(self, indices):
        images = np.zeros((len(indices), self.size, self.size, 3), np.uint8)
        images[:] = np.asarray(indices, np.uint8)[:, None, None, None]
        if self.noisy:
            images += np.random.randint(0, 2, images.shape, dtype=np.uint8)
        return images


def dataset(builder, **defaults) -> DatasetSpec:
    return DatasetSpec(name="d", summary="s", builder=builder, task=TASK, image_size=8, splits=("train",),
                       defaults=defaults)


def test_check_dataset_passes_and_skips_missing_data():
    assert "deterministic reads" in check_dataset(dataset(Rings)).checks

    def missing(split, root, **_):
        raise DatasetNotFoundError("d", "/nowhere", ["labels.csv"], "root/labels.csv")

    result = check_dataset(dataset(missing))
    assert result.skipped.startswith("dataset 'd': expected files are missing under /nowhere")


def test_check_dataset_catches_ids_shared_between_splits():
    spec = DatasetSpec(name="d", summary="s", builder=Rings, task=TASK, image_size=8, splits=("train", "val"))
    with pytest.raises(ContractError, match="split 'val': shares ids with split 'train'"):
        check_dataset(spec)


@pytest.mark.parametrize("options, message", [
    ({"labels": [0, 1, 2, 0, 1, 0]}, r"labels outside \[0, 2\)"),
    ({"labels": [0.0, 1.0, 0.5, 0, 1, 0]}, "must be integers"),
    ({"n": 0}, "is empty"),
    ({"noisy": True}, "reading the same image twice differs"),
])
def test_check_dataset_catches(options, message):
    with pytest.raises(ContractError, match=message):
        check_dataset(dataset(Rings), **options)


def test_check_dataset_compares_image_size_with_spec():
    with pytest.raises(ContractError, match="spec says"):
        check_dataset(dataset(Rings, size=10))


def accuracy(y_true, y_pred, task):
    return float(np.mean(np.asarray(y_pred).argmax(1) == y_true))


def rmse(y_true, y_pred, task):
    return float(np.sqrt(np.mean((y_pred - y_true) ** 2)))


def metric(fn, **kw) -> MetricSpec:
    return MetricSpec(name="x", summary="s", fn=fn, **kw)


def test_check_metric_passes_good_metrics():
    assert "perfect scores best" in check_metric(metric(accuracy, tasks=("classification",))).checks
    check_metric(metric(rmse, tasks=("vote_fractions",), higher_is_better=False))
    check_metric(metric(lambda t, p, task: np.bincount(t, minlength=3), tasks=("classification",), scalar=False))


def mutating(y_true, y_pred, task):
    y_pred /= y_pred.sum()
    return accuracy(y_true, y_pred, task)


@pytest.mark.parametrize("spec, message", [
    (metric(accuracy, tasks=("classification",), higher_is_better=False), "do not beat wrong ones"),
    (metric(lambda t, p, task: 0.5, tasks=("classification",)), "do not beat wrong ones"),
    (metric(lambda t, p, task: float("nan"), tasks=("classification",)), "is not finite"),
    (metric(lambda t, p, task: np.zeros(2), tasks=("classification",)), "expected a scalar"),
    (metric(mutating, tasks=("classification",)), "modified its inputs"),
    (metric(lambda t, p, task: float(np.random.rand()), tasks=("classification",)), "two calls"),
    (metric(rmse, tasks=("vote_fractions",)), "do not beat wrong ones"),
])
def test_check_metric_catches(spec, message):
    with pytest.raises(ContractError, match=message):
        check_metric(spec)
