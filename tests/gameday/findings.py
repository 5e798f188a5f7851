"""The seed stack's known findings (seed-findings.yaml) and what of a game day's verdicts
contradicts them: every game day run on the seed stack is judged by these, wherever it runs."""

from pathlib import Path

import yaml

SEED_FINDINGS = yaml.safe_load((Path(__file__).resolve().parent / "seed-findings.yaml").read_text())


def unexpected(verdicts, findings: list[dict]) -> list[str]:
    """What contradicts 'everything passes but the known findings, which fail for their reason'."""
    problems = []
    for finding in findings:
        hits = [v for v in verdicts if v.check == finding["verdict"]]
        status = finding.get("status", "fail")
        if finding.get("or_pass") and hits and all(v.status == "pass" for v in hits):
            continue
        if not any(v.status == status and finding["because"] in v.reason for v in hits):
            problems.append(f"known finding not reproduced: {finding['verdict']} {status} because "
                            f"{finding['because']!r} (got {[(v.status, v.reason) for v in hits]})")
    known = {f["verdict"] for f in findings}
    problems += [f"{v.status} {v.name}: {v.observed} {v.reason}" for v in verdicts
                 if v.status != "pass" and v.check not in known]
    return problems
