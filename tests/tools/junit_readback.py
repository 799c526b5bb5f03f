"""Reads a JUnit XML file with junitparser (an independent parser CI tools use) and prints
what it sees as JSON: per suite the counts it declares and the cases with their results.
Used by tests/report_formats.rs to cross-check goready's JUnit against its result file."""

import json
import sys

from junitparser import Error, Failure, JUnitXml, Skipped

xml = JUnitXml.fromfile(sys.argv[1])
out = {
    "name": xml.name,
    "tests": xml.tests,
    "failures": xml.failures,
    "errors": xml.errors,
    "skipped": xml.skipped,
    "time": xml.time,
    "suites": [],
}
for suite in xml:
    cases = []
    for case in suite:
        results = case.result
        cases.append(
            {
                "classname": case.classname,
                "name": case.name,
                "time": case.time,
                "file": case._elem.get("file"),
                "line": case._elem.get("line"),
                "kind": [
                    "failure" if isinstance(r, Failure)
                    else "error" if isinstance(r, Error)
                    else "skipped" if isinstance(r, Skipped)
                    else type(r).__name__
                    for r in results
                ],
                "text": [r.text for r in results],
                "message": [r.message for r in results],
                "type": [r.type for r in results],
                "system_out": case.system_out,
            }
        )
    out["suites"].append(
        {
            "name": suite.name,
            "tests": suite.tests,
            "failures": suite.failures,
            "errors": suite.errors,
            "skipped": suite.skipped,
            "time": suite.time,
            "cases": cases,
        }
    )
print(json.dumps(out))
