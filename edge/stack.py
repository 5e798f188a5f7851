"""The stack under test as configuration (stack.yaml): names, URLs and SLOs, loaded strictly.
A typo is an error that names the file and the field, never a silently ignored setting."""

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

from core.roles import ALERT_ROLES, ROLES, terms_of
from core.thresholds import Threshold, ThresholdError, parse_threshold
from edge.files import read_yaml
from edge.home import SUITE_ROOT, default_stack

KINDS = ("deployments", "hpas", "pdbs", "services")
REQUIRED_URLS = ("entry", "prometheus")
OPTIONAL_URLS = ("alertmanager", "alert_sink")


class StackError(ValueError):
    """stack.yaml is missing, malformed, or names something wrongly."""


@dataclass(frozen=True)
class Elected:
    """Pods that elect a leader among themselves and label it: the sampler records each one's
    label, split_brain judges two leaders at once."""
    selector: str       # which pods: app=postgres
    label: str          # the label saying each one's role: role
    leader: str         # its value on the leader: master

    @property
    def match_labels(self) -> dict[str, str]:
        """The selector's label=value terms (edge.kube.matches)."""
        return terms_of(self.selector)


@dataclass(frozen=True)
class Stack:
    source: Path
    name: str
    kube_context: str
    namespace: str
    entry_url: str
    prometheus_url: str
    alertmanager_url: str | None
    alert_sink_url: str | None
    deployments: tuple[str, ...]
    hpas: tuple[str, ...]
    pdbs: tuple[str, ...]
    services: tuple[str, ...]
    objectives: tuple[Threshold, ...]
    server_selector: str
    burn_rate_window_divisor: int
    elected: dict[str, Elected] = field(default_factory=dict)
    roles: dict[str, str] = field(default_factory=dict)   # role -> object name (core.roles)
    locustfile: Path | None = None   # the stack's own traffic; None: GETs spread over `paths`
    paths: tuple[str, ...] = ("/",)  # what the generic traffic GETs
    load_workers: int | None = None  # Locust workers under one master; None: the profile's (loadtests.workers)
    alerts: dict[str, tuple[str, ...]] = field(default_factory=dict)  # class -> alert rules (core.roles)


class _Fields:
    """Reads one mapping of the file, each error naming file and field; unknown keys are errors."""

    def __init__(self, source: Path, data, where: str = ""):
        self.source, self.where = source, where
        if not isinstance(data, dict):
            self.fail("", f"must be a mapping, not {type(data).__name__}")
        self.data = data

    def fail(self, key: str, problem: str):
        field = ".".join(p for p in (self.where, key) if p) or "(top level)"
        raise StackError(f"{self.source}: {field}: {problem}")

    def check_keys(self, allowed) -> None:
        unknown = sorted(map(str, set(self.data) - set(allowed)))
        if unknown:
            self.fail(unknown[0], f"unknown field (known: {', '.join(allowed)})")

    def get(self, key: str, kind: type, default=...):
        if key not in self.data or self.data[key] is None:
            if default is ...:
                self.fail(key, "is required")
            return default
        value = self.data[key]
        if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
            self.fail(key, f"must be a {kind.__name__}, not {type(value).__name__} ({value!r})")
        return value

    def names(self, key: str) -> tuple[str, ...]:
        value = self.get(key, list, [])
        if not all(isinstance(v, str) and v for v in value):
            self.fail(key, f"must be a list of names, not {value!r}")
        return tuple(value)

    def url(self, key: str, required: bool) -> str | None:
        value = self.get(key, str, ... if required else None)
        if value is not None and (urlparse(value).scheme not in ("http", "https") or not urlparse(value).hostname):
            self.fail(key, f"{value!r} is not an http(s) URL")
        return value.rstrip("/") if value else None

    def section(self, key: str) -> "_Fields":
        return _Fields(self.source, self.get(key, dict), ".".join(p for p in (self.where, key) if p))


