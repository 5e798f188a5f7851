"""Durations as Prometheus writes them ("5m", "1m30s", "500ms")."""

import re


def seconds(duration: str | float) -> float:
    """A Prometheus duration ("5m", "1m30s", "500ms") or plain seconds, in seconds."""
    if isinstance(duration, (int, float)):
        return float(duration)
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|[smhdwy])", duration)
    if not parts or "".join(n + u for n, u in parts) != duration:
        raise ValueError(f"not a Prometheus duration: {duration!r}")
    return sum(float(n) * units[u] for n, u in parts)
