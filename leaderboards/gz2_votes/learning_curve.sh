#!/bin/sh
# What limits the gz2_votes recipe (issue 11 asks for this when the 0.092 target is missed): the
# same recipe trained on 25%, 50% and 100% of the 2,584 training images, each at the same
# 4-minute budget (epochs fitted to it), test RMSE with --tta 8. Each size gets its own folder
# (one leaderboard row per model and seed). From the repository root.
set -e
G=${GALAXYZOO:-.venv/bin/galaxyzoo}
ROOT=${ROOT:-../shared/data/gz2_sample}
for n in 646 1292 2584; do
    $G benchmark --models gz2_votes --datasets gz2_votes --root "$ROOT" --budget-minutes 4 --tta 8 \
        --limit-train $n --rank-by rmse --workers 2 --out leaderboards/gz2_votes/learning_curve/n$n
done
${PYTHON:-.venv/bin/python} leaderboards/gz2_votes/learning_curve.py
