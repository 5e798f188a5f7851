"""Every file a user hands the suite (stack, load profile, experiment, allowlist, SLO expression)
is fuzzed: the seed files with a field deleted, retyped or replaced, and arbitrary YAML. A loader
either accepts the file or raises its own error naming the file; never another exception (a
traceback is not an error message)."""

import copy
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.thresholds import ThresholdError, parse_threshold
from edge.stack import StackError, load_stack
from gameday.experiment import ExperimentError, load_experiment
from gameday.guard import GuardError, load_allowlist
from loadtests.profile import ProfileError, load_profile

REPO = Path(__file__).resolve().parents[2]
SEEDS = {"stack": REPO / "stack.yaml", "profile": REPO / "loadtests/profiles/steady.yaml",
         "experiment": REPO / "experiments/node-drain-respects-pdb.yaml", "allowlist": REPO / "guard.yaml"}
LOADERS = {"stack": (load_stack, StackError), "profile": (load_profile, ProfileError),
           "experiment": (load_experiment, ExperimentError), "allowlist": (load_allowlist, GuardError)}
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=True),
                    st.text(max_size=20), st.sampled_from(["${namespace}", "kube-system", "p95 < 1s", "-1", ""]))
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                       st.dictionaries(st.text(max_size=8), inner, max_size=3)),
                      max_leaves=8)


def paths(document) -> list[tuple]:
    """Every path to a value in a nested document."""
    found = [()]
    if isinstance(document, dict):
        for key, value in document.items():
            found += [(key, *rest) for rest in paths(value)]
    elif isinstance(document, list):
        for i, value in enumerate(document):
            found += [(i, *rest) for rest in paths(value)]
    return found


def mutated(document, path: tuple, value, delete: bool):
    out = copy.deepcopy(document)
    if not path:
        return value
    parent = out
    for key in path[:-1]:
        parent = parent[key]
    if delete:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    return out


def assert_clean_error(kind: str, tmp_path: Path, document=None, text: str | None = None):
    path = tmp_path / f"fuzzed-{kind}.yaml"
    path.write_text(text if text is not None else yaml.safe_dump(document, allow_unicode=True))
    loader, error = LOADERS[kind]
    try:
        loader(path)
    except error as err:
        assert str(path) in str(err), f"the error does not name the file: {err}"


@FUZZ
@given(data=st.data())
def test_a_seed_file_with_one_field_changed_loads_or_fails_cleanly(tmp_path, data):
    kind = data.draw(st.sampled_from(sorted(SEEDS)))
    seed = yaml.safe_load(SEEDS[kind].read_text())
    path = data.draw(st.sampled_from(paths(seed)))
    document = mutated(seed, path, data.draw(values), delete=bool(path) and data.draw(st.booleans()))
    assert_clean_error(kind, tmp_path, document)


@FUZZ
@given(kind=st.sampled_from(sorted(SEEDS)), text=st.text(max_size=200))
def test_any_text_loads_or_fails_cleanly(tmp_path, kind, text):
    assert_clean_error(kind, tmp_path, text=text)


@FUZZ
@given(expr=st.one_of(st.text(max_size=30), st.from_regex(r"(p\d{1,3}|avg|max|error_ratio|rps) ?(<|>|<=|>=) ?\d{1,4}(\.\d)?(ms|s|%)?",
                                                          fullmatch=True)))
def test_an_slo_expression_parses_or_is_refused_with_its_text(expr):
    try:
        threshold = parse_threshold(expr)
    except ThresholdError as err:
        assert repr(expr) in str(err)
    else:
        assert threshold.expr == expr.strip()


def test_an_slo_that_can_never_hold_is_refused():
    for expr in ("p95 < 0ms", "error_ratio < 0%", "avg < 0s"):
        try:
            parse_threshold(expr)
        except ThresholdError as err:
            assert "can never hold" in str(err)
        else:
            raise AssertionError(f"{expr} was accepted")
