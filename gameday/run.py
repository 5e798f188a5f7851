"""One game day: guard the target, run the experiment with `chaos run` (its control brings the
load and the readiness sampler), judge the verdicts, record everything in runs/<run-id>/.
The command line is gameday.cli (`gameday run`)."""

import json
import os
import signal
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from actions.leftovers import leftovers
from core.target import Target
from core.verdict import EXIT, FAIL, INCONCLUSIVE, PASS, Verdict
from core.predictions import Prediction, shown_prediction
from core.roles import RoleError, alert_values, role_values
from core.weak_spots import Namespace
from edge.kube import read_namespace, worker_zones
from edge.processes import python_module, spawn
from edge.home import SUITE_ROOT
from edge.rundir import RunDir, new_run_dir, read_events
from edge.stack import Stack, StackError
from gameday.dryrun import OWN_PROFILE, plan
from gameday.experiment import ExperimentError, guardrails_of, load_experiment, roles_used
from gameday.guard import Allowlist, GuardError, guard, load_allowlist, target_of
from gameday.judge import judge_run
from gameday.predictions import predictions_of, write_predictions
from gameday.record import record_prometheus
from reports.build import build_report
from reports.junit import junit_xml

@dataclass
class Result:
    run_dir: Path
    verdicts: list[Verdict] = field(default_factory=list)
    error: str = ""
    notes: list[str] = field(default_factory=list)  # what the run could not record
    target: dict = field(default_factory=dict)      # what ran against what: the report's header
    interrupted: str = ""                           # by what: Ctrl-C, SIGTERM
    halted: str = ""                                # the guardrail crossed, and the data that crossed it

    @property
    def status(self) -> str:
        if self.error:
            return "error"
        if self.halted:
            return "halted"
        if self.interrupted:
            return "interrupted"
        statuses = {v.status for v in self.verdicts}
        return FAIL if FAIL in statuses else INCONCLUSIVE if INCONCLUSIVE in statuses or not statuses else PASS


def chaos_env(stack: Stack, run_dir: Path, load_profile: Path | None) -> dict[str, str]:
    """The environment `chaos run` gets: the control reads the stack, the run directory and the
    load profile from it, the experiments' configuration the URLs. What the actions may touch
    comes as configuration (target.json), not from here."""
    env = {**os.environ, "GAMEDAY_RUN_DIR": str(run_dir), "GAMEDAY_STACK": str(stack.source),
           "PROMETHEUS_URL": stack.prometheus_url, "CORE_URL": stack.entry_url,
           **({"ALERT_SINK_URL": stack.alert_sink_url} if stack.alert_sink_url else {})}
    if load_profile:
        env["GAMEDAY_LOAD_PROFILE"] = str(Path(load_profile).resolve())
    return env


def handed_configuration(stack: Stack, target: Target, ns: Namespace, roles: list[str]) -> dict:
    """What the runner hands the experiment's configuration (`chaos run --var-file`): the target,
    the stack's server selector, object lists and alerts by class, and the objects of the `roles`
    the experiment acts on (core.roles), read from the live namespace."""
    handed = {**target.configuration(), "server_selector": stack.server_selector,
              "deployments": list(stack.deployments), "hpas": list(stack.hpas), "pdbs": list(stack.pdbs),
              **alert_values(stack.alerts)}
    if roles:
        try:
            handed |= role_values({role: stack.roles[role] for role in roles}, ns)
        except RoleError as err:
            raise StackError(f"{stack.source}: {err}") from None
    return handed


def write_target(handed: dict, run_dir: Path) -> Path:
    """target.json: what `chaos run --var-file` hands the experiment's configuration; the judge
    reads it back to resolve the verdicts' ${...} as the run resolved them."""
    path = run_dir / "target.json"
    path.write_text(json.dumps({"configuration": handed}, indent=2))
    return path


@dataclass
class Prepared:
    experiment: dict
    target: Target
    handed: dict                    # handed_configuration
    predictions: list[Prediction]   # what the game day should see (core.predictions)


