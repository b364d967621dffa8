#!/usr/bin/env python3
"""Validates `wsscope audit --format sarif` against the SARIF 2.1.0 JSON schema.

    python3 tests/audit/sarif_check.py WSSCOPE_BIN SCHEMA.json

The schema is the one Microsoft ships in the npm package
`@microsoft/sarif-multitool-linux` (`sarif-2.1.0.json`; .ci/run installs it).
Checks, on the audit fixtures (one capture at a time and all together) and
on every other fixture:
  * the document validates against the schema (jsonschema, the draft the
    schema names);
  * it says what `audit --format jsonl` says: one result per finding, same
    rule, level from severity, packets, and the first packet as the region;
  * every result's rule is in the run's rule metadata, with help text;
  * the validator itself rejects a broken document (so passing means something).
Exits non-zero, saying what differed, on any failure.
"""
import json
import subprocess
import sys
from pathlib import Path

import jsonschema

LEVEL = {"high": "error", "medium": "warning", "low": "note", "info": "note"}


def run(binary, args):
    out = subprocess.run([binary, *args], capture_output=True, check=False)
    if out.returncode not in (0, 3, 4):
        sys.exit(f"wsscope {' '.join(args)}: exit {out.returncode}: {out.stderr.decode(errors='replace')}")
    return out.stdout


def keys(cap):
    k = cap.with_suffix(".keys")
    return ["--keylog", str(k)] if k.is_file() else []


def main():
    binary, schema_path = sys.argv[1], sys.argv[2]
    schema = json.loads(Path(schema_path).read_text())
    validator_cls = jsonschema.validators.validator_for(schema)
    validator_cls.check_schema(schema)
    validator = validator_cls(schema)
    root = Path(__file__).resolve().parents[2]
    audit_caps = sorted((root / "fixtures/audit").glob("*.pcap"))
    others = sorted(p for p in (root / "fixtures").rglob("*.pcap*") if "audit" not in p.parts)
    failures = []
    results_seen = 0
    runs = [[c] for c in audit_caps] + [[c] for c in others] + [audit_caps]
    for caps in runs:
        k = sum((keys(c) for c in caps), [])
        args = [*k, *map(str, caps)]
        doc = json.loads(run(binary, ["audit", "--format", "sarif", *args]))
        errors = list(validator.iter_errors(doc))
        name = caps[0].name if len(caps) == 1 else f"{len(caps)} audit captures"
        for e in errors[:5]:
            failures.append(f"{name}: schema: {e.message} at {list(e.absolute_path)}")
        findings = [json.loads(l) for l in run(binary, ["audit", "--format", "jsonl", *args]).splitlines() if l]
        sarif_run = doc["runs"][0]
        rules = {r["id"]: r for r in sarif_run["tool"]["driver"]["rules"]}
        results = sarif_run.get("results", [])
        results_seen += len(results)
        if len(results) != len(findings):
            failures.append(f"{name}: {len(results)} results, {len(findings)} findings")
            continue
        for r, f in zip(results, findings):
            where = f"{name}: {f['rule']} conn {f['conn']}"
            if r["ruleId"] != f["rule"] or r["level"] != LEVEL[f["severity"]]:
                failures.append(f"{where}: result {r['ruleId']}/{r['level']}")
            if r["ruleId"] not in rules or not rules[r["ruleId"]]["help"]["text"]:
                failures.append(f"{where}: rule metadata missing")
            if r["properties"]["packets"] != f["packets"]:
                failures.append(f"{where}: packets {r['properties']['packets']} != {f['packets']}")
            region = r["locations"][0]["physicalLocation"].get("region", {})
            if f["packets"] and region.get("startLine") != f["packets"][0]:
                failures.append(f"{where}: region {region}")
            if r["properties"]["evidence"] != f["evidence"]:
                failures.append(f"{where}: evidence differs")
    # The validator must catch a broken document.
    broken = json.loads(run(binary, ["audit", "--format", "sarif", str(audit_caps[0])]))
    del broken["runs"][0]["tool"]["driver"]["name"]
    broken["runs"][0]["results"][0]["level"] = "fatal"
    if len(list(validator.iter_errors(broken))) < 2:
        failures.append("the schema validator accepted a broken document")
    if results_seen < 30:
        failures.append(f"only {results_seen} results checked")
    if failures:
        print("\n".join(failures))
        sys.exit(1)
    print(f"sarif_check: {len(runs)} documents valid against {Path(schema_path).name}, {results_seen} results match the findings")


if __name__ == "__main__":
    main()
