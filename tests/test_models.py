"""Every registered model: forward, finite outputs, a gradient on every parameter."""
from __future__ import annotations

import inspect

import pytest
import torch

import galaxyzoo
from galaxyzoo.specs import resolve_builder

MODELS = galaxyzoo.list_models()
BUILTINS = ("resnet_small", "dense_mlp", "two_conv")


def test_builtins_are_registered():
    assert set(BUILTINS) <= set(MODELS)


@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize("num_outputs", [4, 37])
def test_forward_and_gradient_reach_every_parameter(name, num_outputs):
    spec = galaxyzoo.get_spec("model", name)
    torch.manual_seed(0)
    model = galaxyzoo.create_model(name, num_outputs=num_outputs)
    # Zero-initialised residual norms (resnet_small) would block gradients at init: randomise.
    for module in model.modules():
        if isinstance(module, torch.nn.modules.batchnorm._NormBase) and module.affine:
            torch.nn.init.uniform_(module.weight, 0.5, 1.5)
    x = torch.randn(3, spec.in_chans, spec.input_size, spec.input_size)
    model.train()
    out = model(x)
    assert out.shape == (3, num_outputs) and out.dtype == torch.float32
    assert torch.isfinite(out).all()
    (out * torch.randn_like(out)).sum().backward()
    for pname, p in model.named_parameters():
        assert p.grad is not None, f"{name}: no gradient reaches {pname}"
        assert torch.isfinite(p.grad).all(), f"{name}: non-finite gradient in {pname}"
        assert p.grad.abs().sum() > 0, f"{name}: zero gradient in {pname}"


@pytest.mark.parametrize("name", BUILTINS)
@pytest.mark.parametrize("size,chans", [(48, 3), (96, 1)])
def test_builtins_follow_input_size_and_channels(name, size, chans):
    model = galaxyzoo.create_model(name, num_outputs=4, in_chans=chans, input_size=size).eval()
    with torch.no_grad():
        assert model(torch.randn(2, chans, size, size)).shape == (2, 4)


@pytest.mark.parametrize("name", BUILTINS)
def test_channels_last_gives_the_same_outputs(name):
    torch.manual_seed(0)
    model = galaxyzoo.create_model(name, num_outputs=4).eval()
    x = torch.rand(4, 3, 64, 64)
    with torch.no_grad():
        plain = model(x)
        fast = model.to(memory_format=torch.channels_last)(x.contiguous(memory_format=torch.channels_last))
    torch.testing.assert_close(fast, plain, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", MODELS)
def test_spec_defaults_match_the_builder_signature(name):
    """The defaults `galaxyzoo list` shows are the ones a direct builder call uses."""
    spec = galaxyzoo.get_spec("model", name)
    params = inspect.signature(resolve_builder(spec.builder)).parameters
    for key, value in spec.defaults.items():
        assert params[key].default == value, f"{name}.{key}"


def test_resnet_small_size_and_that_it_learns():
    model = galaxyzoo.create_model("resnet_small", num_outputs=4)
    n_params = sum(p.numel() for p in model.parameters())
    assert 0.3e6 <= n_params <= 1e6
    # It fits 16 random images to random labels within a few dozen steps.
    torch.manual_seed(0)
    x, y = torch.rand(16, 3, 48, 48), torch.arange(16) % 4
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(40):
        loss = torch.nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.2 * losses[0]


def test_two_conv_rejects_inputs_too_small_for_its_two_poolings():
    with pytest.raises(ValueError, match="input_size"):
        galaxyzoo.create_model("two_conv", num_outputs=4, input_size=8)
