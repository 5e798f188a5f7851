"""Strict decoding of a mapping into a frozen dataclass: what an experiment's verdict entry (and
any other spec the suite reads) becomes. An unknown field, a missing one or a value of the wrong
kind is one SpecError naming the field; nothing is silently ignored or coerced."""

import dataclasses
import types
import typing
from typing import Any


class SpecError(ValueError):
    """A field of a spec is unknown, missing or of the wrong kind."""


def key_of(field: dataclasses.Field) -> str:
    """The field's name in the file: `except` cannot be a Python name, so it is `except_` here."""
    return field.metadata.get("key", field.name)


def decode(cls: type, data: dict, ignore: tuple[str, ...] = ()) -> Any:
    """cls(**data), checked field by field; keys in `ignore` (e.g. the entry's own `check`) are skipped."""
    fields = {key_of(f): f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(fields) - set(ignore))
    if unknown:
        raise SpecError(f"{unknown[0]}: unknown field (known: {', '.join(fields) or 'none'})")
    values = {}
    for key, field in fields.items():
        if key not in data:
            if field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
                raise SpecError(f"{key}: required")
            continue
        values[field.name] = _value(key, typing.get_type_hints(cls)[field.name], data[key])
    return cls(**values)


def _value(key: str, kind, value):
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin in (typing.Union, types.UnionType):  # X | None
        if value is None and type(None) in args:
            return None
        return _value(key, next(a for a in args if a is not type(None)), value)
    if origin is typing.Literal:
        if value not in args:
            raise SpecError(f"{key}: one of {', '.join(map(str, args))}, not {value!r}")
        return value
    if kind is str:
        if not isinstance(value, str) or not value:
            raise SpecError(f"{key}: a name, not {value!r}")
        return value
    if kind in (int, float):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0 \
                or kind is int and value != int(value):
            raise SpecError(f"{key}: a {'whole ' if kind is int else ''}number >= 0, not {value!r}")
        return kind(value)
    if origin is tuple:
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise SpecError(f"{key}: a list of names, not {value!r}")
        return tuple(value)
    if origin is dict:
        if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
            raise SpecError(f"{key}: a mapping of names to values, not {value!r}")
        return dict(value)
    raise TypeError(f"{key}: no decoding for {kind!r}")  # a spec declared with a kind not handled here


def encode(spec) -> dict:
    """The spec as its file would write it (field keys, not Python names)."""
    return {key_of(f): getattr(spec, f.name) for f in dataclasses.fields(spec)}
