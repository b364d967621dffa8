#!/usr/bin/env python3
"""examples/spark_wsscope.py on the fixtures, against wsscope's JSON Lines.

Usage: spark_check.py WSSCOPE_BINARY

Runs the example's pipeline in local mode (two cores) over every fixture
capture (fixtures/**, every key log given), one Spark task per capture, and
checks what Spark SQL reads from the dataset against `dump --format jsonl`
of the same captures: rows per table per capture, messages per connection,
violations by rule, close codes by server and top talkers. Exits non-zero,
saying what differed, on any mismatch.
"""

import importlib.util
import json
import subprocess
import sys
import tempfile
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

spec = importlib.util.spec_from_file_location("spark_wsscope", ROOT / "examples" / "spark_wsscope.py")
example = importlib.util.module_from_spec(spec)
spec.loader.exec_module(example)

TABLE_OF = {
    "close": "connections",
    "handshake": "handshakes",
    "frame": "frames",
    "message": "messages",
    "gap": "gaps",
    "violation": "violations",
    "diagnostic": "diagnostics",
    "tls": "tls",
    "http2": "http2",
    "finding": "findings",
}

failures = []


def check(what, got, want):
    if got != want:
        failures.append(what)
        print(f"MISMATCH: {what}\n  Spark:      {got}\n  JSON Lines: {want}", file=sys.stderr)
    else:
        size = f" ({len(want)} rows)" if isinstance(want, (list, dict)) else ""
        print(f"spark_check: {what}: as JSON Lines says{size}")


def addr(a):
    ip, port = a.rsplit(":", 1)
    return ip.strip("[]"), int(port)


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    binary = str(Path(sys.argv[1]).resolve())
    fixtures = ROOT / "fixtures"
    keys = sorted(str(k) for k in fixtures.rglob("*.keys"))
    paths = example.list_captures([str(fixtures)])
    names = [Path(p).name for p in paths]

    # wsscope's own answer: one several-capture JSON Lines run, one capture
    # at a time (--threads 1) so that each has the whole memory budget, as
    # each Spark task's run has (several at once would share it out, and a
    # decompression bomb inflates up to a share of the budget).
    cmd = [binary, "dump", "--format", "jsonl", "--threads", "1"]
    for k in keys:
        cmd += ["--keylog", k]
    js = subprocess.run(cmd + paths, capture_output=True, env={"TZ": "UTC", "PATH": "/usr/bin:/bin"})
    if js.returncode not in (0, 3):
        sys.exit(f"spark_check: wsscope jsonl exit {js.returncode}: {js.stderr.decode()[-2000:]}")
    recs = defaultdict(list)
    rows = Counter()
    for line in js.stdout.decode().splitlines():
        # Floats as their text: timestamps keep their nanoseconds.
        r = json.loads(line, parse_float=str)
        recs[r["type"]].append(r)
        if r["type"] in TABLE_OF:
            rows[(TABLE_OF[r["type"]], r["capture"])] += 1
        if r["type"] == "message" and "decoded" in r:
            d = r["decoded"]
            rows[("decoded", r["capture"])] += len(d) if isinstance(d, list) else 1

    with tempfile.TemporaryDirectory() as tmp:
        out = str(Path(tmp) / "dataset")
        spark = example.session("local[2]", "wsscope-spark-check")
        spark.sparkContext.setLogLevel("ERROR")
        results = example.run_captures(spark, paths, out, binary, keys)
        bad = [(p, s, e) for p, s, e in results if s not in (0, 1, 3)]
        check("captures run by Spark tasks (count, failures)", (len(results), bad), (len(paths), []))
        example.load(spark, out)

        # Rows per table per capture.
        for table in example.TABLES:
            got = {(table, c): n for c, n in spark.sql(f"SELECT capture, count(*) FROM {table} GROUP BY capture").collect()}
            want = {(table, c): rows[(table, c)] for c in names if rows[(table, c)]}
            check(f"rows of {table} per capture", got, want)
        # Every partition is there, empty or not.
        for table in example.TABLES:
            parts = sorted(p.name for p in (Path(out) / table).iterdir() if p.name.startswith("capture="))
            check(f"partitions of {table}", parts, sorted(f"capture={n}" for n in names))

        reports = {name: [tuple(r) for r in df.collect()] for name, df in example.reports(spark).items()}

        # Messages per connection.
        n, size = Counter(), Counter()
        for r in recs["message"]:
            n[(r["capture"], r["conn"])] += 1
            size[(r["capture"], r["conn"])] += r["len"]
        want = sorted(((c, k, n[(c, k)], size[(c, k)]) for c, k in n), key=lambda x: (-x[2], x[0], x[1]))
        check("messages per connection", reports["messages per connection"], want)

        # Violations by rule.
        v, conns = Counter(), defaultdict(set)
        for r in recs["violation"]:
            v[r["rule"]] += 1
            conns[r["rule"]].add((r["capture"], r["conn"]))
        want = sorted(((rule, v[rule], len(conns[rule])) for rule in v), key=lambda x: (-x[1], x[0]))
        check("violations by rule", reports["violations by rule"], want)

        # Close codes by server.
        cc = Counter()
        for r in recs["close"]:
            code = r["s2c"].get("close_code")
            if code is not None:
                cc[(*addr(r["server"]), code)] += 1
        want = sorted(((*k, m) for k, m in cc.items()), key=lambda x: (-x[3], x[0], x[1], x[2]))
        check("close codes by server", reports["close codes by server"], want)

        # Top talkers.
        t = defaultdict(lambda: [0, 0, 0])
        for r in recs["close"]:
            if r.get("stream") is not None:
                continue
            k = (addr(r["client"])[0], *addr(r["server"]))
            t[k][0] += 1
            t[k][1] += r["c2s"]["bytes"]
            t[k][2] += r["s2c"]["bytes"]
        want = sorted(((*k, a, b, c, b + c) for k, (a, b, c) in t.items()), key=lambda x: (-x[6], x[0], x[1], x[2]))
        check("top talkers", reports["top talkers"], want)

        # Timestamps read as nanoseconds: the earliest connection of each capture.
        first = {}
        for r in recs["close"]:
            ns = nanos(r["first_ts"])
            first[r["capture"]] = min(first.get(r["capture"], ns), ns)
        got = {c: ns for c, ns in spark.sql("SELECT capture, min(first_ts) FROM connections GROUP BY capture").collect()}
        check("first_ts (BIGINT nanoseconds) per capture", got, first)
        spark.stop()

    if failures:
        print(f"spark_check: {len(failures)} mismatches", file=sys.stderr)
        sys.exit(1)
    print(f"spark_check: ok ({len(paths)} captures)")


def nanos(text):
    neg = text.startswith("-")
    t = text.lstrip("-")
    whole, _, frac = t.partition(".")
    n = int(whole) * 1_000_000_000 + int((frac + "000000000")[:9])
    return -n if neg else n


if __name__ == "__main__":
    main()
