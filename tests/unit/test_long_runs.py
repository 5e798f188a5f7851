"""A long run's files are read a chunk at a time: what comes out must not depend on where the
chunks were cut (a second, a Deployment's name, a histogram bucket split across two)."""

import json

import pandas as pd

from core.load_stats import per_second
from edge import files
from edge.files import frame_of_json_lines, json_line_chunks
from edge.rundir import READINESS_COLUMNS, TIMELINE_COLUMNS, load_timeline

T0 = 1_800_000_000


def timeline_lines(seconds: int, order=None) -> list[dict]:
    lines = [{"t": T0 + s, "method": "GET", "name": name, "requests": 3, "failures": int(s % 7 == 0),
              "rt_ms": {"12.0": 2, f"{100 + s % 5}.0": 1}}
             for s in range(seconds) for name in ("/a", "/b")]
    return lines if order is None else [lines[i] for i in order]


def write(path, lines, torn: bool = False) -> None:
    path.write_text("".join(json.dumps(line) + "\n" for line in lines) + ('{"t": 1' if torn else ""))


def test_a_timeline_read_in_small_chunks_sums_to_the_same_seconds_as_read_whole(tmp_path, monkeypatch):
    path = tmp_path / "timeline.jsonl"
    write(path, timeline_lines(50), torn=True)
    whole = per_second(load_timeline(path))
    monkeypatch.setattr(files, "CHUNK_BYTES", 700)  # a few lines a chunk: seconds are cut between chunks
    chunked = per_second(json_line_chunks(path, TIMELINE_COLUMNS))
    assert len(list(json_line_chunks(path, TIMELINE_COLUMNS))) > 10
    pd.testing.assert_frame_equal(chunked.counts, whole.counts)
    pd.testing.assert_frame_equal(chunked.latencies.reset_index(drop=True), whole.latencies.reset_index(drop=True))
    assert chunked.counts.requests.tolist() == [6] * 50 and chunked.latencies.n.sum() == 300


def test_seconds_apart_in_the_file_are_summed_once(tmp_path, monkeypatch):
    path = tmp_path / "timeline.jsonl"
    write(path, timeline_lines(10, order=[0, 2, 4, 6, 8, 10, 12, 14, 16, 18] + [1, 3, 5, 7, 9, 11, 13, 15, 17, 19]))
    monkeypatch.setattr(files, "CHUNK_BYTES", 300)
    load = per_second(json_line_chunks(path, TIMELINE_COLUMNS))
    assert load.counts.requests.tolist() == [6] * 10
    assert not load.latencies.duplicated(["t", "ms"]).any() and load.latencies.n.sum() == 60


def test_names_become_categories_across_chunks_and_bucket_names_are_shared(tmp_path, monkeypatch):
    readiness = tmp_path / "readiness.jsonl"
    write(readiness, [{"t": T0 + s, "kind": "deployment", "name": f"d{s // 10}", "ready": 3, "desired": 3}
                      for s in range(40)] + [{"t": T0 + 40, "kind": "pdb", "name": "d0", "ready": 3, "min_available": 2}])
    monkeypatch.setattr(files, "CHUNK_BYTES", 200)
    frame = frame_of_json_lines(readiness, READINESS_COLUMNS, labels=("kind", "name"))
    assert isinstance(frame.name.dtype, pd.CategoricalDtype) and len(frame) == 41
    assert frame.groupby("name").size().to_dict() == {"d0": 11, "d1": 10, "d2": 10, "d3": 10}
    assert frame.min_available.iloc[-1] == 2 and frame.role.isna().all()

    timeline = tmp_path / "timeline.jsonl"
    write(timeline, timeline_lines(20))
    rt = frame_of_json_lines(timeline, TIMELINE_COLUMNS, histograms=("rt_ms",)).rt_ms
    assert len({id(key) for h in rt for key in h if key == "12.0"}) == 1
