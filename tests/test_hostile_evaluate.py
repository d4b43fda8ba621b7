"""Issue 12, class 6: evaluate leaves unreadable images out and counts them; it never scores
them as black images."""
from __future__ import annotations

import json

from galaxyzoo.data.bad_inputs import encode, galaxy_like
from galaxyzoo.workflows.evaluate import evaluate_checkpoint
from galaxyzoo.workflows.train import train
from galaxyzoo.workflows.train_config import TrainConfig


def test_unreadable_images_are_excluded_and_counted(tmp_path):
    root = tmp_path / "cat"
    (root / "images").mkdir(parents=True)
    lines = ["id,label,split"]
    for i in range(24):
        split = "train" if i < 12 else "val" if i < 16 else "test"
        (root / "images" / f"{i}.jpg").write_bytes(encode(galaxy_like(48, 48, seed=i)))
        lines.append(f"{i},{'ab'[i % 2]},{split}")
    (root / "labels.csv").write_text("\n".join(lines) + "\n")
    config = TrainConfig(model="two_conv", dataset="catalog", dataset_root=str(root), input_size=16, epochs=1,
                         batch_size=4)
    best = train(config, tmp_path / "run", workers=0, progress=False).best
    clean = evaluate_checkpoint(best, workers=0, device="cpu", progress=False, out_dir=tmp_path / "e0")
    assert (clean.samples, clean.excluded) == (8, 0)
    (root / "images" / "16.jpg").write_bytes(b"")  # empty
    (root / "images" / "17.jpg").write_bytes(encode(galaxy_like(48, 48))[:100])  # truncated
    result = evaluate_checkpoint(best, workers=0, device="cpu", progress=False, out_dir=tmp_path / "e1")
    assert (result.samples, result.excluded) == (6, 2)
    saved = json.loads((tmp_path / "e1" / "metrics.json").read_text())
    assert saved["samples"] == 6 and saved["excluded"] == 2
    assert sorted(e["id"] for e in saved["excluded_inputs"]) == ["16", "17"]
