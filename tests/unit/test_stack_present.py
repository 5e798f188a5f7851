"""stack_present has nothing to pass on when the stack names nothing (judged without the API)."""

import json
from dataclasses import replace

from edge.rundir import RunDir
from edge.stack import load_stack
from gameday.checks import Run, judge_stack_present


def test_a_stack_that_names_nothing_is_inconclusive_not_a_pass(tmp_path):
    (tmp_path / "journal.json").write_text(json.dumps({"start": "2027-01-15T08:00:00+00:00",
                                                       "end": "2027-01-15T08:02:00+00:00"}))
    empty = replace(load_stack(), deployments=(), hpas=(), pdbs=(), services=())
    [verdict] = judge_stack_present(Run(RunDir(tmp_path), empty, []), None)
    assert verdict.status == "inconclusive" and "names no Deployment" in verdict.reason
