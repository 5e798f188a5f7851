"""Trends across runs: the latest run of each experiment against its earlier runs, so that a
nightly job can say what got worse since yesterday (recovery time, time to fire, max RPS, SLO
margins, verdicts that passed and no longer do).

    gameday report --history runs/    (writes runs/history.html, prints one line per regression)

A run directory is runs/<UTC>-<experiment>/ or, from pytest, runs/<UTC>-pytest/<test>-<experiment>/.
Runs are grouped by their experiment's title and their load profile; the tests that break the stack on purpose
(any test but test_game_day) form groups of their own, since their runs fail by design.
A directory that cannot be read is skipped with the reason, never fatal.
"""

import re
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from statistics import median

from jinja2 import Environment, FileSystemLoader, select_autoescape

from core.checks import CHECKS
from core.thresholds import ThresholdError, parse_threshold
from core.verdict import FAIL, INCONCLUSIVE, PASS, display_name, utc
from edge.rundir import RunDir, RunDirError
from reports.detection import DEFAULT_WEIGHT, WEIGHTS, detection_matrix, resilience_score

TEMPLATES = Path(__file__).resolve().parent
RUN_STAMP = re.compile(r"^(\d{8}T\d{6}Z)-(.+)$")
PYTEST_RUN = re.compile(r"^(test_[A-Za-z0-9_]+)-(.+)$")  # test names have no hyphen, experiment stems do
GAME_DAY_TEST = "test_game_day"
RUN_MARKERS = ("journal.json", "verdicts.json", "chaos.log", "load")

# The baseline is the median of the previous runs: one odd run does not move it, and a week of
# nightly runs is recent enough that a slow drift still shows as a change.
BASELINE_RUNS = 7
# Recovery and alert times on kind jitter by a few seconds (pod scheduling, 5 s scrapes and rule
# evaluations): a time is worse only if both relatively and absolutely so, else a 3 s recovery
# becoming 4 s would be a "33 % regression".
TIME_WORSE_RATIO, TIME_WORSE_S = 0.20, 5.0
# Locust's peak second varies a few percent between identical runs.
RPS_DROP_RATIO = 0.10
# An SLO margin is (limit - value) / limit; 10 points is e.g. 100 ms more p95 against "p95 < 1s".
MARGIN_DROP = 0.10

REGRESSION, IMPROVEMENT, STEADY = "regression", "improvement", ""
NO_BASELINE, NOT_MEASURED = "no earlier value", "not in the latest run"
STATUS_RANK = {PASS: 0, INCONCLUSIVE: 1, FAIL: 2}



class BrokenRun(Exception):
    pass


@dataclass(frozen=True)
class Skipped:
    path: Path
    reason: str


@dataclass(frozen=True)
class Change:
    metric: str
    now: float | str | None
    baseline: float | str | None
    earlier: tuple  # the baseline runs' values, oldest first
    flag: str       # REGRESSION, IMPROVEMENT, STEADY, NO_BASELINE or NOT_MEASURED
    delta: str = ""


@dataclass
class Trend:
    experiment: str
    runs: list[dict]  # run_metrics of each run, oldest first
    changes: list[Change]
    current: bool = True  # False: the experiment's newest run ran under another load since

    @property
    def latest(self) -> dict:
        return self.runs[-1]

    def flagged(self, flag: str) -> list[Change]:
        return [c for c in self.changes if c.flag == flag]

    @property
    def ordered(self) -> list[Change]:
        """Regressions first, then improvements, then the rest in their order."""
        first = {REGRESSION: 0, IMPROVEMENT: 1}
        return sorted(self.changes, key=lambda c: first.get(c.flag, 2))


# ---- reading runs


def _looks_like_run(path: Path) -> bool:
    return any((path / marker).exists() for marker in RUN_MARKERS)


def _run_dirs_in(top: Path) -> list[Path]:
    """top itself when it is a run, else the runs one level down (a pytest session's)."""
    if _looks_like_run(top):
        return [top]
    return sorted(p for p in top.iterdir() if p.is_dir() and _looks_like_run(p))


