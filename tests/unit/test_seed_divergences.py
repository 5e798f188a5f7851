"""seed-findings.yaml's divergences: each names the seeds' version, what is deployed instead, and
what shows it; a test it names exists (a renamed test would leave the finding unshown)."""

import re
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
DIVERGENCES = yaml.safe_load((REPO / "tests/gameday/seed-findings.yaml").read_text())["divergences"]


def test_every_divergence_says_what_the_seeds_wrote_what_runs_and_what_shows_it():
    assert DIVERGENCES
    for entry in DIVERGENCES:
        assert {"seed", "deployed", "shown_by", "because", "measured"} <= set(entry), entry
        assert all(isinstance(entry[k], str) and entry[k] for k in entry), entry


def test_the_tests_named_as_showing_a_divergence_exist():
    named = [e["shown_by"] for e in DIVERGENCES if e["shown_by"].startswith("tests/")]
    assert named, "no divergence is shown by a test"
    for reference in named:
        path, _, test = reference.partition("::")
        assert re.search(rf"^def {re.escape(test)}\(", (REPO / path).read_text(), re.M), reference
