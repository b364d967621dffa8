#!/usr/bin/env python3
"""The Parquet dataset as DuckDB reads it, against JSON Lines.

Usage: duckdb_check.py WSSCOPE_BINARY

Writes every fixture capture (fixtures/**, with every key log) into one
dataset in one several-capture run (`dump --format parquet -o DIR ...`),
reads each table back with `read_parquet('DIR/<table>/*/*.parquet',
hive_partitioning = true)` and checks, against `dump --format jsonl` of the
same captures:

- the rows of each table of each capture (`capture` from the partition
  directory) against the records of its type;
- a sample of columns of every row (in file order), timestamps to the
  nanosecond, payloads byte for byte;
- every DuckDB query of the README's section "Datasets: Parquet, many
  captures, Spark" (its ```sql blocks, `out/` standing for the dataset):
  each one's answer against the same answer computed from JSON Lines.

Exits non-zero, saying what differed, on any mismatch.
"""

import json
import re
import subprocess
import sys
import tempfile
from collections import Counter, defaultdict
from decimal import Decimal
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parents[2]
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
TABLES = [
    "connections",
    "handshakes",
    "frames",
    "messages",
    "decoded",
    "gaps",
    "violations",
    "diagnostics",
    "tls",
    "http2",
    "findings",
]

failures = []


def fail(msg):
    failures.append(msg)
    print("MISMATCH:", msg, file=sys.stderr)


def fixtures():
    caps = sorted(
        p
        for p in (ROOT / "fixtures").rglob("*")
        if p.is_file() and p.suffix in (".pcap", ".pcapng", ".dump")
    )
    keys = sorted((ROOT / "fixtures").rglob("*.keys"))
    return caps, keys


def run(binary, args, keys, caps):
    cmd = [binary, *args]
    for k in keys:
        cmd += ["--keylog", str(k)]
    cmd += [str(c) for c in caps]
    env = {"TZ": "UTC", "PATH": "/usr/bin:/bin"}
    return subprocess.run(cmd, capture_output=True, env=env)


def nanos(d):
    """Exact nanoseconds of a JSON number of seconds (parsed as Decimal)."""
    return int(d * 1_000_000_000)


def decoded_items(rec):
    d = rec.get("decoded")
    if d is None:
        return []
    return d if isinstance(d, list) else [d]


def readme_queries():
    text = (ROOT / "README.md").read_text()
    start = text.index("## Datasets: Parquet, many captures, Spark")
    end = text.index("\n## ", start + 1)
    section = text[start:end]
    queries = re.findall(r"```sql\n(.*?)```", section, re.S)
    if not queries:
        fail("the README's dataset section has no ```sql block")
    return queries


def table_sql(out, table):
    return f"read_parquet('{out}/{table}/*/*.parquet', hive_partitioning = true, file_row_number = true)"


# What each README query must answer, computed from the JSON Lines records
# (by the query's first line, a `-- ` comment naming it).
def expect_messages_per_connection(recs):
    n = Counter()
    size = Counter()
    for r in recs["message"]:
        k = (r["capture"], r["conn"])
        n[k] += 1
        size[k] += r["len"]
    rows = [(c, conn, n[(c, conn)], size[(c, conn)]) for (c, conn) in n]
    rows.sort(key=lambda r: (-r[2], r[0], r[1]))
    return rows[:10]


def expect_slowest_ping(recs):
    best = {}
    pongs = Counter()
    for r in recs["frame"]:
        if r.get("rtt") is None:
            continue
        k = (r["capture"], r["conn"])
        pongs[k] += 1
        best[k] = max(best.get(k, float("-inf")), float(r["rtt"]))
    rows = [(c, conn, best[(c, conn)], pongs[(c, conn)]) for (c, conn) in best]
    rows.sort(key=lambda r: (-r[2], r[0], r[1]))
    return rows[:10]


def split_addr(a):
    ip, port = a.rsplit(":", 1)
    return ip.strip("[]"), int(port)


def expect_slowest_connections(recs):
    rows = []
    for r in recs["close"]:
        if r.get("rtt_max") is None:
            continue
        sip, sport = split_addr(r["server"])
        rows.append((r["capture"], r["conn"], r.get("stream"), sip, sport, float(r["rtt_min"]), float(r["rtt_median"]), float(r["rtt_max"])))
    rows.sort(key=lambda r: (-r[7], r[0], r[1], -1 if r[2] is None else r[2]))
    return rows[:10]