def preflight(experiment_path: Path, stack: Stack, allow: Allowlist | None, load_profile: Path | None = None) -> Prepared:
    """The experiment read and checked against the stack, the guard passed: before anything
    touches the cluster."""
    allow = allow or load_allowlist()
    experiment = load_experiment(experiment_path)
    guard(stack, experiment, str(experiment_path), allow)
    target = target_of(stack, allow)
    used = roles_used(experiment)
    for role, keys in used.items():
        if role not in stack.roles:
            raise StackError(f"{experiment_path} acts on the stack's {role} role ({', '.join(f'${{{k}}}' for k in keys)}): "
                             f"{stack.source} names no roles.{role} (core/roles.py says what each role is)")
    namespace = read_namespace(stack.kube_context, stack.namespace)
    handed = handed_configuration(stack, target, namespace, list(used))
    guardrails_of(experiment, str(experiment_path), stack.deployments, handed)
    return Prepared(experiment, target, handed, predictions_of(experiment, str(experiment_path), handed, namespace, stack,
                                                                    load_profile))


def dry_run(experiment_path: Path, stack: Stack, load_profile: Path | None = None,
            allow: Allowlist | None = None) -> list[str]:
    """What the game day would do, resolved with reads only (gameday.dryrun)."""
    prepared = preflight(experiment_path, stack, allow, load_profile)
    env = chaos_env(stack, Path("(dry run)"), load_profile)
    return plan(prepared.experiment, str(experiment_path), stack, prepared.target, prepared.handed, env,
                env.get("GAMEDAY_LOAD_PROFILE", OWN_PROFILE)) + \
        ["predicted (the report sets each beside what was observed):"] + \
        [f"  {p.verdict}: {p.quantity} {shown_prediction(p)} ({p.why})" for p in prepared.predictions]


def run_game_day(experiment_path: Path, stack: Stack, run_dir: Path | None = None, load_profile: Path | None = None,
                 on_tick: Callable[[float], None] | None = None, on_verdict: Callable[[Verdict], None] | None = None,
                 tick_s: float = 5, allow: Allowlist | None = None) -> Result:
    """on_tick(elapsed_s) every tick_s while chaos runs, on_verdict(v) as each verdict is judged;
    load_profile replaces the one the experiment's control names; allow: the guard's allowlist
    (default: guard.yaml). The one boundary of a run: whatever breaks in here ends the run as
    status `error` (exit 3) with the traceback in runner-error.txt, what was recorded kept, the
    experiment stopped and rolled back if it was running."""
    run_dir = run_dir or new_run_dir(experiment_path.stem)
    run_dir.mkdir(parents=True, exist_ok=True)
    result, target = Result(run_dir, target=run_header(experiment_path, stack, load_profile)), None
    try:
        prepared = preflight(experiment_path, stack, allow, load_profile)
        experiment, target = prepared.experiment, prepared.target
        write_predictions(prepared.predictions, run_dir)
        chaos = _run_chaos(experiment_path, stack, prepared, run_dir, load_profile, result, on_tick, tick_s)
        if not (run_dir / "journal.json").exists():
            result.error = f"chaos run exited {chaos.returncode} without a journal; see {run_dir / 'chaos.out'}"
            return _checked(result, target)
        if not _judge(experiment, experiment_path, stack, result, on_verdict):
            return _checked(result, target)
        window = RunDir(run_dir).window
        result.notes += ([f"not recorded: {p}" for p in record_prometheus(stack, window, run_dir)] if window else
                         ["not recorded: prometheus.jsonl (the journal has no start and end to bound it)"])
        try:
            result.target["zones"] = worker_zones(stack.kube_context)
        except Exception as err:  # unreachable API: the verdicts stand, the header lacks the zones
            result.notes.append(f"not recorded: the nodes' zones ({type(err).__name__}: {err})")
    except (ExperimentError, GuardError, StackError) as err:
        result.error = str(err)
        return _record(result)
    except Exception as err:
        _runner_failed(result, err)
    except BaseException:  # not the runner's to absorb (a test's timeout, SystemExit): record, then pass it on
        if target is None:
            _record(result)
        else:
            _checked(result, target)
        raise
    if target is None:
        return _record(result)
    _checked(result, target)
    try:
        build_report(run_dir)
    except Exception as err:  # the verdicts stand without their report; say why it is missing
        result.notes.append(f"report.html not built: {type(err).__name__}: {err}")
        _record(result)
    return result


