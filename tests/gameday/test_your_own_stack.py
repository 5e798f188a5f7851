"""The bundled pod-kill, drain and hpa-scale-out game days on a stack this project did not write
(podinfo, deployed for these tests as `make deploy-podinfo` does, deleted after), run as README's
"Test your own stack" runs them: from the wheel in a clean virtualenv, in a folder of the user's
own, on the stack file `gameday init` wrote, with no change to the suite. Whether podinfo passes is
a finding about podinfo; what the suite owes is a judged run: no error, every verdict judged on data
(none inconclusive), a report."""

import json

import pytest

from tests.installed import as_new_user, podinfo_user

pytestmark = [pytest.mark.gameday, pytest.mark.long, pytest.mark.cluster]

user = pytest.fixture(scope="module")(podinfo_user)


@pytest.mark.parametrize("experiment, options", [
    ("pod-kill-under-load", []),
    # every worker also runs the seed stack's pods: the drain evicts them too, allowed by name
    ("node-drain-respects-pdb", ["--allow-namespace", "gameday"]),
    # podinfo's own surge (examples/podinfo/surge.yaml): the bundled profile's rest keeps it scaled out
    ("hpa-scale-out", ["--load", "surge.yaml"]),
])
def test_a_bundled_game_day_is_judged_on_podinfo(user, experiment, options, record_property):
    gameday, home, _ = user
    out = as_new_user(gameday, home, "run", experiment, *options, timeout=1800)
    [run] = sorted((home / "runs").glob(f"*-{experiment}"))
    result = json.loads((run / "verdicts.json").read_text())
    verdicts = {v["name"]: f"{v['status']}: {v['observed']} {v.get('reason', '')}".strip() for v in result["verdicts"]}
    record_property("verdicts", json.dumps(verdicts))
    assert out.returncode in (0, 1) and not result["error"], out.stdout[-3000:] + out.stderr[-3000:]
    assert verdicts and not [n for n, v in verdicts.items() if v.startswith("inconclusive")], verdicts
    assert (run / "report.html").is_file()
