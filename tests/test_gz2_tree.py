"""The Galaxy Zoo 2 decision tree: column layout, forward/inverse maps, constraint checker."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from galaxyzoo.gz2 import tree


def random_probabilities(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.concatenate([rng.dirichlet(np.ones(k), size=n) for k in tree.QUESTION_SIZES], axis=1)


def test_column_layout_matches_kaggle():
    assert len(tree.COLUMNS) == tree.NUM_COLUMNS == 37
    assert tree.QUESTION_SIZES == (3, 2, 2, 2, 4, 2, 3, 7, 3, 3, 6)
    assert tree.COLUMNS[0] == "Class1.1" and tree.COLUMNS[13] == "Class6.1" and tree.COLUMNS[-1] == "Class11.6"
    assert [tree.COLUMNS[s][0] for s in tree.QUESTION_SLICES] == [f"Class{q}.1" for q in range(1, 12)]
    assert sum(s.stop - s.start for s in tree.QUESTION_SLICES) == 37


def test_parents_are_the_documented_answers():
    parents = {q.number: (tree.COLUMNS[q.parent] if q.parent is not None else None) for q in tree.QUESTIONS}
    assert parents == {
        1: None, 2: "Class1.2", 3: "Class2.2", 4: "Class2.2", 5: "Class2.2", 6: None,
        7: "Class1.1", 8: "Class6.1", 9: "Class2.1", 10: "Class4.1", 11: "Class4.1",
    }


def test_to_fractions_weights_match_the_tree_formulae():
    p = random_probabilities(50)
    f = tree.to_fractions(p)
    col = {name: i for i, name in enumerate(tree.COLUMNS)}
    w_featured = p[:, col["Class1.2"]] * p[:, col["Class2.2"]]
    np.testing.assert_allclose(f[:, col["Class3.1"]], w_featured * p[:, col["Class3.1"]])
    np.testing.assert_allclose(f[:, col["Class7.3"]], p[:, col["Class1.1"]] * p[:, col["Class7.3"]])
    np.testing.assert_allclose(f[:, col["Class8.7"]], p[:, col["Class6.1"]] * p[:, col["Class8.7"]])
    np.testing.assert_allclose(
        f[:, col["Class9.2"]], p[:, col["Class1.2"]] * p[:, col["Class2.1"]] * p[:, col["Class9.2"]]
    )
    np.testing.assert_allclose(
        f[:, col["Class11.4"]], w_featured * p[:, col["Class4.1"]] * p[:, col["Class11.4"]]
    )
    np.testing.assert_array_equal(f[:, :3], p[:, :3])


def test_forward_sums_and_inverse_round_trip():
    p = random_probabilities(200, seed=1)
    f = tree.to_fractions(p)
    assert tree.max_tree_violation(f) < 1e-12
    np.testing.assert_allclose(tree.to_probabilities(f), p, atol=1e-12)


def test_inverse_masks_unreached_questions():
    p = random_probabilities(4, seed=2)
    p[0, 0:3] = [1.0, 0.0, 0.0]  # all smooth: Q2-Q5 and Q9-Q11 never asked
    p[1, 13:15] = [0.0, 1.0]  # nothing odd: Q8 never asked
    f = tree.to_fractions(p)
    mask = tree.answered_mask(f)
    back = tree.to_probabilities(f)
    reached_0 = {q.number for q in tree.QUESTIONS if mask[0, tree.QUESTION_SLICES[q.number - 1]].all()}
    assert reached_0 == {1, 6, 7, 8}
    assert not mask[1, tree.QUESTION_SLICES[7]].any() and mask[1, tree.QUESTION_SLICES[6]].all()
    assert (back[~mask] == 0).all()
    np.testing.assert_allclose(back[mask], p[mask], atol=1e-12)


def test_checker_detects_a_broken_row():
    f = tree.to_fractions(random_probabilities(10, seed=3))
    assert tree.max_tree_violation(f) < 1e-12
    f[7, tree.COLUMNS.index("Class10.2")] += 0.03
    residuals = tree.tree_residuals(f)
    assert residuals.shape == (10, 11)
    assert tree.max_tree_violation(f) == pytest.approx(0.03)
    assert np.argwhere(np.abs(residuals) > 1e-6).tolist() == [[7, 9]]
    assert tree.max_tree_violation(f[:0]) == 0.0


def test_normalize_per_question_sums_to_one():
    x = np.random.default_rng(4).random((6, 37)) * 5
    p = tree.normalize_per_question(x)
    for s in tree.QUESTION_SLICES:
        np.testing.assert_allclose(p[:, s].sum(1), 1.0)


def test_rejects_wrong_width():
    with pytest.raises(ValueError, match="37"):
        tree.to_fractions(np.zeros((2, 36)))


def test_torch_and_numpy_agree_and_torch_is_differentiable():
    p = random_probabilities(20, seed=5)
    f = tree.to_fractions(p)
    pt = torch.tensor(p, requires_grad=True)
    ft = tree.to_fractions(pt)
    assert isinstance(ft, torch.Tensor)
    np.testing.assert_allclose(ft.detach().numpy(), f, atol=1e-15)
    np.testing.assert_allclose(tree.tree_residuals(ft).detach().numpy(), tree.tree_residuals(f), atol=1e-15)

    f[0, 0:3] = [0.0, 1.0, 0.0]  # Q7's parent is 0: inverse divides by a guarded value
    f[0, 15:18] = 0.0
    fractions = torch.tensor(f, requires_grad=True)
    back = tree.to_probabilities(fractions)
    np.testing.assert_allclose(back.detach().numpy(), tree.to_probabilities(f), atol=1e-15)
    assert torch.equal(tree.answered_mask(fractions), torch.from_numpy(tree.answered_mask(f)))
    back.sum().backward()
    assert torch.isfinite(fractions.grad).all()

    raw = torch.rand(3, 37, dtype=torch.float32)
    head = tree.to_fractions(tree.normalize_per_question(torch.relu(raw)))
    assert head.dtype == torch.float32 and tree.max_tree_violation(head) < 1e-6


def test_graph_capturable():
    compiled = torch.compile(lambda x: tree.to_fractions(tree.normalize_per_question(x)), backend="eager", fullgraph=True)
    x = torch.rand(4, 37)
    torch.testing.assert_close(compiled(x), tree.to_fractions(tree.normalize_per_question(x)))
