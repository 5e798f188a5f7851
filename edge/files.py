"""Reading the suite's data files with errors that name the file: YAML specs (stack, profiles,
experiments) and the JSON-lines records processes append while they run."""

from pathlib import Path

import orjson
import pandas as pd
import yaml
from pandas.api.types import union_categoricals

CHUNK_BYTES = 8 << 20  # a run's long files are read 8 MB at a time: a chunk's dicts are freed before the next


def read_yaml(path: Path, error: type[Exception]):
    """The document of a YAML file; unreadable or malformed raises `error` naming the file."""
    try:
        return yaml.safe_load(Path(path).read_text())
    except OSError as err:
        raise error(f"{path}: cannot read: {err.strerror}") from err
    except yaml.YAMLError as err:
        raise error(f"{path}: not valid YAML: {err}") from err


def read_json_lines(path: Path) -> list[dict]:
    """Every line of a file a process appends to; a torn line (a crash mid-write) is dropped."""
    with open(path, "rb") as f:
        return list(_parsed(f))


def iter_json_lines(path: Path):
    """read_json_lines a line at a time, for files whose every line is large."""
    with open(path, "rb") as f:
        yield from _parsed(f)


def _parsed(lines):
    for line in lines:
        try:
            yield orjson.loads(line)
        except orjson.JSONDecodeError:
            continue


def tail_json_lines(path: Path, max_bytes: int = 65536) -> list[dict]:
    """The complete lines at the end of a file still being written (at most max_bytes of it), for
    readers that follow a run live: a cut first line and the unfinished last are left out."""
    try:
        with open(path, "rb") as f:
            f.seek(0, 2)
            size = f.tell()
            f.seek(max(0, size - max_bytes))
            data = f.read()
    except FileNotFoundError:
        return []
    return list(_parsed(data.split(b"\n")[1 if size > max_bytes else 0:-1]))


def columns_of(rows: list[dict], columns: list[str]) -> pd.DataFrame:
    """A frame of the given columns from JSON-lines rows (a missing key is None): column by
    column, several times faster than from the list of dicts on a 24 h run."""
    return pd.DataFrame({c: [row.get(c) for row in rows] for c in columns}, columns=columns)


def json_line_chunks(path: Path, columns: list[str]):
    """columns_of a file a process appends to, a chunk (CHUNK_BYTES) at a time, so its rows never
    all exist as dicts at once (a 24 h soak: a million lines). A torn line is dropped."""
    with open(path, "rb") as f:
        while lines := f.readlines(CHUNK_BYTES):
            yield columns_of(list(_parsed(lines)), columns)


def frame_of_json_lines(path: Path, columns: list[str], labels: tuple[str, ...] = (),
                        histograms: tuple[str, ...] = ()) -> pd.DataFrame:
    """The whole file's columns, read by chunks: `labels` (a few names repeated on every line)
    become categoricals; `histograms` ({bucket: count} dicts) share one string per bucket
    instead of one per line."""
    chunks, buckets = [], {}
    for chunk in json_line_chunks(path, columns):
        for column in labels:
            chunk[column] = chunk[column].astype("category")
        for column in histograms:
            chunk[column] = [{buckets.setdefault(k, k): n for k, n in h.items()} if isinstance(h, dict) else h
                             for h in chunk[column]]
        chunks.append(chunk)
    if not chunks:
        return columns_of([], columns)
    # categoricals of chunks with different names would concatenate as objects: unite them first
    united = {c: union_categoricals([chunk[c] for chunk in chunks]) for c in labels}
    frame = pd.concat([chunk.drop(columns=list(labels)) for chunk in chunks], ignore_index=True)
    return frame.assign(**united)[columns]
