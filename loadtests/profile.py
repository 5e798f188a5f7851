"""Load profiles: a declarative spec (YAML file or command-line overrides) and the pure function
that says how many users run at second t. No Locust import here: the runner and the tests use it.

    shape: step            # steady | step | spike | soak
    spawn_rate: 5          # users started per second
    users: 10              # steady/soak: users; step: first step; spike: baseline
    duration_s: 120        # steady/soak: total run time
    step_users: 5          # step: users added per step
    step_s: 30             # step: seconds per step
    steps: 6               # step: number of steps
    spike_users: 50        # spike: users during the spike
    before_s: 30           # spike: baseline before the spike
    spike_s: 20            # spike: length of the spike
    after_s: 60            # spike: baseline after the spike
    thresholds: ["p95 < 1s", "error_ratio < 5%"]
    timeout_s: 10          # a request unanswered this long fails: a client gives up, it does not hang
    writers: 0             # of the users, how many place orders and keep the write ledger
    workers: 0             # Locust workers under one master (0: one process); see loadtests.workers
"""

from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from edge.files import read_yaml

SHAPES = ("steady", "step", "spike", "soak")


class ProfileError(ValueError):
    """A profile that cannot run; the message names the file and the field."""


@dataclass(frozen=True)
class Profile:
    shape: str = "steady"
    spawn_rate: float = 5.0
    users: int = 10
    duration_s: float = 60.0
    step_users: int = 5
    step_s: float = 30.0
    steps: int = 4
    spike_users: int = 50
    before_s: float = 30.0
    spike_s: float = 20.0
    after_s: float = 60.0
    thresholds: tuple = ("p95 < 1s", "error_ratio < 5%")
    timeout_s: float = 10.0
    writers: int = 0
    workers: int = 0
    source: str = field(default="<defaults>", compare=False)

    @property
    def total_s(self) -> float:
        if self.shape == "step":
            return self.step_s * self.steps
        if self.shape == "spike":
            return self.before_s + self.spike_s + self.after_s
        return self.duration_s

    @property
    def peak(self) -> tuple[int, float]:
        """The most users at once, and for how long (what a scale-out answers)."""
        if self.shape == "step":
            return self.users + self.step_users * (self.steps - 1), self.step_s
        if self.shape == "spike" and self.spike_users > self.users:
            return self.spike_users, self.spike_s
        return self.users, self.total_s

    def users_at(self, t: float) -> int | None:
        """Users that should run at second t of the run; None once the run is over."""
        if t >= self.total_s:
            return None
        if self.shape == "step":
            return self.users + self.step_users * int(t // self.step_s)
        if self.shape == "spike":
            in_spike = self.before_s <= t < self.before_s + self.spike_s
            return self.spike_users if in_spike else self.users
        return self.users

    def with_overrides(self, **overrides) -> "Profile":
        given = {k: v for k, v in overrides.items() if v is not None}
        return validated(replace(self, **given))


def validated(p: Profile) -> Profile:
    def bad(field_name, why):
        raise ProfileError(f"{p.source}: field '{field_name}': {why}")

    if p.shape not in SHAPES:
        bad("shape", f"{p.shape!r} is not one of {', '.join(SHAPES)}")
    for name in ("spawn_rate", "duration_s", "step_s", "spike_s", "timeout_s"):
        if getattr(p, name) <= 0:
            bad(name, "must be > 0")
    for name in ("before_s", "after_s"):
        if getattr(p, name) < 0:
            bad(name, "must be >= 0")
    for name in ("users", "step_users", "steps", "spike_users", "writers", "workers"):
        value = getattr(p, name)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            bad(name, f"must be a whole number >= 0, not {value!r}")
    if p.shape != "spike" and p.users < 1:
        bad("users", "a run needs at least 1 user")
    if p.writers > min(p.users, p.spike_users if p.shape == "spike" else p.users):
        bad("writers", f"{p.writers} writers are more than the {p.users} users they are part of")
    if not isinstance(p.thresholds, (list, tuple)):
        bad("thresholds", "must be a list like [\"p95 < 1s\"]")
    from core.thresholds import parse_threshold, ThresholdError
    for expr in p.thresholds:
        try:
            parse_threshold(expr)
        except ThresholdError as err:
            bad("thresholds", str(err))
    return replace(p, thresholds=tuple(p.thresholds))


def load_profile(path: str | Path) -> Profile:
    path = Path(path)
    data = read_yaml(path, ProfileError)
    if not isinstance(data, dict):
        raise ProfileError(f"{path}: expected a mapping of fields, got {type(data).__name__}")
    known = {f.name for f in fields(Profile)} - {"source"}
    unknown = sorted(map(str, set(data) - known))  # a YAML key may be anything: `?` alone is a null one
    if unknown:
        raise ProfileError(f"{path}: unknown field(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    try:
        return validated(Profile(**data, source=str(path)))
    except TypeError as err:
        raise ProfileError(f"{path}: {err}") from err
