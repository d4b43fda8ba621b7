"""ConvNeXt: the block layout of the paper, stem stride by input size, stochastic depth,
channels-last input, the tree head, clear errors, and that it learns."""
from __future__ import annotations

import pytest
import torch
from torch import nn

import galaxyzoo
from galaxyzoo.gz2 import tree as gz2_tree
from galaxyzoo.testing import check_model
from galaxyzoo_builtin.models import convnext

SPECS = ["convnext_cpu", "convnext_nano"]


@pytest.mark.parametrize("name", SPECS)
def test_registered_configs_pass_the_model_check(name):
    assert "gradient to every parameter" in check_model(galaxyzoo.get_spec("model", name)).checks


def test_blocks_follow_the_convnext_layout():
    model = galaxyzoo.create_model("convnext_cpu", num_outputs=37, input_size=64,
                                   dims=(16, 32, 64), depths=(1, 2, 1), layer_scale=0.5,
                                   drop_path=0.3)
    blocks = [m for m in model.modules() if isinstance(m, convnext.Block)]
    assert len(blocks) == 4
    for block, dim in zip(blocks, (16, 32, 32, 64)):
        dw = block.dwconv
        assert (dw.kernel_size, dw.groups, dw.in_channels, dw.out_channels) == ((7, 7), dim, dim, dim)
        assert (block.fc1.in_features, block.fc1.out_features, block.fc2.out_features) == (dim, 4 * dim, dim)
        assert isinstance(block.norm, nn.LayerNorm) and torch.all(block.gamma == 0.5)
    # Stochastic depth grows linearly over the blocks, from 0 to drop_path.
    assert [b.drop_path for b in blocks] == pytest.approx([0.0, 0.1, 0.2, 0.3])
    # Between stages: LayerNorm then a 2×2 stride-2 convolution; no BatchNorm anywhere.
    downs = [m for m in model.stages.modules() if isinstance(m, nn.Conv2d) and m.groups == 1]
    assert [(d.kernel_size, d.stride) for d in downs] == [((2, 2), (2, 2))] * 2
    assert not any(isinstance(m, nn.BatchNorm2d) for m in model.modules())


@pytest.mark.parametrize("size, stride, first", [(64, 4, 16), (96, 4, 24), (48, 2, 24), (32, 2, 16)])
def test_the_stem_stride_follows_the_input_size(size, stride, first):
    model = galaxyzoo.create_model("convnext_cpu", num_outputs=3, input_size=size)
    stem = model.stem[0]
    assert stem.kernel_size == (4, 4) and stem.stride == (stride, stride)
    assert model.stem(torch.zeros(1, 3, size, size)).shape[-1] == first
    assert model(torch.zeros(2, 3, size, size)).shape == (2, 3)


def test_drop_path_drops_whole_samples_in_training_only():
    torch.manual_seed(0)
    x = torch.ones(4000, 2, 3, 3)
    y = convnext.drop_path(x, 0.25, training=True)
    per_sample = y.flatten(1)
    assert torch.all(per_sample == per_sample[:, :1])           # all or nothing per sample
    kept = per_sample[:, 0] > 0
    torch.testing.assert_close(per_sample[:, 0].unique(), torch.tensor([0.0, 1 / 0.75]))
    assert abs(float(kept.float().mean()) - 0.75) < 0.03
    assert convnext.drop_path(x, 0.25, training=False) is x
    model = galaxyzoo.create_model("convnext_cpu", num_outputs=3, input_size=32, drop_path=0.5)
    inputs = torch.randn(2, 3, 32, 32)
    model.eval()
    assert torch.equal(model(inputs), model(inputs))            # deterministic in eval mode


def test_channels_last_input_gives_the_same_outputs():
    torch.manual_seed(0)
    model = galaxyzoo.create_model("convnext_cpu", num_outputs=5, input_size=64, layer_scale=1.0).eval()
    x = torch.randn(3, 3, 64, 64)
    with torch.no_grad():
        plain = model(x)
        last = model.to(memory_format=torch.channels_last)(x.contiguous(memory_format=torch.channels_last))
    torch.testing.assert_close(last, plain, rtol=1e-4, atol=1e-5)


def test_tree_head_and_grayscale_input():
    model = galaxyzoo.create_model("convnext_cpu", num_outputs=37, in_chans=1, input_size=64, head="tree")
    out = model(torch.randn(4, 1, 64, 64))
    assert out.shape == (4, 37) and gz2_tree.max_tree_violation(out.detach()) < 1e-6


@pytest.mark.parametrize("options, message", [
    ({"dims": (16, 32), "depths": (1,)}, "equal length"),
    ({"dims": (), "depths": ()}, "non-empty"),
    ({"stem_stride": 3}, "stem_stride"),
    ({"input_size": 16, "stem_stride": 4}, "total stride"),
    ({"drop_path": 1.0}, "drop_path"),
])
def test_bad_options_get_clear_errors(options, message):
    options = {"input_size": 64, **options}
    with pytest.raises(ValueError, match=message):
        galaxyzoo.create_model("convnext_cpu", num_outputs=3, **options)


def test_it_fits_a_small_batch():
    torch.manual_seed(0)
    model = galaxyzoo.create_model("convnext_cpu", num_outputs=2, input_size=32,
                                   dims=(16, 32, 64), depths=(1, 1, 1), layer_scale=0.1)
    x = torch.randn(16, 3, 32, 32)
    y = (x[:, 0, :16].mean(dim=(1, 2)) > x[:, 0, 16:].mean(dim=(1, 2))).long()  # top vs bottom
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(40):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.2 * losses[0]
