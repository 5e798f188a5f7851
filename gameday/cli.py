"""The command line SREs run on a game day.

    gameday list [--experiments DIR]               the experiments and load profiles
    gameday run EXPERIMENT [--load PROFILE] [--workers N] [--stack stack.yaml] [--run-dir DIR] [--dry-run]
                [--experiments DIR] [--allow-context CONTEXT] [--allow-namespace NAMESPACE]
    gameday report RUN_DIR                         (re)build RUN_DIR/report.html from its artifacts
    gameday cleanup [--stack stack.yaml]           undo whatever the suite's faults left on the cluster
    gameday check [--stack stack.yaml] [--namespace NS]
                                                   the stack's weak spots before any fault, each with
                                                   its rule and object (core/weak_spots.py)
    gameday init NAMESPACE [--context CONTEXT] [--prometheus URL] [--out stack.yaml] [--force]
                                                   a stack file from the namespace's live objects, each
                                                   guess with its reason, what to confirm marked
    gameday report --history DIR                   each experiment's latest run in DIR against its
                                                   earlier runs: DIR/history.html, regressions printed

`run` shows the phase, the load and the ready pods while the experiment runs, then each verdict
as it is judged. Exit code: 0 every verdict passed, 1 one failed, 2 one was inconclusive (none
failed), 3 the run could not be made (guard refused, bad experiment or stack, chaos crashed) or
left something on the cluster, 4 interrupted (Ctrl-C or SIGTERM; the rollbacks ran, nothing was
left), 5 halted (a guardrail of the experiment was crossed: the method stopped, the rollbacks ran).
A second Ctrl-C abandons the rollbacks; `gameday cleanup` undoes what they would have.
`check`: 0 no weak spot, 1 some found, 2 none found but some rules could not be checked
(Prometheus unreachable), 3 the namespace could not be read (bad stack file, kube context).
`init`: 0 written, 3 not (the namespace or context cannot be read, the file exists).
`report --history`: 0 no regression (or nothing to compare against), 1 a regression flagged,
3 DIR holds no run.
"""

import argparse
import dataclasses
import os
import sys
import traceback
from pathlib import Path

from core.checks import CHECKS
from core.specs import key_of
from core.verdict import EXIT, FAIL, INCONCLUSIVE, Verdict
from edge.files import read_yaml
from edge.home import experiment_folders, find, find_profile, profile_folders
from edge.processes import interruptible
from edge.rundir import RunDirError, new_run_dir
from edge.stack import StackError, load_stack
from gameday.experiment import EXTENSION, ExperimentError, roles_used
from gameday.progress import Progress
from reports.build import build_report
from reports.history import REGRESSION, load_history, summary, write_history_page

# The commands that talk to a cluster import its client when they run: `gameday report` and
# `gameday list` work without one, and start 1.5 s sooner without the Kubernetes client loaded.


def first_of_each_name(folders: list[Path]) -> list[Path]:
    """The YAML files of the folders by name, the first folder's winning (the user's over the bundled)."""
    found: dict[str, Path] = {}
    for folder in folders:
        for path in sorted(folder.glob("*.yaml")) if folder.is_dir() else []:
            found.setdefault(path.stem, path)
    return sorted(found.values(), key=lambda p: p.stem)


def list_all(args) -> int:
    folders = experiment_folders(args.experiments)
    print(f"experiments (gameday run NAME; * = in the CI subset), from {', '.join(map(str, folders))}:")
    for path in first_of_each_name(folders):
        try:
            experiment = read_yaml(path, ExperimentError)
        except ExperimentError as err:
            print(f"  ! {path.stem}: {err}")
            continue
        ours = next((e for e in experiment.get("extensions") or [] if e.get("name") == EXTENSION), {})
        ci = "*" if "ci" in experiment.get("tags", []) else " "
        print(f"  {ci} {path.stem:28} {experiment.get('title', '')}")
        roles = roles_used(experiment)
        print(f"    {'':28} acts on the stack's roles: {', '.join(roles)}" if roles else
              f"    {'':28} acts on the seed stack's own objects")
        if ours.get("verdicts"):
            print(f"    {'':28} verdicts: {', '.join(dict.fromkeys(s['check'] for s in ours['verdicts']))}")
        if ours.get("guardrails"):
            print(f"    {'':28} halts on: {'; '.join(ours['guardrails'])}")
    print(f"load profiles (--load NAME), from {', '.join(map(str, profile_folders()))}:")
    for path in first_of_each_name(profile_folders()):
        print(f"    {path.stem}")
    print("checks (an experiment's verdicts: {check: NAME, ...}):")
    for check in CHECKS.values():
        fields = ", ".join(key_of(f) for f in dataclasses.fields(check.spec))
        print(f"    {check.name:28} {check.about}" + (f" [{fields}]" if fields else ""))
    print("guardrails (an experiment's guardrails: [...]; crossing one halts the game day):\n"
          "    [client|server] METRIC OP VALUE [for DURATION]   e.g. 'error_ratio > 20% for 30s', 'server p95 > 2s for 1m'\n"
          "    ready(DEPLOYMENT) OP COUNT [for DURATION]         e.g. 'ready(core-api) < 1 for 20s'")
    return 0


