"""Output heads that wrap any model: ``head="tree"`` makes a vote-fraction model obey the GZ2 tree.

The tree head (Dieleman et al. 2015, section 4.3) turns the 37 raw outputs into tree-weighted
fractions: a positive activation, division by each question's sum, then multiplication by the
parent answer's fraction (:mod:`galaxyzoo.gz2.tree`). Every question's columns then sum exactly
to their parent column, whatever the network outputs. A wrapped model's outputs *are* the
fractions, so the loss is plain MSE on them and inference applies no sigmoid
(:func:`outputs_fractions` tells the two apart).

Any model takes the option through :func:`galaxyzoo.create_model` (``head="tree"``,
``head_activation="softplus"|"relu"``), so checkpoints rebuild it from their model options.
"""
from __future__ import annotations

import torch
from torch import nn

from ..errors import UserError
from . import tree as gz2_tree

HEADS = (None, "tree")
ACTIVATIONS = ("softplus", "relu")
# Added after the activation so no question's sum is ever zero (an all-ReLU-dead question
# would otherwise give zeros that no longer sum to the parent).
FLOOR = 1e-6


class TreeOutput(nn.Module):
    """Raw N×37 outputs → N×37 tree-weighted vote fractions."""

    def __init__(self, activation: str = "softplus"):
        super().__init__()
        if activation not in ACTIVATIONS:
            raise UserError(f"head_activation must be one of {ACTIVATIONS}, got {activation!r}")
        self.activation = activation
        self.positive = nn.Softplus() if activation == "softplus" else nn.ReLU()

    def forward(self, raw: torch.Tensor) -> torch.Tensor:
        positive = self.positive(raw.float()) + FLOOR
        return gz2_tree.to_fractions(gz2_tree.normalize_per_question(positive, eps=0.0))

    def extra_repr(self) -> str:
        return f"activation={self.activation}"


class TreeHeadModel(nn.Module):
    """``backbone`` followed by :class:`TreeOutput`; its outputs are vote fractions."""

    outputs_fractions = True

    def __init__(self, backbone: nn.Module, activation: str = "softplus"):
        super().__init__()
        self.backbone = backbone
        self.tree = TreeOutput(activation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.tree(self.backbone(x))


def wrap(model: nn.Module, head: str | None, num_outputs: int, activation: str = "softplus") -> nn.Module:
    """Put ``head`` on ``model`` (``None``: unchanged)."""
    if head not in HEADS:
        raise UserError(f"unknown head {head!r}; choose from {HEADS}")
    if head is None:
        return model
    if num_outputs != gz2_tree.NUM_COLUMNS:
        raise UserError(f"head='tree' needs the {gz2_tree.NUM_COLUMNS} GZ2 columns, got num_outputs={num_outputs}")
    return TreeHeadModel(model, activation)


def outputs_fractions(model: nn.Module) -> bool:
    """Whether ``model``'s outputs are already vote fractions (no sigmoid to apply)."""
    return bool(getattr(model, "outputs_fractions", False))
