"""reachability over the matrix a reachability_matrix probe leaves in the journal, and the paths
as an experiment writes them (core.reachability)."""

import pytest

from core.reachability import paths_of
from core.specs import SpecError
from probes.reachability import reachability


def cell(source, destination, outcome, to="Service gameday/mca"):
    return {"source": source, "to": to, "destination": destination, "outcome": outcome, "ms": 1.0, "detail": "",
            "node": "w1"}


def path(frm, to, expect, cells, missing=""):
    return {"from": frm, "to": to, "expect": expect, "missing": missing, "cells": cells}


def record(paths, status="succeeded"):
    return {"activity": {"name": "probe-the-policy"}, "status": status,
            "output": {"probed_at": "2026-12-04T00:00:00+00:00", "timeout_s": 3, "paths": paths},
            "start": "2026-12-04T00:00:00+00:00", "end": "2026-12-04T00:00:09+00:00"}


FRONT_OPEN = path("app=core-api", "mca", "open", [cell("gameday/core-api-1", "10.96.0.20:8080", "open"),
                                                  cell("gameday/core-api-1", "10.244.1.5:8080", "open", "pod gameday/mca-1")])
AGENTS_SHUT = path("app=npa", "mca", "blocked", [cell("gameday/npa-1", "10.96.0.20:8080", "timeout"),
                                                 cell("gameday/npa-1", "10.244.1.5:8080", "timeout", "pod gameday/mca-1")])


def test_every_path_as_expected_passes_with_the_matrix_as_evidence():
    verdict = reachability(record([FRONT_OPEN, AGENTS_SHUT]))
    assert verdict.status == "pass" and verdict.name == "reachability after probe-the-policy"
    assert verdict.observed == "2 of 2 path(s) as expected (4 cells)"
    assert [p["outcome"] for p in verdict.evidence["paths"]] == ["as-expected", "as-expected"]
    assert verdict.details["as_expected"] == 2


def test_a_policy_that_lets_through_what_it_must_not_is_too_open():
    leaky = path("app=npa", "mca", "blocked", [cell("gameday/npa-1", "10.96.0.20:8080", "open")])
    verdict = reachability(record([FRONT_OPEN, leaky]))
    assert verdict.status == "fail" and verdict.details["too_open"] == 1
    assert verdict.reason.startswith("too-open: app=npa → mca (expected blocked): gameday/npa-1 → Service gameday/mca "
                                     "(10.96.0.20:8080): open")


def test_a_policy_that_stops_what_it_must_let_through_is_too_closed():
    scrape = path("monitoring/app=prometheus", "mca", "open",
                  [cell("monitoring/prometheus-1", "10.244.1.5:8080", "timeout", "pod gameday/mca-1")])
    verdict = reachability(record([FRONT_OPEN, scrape]))
    assert verdict.status == "fail" and "too-closed: monitoring/app=prometheus → mca" in verdict.reason


def test_blocked_is_proven_only_against_a_destination_seen_listening():
    """A refused connection to a port nothing listens on says nothing about a policy."""
    nobody = path("app=mca", "core-api:9999", "blocked", [cell("gameday/mca-1", "10.96.0.30:9999", "refused")])
    verdict = reachability(record([FRONT_OPEN, nobody]))
    assert verdict.status == "inconclusive" and "nothing in the matrix reached 10.96.0.30:9999" in verdict.reason


def test_a_path_with_nothing_to_probe_or_a_cell_not_measured_is_inconclusive_never_pass():
    empty = path("app=gone", "mca", "open", [], missing="from app=gone: no running pod matches")
    assert reachability(record([FRONT_OPEN, empty])).status == "inconclusive"
    lost = path("app=core-api", "npa", "open", [cell("gameday/core-api-1", "10.96.0.21:8080", "open"),
                                                cell("gameday/core-api-2", "10.96.0.21:8080", "no-netns")])
    verdict = reachability(record([FRONT_OPEN, lost]))
    assert verdict.status == "inconclusive" and "no-netns" in verdict.reason


def test_a_finding_is_not_hidden_by_a_path_left_unproven():
    leaky = path("app=npa", "mca", "blocked", [cell("gameday/npa-1", "10.96.0.20:8080", "open")])
    empty = path("app=gone", "mca", "open", [], missing="from app=gone: no running pod matches")
    assert reachability(record([leaky, empty])).status == "fail"


def test_a_failed_probe_is_inconclusive_naming_why():
    failed = {**record([]), "status": "failed", "output": None, "exception": ["LookupError: to nope: no Service"]}
    verdict = reachability(failed)
    assert verdict.status == "inconclusive" and "no Service" in verdict.reason


@pytest.mark.parametrize("entries, error", [
    ([], "paths: a list of {from, to, expect}, at least one"),
    ([{"from": "app=a", "to": "mca", "expect": "maybe"}], "paths[0].expect: open or blocked, not 'maybe'"),
    ([{"from": "app=a", "to": "mca"}], "paths[0].expect: required"),
    ([{"from": "app=a", "to": "mca", "expect": "open", "port": 80}], "paths[0].port: unknown field"),
    ([{"from": "app=a", "to": "MCA!", "expect": "open"}], "paths[0].to: [NAMESPACE/]SERVICE[:PORT] or IPV4:PORT"),
    ([{"from": "app=a", "to": "10.0.0.300:53", "expect": "open"}], "paths[0].to: '10.0.0.300' is not an IPv4"),
    ([{"from": "app=a", "to": "10.0.0.3:0", "expect": "open"}], "paths[0].to: port 0 is not a TCP port"),
    ([{"from": "", "to": "mca", "expect": "open"}], "paths[0].from: a name"),
    (["mca"], "paths[0]: a mapping {from, to, expect}"),
])
def test_a_path_written_wrong_is_an_error_naming_its_field(entries, error):
    with pytest.raises(SpecError) as raised:
        paths_of(entries)
    assert str(raised.value).startswith(error), raised.value


def test_paths_name_their_namespaces_or_take_the_stacks():
    local, other, address = paths_of([{"from": "app=mca", "to": "core-api", "expect": "blocked"},
                                      {"from": "monitoring/app=prometheus", "to": "monitoring/prometheus:web",
                                       "expect": "open"},
                                      {"from": "app=mca", "to": "10.96.0.10:53", "expect": "blocked"}])
    assert local.source("gameday") == ("gameday", "app=mca") and local.service("gameday") == ("gameday", "core-api", "")
    assert other.source("gameday") == ("monitoring", "app=prometheus")
    assert other.service("gameday") == ("monitoring", "prometheus", "web") and other.address() is None
    assert address.address() == ("10.96.0.10", 53)