def find_runs(root: Path) -> tuple[list[Path], list[Skipped]]:
    """The run directories below root with a verdicts.json; those that look like runs but have
    none are skipped. A folder of no game day (pytest's integration artifacts) is not a run."""
    root = Path(root)
    tops = [root] if _looks_like_run(root) else sorted(p for p in root.iterdir() if p.is_dir())
    runs, skipped = [], []
    for top in tops:
        try:
            candidates = _run_dirs_in(top)
        except OSError as err:
            skipped.append(Skipped(top, f"cannot read: {err.strerror}"))
            continue
        for path in candidates:
            if (path / "verdicts.json").is_file():
                runs.append(path)
            else:
                skipped.append(Skipped(path, "no verdicts.json: the run was never judged (crashed or still running)"))
    return runs, skipped


def _number(value) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def slo_margin(expected: str, value) -> float | None:
    """How far inside its threshold a value is, as a fraction of the limit (negative: outside)."""
    value = _number(value)
    try:
        threshold = parse_threshold(str(expected).split(" (")[0])
    except ThresholdError:
        return None
    if value is None or threshold.limit == 0:
        return None
    room = threshold.limit - value if threshold.op in ("<", "<=") else value - threshold.limit
    return room / threshold.limit


def verdict_numbers(verdict: dict) -> dict[str, float]:
    """The numbers a verdict measured that its check's trend follows (core.checks), named after
    it: recovery_s[core-api] after kill-a-pod; for an SLO check, its margin: slo_margin[slo_client[p95]]."""
    check = CHECKS.get(verdict["check"])
    if check is None:
        return {}
    key = verdict_key(verdict)
    suffix = key[len(check.name):]
    details = verdict.get("details") if isinstance(verdict.get("details"), dict) else {}
    evidence = verdict.get("evidence") if isinstance(verdict.get("evidence"), dict) else {}
    found = {f"{number}{suffix}": details.get(number) for number in check.trend}
    if check.margin:
        found[f"slo_margin[{key}]"] = slo_margin(verdict.get("expected", ""), evidence.get("value"))
    return {metric: float(v) for metric, v in found.items() if _number(v) is not None}


def verdict_key(verdict: dict) -> str:
    """What a verdict is compared under across runs: its name, less a subject the fault picked
    anew each run (the node a drain emptied)."""
    check = CHECKS.get(verdict["check"])
    subject = "" if check and check.subject_varies else verdict.get("subject", "")
    return display_name(verdict["check"], subject, verdict.get("after", ""))


def max_rps(run: RunDir) -> float | None:
    """The busiest second's requests over every endpoint; None without a timeline."""
    try:
        if run.per_second is None:
            return None
        requests = run.per_second.counts.requests
    except (OSError, ValueError, TypeError) as err:
        raise BrokenRun(f"load/timeline.jsonl: unreadable ({err})") from err
    return float(requests.max()) if len(requests) else None


def experiment_stem(run_dir: Path) -> str:
    for pattern in (RUN_STAMP, PYTEST_RUN):
        if m := pattern.match(run_dir.name):
            return m[2]
    return run_dir.name


def experiment_of(run_dir: Path, journal: dict) -> str:
    experiment = journal.get("experiment")
    title = (experiment.get("title") if isinstance(experiment, dict) else None) or experiment_stem(run_dir)
    test = PYTEST_RUN.match(run_dir.name)
    return f"{title} ({test[1]})" if test and test[1] != GAME_DAY_TEST else str(title)


def load_of(run: RunDir) -> str:
    """The load a run ran under, in a few words ("steady 10 users"): runs are compared only under
    the same load, else a profile change (20 users to 10) reads as a throughput regression."""
    profile = run.profile
    if profile is None:
        return ""
    shape = profile.get("shape", "?")
    words = {"spike": f"spike {profile.get('users')}→{profile.get('spike_users')} users",
             "step": f"step {profile.get('users')}+{profile.get('step_users')}×{profile.get('steps')} users"}
    return words.get(shape, f"{shape} {profile.get('users')} users")