def load_stack(path: str | os.PathLike | None = None) -> Stack:
    """The stack of `path`, else of $GAMEDAY_STACK, else ./stack.yaml (in the repository: the
    seed stack), else $GAMEDAY_HOME/stack.yaml (edge.home)."""
    source = Path(path or default_stack()).absolute()
    if not path and not source.exists():
        raise StackError(f"no stack file: none given (--stack), $GAMEDAY_STACK unset, no {source} nor "
                         "$GAMEDAY_HOME/stack.yaml; `gameday init NAMESPACE` writes one from a live namespace")
    top = _Fields(source, read_yaml(source, StackError))
    top.check_keys(("name", "kube_context", "namespace", "urls", "slo", "elected", "roles", "load", "alerts") + KINDS)
    urls = top.section("urls")
    urls.check_keys(REQUIRED_URLS + OPTIONAL_URLS)
    slo = top.section("slo")
    slo.check_keys(("objectives", "server_selector", "burn_rate_window_divisor"))
    objectives = []
    for i, expr in enumerate(slo.get("objectives", list)):
        try:
            objectives.append(parse_threshold(expr))
        except ThresholdError as err:
            slo.fail(f"objectives[{i}]", str(err))
    divisor = slo.get("burn_rate_window_divisor", int, 1)
    if divisor < 1:
        slo.fail("burn_rate_window_divisor", f"must be 1 (production windows) or more, not {divisor}")
    return Stack(
        source=source, name=top.get("name", str), kube_context=top.get("kube_context", str),
        namespace=top.get("namespace", str),
        entry_url=urls.url("entry", True), prometheus_url=urls.url("prometheus", True),
        alertmanager_url=urls.url("alertmanager", False), alert_sink_url=urls.url("alert_sink", False),
        **{kind: top.names(kind) for kind in KINDS},
        objectives=tuple(objectives), server_selector=slo.get("server_selector", str, ""),
        burn_rate_window_divisor=divisor, elected=_elected(top), roles=_roles(top), alerts=_alerts(top),
        **_load(top),
    )


def _load(top: _Fields) -> dict:
    """load: {locustfile: PATH (relative to the stack file, else to the suite's own files),
    paths: [...] (what the generic locustfile GETs), workers: N (Locust workers under one master)}."""
    if top.get("load", dict, None) is None:
        return {}
    load = top.section("load")
    load.check_keys(("locustfile", "paths", "workers"))
    paths = load.names("paths") or ("/",)
    if not all(p.startswith("/") for p in paths):
        load.fail("paths", f"{list(paths)!r}: each a path on the entry URL, starting with /")
    workers = load.get("workers", int, None)
    if workers is not None and workers < 0:
        load.fail("workers", f"{workers}: a number of workers, 0 for one Locust process")
    fields = {"paths": paths, "load_workers": workers}
    name = load.get("locustfile", str, None)
    if name is None:
        return fields
    for base in (top.source.parent, SUITE_ROOT):
        if (base / name).is_file():
            return {**fields, "locustfile": (base / name).resolve()}
    load.fail("locustfile", f"{name}: no such file next to the stack file nor among the suite's ({SUITE_ROOT})")


def _roles(top: _Fields) -> dict[str, str]:
    if top.get("roles", dict, None) is None:
        return {}
    roles = top.section("roles")
    roles.check_keys(tuple(ROLES))
    return {role: roles.get(role, str) for role in roles.data}


def _alerts(top: _Fields) -> dict[str, tuple[str, ...]]:
    if top.get("alerts", dict, None) is None:
        return {}
    alerts = top.section("alerts")
    alerts.check_keys(tuple(ALERT_ROLES))
    return {role: alerts.names(role) for role in alerts.data}


def _elected(top: _Fields) -> dict[str, Elected]:
    if top.get("elected", dict, None) is None:
        return {}
    groups = top.section("elected")
    elected = {}
    for name in groups.data:
        group = groups.section(name)
        group.check_keys(("selector", "label", "leader"))
        selector = group.get("selector", str)
        if not all(re.fullmatch(r"[\w./-]+=[\w.-]+", term) for term in selector.split(",")):
            group.fail("selector", f"{selector!r}: only label=value terms, comma-separated (app=postgres)")
        elected[name] = Elected(selector, group.get("label", str), group.get("leader", str))
    return elected
