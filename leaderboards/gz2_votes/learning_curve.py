"""The learning curve's table and plot from the runs learning_curve.sh made: test RMSE of the
gz2_votes recipe against the number of training images (same budget each), with a power-law
fit extrapolated to where 0.092 would be reached. Writes learning_curve.md and .png here."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
TARGET = 0.092


def main() -> None:
    points = []
    for folder in sorted((HERE / "learning_curve").glob("n*"), key=lambda p: int(p.name[1:])):
        board = json.loads((folder / "leaderboard.json").read_text())
        row = next(r for r in board["rows"] if r["model"] == "gz2_votes")
        points.append((int(folder.name[1:]), row["metrics"]["rmse"][0], row["epochs"]))
    if len(points) < 2:
        sys.exit("run learning_curve.sh first (needs at least two training-set sizes)")
    n, rmse, epochs = (np.array(v, float) for v in zip(*points))
    slope, intercept = np.polyfit(np.log(n), np.log(rmse), 1)  # rmse ≈ e^b · n^a
    needed = float(np.exp((np.log(TARGET) - intercept) / slope)) if slope < 0 else float("inf")
    lines = ["| training images | test RMSE | epochs |", "|---|---|---|"]
    lines += [f"| {int(a):,} | {b:.4f} | {int(c)} |" for a, b, c in zip(n, rmse, epochs)]
    lines += ["", f"Power-law fit: RMSE ≈ {np.exp(intercept):.3f} · n^{slope:.3f}; "
                  f"{TARGET} would need about {needed:,.0f} training images at this budget."]
    (HERE / "learning_curve.md").write_text("\n".join(lines) + "\n")
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(5, 3.5), dpi=120)
    ax.plot(n, rmse, "o-", label="gz2_votes recipe, test")
    grid = np.geomspace(n.min(), max(n.max() * 4, min(needed, n.max() * 20)), 50)
    ax.plot(grid, np.exp(intercept) * grid ** slope, "--", color="grey", label="power-law fit")
    ax.axhline(TARGET, color="red", lw=0.8, label=f"target {TARGET}")
    ax.set_xscale("log")
    ax.set_xlabel("training images")
    ax.set_ylabel("test RMSE (37 vote fractions)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(HERE / "learning_curve.png")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
