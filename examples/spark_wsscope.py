#!/usr/bin/env python3
"""wsscope on Spark: one task per capture file, then Spark SQL over the dataset.

    spark_wsscope.py [--master local[*]] [--wsscope PATH] [--out DIR]
                     [--keylog FILE]... [--payload none|N] CAPTURE|DIR|GLOB...

1. Lists the captures: files named, every *.pcap, *.pcapng, *.cap,
   *.pcap.ng, *.ntar, *.dump under a directory (recursively), or a glob.
2. Distributes them one task per capture (`sc.parallelize(paths,
   len(paths)).mapPartitions(...)`): each task runs
   `wsscope dump --format parquet -o OUT CAPTURE` on its executor, which
   writes the capture's partition of every table (OUT/<table>/capture=NAME/).
   OUT must be a directory every executor can write and the driver read (a
   local path in local mode; a shared file system on a cluster), and the
   wsscope binary must be at `--wsscope` on every executor (default: on PATH).
   A capture that fails is reported and left out, as `wsscope dump` with
   several captures does (exit status 2 at the end).
3. Reads OUT/<table> with Spark (the partition directories give `capture`,
   which every file also holds) and prints: messages per connection,
   violations by rule, top talkers (bytes per client and server, from
   `connections`), and close codes by server.

Timestamps: wsscope writes them as Parquet TIMESTAMP(NANOS, UTC), which
Spark 3.x cannot read as timestamps (it refuses the files). The session
sets `spark.sql.legacy.parquet.nanosAsLong=true` (Spark 3.2.4+, 3.3.2+,
3.4+): they are then read as BIGINT nanoseconds since the epoch, and
`ts_of()` below turns one into a Spark TIMESTAMP (microseconds: Spark's
own precision) where a query wants one. Tested with pyspark 3.5.9 on
Java 17 (tests/pipeline/spark_check.py).
"""

import argparse
import glob
import os
import shutil
import subprocess
import sys

from pyspark.sql import SparkSession

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
# wsscope's own list for a directory (src/source/captures.rs), and .dump.
SUFFIXES = (".pcap", ".pcapng", ".cap", ".pcap.ng", ".ntar", ".dump")


def list_captures(inputs):
    """Capture paths from files, directories (recursively) and globs, sorted
    within each input, each once."""
    out = []
    for arg in inputs:
        if os.path.isdir(arg):
            found = []
            for root, _, files in os.walk(arg):
                found += [os.path.join(root, f) for f in files if f.lower().endswith(SUFFIXES)]
        elif os.path.exists(arg):
            found = [arg]
        else:
            found = [p for p in glob.glob(arg, recursive=True) if os.path.isfile(p)]
            if not found:
                sys.exit(f"spark_wsscope: {arg}: no such capture, directory or pattern")
        for p in sorted(found):
            p = os.path.abspath(p)
            if p not in out:
                out.append(p)
    return out


def session(master="local[*]", app="wsscope"):
    return (
        SparkSession.builder.master(master)
        .appName(app)
        # TIMESTAMP(NANOS) columns as BIGINT nanoseconds (see the module doc).
        .config("spark.sql.legacy.parquet.nanosAsLong", "true")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .getOrCreate()
    )


def ts_of(column):
    """SQL: a BIGINT-nanoseconds column as a Spark TIMESTAMP (to the microsecond)."""
    return f"timestamp_micros(div({column}, 1000))"


def run_captures(spark, paths, out, wsscope="wsscope", keylogs=(), payload=None):
    """Runs wsscope on every capture, one Spark task each; returns
    [(path, exit status, stderr)] of every capture."""
    args = [wsscope, "dump", "--format", "parquet", "-o", out]
    for k in keylogs:
        args += ["--keylog", os.path.abspath(k)]
    if payload is not None:
        args += ["--payload", payload]

    def one_task(paths):
        for p in paths:
            r = subprocess.run(args + [p], capture_output=True)
            # 3: truncated capture, everything before the cut written.
            yield (p, r.returncode, r.stderr.decode(errors="replace")[-2000:])

    sc = spark.sparkContext
    return sc.parallelize(paths, len(paths)).mapPartitions(one_task).collect()


def load(spark, out):
    """Registers every table of the dataset as a temporary view."""
    for t in TABLES:
        spark.read.parquet(os.path.join(out, t)).createOrReplaceTempView(t)


QUERIES = {
    "messages per connection": """
        SELECT capture, conn, count(*) AS messages, sum(len) AS bytes
        FROM messages GROUP BY capture, conn
        ORDER BY messages DESC, capture, conn""",
    "violations by rule": """
        SELECT rule, count(*) AS violations,
               count(DISTINCT capture, conn) AS connections
        FROM violations GROUP BY rule ORDER BY violations DESC, rule""",
    # A WebSocket stream of an HTTP/2 connection has a row of its own
    # (`stream` set) beside its connection's: count connections only.
    "top talkers": """
        SELECT client_ip, server_ip, server_port, count(*) AS connections,
               sum(c2s_bytes) AS c2s_bytes, sum(s2c_bytes) AS s2c_bytes,
               sum(c2s_bytes + s2c_bytes) AS bytes
        FROM connections WHERE stream IS NULL
        GROUP BY client_ip, server_ip, server_port
        ORDER BY bytes DESC, client_ip, server_ip, server_port""",
    "close codes by server": """
        SELECT server_ip, server_port, s2c_close_code AS close_code,
               count(*) AS connections
        FROM connections WHERE s2c_close_code IS NOT NULL
        GROUP BY server_ip, server_port, s2c_close_code
        ORDER BY connections DESC, server_ip, server_port, close_code""",
    "captures": f"""
        SELECT capture, count(*) AS connections,
               {ts_of("min(first_ts)")} AS first, {ts_of("max(last_ts)")} AS last
        FROM connections GROUP BY capture ORDER BY capture""",
}


def reports(spark):
    """The reports, as DataFrames, by name."""
    return {name: spark.sql(q) for name, q in QUERIES.items()}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("inputs", nargs="+", metavar="CAPTURE|DIR|GLOB")
    ap.add_argument("--master", default="local[*]", help="Spark master (default local[*])")
    ap.add_argument("--wsscope", default=shutil.which("wsscope") or "wsscope", help="the wsscope binary on every executor")
    ap.add_argument("--out", default="wsscope-dataset", help="the dataset directory, shared by every executor")
    ap.add_argument("--keylog", action="append", default=[], help="TLS key log (repeatable)")
    ap.add_argument("--payload", help="none or N: payload bytes kept (default: all)")
    ap.add_argument("--rows", type=int, default=20, help="rows shown per report")
    a = ap.parse_args(argv)

    paths = list_captures(a.inputs)
    if not paths:
        sys.exit("spark_wsscope: no captures")
    out = os.path.abspath(a.out)
    spark = session(a.master)
    results = run_captures(spark, paths, out, a.wsscope, a.keylog, a.payload)
    failed = [(p, s, e) for p, s, e in results if s not in (0, 1, 3)]
    for p, s, e in failed:
        print(f"spark_wsscope: {p}: exit status {s} (skipped): {e.strip()}", file=sys.stderr)
    print(f"{len(paths) - len(failed)} of {len(paths)} captures written to {out}")
    load(spark, out)
    for name, df in reports(spark).items():
        print(f"\n== {name}")
        df.show(a.rows, truncate=False)
    spark.stop()
    return 2 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
