#!/bin/sh
# Regenerates leaderboards/gz2_votes (from the repository root). The one-command form, every
# model at the same 15-minute budget, is in README.md; this script is what was run on the
# 2-core development machine: seed 002's baselines at a 2-minute budget (least squares on three
# features: it converges in seconds and more time changes nothing), then the two strongest
# candidates at 15 minutes each, then the other five recipes at 15 minutes each. Each command
# adds its runs to leaderboard.json/.md/.csv.
set -e
G=${GALAXYZOO:-.venv/bin/galaxyzoo}
ROOT=${ROOT:-../shared/data/gz2_sample}
OUT=leaderboards/gz2_votes
$G benchmark --models mean_vote,mean_pixel_linreg,central_pixel_linreg --datasets gz2_votes --root "$ROOT" \
    --budget-minutes 2 --rank-by rmse --workers 2 --out $OUT
$G benchmark --models gz2_votes --datasets gz2_votes --root "$ROOT" \
    --budget-minutes 15 --tta 8 --rank-by rmse --workers 2 --out $OUT
$G benchmark --models dieleman,hildebrandt_votes_cnn,serrano_votes_cnn,serrano_votes_resnet50,sharma_votes_two_conv \
    --datasets gz2_votes --root "$ROOT" --budget-minutes 15 --tta 8 --rank-by rmse --workers 2 --out $OUT