def show(verdict: Verdict) -> None:
    print(f"{verdict.status.upper():>12}  {verdict.name}: {verdict.observed}"
          + (f"  ({verdict.reason})" if verdict.reason else ""), flush=True)


def run(args) -> int:
    from gameday.guard import GuardError, load_allowlist
    from gameday.run import dry_run, run_game_day
    try:
        stack = load_stack(args.stack)
        experiment = find(args.experiment, experiment_folders(args.experiments), "experiment")
        load = find_profile(args.load) if args.load else None
        if args.workers is not None:  # read by the load's control, over the stack's and the profile's
            os.environ["GAMEDAY_LOAD_WORKERS"] = str(args.workers)
    except (StackError, FileNotFoundError) as err:
        print(f"gameday: {err}", file=sys.stderr)
        return EXIT["error"]
    try:
        allow = load_allowlist().extended(args.allow_context or (), args.allow_namespace or ())
        if args.dry_run:
            print("\n".join(dry_run(experiment, stack, load, allow)))
            return 0
    except (GuardError, ExperimentError) as err:
        print(f"gameday: {err}", file=sys.stderr)
        return EXIT["error"]
    run_dir = args.run_dir or new_run_dir(experiment.stem)
    progress = Progress(run_dir, stack.deployments, sys.stdout)
    print(f"game day {experiment.stem} on {stack.kube_context}/{stack.namespace}; artifacts in {run_dir}", flush=True)

    def landed(verdict: Verdict) -> None:
        progress.done()
        show(verdict)

    result = run_game_day(experiment, stack, run_dir, load, on_tick=progress.show, tick_s=1, on_verdict=landed,
                          allow=allow)
    if result.error:
        print(f"gameday: {result.error}", file=sys.stderr)
    report = result.run_dir / "report.html"
    print(f"{result.status}: {report if report.exists() else result.run_dir}")
    return EXIT[result.status]


def report(args) -> int:
    if args.history is not None:
        return history(args.history)
    if not (args.run_dir / "journal.json").exists() and not (args.run_dir / "verdicts.json").exists():
        print(f"gameday: {args.run_dir}: not a run directory (no journal.json nor verdicts.json)", file=sys.stderr)
        return EXIT["error"]
    try:
        print(build_report(args.run_dir))
    except RunDirError as err:
        print(f"gameday: {args.run_dir}: {err}", file=sys.stderr)
        return EXIT["error"]
    return 0


def history(root: Path) -> int:
    if not root.is_dir():
        print(f"gameday: {root}: no such directory", file=sys.stderr)
        return EXIT["error"]
    trends, skipped = load_history(root)
    for line in summary(trends, skipped, root):
        print(line, file=sys.stdout if trends else sys.stderr)
    if not trends:
        print(f"gameday: {root}: no run to compare", file=sys.stderr)
        return EXIT["error"]
    print(write_history_page(root, trends, skipped))
    return 1 if any(t.flagged(REGRESSION) for t in trends if t.current) else 0


def cleanup(args) -> int:
    """Lists what the suite left on the stack's cluster, undoes it, and checks again."""
    from actions.leftovers import cleanup as undo_leftovers, leftovers
    from gameday.guard import GuardError, load_allowlist, target_of
    try:
        stack = load_stack(args.stack)
        target = target_of(stack, load_allowlist())
    except (StackError, GuardError) as err:
        print(f"gameday: {err}", file=sys.stderr)
        return EXIT["error"]
    found = leftovers(target)
    print("\n".join(f"found: {line}" for line in found) or f"nothing left on {stack.kube_context}")
    if not found:
        return 0
    for line in undo_leftovers(target):
        print(line, flush=True)
    still = leftovers(target)
    for line in still:
        print(f"still there: {line}", file=sys.stderr)
    return EXIT["error"] if still else 0


def check(args) -> int:
    """Prints each weak spot as `rule  object  detail`, then what could not be checked."""
    from kubernetes.client import ApiException
    from kubernetes.config import ConfigException

    from gameday.weak_spots import check_stack
    try:
        stack = load_stack(args.stack)
        if args.namespace:
            stack = dataclasses.replace(stack, namespace=args.namespace)
        checked = check_stack(stack)
    except (StackError, ConfigException, ApiException, OSError) as err:
        print(f"gameday check: cannot read the stack's namespace: {err}", file=sys.stderr)
        return EXIT["error"]
    for finding in checked.findings:
        print(f"{finding.rule:28} {finding.object:40} {finding.detail}")
    for line in checked.unchecked:
        print(f"not checked: {line}", file=sys.stderr)
    print(f"{len(checked.findings)} weak spot(s) in {stack.kube_context}/{stack.namespace}", file=sys.stderr)
    return EXIT[FAIL] if checked.findings else EXIT[INCONCLUSIVE] if checked.unchecked else 0