def _run_chaos(experiment_path: Path, stack: Stack, prepared: Prepared, run_dir: Path, load_profile: Path | None,
               result: Result, on_tick: Callable[[float], None] | None, tick_s: float) -> subprocess.Popen:
    """`chaos run` of the experiment, to its end; an interrupt or a failure of this process while
    it runs stops it the way a Ctrl-C does (rollbacks run) and is noted in the result."""
    with open(run_dir / "chaos.out", "w") as out:
        # its own session: a terminal's Ctrl-C reaches this process only, which passes on exactly
        # one interrupt, so that a second Ctrl-C is a decision, not an accident of signal delivery
        chaos = spawn(python_module("chaostoolkit", "--log-file", str(run_dir / "chaos.log"),
                                    # rollbacks also after a failed hypothesis or an interrupt (default: not)
                                    "run", "--rollback-strategy", "always",
                                    "--var-file", str(write_target(prepared.handed, run_dir)),
                                    "--journal-path", str(run_dir / "journal.json"), str(experiment_path)),
                      env=chaos_env(stack, run_dir, load_profile), stdout=out, stderr=subprocess.STDOUT,
                      start_new_session=True)
        interrupts = Interrupts(chaos, run_dir)
        try:
            with interrupts.handled():
                try:
                    _wait(chaos, on_tick, tick_s)
                # this process failing must not strand what the experiment changed, nor leave its
                # load running: also when what stops it is no Exception (a test's timeout, SystemExit)
                except BaseException as err:
                    _runner_failed(result, err)
                    interrupts.runner_failed(err)
                    chaos.wait()
                    if not isinstance(err, Exception):
                        raise  # the caller's to handle, now that the experiment is over
        finally:
            stop_strays(chaos.pid)
            _note_interrupt(result, interrupts)
            _note_halt(result)
    return chaos


def _runner_failed(result: Result, err: BaseException) -> None:
    """The run's error is the runner's own failure, its traceback kept in runner-error.txt."""
    _say(f"\nerror in the runner: {type(err).__name__}: {err}")
    (result.run_dir / "runner-error.txt").write_text(traceback.format_exc())
    result.error = f"the runner failed: {type(err).__name__}: {err} (traceback in runner-error.txt)"


def _note_interrupt(result: Result, interrupts: "Interrupts") -> None:
    if interrupts.by:
        result.interrupted = interrupts.by
        result.notes.append(f"interrupted by {interrupts.by}: " + (
            "the rollbacks were abandoned by a second Ctrl-C" if interrupts.abandoned else "the rollbacks ran"))


def _note_halt(result: Result) -> None:
    """A guardrail's watcher halted the experiment (gameday.guardrails): the run is `halted`."""
    halt = next((e for e in read_events(result.run_dir) if e.get("event") == "halted"), None)
    if halt:
        result.halted = f"guardrail {halt['guardrail']!r} crossed: {halt['observed']}"
        result.notes.append(f"halted: {result.halted}; the method was stopped and the rollbacks ran")


def _judge(experiment: dict, experiment_path: Path, stack: Stack, result: Result,
           on_verdict: Callable[[Verdict], None] | None) -> bool:
    """Judges into the result; False when a Ctrl-C stopped it."""
    try:
        for verdict in judge_run(result.run_dir, experiment, str(experiment_path), stack):
            result.verdicts.append(verdict)
            if on_verdict:
                on_verdict(verdict)
    except KeyboardInterrupt:  # the experiment is over: keep what was judged, say what was not
        result.interrupted = result.interrupted or "Ctrl-C"
        result.notes.append(f"judging interrupted after {len(result.verdicts)} verdict(s); "
                            "`gameday report` rebuilds the report from what is here")
        return False
    return True


def _wait(chaos: subprocess.Popen, on_tick: Callable[[float], None] | None, tick_s: float) -> None:
    started = next_tick = time.monotonic()
    while chaos.poll() is None:
        time.sleep(0.5)
        if on_tick and time.monotonic() >= next_tick:
            on_tick(time.monotonic() - started)
            next_tick += tick_s