def started_at(run_dir: Path, journal: dict) -> datetime:
    """The journal's start, else the UTC stamp of the run's (or its pytest session's) directory."""
    try:
        return utc(journal["start"])
    except (KeyError, TypeError, ValueError):
        pass
    for name in (run_dir.name, run_dir.parent.name):
        if m := RUN_STAMP.match(name):
            return datetime.strptime(m[1], "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
    return datetime.fromtimestamp((run_dir / "verdicts.json").stat().st_mtime, timezone.utc)


def _keep_worst(into: dict, key: str, value, worse) -> None:
    into[key] = value if key not in into else worse(into[key], value)


def _worse_number(metric: str):
    return min if metric_kind(metric) in ("rps", "margin") else max


def run_metrics(run_dir: Path) -> dict:
    """What one run measured; raises BrokenRun when its verdicts or journal cannot be read."""
    run = RunDir(run_dir)
    run_dir = run.path
    try:
        record, journal = run.record, run.journal or {}
        if record is None:
            raise BrokenRun("verdicts.json: missing")
        metrics, statuses = {}, {}
        for verdict in record["verdicts"]:
            for metric, value in verdict_numbers(verdict).items():
                _keep_worst(metrics, metric, value, _worse_number(metric))  # a check judged twice: its worst
            _keep_worst(statuses, verdict_key(verdict), str(verdict.get("status", "?")),
                        lambda a, b: max(a, b, key=lambda s: STATUS_RANK.get(s, 1)))
        if (rps := max_rps(run)) is not None:
            metrics["max_rps"] = rps
        load = load_of(run)
    except RunDirError as err:
        raise BrokenRun(str(err)) from err
    return {"dir": run_dir, "experiment": experiment_of(run_dir, journal) + (f" · {load}" if load else ""),
            "title": experiment_of(run_dir, journal),
            "stem": experiment_stem(run_dir),
            "started": started_at(run_dir, journal), "status": str(record.get("status", "unknown")),
            "metrics": metrics, "verdicts": statuses, "report": (run_dir / "report.html").is_file()}


# ---- comparing


def metric_kind(metric: str) -> str:
    family = metric.partition("[")[0]
    if family == "max_rps":
        return "rps"
    if family == "slo_margin":
        return "margin"
    return "time" if family.endswith("_s") else "count"


def judge(metric: str, now: float, base: float) -> str:
    """REGRESSION or IMPROVEMENT beyond the tolerance of the metric's kind, else STEADY."""
    kind, delta = metric_kind(metric), now - base
    if kind == "time" and abs(delta) > max(TIME_WORSE_RATIO * base, TIME_WORSE_S):
        return REGRESSION if delta > 0 else IMPROVEMENT
    if kind == "rps" and abs(delta) > RPS_DROP_RATIO * base:
        return REGRESSION if delta < 0 else IMPROVEMENT
    if kind == "margin":
        if now < 0 <= base or -delta > MARGIN_DROP:
            return REGRESSION
        if base < 0 <= now or delta > MARGIN_DROP:
            return IMPROVEMENT
    return STEADY  # counts (the HPA's peak) are shown, not judged


def show(metric: str, value) -> str:
    if value is None:
        return "—"
    if isinstance(value, str):
        return value
    kind = metric_kind(metric)
    return {"time": f"{value:.1f} s", "rps": f"{value:.0f}/s", "margin": f"{value:.0%}"}.get(kind, f"{value:g}")


def describe_delta(metric: str, now: float, base: float) -> str:
    kind = metric_kind(metric)
    if kind == "margin":
        return f"{(now - base) * 100:+.0f} pp"
    relative = f" ({(now - base) / base:+.0%})" if base else ""
    unit = {"time": " s", "rps": "/s"}.get(kind, "")
    return f"{now - base:+.1f}{unit}{relative}"


def number_change(metric: str, now: float | None, earlier: list[float]) -> Change:
    if not earlier:
        return Change(metric, now, None, (), NO_BASELINE)
    base = median(earlier)
    if now is None:
        return Change(metric, None, base, tuple(earlier), NOT_MEASURED)
    return Change(metric, now, base, tuple(earlier), judge(metric, now, base), describe_delta(metric, now, base))


def status_change(name: str, now: str | None, earlier: list[str]) -> Change:
    """Against the previous run that judged it: pass before and not now is a regression."""
    if not earlier:
        return Change(name, now, None, (), NO_BASELINE)
    before = earlier[-1]
    if now is None:
        return Change(name, None, before, tuple(earlier), NOT_MEASURED)
    flag = (REGRESSION if before == PASS and now != PASS else IMPROVEMENT if before != PASS and now == PASS
            else STEADY)
    return Change(name, now, before, tuple(earlier), flag, f"{before} → {now}" if before != now else "")


def compare(latest: dict, earlier: list[dict]) -> list[Change]:
    """The latest run's run status, verdicts and numbers against up to BASELINE_RUNS earlier runs
    (oldest first). Without an earlier run every change is NO_BASELINE: nothing to compare."""
    window = earlier[-BASELINE_RUNS:]
    changes = [status_change("run status", latest["status"], [r["status"] for r in window])]
    for name in dict.fromkeys([*latest["verdicts"], *(n for r in window for n in r["verdicts"])]):
        changes.append(status_change(name, latest["verdicts"].get(name),
                                     [r["verdicts"][name] for r in window if name in r["verdicts"]]))
    for metric in dict.fromkeys([*latest["metrics"], *(m for r in window for m in r["metrics"])]):
        changes.append(number_change(metric, latest["metrics"].get(metric),
                                     [r["metrics"][metric] for r in window if metric in r["metrics"]]))
    return changes


# ---- the history of a folder of runs


def load_history(root: Path) -> tuple[list[Trend], list[Skipped]]:
    """One Trend per experiment (by title), those with a regression first; runs oldest first;
    unreadable runs skipped."""
    paths, skipped = find_runs(root)
    runs = []
    for path in paths:
        try:
            runs.append(run_metrics(path))
        except BrokenRun as err:
            skipped.append(Skipped(path, str(err)))
    groups: dict[str, list[dict]] = {}
    for run in sorted(runs, key=lambda r: r["started"]):
        groups.setdefault(run["experiment"], []).append(run)
    newest = {}
    for group in groups.values():
        title = group[-1]["title"]
        newest[title] = max(newest.get(title, group[-1]["started"]), group[-1]["started"])
    trends = [Trend(name, group, compare(group[-1], group[:-1]), group[-1]["started"] == newest[group[-1]["title"]])
              for name, group in groups.items()]
    return sorted(trends, key=lambda t: (not t.current, not t.flagged(REGRESSION), t.experiment)), skipped


def summary(trends: list[Trend], skipped: list[Skipped], root: Path) -> list[str]:
    """Plain text for CI logs: one line per regression (experiment, metric, was → now)."""
    lines = []
    for trend in trends:
        earlier = len(trend.runs) - 1
        if not trend.current:
            lines.append(f"earlier load {trend.experiment}: its newest run ran under another load since")
            continue
        if not earlier:
            lines.append(f"only run    {trend.experiment}: nothing to compare against")
            continue
        for flag, label in ((REGRESSION, "REGRESSION "), (IMPROVEMENT, "improved   ")):
            lines += [f"{label} {trend.experiment}: {c.metric}: {show(c.metric, c.baseline)} → {show(c.metric, c.now)}"
                      for c in trend.flagged(flag)]
        if not trend.flagged(REGRESSION):
            lines.append(f"ok          {trend.experiment}: no regression against {min(earlier, BASELINE_RUNS)} earlier run(s)")
    lines += [f"skipped     {_relative(s.path, root)}: {s.reason}" for s in skipped]
    return lines


def _relative(path: Path, root: Path) -> str:
    try:
        return str(Path(path).relative_to(root))
    except ValueError:
        return str(path)


def write_history_page(root: Path, trends: list[Trend], skipped: list[Skipped]) -> Path:
    """root/history.html: one offline page, a table per experiment."""
    root = Path(root)
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html", "j2"]))
    env.filters["shown"] = lambda value, metric: show(metric, value)
    env.filters["relative"] = lambda path: _relative(path, root)
    faults, alerts, cells = detection_matrix([RunDir(r["dir"]) for t in trends for r in t.runs])
    html = env.get_template("history.html.j2").render(
        faults=faults, alerts=alerts, cells=cells, weights=WEIGHTS, default_weight=DEFAULT_WEIGHT,
        score=resilience_score({t.experiment: RunDir(t.latest["dir"]) for t in trends if t.current}),
        root=root.name or str(root), trends=trends, skipped=skipped, baseline_runs=BASELINE_RUNS,
        regressions=sum(len(t.flagged(REGRESSION)) for t in trends if t.current),
        generated=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"))
    out = root / "history.html"
    out.write_text(html)
    return out