def init(args) -> int:
    """Writes the stack file, then prints what was guessed and what to confirm."""
    from kubernetes.client import ApiException
    from kubernetes.config import ConfigException

    from edge.kube import current_context
    from gameday.init import init_stack, write_stack
    try:
        context = args.context or current_context()
        guess = init_stack(args.namespace, context, args.prometheus)
        write_stack(guess, args.out, args.force)
    except ApiException as err:
        print(f"gameday init: {context}/{args.namespace}: " + ("no such namespace" if err.status == 404 else
                                                              f"cannot read it: {err.status} {err.reason}"),
              file=sys.stderr)
        return EXIT["error"]
    except (ConfigException, OSError) as err:  # no such context, no kubeconfig, the file exists
        print(f"gameday init: {err}", file=sys.stderr)
        return EXIT["error"]
    print(f"wrote {args.out} for {context}/{args.namespace}")
    for line in guess.reasons:
        print(f"  guessed: {line}")
    for line in guess.confirm:
        print(f"  CONFIRM: {line}")
    print(f"then: gameday check --stack {args.out}; gameday run pod-kill-under-load --stack {args.out} --dry-run")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="gameday", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    experiments = argparse.ArgumentParser(add_help=False)
    experiments.add_argument("--experiments", type=Path, metavar="DIR",
                             help="look for experiments here first (then $GAMEDAY_HOME/experiments, then the bundled)")
    stack = argparse.ArgumentParser(add_help=False)
    stack.add_argument("--stack", help="stack file (default: $GAMEDAY_STACK, ./stack.yaml, $GAMEDAY_HOME/stack.yaml)")
    commands.add_parser("list", parents=[experiments], help="the experiments and load profiles")
    run_p = commands.add_parser("run", parents=[experiments, stack], help="one game day: an experiment under load, judged")
    run_p.add_argument("experiment", help="a name from `gameday list`, or a path")
    run_p.add_argument("--load", help="load profile (name or path) instead of the experiment's own")
    run_p.add_argument("--workers", type=int, metavar="N", help="Locust workers under one master (processes here, pods "
                       "from the in-cluster runner; 0: one process); default: the stack's load.workers, else the profile's")
    run_p.add_argument("--run-dir", type=Path, help="where the artifacts go (default: $GAMEDAY_RUNS or ./runs, then <UTC>-<experiment>)")
    run_p.add_argument("--dry-run", action="store_true",
                       help="resolve every target (pods, nodes, zone) and print what would be done; touch nothing")
    run_p.add_argument("--allow-context", action="append", metavar="CONTEXT",
                       help="allow this kube context for this run, besides guard.yaml's (repeatable)")
    run_p.add_argument("--allow-namespace", action="append", metavar="NAMESPACE",
                       help="allow touching this namespace besides the stack's, for this run (repeatable)")
    report_p = commands.add_parser("report", help="(re)build a run's report.html, or compare runs (--history)")
    report_p.add_argument("run_dir", type=Path, nargs="?")
    report_p.add_argument("--history", type=Path, metavar="DIR",
                          help="compare each experiment's latest run in DIR with its earlier runs")
    cleanup_p = commands.add_parser("cleanup", parents=[stack], help="undo whatever the suite's faults left on the cluster")
    check_p = commands.add_parser("check", parents=[stack], help="the stack's weak spots, read from its live objects, before any fault")
    check_p.add_argument("--namespace", help="this namespace instead of the stack's")
    init_p = commands.add_parser("init", help="write a stack file from a namespace's live objects")
    init_p.add_argument("namespace")
    init_p.add_argument("--context", help="kube context (default: the kubeconfig's current one)")
    init_p.add_argument("--prometheus", default="http://127.0.0.1:30090",
                        help="the Prometheus that scrapes the stack, reached from here (default: the kind cluster's)")
    init_p.add_argument("--out", type=Path, default=Path("stack.yaml"), help="where to write it (default: ./stack.yaml)")
    init_p.add_argument("--force", action="store_true", help="write over an existing file")
    args = parser.parse_args(argv)
    interruptible()  # Ctrl-C works even where a shell started this with SIGINT ignored
    if args.command == "report" and (args.run_dir is None) == (args.history is None):
        report_p.error("give either RUN_DIR or --history DIR")
    handlers = {"list": list_all, "run": run, "report": report, "cleanup": cleanup, "check": check, "init": init}
    try:
        return handlers[args.command](args)
    except KeyboardInterrupt:
        print("\ngameday: interrupted", file=sys.stderr)
        return EXIT["interrupted"]
    except Exception:  # a bug of the suite, not a verdict: never exit 1, which means "a verdict failed"
        print(f"gameday {args.command}: internal error\n{traceback.format_exc()}", file=sys.stderr)
        return EXIT["error"]


if __name__ == "__main__":
    sys.exit(main())