def expect_close_codes(recs):
    n = Counter()
    for r in recs["close"]:
        code = r["s2c"].get("close_code")
        if code is None:
            continue
        sip, sport = split_addr(r["server"])
        n[(sip, sport, code)] += 1
    rows = [(*k, v) for k, v in n.items()]
    rows.sort(key=lambda r: (-r[3], r[0], r[1], r[2]))
    return rows


def expect_big_messages(recs):
    rows = [
        (r["capture"], r["conn"], r["dir"], r["opcode_name"], r["len"], r["first_frame_offset"])
        for r in recs["message"]
        if r["len"] >= 1 << 20
    ]
    rows.sort(key=lambda r: (-r[4], r[0], r[1], r[2], r[5]))
    return rows


def expect_violations_by_rule(recs):
    n = Counter()
    conns = defaultdict(set)
    for r in recs["violation"]:
        n[r["rule"]] += 1
        conns[r["rule"]].add((r["capture"], r["conn"]))
    rows = [(rule, n[rule], len(conns[rule])) for rule in n]
    rows.sort(key=lambda r: (-r[1], r[0]))
    return rows


EXPECT = {
    "messages per connection": expect_messages_per_connection,
    "slowest ping rtt per connection": expect_slowest_ping,
    "slowest connections by rtt_max": expect_slowest_connections,
    "close codes by server": expect_close_codes,
    "messages of 1 MiB or more": expect_big_messages,
    "violations by rule": expect_violations_by_rule,
}


def normalise(rows):
    out = []
    for row in rows:
        out.append(tuple(float(v) if isinstance(v, (float, Decimal)) else v for v in row))
    return out


# A sample of columns per table: (column, DuckDB expression, function of the
# JSON Lines record (and decoded item) giving the expected value).
def hexval(v):
    return None if v is None else bytes(v).hex()


