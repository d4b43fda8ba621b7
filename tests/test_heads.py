"""The decision-tree output head: exact tree constraints, gradients, training and inference use."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import galaxyzoo
from galaxyzoo.gz2 import heads, tree as gz2_tree
from galaxyzoo.workflows.inference import to_probabilities
from galaxyzoo.workflows.inference import task_loss
from galaxyzoo.specs import Task

VOTES = Task("vote_fractions", gz2_tree.COLUMNS)


@pytest.mark.parametrize("activation", heads.ACTIVATIONS)
@pytest.mark.parametrize("scale", [0.01, 1.0, 30.0])
def test_outputs_satisfy_the_tree_exactly_for_random_inputs(activation, scale):
    torch.manual_seed(0)
    raw = torch.randn(512, 37) * scale
    out = heads.TreeOutput(activation)(raw)
    assert gz2_tree.max_tree_violation(out) < 1e-6
    assert float(out.min()) >= 0 and float(out.max()) <= 1 + 1e-6
    # Q1 and Q6 (the roots) sum to one; an all-negative question under ReLU still sums right.
    dead = torch.full((1, 37), -5.0)
    assert gz2_tree.max_tree_violation(heads.TreeOutput(activation)(dead)) < 1e-6


def test_inverts_per_question_probabilities():
    """Raw outputs equal to positive per-question probabilities come back as their fractions."""
    rng = np.random.default_rng(1)
    probs = np.concatenate([rng.dirichlet(np.ones(k), size=8) for k in gz2_tree.QUESTION_SIZES], axis=1)
    out = heads.TreeOutput("relu")(torch.tensor(probs, dtype=torch.float32) * 1e3)
    np.testing.assert_allclose(out.numpy(), gz2_tree.to_fractions(probs), atol=1e-5)


def test_gradients_reach_every_raw_output_and_the_backbone():
    torch.manual_seed(0)
    model = galaxyzoo.create_model("two_conv", num_outputs=37, head="tree", input_size=32)
    x = torch.randn(4, 3, 32, 32)
    out = model(x)
    assert heads.outputs_fractions(model) and gz2_tree.max_tree_violation(out.detach()) < 1e-6
    raw = torch.randn(4, 37, requires_grad=True)
    (heads.TreeOutput()(raw) * torch.randn(4, 37)).sum().backward()
    assert torch.isfinite(raw.grad).all() and (raw.grad != 0).all()
    task_loss(out, torch.rand(4, 37), VOTES, fractions=True).backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())


def test_loss_and_probabilities_skip_the_sigmoid_only_for_fractions():
    out = torch.rand(3, 37)
    assert torch.equal(to_probabilities(out, VOTES, fractions=True), out)
    assert torch.allclose(to_probabilities(out, VOTES), out.sigmoid())
    target = torch.rand(3, 37)
    assert torch.isclose(task_loss(out, target, VOTES, fractions=True), ((out - target) ** 2).mean())


def test_bad_head_options_are_rejected():
    with pytest.raises(ValueError, match="37"):
        galaxyzoo.create_model("two_conv", num_outputs=4, head="tree")
    with pytest.raises(ValueError, match="unknown head"):
        galaxyzoo.create_model("two_conv", num_outputs=37, head="pyramid")
    with pytest.raises(ValueError, match="head_activation"):
        galaxyzoo.create_model("two_conv", num_outputs=37, head="tree", head_activation="tanh")


def test_a_tree_head_run_trains_and_its_checkpoint_predicts_tree_fractions(tmp_path):
    from galaxyzoo.workflows.checkpoint import load_model
    from galaxyzoo.workflows.train import train
    from galaxyzoo.workflows.train_config import TrainConfig

    config = TrainConfig(model="two_conv", dataset="synthetic_votes", input_size=24, epochs=1, batch_size=16,
                         model_options={"head": "tree"}, dataset_options={"num_samples": 40, "image_size": 48},
                         preprocess={"mode": None})
    result = train(config, tmp_path / "run", workers=0, progress=False)
    assert np.isfinite(result.history[0]["train_loss"]) and result.history[0]["val_rmse"] < 0.5
    model, meta, _ = load_model(result.best)
    assert heads.outputs_fractions(model) and meta["model_options"] == {"head": "tree"}
    with torch.no_grad():
        assert gz2_tree.max_tree_violation(model(torch.rand(2, 3, 24, 24))) < 1e-6

    # The prediction catalog holds the head's fractions as they are (no sigmoid on top).
    from PIL import Image

    from galaxyzoo.data import synthetic
    from galaxyzoo.workflows.predict import predict_files

    paths = []
    for i, image in enumerate(synthetic.images(0, "test", range(3), 48)):
        paths.append(tmp_path / f"{i}.png")
        Image.fromarray(image).save(paths[-1])
    catalog = tmp_path / "catalog.csv"
    predict_files(result.best, paths, catalog, device="cpu", progress=False)
    rows = np.loadtxt(catalog, delimiter=",", skiprows=1, usecols=range(1, 38))
    assert rows.shape == (3, 37) and gz2_tree.max_tree_violation(rows) < 1e-5
