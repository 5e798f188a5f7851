"""A run's verdicts as JUnit XML (runs/<run>/junit.xml), for the CI systems that read nothing else:
one testcase per verdict. `fail` is a <failure>; `inconclusive` is an <error>, never a pass nor a
skip (no verdict without data goes green); a run that could not be made, was interrupted or was
halted by a guardrail is one more <error> named `run`."""

import xml.etree.ElementTree as ET

from core.verdict import FAIL, INCONCLUSIVE, Verdict


def junit_xml(suite: str, verdicts: list[Verdict], problem: str = "") -> str:
    """problem: why the run itself is not a result (its error, its halt, or what interrupted it)."""
    root = ET.Element("testsuite", name=suite, tests=str(len(verdicts) + bool(problem)),
                      failures=str(sum(v.status == FAIL for v in verdicts)),
                      errors=str(sum(v.status == INCONCLUSIVE for v in verdicts) + bool(problem)))
    for v in verdicts:
        case = ET.SubElement(root, "testcase", classname=suite, name=v.name,
                             time=f"{v.window.seconds:.1f}" if v.window else "0")
        judged = f"expected {v.expected}; observed {v.observed}"
        if v.status == FAIL:
            ET.SubElement(case, "failure", message=v.reason or v.observed).text = judged
        elif v.status == INCONCLUSIVE:
            ET.SubElement(case, "error", type="inconclusive", message=v.reason).text = judged
        else:
            ET.SubElement(case, "system-out").text = judged
    if problem:
        ET.SubElement(ET.SubElement(root, "testcase", classname=suite, name="run"), "error", message=problem)
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"
