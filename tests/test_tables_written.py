"""Tables galaxyzoo writes through pandas keep the bytes the csv module wrote before (so
readers of ingest manifests, leaderboards and dropped-row lists see no change)."""
from __future__ import annotations

import csv
import io

from PIL import Image

from galaxyzoo.data import synthetic
from galaxyzoo.data.problems import InputProblem
from galaxyzoo.data.shards import MANIFEST_COLUMNS, read_manifest
from galaxyzoo.workflows.ingest import IngestOptions, ingest
from galaxyzoo.data.inputs import walk_images


def _csv_module_bytes(path) -> bytes:
    """The file's rows as the csv module writes them."""
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    text = io.StringIO()
    csv.writer(text).writerows(rows)
    return text.getvalue().encode()


def test_ingest_manifest_and_shards_keep_the_csv_module_bytes(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    for k in range(5):
        Image.fromarray(synthetic.images(0, "test", [k], size=40)[0]).save(src / f"g,{k}.jpg")  # a comma to quote
    (src / 'bad "q".jpg').write_bytes(b"\xff\xd8\xff not a jpeg")
    ingest(walk_images(src), tmp_path / "out", IngestOptions(size=16, shard_size=4), workers=0, progress=False)
    for name in ("manifest.csv", "shard-00000.csv", "shard-00001.csv"):
        data = (tmp_path / "out" / name).read_bytes()
        assert data == _csv_module_bytes(tmp_path / "out" / name), name
        assert data.startswith(",".join(MANIFEST_COLUMNS).encode() + b"\r\n")  # JPEGs only: no ra/dec
    rows = read_manifest(tmp_path / "out")
    assert [r["status"] for r in rows].count("ok") == 5 and rows[0]["id"] == 'bad "q"'


def test_leaderboard_and_dropped_rows_keep_the_csv_module_bytes(tmp_path, capsys):
    from galaxyzoo.workflows.leaderboard import RunResult, aggregate, write_leaderboard
    from galaxyzoo.workflows.run_outputs import report_dropped

    report_dropped(tmp_path, [InputProblem("a,1", "labels.csv:3", "missing", 'no image "a,1".jpg'),
                              InputProblem("b", "labels.csv:4", "bad_label", "line\nbreak")])
    data = (tmp_path / "dropped_rows.csv").read_bytes()
    assert data == _csv_module_bytes(tmp_path / "dropped_rows.csv") and data.count(b"\r\n") == 3
    assert "dropped 2 input rows" in capsys.readouterr().out
    runs = [RunResult("synthetic", "two_conv", s, f"runs/two_conv/seed{s}", "test", {"accuracy": a}, 100, 3,
                      5.0, 50.0, 80.0) for s, a in ((0, 0.5), (1, 0.75))]
    write_leaderboard(aggregate(runs), runs, tmp_path / "lb", {"budget_minutes": None, "seeds": [0, 1]})
    data = (tmp_path / "lb" / "leaderboard.csv").read_bytes()
    assert data == _csv_module_bytes(tmp_path / "lb" / "leaderboard.csv")
    header, row = data.decode().split("\r\n")[:2]
    assert header.startswith("dataset,model,seeds,accuracy_mean,accuracy_std")
    assert row.startswith("synthetic,two_conv,0 1,0.625,")
