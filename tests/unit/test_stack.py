"""stack.yaml: the seed stack loads, and every mistake names the file and the field."""

import pytest

from pathlib import Path

from edge.stack import StackError, load_stack

REPO = Path(__file__).resolve().parents[2]


def write(tmp_path, text):
    path = tmp_path / "stack.yaml"
    path.write_text(text)
    return path


MINIMAL = """
name: mine
kube_context: kind-mine
namespace: shop
urls: {entry: "http://127.0.0.1:8080/", prometheus: "http://127.0.0.1:9090"}
slo: {objectives: ["p99 < 300ms"]}
"""


def test_the_seed_stack_is_the_default_in_the_repository(monkeypatch):
    monkeypatch.delenv("GAMEDAY_STACK", raising=False)
    monkeypatch.chdir(REPO)
    stack = load_stack()
    assert stack.source == REPO / "stack.yaml"
    assert (stack.namespace, stack.kube_context) == ("gameday", "kind-gameday")
    assert stack.entry_url == "http://127.0.0.1:30080"
    assert stack.alert_sink_url == "http://127.0.0.1:30094"
    assert "core-api" in stack.deployments and "agents" in stack.pdbs
    assert [o.expr for o in stack.objectives] == ["p95 < 1s", "error_ratio < 5%"]
    assert stack.burn_rate_window_divisor == 12
    assert (stack.elected["postgres"].selector, stack.elected["postgres"].leader) == ("app=postgres", "master")
    assert stack.alerts == {"scaling": ("HPAScalingEvent",)}


def test_a_minimal_stack_takes_defaults(tmp_path):
    stack = load_stack(write(tmp_path, MINIMAL))
    assert stack.entry_url == "http://127.0.0.1:8080"  # no trailing slash
    assert stack.alertmanager_url is None and stack.deployments == ()
    assert stack.objectives[0].quantile == 0.99 and stack.objectives[0].limit == 0.3
    assert stack.burn_rate_window_divisor == 1
    assert stack.elected == {} and stack.alerts == {}
    assert stack.load_workers is None  # the profile's say
    assert load_stack(write(tmp_path, MINIMAL + "load: {workers: 3}\n")).load_workers == 3


def test_the_environment_names_another_stack(tmp_path, monkeypatch):
    monkeypatch.setenv("GAMEDAY_STACK", str(write(tmp_path, MINIMAL)))
    assert load_stack().name == "mine"


@pytest.mark.parametrize("change, field, problem", [
    (("urls: {", "urls: {promethues: x, "), "urls.promethues", "unknown field"),
    (("namespace: shop\n", ""), "namespace", "is required"),
    (('"p99 < 300ms"', '"p99 < 300"'), "slo.objectives[0]", "needs a unit"),
    (('entry: "http://127.0.0.1:8080/"', 'entry: "127.0.0.1:8080"'), "urls.entry", "not an http(s) URL"),
    (("name: mine", "name: mine\npdbs: core-api"), "pdbs", "must be a list"),
    (("name: mine", "name: mine\nhpas: [api, 3]"), "hpas", "list of names"),
    (("slo: {", "slo: {burn_rate_window_divisor: 0, "), "slo.burn_rate_window_divisor", "1 (production"),
    (("kube_context: kind-mine", "kube_context: true"), "kube_context", "must be a str"),
    (("name: mine", "name: mine\nelected: {db: {selector: app=db, label: role}}"), "elected.db.leader", "is required"),
    (("name: mine", "name: mine\nelected: {db: {selector: 'app in (db)', label: role, leader: m}}"),
     "elected.db.selector", "only label=value terms"),
    (("name: mine", "name: mine\nelected: {db: {selector: app=db, label: role, leader: m, lable: x}}"),
     "elected.db.lable", "unknown field"),
    (("name: mine", "name: mine\nalerts: {scaling: HPAMaxedOut}"), "alerts.scaling", "must be a list"),
    (("name: mine", "name: mine\nalerts: {scale: [HPAMaxedOut]}"), "alerts.scale", "unknown field (known: scaling)"),
    (("name: mine", "name: mine\nload: {workers: -2}"), "load.workers", "0 for one Locust process"),
    (("name: mine", "name: mine\nload: {workers: two}"), "load.workers", "must be a int"),
])
def test_a_mistake_names_file_and_field(tmp_path, change, field, problem):
    path = write(tmp_path, MINIMAL.replace(*change))
    with pytest.raises(StackError) as err:
        load_stack(path)
    assert str(err.value).startswith(f"{path}: {field}: "), err.value
    assert problem in str(err.value)


def test_unreadable_or_malformed_files_say_so(tmp_path):
    with pytest.raises(StackError, match="nowhere.yaml: cannot read"):
        load_stack(tmp_path / "nowhere.yaml")
    with pytest.raises(StackError, match="not valid YAML"):
        load_stack(write(tmp_path, "urls: [unclosed"))
    with pytest.raises(StackError, match=r"\(top level\): must be a mapping"):
        load_stack(write(tmp_path, "- a list"))
