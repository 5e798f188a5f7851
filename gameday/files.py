"""Reading the suite's data files with errors that name the file: YAML specs (stack, profiles,
experiments) and the JSON-lines records processes append while they run."""

import json
from pathlib import Path

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
    rows = []
    with open(path) as f:
        for line in f:
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return rows