class Interrupts:
    """While chaos runs: the first Ctrl-C or SIGTERM asks it to stop and roll back (one SIGINT:
    the KeyboardInterrupt stops even a running activity, and chaoslib still plays the rollbacks;
    a SIGTERM there would only fail that activity and let the method go on); a second Ctrl-C
    abandons the rollbacks (SIGUSR2, chaoslib's exit without rollbacks) and says so. Further
    SIGTERMs are absorbed: a supervisor repeating its TERM must not cut the rollbacks short."""

    def __init__(self, chaos: subprocess.Popen, run_dir: Path):
        self.chaos, self.run_dir, self.by, self.abandoned = chaos, run_dir, "", False

    def rolling_back(self) -> bool:
        # an interrupt during the rollbacks would cut them: they are what the interrupt wants
        return any(e.get("event") == "rollbacks-started" for e in read_events(self.run_dir))

    def __call__(self, signum, _frame) -> None:
        name = "Ctrl-C" if signum == signal.SIGINT else signal.Signals(signum).name
        if not self.by:
            self.by = name
            if self.rolling_back():
                _say(f"\ninterrupted ({name}) during the rollbacks: letting them finish (Ctrl-C again abandons them)")
                return
            _say(f"\ninterrupted ({name}): stopping the experiment and running its rollbacks "
                 "(Ctrl-C again abandons them)")
            self._signal(signal.SIGINT)
        elif signum == signal.SIGINT and not self.abandoned:
            self.abandoned = True
            _say("second Ctrl-C: the rollbacks are ABANDONED; what the experiment changed stays "
                 "(listed below; `gameday cleanup` undoes it)")
            self._signal(signal.SIGUSR2)

    def runner_failed(self, err: Exception) -> None:
        """An error in this process while chaos runs (a progress callback, say) stops the
        experiment as a Ctrl-C would; its caller then waits for the rollbacks."""
        if not self.by:
            self.by = f"an error in the runner ({type(err).__name__}: {err}; traceback in runner-error.txt)"
            if not self.rolling_back():
                self._signal(signal.SIGINT)

    def _signal(self, signum: int) -> None:
        if self.chaos.poll() is None:
            self.chaos.send_signal(signum)

    @contextmanager
    def handled(self):
        if threading.current_thread() is not threading.main_thread():
            yield  # signals reach the main thread only; its caller handles them
            return
        previous = {s: signal.signal(s, self) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for s, handler in previous.items():
                signal.signal(s, handler)


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def stop_strays(group: int) -> None:
    """The load and the sampler run in chaos's process group; chaos stops them, but if it was cut
    short they would go on for up to an hour: stop whatever is left, gracefully first."""
    for signum, grace_s in ((signal.SIGINT, 30), (signal.SIGKILL, 0)):
        try:
            os.killpg(group, signum)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + grace_s
        while time.monotonic() < deadline:
            try:
                os.killpg(group, 0)
            except ProcessLookupError:
                return
            time.sleep(0.5)


def _checked(result: Result, target: Target) -> Result:
    """Records the result after looking for what the run left on the cluster: anything there is
    the run's error, named, with the way to undo it."""
    try:
        left = leftovers(target)
    except Exception as err:  # cannot look: say so rather than claim a clean cluster
        result.notes.append(f"could not check for leftovers: {type(err).__name__}: {err}")
        left = []
    if left:
        result.error = "; ".join(filter(None, [result.error, "left on the cluster: " + "; ".join(left)
                                               + " (`gameday cleanup` undoes it)"]))
    return _record(result)


def run_header(experiment_path: Path, stack: Stack, load_profile: Path | None) -> dict:
    """What ran against what: the report's header (verdicts.json's `target`)."""
    return {"experiment": _shown(experiment_path), "stack": stack.name, "stack_file": _shown(stack.source),
            "kube_context": stack.kube_context, "namespace": stack.namespace,
            "load_profile": _shown(load_profile) if load_profile else "the experiment's own",
            "load_workers": os.environ.get("GAMEDAY_LOAD_WORKERS") or stack.load_workers or "the profile's"}


def _shown(path: Path) -> str:
    """A bundled file relative to the suite (experiments/x.yaml), the user's own in full."""
    path = Path(path).resolve()
    return str(path.relative_to(SUITE_ROOT)) if path.is_relative_to(SUITE_ROOT) else str(path)


def _record(result: Result) -> Result:
    (result.run_dir / "verdicts.json").write_text(json.dumps(
        {"status": result.status, "error": result.error, "halted": result.halted, "notes": result.notes,
         "target": result.target,
         "verdicts": [v.to_dict() for v in result.verdicts]},
        indent=2, default=str))
    problem = result.error or (f"halted: {result.halted}" if result.halted else "") or \
        (f"interrupted by {result.interrupted}" if result.interrupted else "")
    suite = Path(result.target.get("experiment", result.run_dir.name)).stem
    (result.run_dir / "junit.xml").write_text(junit_xml(suite, result.verdicts, problem))
    return result
