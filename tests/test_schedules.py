"""Learning-rate schedules: the per-step factors each one promises."""
from __future__ import annotations

import math

import pytest
import torch

from galaxyzoo.workflows.train_config import make_scheduler, TrainConfig


def _rates(schedule: str, epochs: int = 10, steps_per_epoch: int = 10, lr: float = 0.04) -> list[float]:
    config = TrainConfig(model="two_conv", dataset="synthetic", epochs=epochs, lr=lr, schedule=schedule,
                         optimizer="sgd")
    param = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([param], lr=lr)
    scheduler = make_scheduler(config, optimizer, steps_per_epoch)
    rates = []
    for _ in range(epochs * steps_per_epoch):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return rates


def test_step_divides_by_ten_after_72_and_92_percent_of_the_steps():
    rates = _rates("step")  # 100 steps
    assert rates[:72] == pytest.approx([0.04] * 72)
    assert rates[72:92] == pytest.approx([0.004] * 20)
    assert rates[92:] == pytest.approx([0.0004] * 8)


def test_cosine_warms_up_then_decays_towards_zero():
    rates = _rates("cosine")  # 100 steps, 3 of warm-up
    assert rates[:3] == pytest.approx([0.04 / 3, 0.08 / 3, 0.04])
    assert all(a >= b for a, b in zip(rates[2:], rates[3:]))
    assert rates[51] == pytest.approx(0.02 * (1 + math.cos(math.pi * 48 / 97)))
    assert rates[-1] < 1e-4


def test_constant_keeps_the_rate():
    assert set(_rates("constant")) == {0.04}


def test_unknown_schedule_is_rejected():
    with pytest.raises(ValueError, match="unknown schedule"):
        TrainConfig(model="two_conv", dataset="synthetic", schedule="linear").validate()


def test_a_budget_shortens_the_schedule_so_it_still_ends():
    from galaxyzoo.workflows.train_config import epochs_within_budget

    config = TrainConfig(model="two_conv", dataset="synthetic", epochs=10, schedule="step", optimizer="sgd")
    assert epochs_within_budget(config, 2, [10.0, 10.0], 100.0) == 10  # 8 more epochs of 10 s fit
    assert epochs_within_budget(config, 2, [20.0, 20.0], 100.0) == 5  # 60 s left: 3 more of 20 s
    assert epochs_within_budget(config, 2, [79.0, 20.0], 100.0) == 2  # no whole epoch left: stop
    assert epochs_within_budget(config, 2, [20.0, 20.0], math.inf) == 10
    # The pace leaves out the first epoch (loader start-up) and averages the rest.
    assert epochs_within_budget(config, 4, [30.0, 9.0, 11.0, 10.0], 110.0) == 9  # 50 s left at 10 s
    # The scheduler reads the epochs at each step: squeezed after epoch 2 of 10 (to 5), the
    # step schedule's ÷10 drops come at 72% and 92% of the new 50 steps.
    param = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([param], lr=0.04)
    scheduler = make_scheduler(config, optimizer, 10)
    rates = []
    for step in range(50):
        if step == 20:
            config.epochs = 5
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    assert rates[:36] == pytest.approx([0.04] * 36)
    assert rates[36:46] == pytest.approx([0.004] * 10) and rates[46:] == pytest.approx([0.0004] * 4)