SAMPLE = {
    "connections": [
        ("conn", "conn", lambda r, i: r["conn"]),
        ("first_ts", "epoch_ns(first_ts)", lambda r, i: nanos(r["first_ts"])),
        ("server_port", "server_port", lambda r, i: split_addr(r["server"])[1]),
        ("s2c_bytes", "s2c_bytes", lambda r, i: r["s2c"]["bytes"]),
        ("protocol", "protocol", lambda r, i: r["protocol"]),
    ],
    "handshakes": [
        ("ts", "epoch_ns(ts)", lambda r, i: nanos(r["ts"])),
        ("path", "path", lambda r, i: r["path"]),
        ("status", "status", lambda r, i: r.get("status")),
    ],
    "frames": [
        ("conn", "conn", lambda r, i: r["conn"]),
        ("ts", "epoch_ns(ts)", lambda r, i: nanos(r["ts"])),
        ("dir", "dir", lambda r, i: r["dir"]),
        ("len", "len", lambda r, i: r["len"]),
        ("payload", "hex(payload)", lambda r, i: r.get("payload_hex", "").upper() if "payload_hex" in r else None),
    ],
    "messages": [
        ("ts", "epoch_ns(ts)", lambda r, i: nanos(r["ts"])),
        ("len", "len", lambda r, i: r["len"]),
        ("text", "text", lambda r, i: r.get("text")),
        ("data", "hex(data)", lambda r, i: r["data_hex"].upper() if "data_hex" in r else None),
    ],
    "decoded": [
        ("protocol", "protocol", lambda r, i: decoded_items(r)[i]["protocol"]),
        ("summary", "summary", lambda r, i: decoded_items(r)[i]["summary"]),
    ],
    "gaps": [("bytes", "bytes", lambda r, i: r["bytes"]), ("reason", "reason", lambda r, i: r["reason"])],
    "violations": [("rule", "rule", lambda r, i: r["rule"]), ("detail", "detail", lambda r, i: r["detail"])],
    "diagnostics": [("code", "code", lambda r, i: r["code"]), ("packet", "packet", lambda r, i: r.get("packet"))],
    "tls": [("sni", "sni", lambda r, i: r.get("sni")), ("decrypted", "decrypted", lambda r, i: r["decrypted"])],
    "http2": [("path", "path", lambda r, i: r["path"]), ("status", "status", lambda r, i: r.get("status"))],
    "findings": [
        ("rule", "rule", lambda r, i: r["rule"]),
        ("severity", "severity", lambda r, i: r["severity"]),
        ("packets", "packets", lambda r, i: r["packets"]),
    ],
}


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    binary = sys.argv[1]
    caps, keys = fixtures()
    names = [c.name for c in caps]
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out"
        pq = run(binary, ["dump", "--format", "parquet", "-o", str(out)], keys, caps)
        js = run(binary, ["dump", "--format", "jsonl"], keys, caps)
        if pq.returncode != js.returncode:
            fail(f"exit status: parquet {pq.returncode}, jsonl {js.returncode}: {pq.stderr.decode()[-2000:]}")
        recs = defaultdict(list)
        rows_of = defaultdict(list)  # (table, capture) -> [(record, item)]
        for line in js.stdout.decode().splitlines():
            r = json.loads(line, parse_float=Decimal)
            recs[r["type"]].append(r)
            t = TABLE_OF.get(r["type"])
            if t:
                rows_of[(t, r["capture"])].append((r, 0))
            if r["type"] == "message":
                for i in range(len(decoded_items(r))):
                    rows_of[("decoded", r["capture"])].append((r, i))
        con = duckdb.connect()
        compared = 0
        for table in TABLES:
            src = table_sql(out, table)
            # Rows per capture.
            got = dict(con.execute(f"SELECT capture, count(*) FROM {src} GROUP BY capture").fetchall())
            # Every capture's file is there, empty or not (an empty file has
            # no row to carry its name: list the files).
            parts = {c for (c,) in con.execute(f"SELECT regexp_extract(file, 'capture=([^/]*)/', 1) FROM glob('{out}/{table}/*/*.parquet')").fetchall()}
            for name in names:
                want = len(rows_of[(table, name)])
                if got.get(name, 0) != want:
                    fail(f"{table} of {name}: {got.get(name, 0)} rows, JSON Lines {want}")
            missing = [n for n in names if n not in parts and n.replace("%", "%25") not in parts]
            if missing:
                fail(f"{table}: no partition for {missing}")
            # A sample of columns of every row, in file order.
            cols = SAMPLE[table]
            exprs = ", ".join(e for _, e, _ in cols)
            got_rows = defaultdict(list)
            for row in con.execute(f"SELECT capture, {exprs} FROM {src} ORDER BY capture, file_row_number").fetchall():
                got_rows[row[0]].append(row[1:])
            for name in names:
                want_rows = rows_of[(table, name)]
                for k, ((rec, item), got_row) in enumerate(zip(want_rows, got_rows[name])):
                    for (col, _, f), g in zip(cols, got_row):
                        w = f(rec, item)
                        if isinstance(w, Decimal):
                            w = float(w)
                        if w != g:
                            fail(f"{table} of {name} row {k} {col}: {g!r}, JSON Lines {w!r}")
                        compared += 1
        # The README's queries.
        queries = readme_queries()
        for q in queries:
            title = q.splitlines()[0].removeprefix("-- ").strip()
            if title not in EXPECT:
                fail(f"README query without a check here: {title!r} (first line must be `-- NAME`)")
                continue
            sql = q.replace("'out/", f"'{out}/")
            got = normalise(con.execute(sql).fetchall())
            want = normalise(EXPECT[title](recs))
            if got != want:
                fail(f"README query {title!r}:\n  DuckDB:     {got}\n  JSON Lines: {want}")
            else:
                print(f"duckdb_check: README query {title!r}: {len(got)} rows as JSON Lines says")
        missing = set(EXPECT) - {q.splitlines()[0].removeprefix("-- ").strip() for q in queries}
        if missing:
            fail(f"queries checked here that the README no longer has: {sorted(missing)}")
        total = sum(len(v) for v in rows_of.values())
        print(f"duckdb_check: {len(caps)} captures, {total} rows, {compared} values compared")
    if failures:
        print(f"duckdb_check: {len(failures)} mismatches", file=sys.stderr)
        sys.exit(1)
    print("duckdb_check: ok")


if __name__ == "__main__":
    main()
