"""junit.xml of a run: what CI dashboards count must match the verdicts, and `inconclusive` must
never be counted as passed or skipped."""

import xml.etree.ElementTree as ET
from datetime import datetime, timedelta, timezone

from core.verdict import Verdict, Window
from reports.junit import junit_xml

T0 = datetime(2026, 11, 22, tzinfo=timezone.utc)
WINDOW = Window(T0, T0 + timedelta(seconds=90))


def verdicts():
    return [Verdict("failover_recovered[core-api]", "pass", "back within 60 s", "recovered in 6.1 s", WINDOW),
            Verdict("drain_completed[w1]", "fail", "every pod evicted", "1 left", WINDOW, reason="ns/mca: two PDBs"),
            Verdict("slo_server_p95", "inconclusive", "p95 < 1s", "no usable data", reason="query returned nothing")]


def test_each_verdict_is_a_testcase_fail_a_failure_inconclusive_an_error():
    suite = ET.fromstring(junit_xml("node-drain", verdicts()))
    assert (suite.get("name"), suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("node-drain", "3", "1", "1")
    cases = {c.get("name"): c for c in suite.iter("testcase")}
    assert cases["failover_recovered[core-api]"].find("failure") is None and cases["failover_recovered[core-api]"].find("error") is None
    assert cases["failover_recovered[core-api]"].get("time") == "90.0"
    assert cases["drain_completed[w1]"].find("failure").get("message") == "ns/mca: two PDBs"
    error = cases["slo_server_p95"].find("error")
    assert error.get("type") == "inconclusive" and error.get("message") == "query returned nothing"
    assert suite.find(".//skipped") is None


def test_a_run_that_could_not_be_made_is_an_error_of_its_own():
    suite = ET.fromstring(junit_xml("pod-kill", [], problem="guard: context 'prod' is not allowed"))
    assert (suite.get("tests"), suite.get("errors")) == ("1", "1")
    run, = suite.iter("testcase")
    assert run.get("name") == "run" and "not allowed" in run.find("error").get("message")
