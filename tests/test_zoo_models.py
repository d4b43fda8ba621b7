"""The seed and paper architectures: faithful shapes, viewpoints, crops, local weights."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

import galaxyzoo
from galaxyzoo.data.preprocessing import Preprocessing
from galaxyzoo_builtin.models import dieleman, resnet_imagenet


def test_parameter_counts_follow_the_documents():
    count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    # The Codecademy 'odd galaxies' project: conv 3·8·9+8, conv 8·8·9+8, 8·7·7→16, 16→4 at 128 px.
    assert count(galaxyzoo.create_model("odd_cnn", num_outputs=4)) == 224 + 584 + 392 * 16 + 16 + 68
    # Hildebrandt's report at 150 px grayscale: the conv stack ends at 1×1×256, so dense 256→512→256→37.
    seed002 = galaxyzoo.create_model("hildebrandt_cnn", num_outputs=37)
    assert seed002.head[0].in_features == 256 and count(seed002.head) == 256 * 512 + 512 + 512 * 256 + 256 + 256 * 37 + 37
    third = galaxyzoo.create_model("serrano_cnn", num_outputs=37, variant="third")
    assert [m.out_features for m in third.head if isinstance(m, torch.nn.Linear)] == [96, 64, 37]
    with pytest.raises(ValueError, match="variant"):
        galaxyzoo.create_model("serrano_cnn", num_outputs=37, variant="fifth")


def test_too_small_inputs_get_a_clear_error():
    with pytest.raises(ValueError, match="input_size"):
        galaxyzoo.create_model("hildebrandt_cnn", num_outputs=37, input_size=64)
    with pytest.raises(ValueError, match="input_size"):
        galaxyzoo.create_model("dieleman", num_outputs=37, input_size=48)


def test_dieleman_viewpoints_are_permuted_by_a_quarter_turn():
    """A 90° rotation of the input permutes the 16 parts: the network sees the same set."""
    x = torch.rand(2, 3, 69, 69)
    a = dieleman.viewpoints(x, 45).view(16, 2, -1)
    b = dieleman.viewpoints(x.rot90(1, (-2, -1)), 45).view(16, 2, -1)
    assert a.shape == (16, 2, 3 * 45 * 45)
    distances = torch.cdist(a.transpose(0, 1), b.transpose(0, 1))  # 2×16×16
    matched = distances.min(-1).values
    assert float(matched.max()) < 1e-3 * float(distances.max())
    assert all(len(set(d.argmin(-1).tolist())) == 16 for d in distances)  # a true permutation


def test_resnet_loads_a_local_safetensors_backbone_and_rejects_a_wrong_one(tmp_path):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        source = galaxyzoo.create_model("resnet", num_outputs=37, depth=18)
    assert any("from scratch" in str(w.message) for w in caught)
    backbone = {k: v for k, v in source.state_dict().items() if not k.startswith("head.")}
    backbone["fc.weight"] = torch.zeros(1000, 512)  # torchvision's classifier is ignored
    save_file(backbone, str(tmp_path / "r18.safetensors"))
    loaded = galaxyzoo.create_model("resnet", num_outputs=37, depth=18, weights=str(tmp_path / "r18.safetensors"))
    assert torch.equal(loaded.layer4[1].conv2.weight, source.layer4[1].conv2.weight)
    assert torch.equal(loaded.bn1.running_var, source.bn1.running_var)
    with pytest.raises(ValueError, match="does not fit"):
        galaxyzoo.create_model("resnet", num_outputs=37, depth=34, weights=str(tmp_path / "r18.safetensors"))
    with pytest.raises(FileNotFoundError, match="nothing is downloaded"):
        resnet_imagenet.build(37, weights=str(tmp_path / "missing.safetensors"))


def test_central_crop_preprocessing_keeps_the_given_fraction():
    images = np.zeros((2, 424, 424, 3), np.uint8)
    images[:, 112:312, 112:312] = 255  # a 200 px bright square in the middle
    out = Preprocessing.from_dict({"size": 70, "mode": None, "crop": 250 / 424}).apply(images)
    assert out.shape == (2, 3, 70, 70)
    assert float(out.mean()) == pytest.approx((200 / 250) ** 2, abs=1e-3)
    with pytest.raises(ValueError, match="crop"):
        Preprocessing.from_dict({"size": 70, "mode": "central", "crop": 0.5})
