#!/bin/sh
# Regenerates leaderboards/gz2_zhu5 (from the repository root): every architecture of the
# vote-fraction leaderboard with a five-class softmax head (the benchmark gives a vote recipe on
# this dataset the classification metrics and no tree head), plus the gz2_zhu5 recipe, each with
# the same 15-minute training budget (epochs fitted to it), test-time averaging over 8 views.
set -e
G=${GALAXYZOO:-.venv/bin/galaxyzoo}
$G benchmark --models gz2_zhu5,hildebrandt_votes_cnn,serrano_votes_cnn,serrano_votes_resnet50,sharma_votes_two_conv,dieleman \
    --datasets gz2_zhu5 --root ${ROOT:-../shared/data/gz2_zhu5} --budget-minutes 15 --tta 8 \
    --rank-by accuracy --workers 2 --out leaderboards/gz2_zhu5
