"""Reading the suite's data files with errors that name the file: YAML specs (stack, profiles,
experiments) and the JSON-lines records processes append while they run."""

from pathlib import Path

import orjson
import pandas as pd
import yaml


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
        return _parsed(f)


def _parsed(lines) -> list[dict]:
    rows = []
    for line in lines:
        try:
            rows.append(orjson.loads(line))
        except orjson.JSONDecodeError:
            continue
    return rows


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
    return _parsed(data.split(b"\n")[1 if size > max_bytes else 0:-1])


def columns_of(rows: list[dict], columns: list[str]) -> pd.DataFrame:
    """A frame of the given columns from JSON-lines rows (a missing key is None): column by
    column, several times faster than from the list of dicts on a 24 h run."""
    return pd.DataFrame({c: [row.get(c) for row in rows] for c in columns}, columns=columns)
