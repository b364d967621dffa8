//! `dump --format parquet` read back against `dump --format jsonl` of the
//! same capture, on every fixture (the wss:// and HTTP/2-over-TLS ones with
//! and without their key logs): as many rows in each table as JSON Lines
//! has records of its type, and in every row every column that mirrors a
//! JSON Lines field (`json` in `src/output/parquet/tables.rs`) holding that
//! field's value — timestamps to the nanosecond, floats to the bit,
//! payloads byte for byte. The columns JSON Lines has no field for are
//! checked against what they are derived from. Then `--payload 16` and
//! `--payload none`, and several captures in one run (in parallel or on one
//! thread) against each capture alone, for Parquet and for JSON Lines.
//!
//! The files are read with the `parquet` crate's record API (no Arrow), as
//! an independent reader would.
#![cfg(feature = "parquet")]

mod common;

use parquet::basic::{LogicalType, TimeUnit};
use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::record::{Field, Row};
use serde_json::value::RawValue;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::Command;
use wsscope::output::parquet::{ColumnInfo, ColumnKind, TABLES, columns};

/// Every fixture capture (`fixtures/**`), with its key log when it has one.
fn fixture_captures() -> Vec<(PathBuf, Option<PathBuf>)> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        out.extend(common::captures_in(dir));
        let mut subdirs: Vec<PathBuf> = std::fs::read_dir(dir)
            .unwrap()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_dir())
            .collect();
        subdirs.sort();
        for d in subdirs {
            walk(&d, out);
        }
    }
    let mut caps = Vec::new();
    walk(&common::root().join("fixtures"), &mut caps);
    caps.into_iter()
        .map(|c| {
            let keys = c.with_extension("keys");
            let keys = keys.is_file().then_some(keys);
            (c, keys)
        })
        .collect()
}

fn wsscope(args: &[&str], keys: &[&Path], caps: &[&Path]) -> std::process::Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_wsscope"));
    cmd.args(args);
    for k in keys {
        cmd.arg("--keylog").arg(k);
    }
    cmd.args(caps)
        .env("TZ", "UTC")
        .env_remove("SSLKEYLOGFILE")
        .output()
        .expect("run wsscope")
}

/// `dump --format jsonl EXTRA... CAPS`: its lines (the exit status is
/// checked by the caller against the Parquet run's).
fn jsonl(extra: &[&str], keys: &[&Path], caps: &[&Path]) -> (Option<i32>, Vec<String>) {
    let mut args = vec!["dump", "--format", "jsonl"];
    args.extend_from_slice(extra);
    let out = wsscope(&args, keys, caps);
    let text = String::from_utf8(out.stdout).expect("JSON Lines is UTF-8");
    (out.status.code(), text.lines().map(str::to_string).collect())
}

/// `dump --format parquet -o DIR EXTRA... CAPS`.
fn parquet(dir: &Path, extra: &[&str], keys: &[&Path], caps: &[&Path]) -> Option<i32> {
    let mut args = vec!["dump", "--format", "parquet", "-o"];
    let d = dir.to_str().unwrap();
    args.push(d);
    args.extend_from_slice(extra);
    let out = wsscope(&args, keys, caps);
    assert!(
        dir.join("frames").is_dir(),
        "{caps:?}: no dataset written: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.status.code()
}

fn capture_name(cap: &Path) -> String {
    cap.file_name().unwrap().to_string_lossy().into_owned()
}

/// The partition directory of `capture` in table `table` (the sink's own
/// escaping: the fixtures' names need none).
fn part_file(dir: &Path, table: &str, capture: &str) -> PathBuf {
    dir.join(table)
        .join(wsscope::output::parquet::partition_dir(capture))
        .join("part-0.parquet")
}

/// Every row of one table of one capture, and checks the file's schema
/// against the table's declared columns.
fn read_table(dir: &Path, table: &str, capture: &str) -> Vec<Row> {
    let path = part_file(dir, table, capture);
    let file = std::fs::File::open(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let reader = SerializedFileReader::new(file).unwrap();
    let cols = columns(table).unwrap();
    let schema = reader.metadata().file_metadata().schema();
    let fields = schema.get_fields();
    assert_eq!(
        fields.iter().map(|f| f.name()).collect::<Vec<_>>(),
        cols.iter().map(|c| c.name).collect::<Vec<_>>(),
        "{table}: the file's columns"
    );
    for (f, c) in fields.iter().zip(&cols) {
        if c.kind == ColumnKind::Ts {
            assert_eq!(
                f.get_basic_info().logical_type_ref(),
                Some(&LogicalType::timestamp(true, TimeUnit::NANOS)),
                "{table}.{}: TIMESTAMP(NANOS, UTC)",
                c.name
            );
        }
        assert_eq!(
            f.is_optional(),
            c.nullable,
            "{table}.{}: nullable as declared",
            c.name
        );
    }
    reader.get_row_iter(None).unwrap().map(|r| r.unwrap()).collect()
}

/// A JSON Lines record: its raw text, navigable without parsing numbers
/// into floats (timestamps keep their nanosecond digits, floats are parsed
/// once, correctly, by `str::parse`).
struct Rec<'a> {
    raw: &'a RawValue,
}

impl<'a> Rec<'a> {
    fn new(line: &'a str) -> Self {
        Rec {
            raw: serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")),
        }
    }

    fn typ(&self) -> String {
        match self.get("type") {
            Some(t) => serde_json::from_str(t.get()).unwrap(),
            None => panic!("a record without type: {}", self.raw.get()),
        }
    }

    fn get(&self, key: &str) -> Option<&'a RawValue> {
        field(self.raw, key)
    }

    /// The value at a dotted path (`c2s.close_code`); `decoded.*` paths
    /// read item `item` of `decoded` (an object is item 0).
    fn path(&self, path: &str, item: usize) -> Option<&'a RawValue> {
        let mut v = self.raw;
        for (i, key) in path.split('.').enumerate() {
            if i == 1 && path.starts_with("decoded.") {
                v = decoded_items(v).into_iter().nth(item)?;
            }
            v = field(v, key)?;
        }
        Some(v)
    }
}

fn field<'a>(v: &'a RawValue, key: &str) -> Option<&'a RawValue> {
    if !v.get().starts_with('{') {
        return None;
    }
    let map: HashMap<String, &'a RawValue> = serde_json::from_str(v.get()).unwrap();
    map.get(key).copied()
}

/// The items of a message's `decoded`: an object is one, an array is each.
fn decoded_items(v: &RawValue) -> Vec<&RawValue> {
    if v.get().starts_with('[') {
        serde_json::from_str(v.get()).unwrap()
    } else {
        vec![v]
    }
}

/// Nanoseconds of a JSON decimal number of seconds (`-1.5`, `12.000000001`),
/// exactly, from its text.
fn decimal_nanos(text: &str) -> i128 {
    let (neg, t) = match text.strip_prefix('-') {
        Some(t) => (true, t),
        None => (false, text),
    };
    let (int, frac) = t.split_once('.').unwrap_or((t, ""));
    assert!(
        frac.len() <= 9 && !int.is_empty() && !t.contains(['e', 'E']),
        "not a decimal of seconds with at most 9 decimals: {text}"
    );
    let mut n: i128 = int.parse::<i128>().unwrap() * 1_000_000_000;
    let mut scale = 100_000_000;
    for d in frac.bytes() {
        n += i128::from(d - b'0') * scale;
        scale /= 10;
    }
    if neg { -n } else { n }
}

/// The JSON string at `raw`.
fn json_str(raw: &RawValue) -> String {
    serde_json::from_str(raw.get()).unwrap_or_else(|e| panic!("{e}: not a string: {}", raw.get()))
}

/// Splits `"IP:PORT"` (`"[v6]:PORT"`) into the IP's text and the port.
fn address(raw: &RawValue) -> (String, i32) {
    let s = json_str(raw);
    let (ip, port) = s.rsplit_once(':').unwrap();
    let ip = ip.trim_start_matches('[').trim_end_matches(']');
    (ip.to_string(), port.parse().unwrap())
}

/// Checks one column's value against the JSON Lines field it mirrors.
/// Returns a description of the difference, if any.
fn check_value(col: &ColumnInfo, f: &Field, rec: &Rec, item: usize, capture: &str) -> Result<(), String> {
    let json = col.json;
    let raw = if let Some((addr, part)) = json.split_once('@') {
        let Some(a) = rec.path(addr, item) else {
            return Err(format!("no {addr} in JSON Lines"));
        };
        let (ip, port) = address(a);
        return match (part, f) {
            ("ip", Field::Str(s)) if *s == ip => Ok(()),
            ("port", Field::Int(p)) if *p == port => Ok(()),
            _ => Err(format!("{f:?} against {}", a.get())),
        };
    } else {
        rec.path(json, item)
    };
    let raw_text = raw.map(|r| r.get());
    let differ = || Err(format!("{f:?} against {}", raw_text.unwrap_or("(absent)")));
    // Absent or null in JSON Lines.
    if raw_text.is_none_or(|t| t == "null") {
        return match (json, f, raw_text) {
            // A single capture's records do not name it.
            ("capture", Field::Str(s), None) if s == capture => Ok(()),
            // Absent means not cut.
            ("payload_cut", Field::Bool(false), None) => Ok(()),
            (_, Field::Null, _) if col.nullable => Ok(()),
            _ => differ(),
        };
    }
    let raw = raw.unwrap();
    let text = raw.get();
    let ok = match (col.kind, f) {
        (ColumnKind::Str | ColumnKind::Enum | ColumnKind::Text, Field::Str(s)) => {
            if json == "decoded.tree" {
                // The tree is JSON; JSON Lines copies the message's own text
                // (its spacing) where it can: compare the values.
                serde_json::from_str::<serde_json::Value>(s).ok()
                    == serde_json::from_str::<serde_json::Value>(text).ok()
            } else {
                json_str(raw) == *s
            }
        }
        (ColumnKind::I64, Field::Long(n)) => text.parse::<i64>().ok() == Some(*n),
        (ColumnKind::I32, Field::Int(n)) => text.parse::<i32>().ok() == Some(*n),
        (ColumnKind::F64, Field::Double(x)) => {
            text.parse::<f64>().ok().map(f64::to_bits) == Some(x.to_bits())
        }
        (ColumnKind::Bool, Field::Bool(b)) => text == if *b { "true" } else { "false" },
        (ColumnKind::Ts, Field::Long(n)) => decimal_nanos(text) == i128::from(*n),
        (ColumnKind::Bin, Field::Bytes(b)) => hex::decode(json_str(raw)).ok().as_deref() == Some(b.data()),
        (ColumnKind::IntList, Field::ListInternal(l)) => {
            let want: Option<Vec<i64>> = serde_json::from_str::<Vec<i64>>(text).ok();
            let got: Vec<Option<i64>> = l
                .elements()
                .iter()
                .map(|f| match f {
                    Field::Long(n) => Some(*n),
                    _ => None,
                })
                .collect();
            want.is_some_and(|w| w.into_iter().map(Some).collect::<Vec<_>>() == got)
        }
        (ColumnKind::StrList, Field::ListInternal(l)) => {
            let want: Vec<String> = serde_json::from_str(text).unwrap();
            let got: Vec<Option<&String>> = l
                .elements()
                .iter()
                .map(|e| match e {
                    Field::Str(s) => Some(s),
                    _ => None,
                })
                .collect();
            got.len() == want.len() && got.iter().zip(&want).all(|(g, w)| *g == Some(w))
        }
        (ColumnKind::Pairs, Field::ListInternal(l)) => {
            let want: Vec<(String, String)> = serde_json::from_str(text).unwrap();
            let got: Vec<Option<(String, String)>> = l
                .elements()
                .iter()
                .map(|e| match e {
                    Field::Group(g) => match g.get_column_iter().collect::<Vec<_>>().as_slice() {
                        [(n, Field::Str(name)), (v, Field::Str(value))] if *n == "name" && *v == "value" => {
                            Some((name.clone(), value.clone()))
                        }
                        _ => None,
                    },
                    _ => None,
                })
                .collect();
            got.len() == want.len() && got.iter().zip(&want).all(|(g, w)| g.as_ref() == Some(w))
        }
        _ => false,
    };
    if ok { Ok(()) } else { differ() }
}

/// Checks a column JSON Lines has no field for against what it is derived
/// from. `open` is the `connection` record of the row's connection.
fn check_derived(
    table: &str,
    col: &ColumnInfo,
    f: &Field,
    rec: &Rec,
    item: usize,
    open: Option<&Rec>,
    seq: Option<u64>,
) -> Result<(), String> {
    let items = || rec.get("decoded").map(decoded_items).unwrap_or_default();
    let want: Field = match (table, col.name) {
        ("connections", "syn_seen") => match open.and_then(|o| o.get("syn_seen")) {
            Some(v) => Field::Bool(v.get() == "true"),
            None => Field::Null,
        },
        ("connections", "role_basis") => match open.and_then(|o| o.get("role_basis")) {
            Some(v) => Field::Str(json_str(v)),
            None => Field::Null,
        },
        // Compared with JSON Lines by tests/community_id.rs (the JSON Lines
        // field comes with it).
        ("connections", "community_id") => return Ok(()),
        ("handshakes", "deflate") => Field::Bool(rec.get("deflate").is_some_and(|d| d.get() != "null")),
        ("handshakes", "user_agent") => {
            let h: Vec<(String, String)> =
                serde_json::from_str(rec.get("request_headers").unwrap().get()).unwrap();
            h.into_iter()
                .find(|(n, _)| n.eq_ignore_ascii_case("user-agent"))
                .map_or(Field::Null, |(_, v)| Field::Str(v))
        }
        ("messages", "decoded") => Field::Int(items().len() as i32),
        ("messages", "decoded_protocol") => items()
            .first()
            .and_then(|i| field(i, "protocol"))
            .map_or(Field::Null, |p| Field::Str(json_str(p))),
        ("decoded", "item") => Field::Int(item as i32),
        // The messages of its session (conn, stream) and direction before it.
        ("messages", "seq") => Field::Long(seq.expect("a message's seq") as i64),
        _ => return Err(format!("column {table}.{} without a check", col.name)),
    };
    if *f == want {
        Ok(())
    } else {
        Err(format!("{f:?}, expected {want:?}"))
    }
}

/// The JSON Lines records of `lines` as the rows of each table would be:
/// `(record line index, decoded item)`.
fn expected_rows(lines: &[String]) -> BTreeMap<&'static str, Vec<(usize, usize)>> {
    let mut by: BTreeMap<&'static str, Vec<(usize, usize)>> =
        TABLES.iter().map(|t| (*t, Vec::new())).collect();
    for (i, line) in lines.iter().enumerate() {
        let rec = Rec::new(line);
        let table = match rec.typ().as_str() {
            "close" => "connections",
            "handshake" => "handshakes",
            "frame" => "frames",
            "message" => {
                if let Some(d) = rec.get("decoded") {
                    for n in 0..decoded_items(d).len() {
                        by.get_mut("decoded").unwrap().push((i, n));
                    }
                }
                "messages"
            }
            "gap" => "gaps",
            "violation" => "violations",
            "diagnostic" => "diagnostics",
            "tls" => "tls",
            "http2" => "http2",
            "finding" => "findings",
            "connection" => continue,
            other => panic!("a record type no table has: {other}"),
        };
        by.get_mut(table).unwrap().push((i, 0));
    }
    by
}

/// Compares every table of `capture` in `dir` with JSON Lines `lines`;
/// returns the rows and the values compared.
fn compare(dir: &Path, capture: &str, lines: &[String]) -> (usize, usize) {
    let expected = expected_rows(lines);
    // Each connection's `connection` record, by conn.
    let opens: HashMap<String, usize> = lines
        .iter()
        .enumerate()
        .filter_map(|(i, l)| {
            let r = Rec::new(l);
            (r.typ() == "connection").then(|| (r.get("conn").unwrap().get().to_string(), i))
        })
        .collect();
    // Each message record's number in its session and direction.
    let mut seqs: HashMap<usize, u64> = HashMap::new();
    let mut counts: HashMap<(String, String, String), u64> = HashMap::new();
    for (i, l) in lines.iter().enumerate() {
        let r = Rec::new(l);
        if r.typ() == "message" {
            let key = |k: &str| r.get(k).map_or(String::new(), |v| v.get().to_string());
            let n = counts
                .entry((key("conn"), key("stream"), key("dir")))
                .or_default();
            seqs.insert(i, *n);
            *n += 1;
        }
    }
    let (mut rows_seen, mut values) = (0, 0);
    let mut errors = Vec::new();
    for table in TABLES {
        let rows = read_table(dir, table, capture);
        let want = &expected[table];
        assert_eq!(
            rows.len(),
            want.len(),
            "{capture}: {table} has {} rows, JSON Lines {} records",
            rows.len(),
            want.len()
        );
        let cols = columns(table).unwrap();
        for (row, &(line, item)) in rows.iter().zip(want) {
            let rec = Rec::new(&lines[line]);
            let open = rec
                .get("conn")
                .and_then(|c| opens.get(c.get()))
                .map(|&i| Rec::new(&lines[i]));
            let fields: Vec<(&String, &Field)> = row.get_column_iter().collect();
            assert_eq!(fields.len(), cols.len());
            for (col, (name, f)) in cols.iter().zip(fields) {
                assert_eq!(*name, col.name);
                let res = if col.json.is_empty() || col.name == "community_id" {
                    // community_id: compared by tests/community_id.rs.
                    check_derived(table, col, f, &rec, item, open.as_ref(), seqs.get(&line).copied())
                } else {
                    check_value(col, f, &rec, item, capture)
                };
                values += 1;
                if let Err(e) = res {
                    errors.push(format!(
                        "{capture}: {table} row {} column {}: {e}\n    record: {}",
                        rows_seen, col.name, lines[line]
                    ));
                }
            }
            rows_seen += 1;
        }
    }
    assert!(
        errors.is_empty(),
        "{} values differ:\n{}",
        errors.len(),
        errors.iter().take(30).cloned().collect::<Vec<_>>().join("\n")
    );
    (rows_seen, values)
}

/// Parquet of one capture against its JSON Lines, with `extra` arguments.
fn roundtrip(cap: &Path, keys: Option<&Path>, extra: &[&str]) -> (usize, usize, Vec<String>) {
    let keys: Vec<&Path> = keys.into_iter().collect();
    let (status, lines) = jsonl(extra, &keys, &[cap]);
    let dir = tempfile::tempdir().unwrap();
    let pq_status = parquet(dir.path(), extra, &keys, &[cap]);
    assert_eq!(status, pq_status, "{}: exit status", cap.display());
    let (rows, values) = compare(dir.path(), &capture_name(cap), &lines);
    (rows, values, lines)
}

#[test]
fn every_fixture_reads_back_as_its_json_lines() {
    let caps = fixture_captures();
    let (mut rows, mut values, mut keyed) = (0, 0, 0);
    let mut per_table: BTreeMap<&str, usize> = BTreeMap::new();
    for (cap, keys) in &caps {
        let mut runs = vec![None];
        if keys.is_some() {
            runs.push(keys.as_deref());
            keyed += 1;
        }
        for k in runs {
            let (r, v, lines) = roundtrip(cap, k, &[]);
            rows += r;
            values += v;
            for (t, want) in expected_rows(&lines) {
                *per_table.entry(t).or_default() += want.len();
            }
        }
    }
    eprintln!(
        "{} captures ({keyed} also with keys): {rows} rows, {values} values compared; {per_table:?}",
        caps.len()
    );
    assert!(caps.len() >= 70 && keyed >= 15, "{} captures", caps.len());
    // Every table had rows to compare somewhere.
    for t in TABLES {
        assert!(per_table[t] > 0, "no fixture has a row in {t}");
    }
}

/// Payload columns of each table: (column, JSON Lines field).
const PAYLOADS: [(&str, &str); 3] = [("frames", "payload"), ("messages", "text"), ("messages", "data")];

#[test]
fn payload_16_cuts_where_json_lines_cuts() {
    let (mut cut, mut whole) = (0, 0);
    for (cap, keys) in fixture_captures() {
        let (_, _, lines) = roundtrip(&cap, keys.as_deref(), &["--payload", "16"]);
        // The comparison above holds payload_cut to JSON Lines; here also
        // that something was cut and that nothing kept exceeds 16 bytes.
        for l in &lines {
            let r = Rec::new(l);
            for k in ["payload_hex", "data_hex", "text"] {
                if let Some(v) = r.get(k) {
                    let s = json_str(v);
                    let n = if k == "text" { s.len() } else { s.len() / 2 };
                    assert!(n <= 16, "{}: {k} of {n} bytes", cap.display());
                    if r.get("payload_cut").is_some() {
                        cut += 1;
                    } else {
                        whole += 1;
                    }
                }
            }
        }
    }
    assert!(cut > 100 && whole > 100, "{cut} payloads cut, {whole} whole");
}

#[test]
fn payload_none_leaves_payload_columns_null() {
    let mut checked = 0;
    for (cap, keys) in fixture_captures() {
        let (_, _, lines) = roundtrip(&cap, keys.as_deref(), &["--payload", "none"]);
        let dir = tempfile::tempdir().unwrap();
        let keys: Vec<&Path> = keys.as_deref().into_iter().collect();
        parquet(dir.path(), &["--payload", "none"], &keys, &[&cap]);
        for (table, column) in PAYLOADS {
            for row in read_table(dir.path(), table, &capture_name(&cap)) {
                let (_, f) = row.get_column_iter().find(|(n, _)| *n == column).unwrap();
                assert_eq!(*f, Field::Null, "{}: {table}.{column}", cap.display());
                checked += 1;
            }
        }
        assert!(
            lines
                .iter()
                .all(|l| !l.contains("\"payload_hex\"") && !l.contains("\"data_hex\"")),
            "{}: JSON Lines kept payloads",
            cap.display()
        );
    }
    assert!(checked > 1000, "{checked} payload values");
}

/// Every table of `capture` in `dir`, row by row.
fn dataset_rows(dir: &Path, capture: &str) -> Vec<(&'static str, Vec<Row>)> {
    TABLES.iter().map(|t| (*t, read_table(dir, t, capture))).collect()
}

#[test]
fn several_captures_at_once_write_what_each_writes_alone() {
    // Every fixture (names are all distinct), TLS ones with every key log
    // given to every run.
    let caps = fixture_captures();
    let keys: Vec<&Path> = caps.iter().filter_map(|(_, k)| k.as_deref()).collect();
    let paths: Vec<&Path> = caps.iter().map(|(c, _)| c.as_path()).collect();

    // A run over several captures runs as many at once as it has threads,
    // each with an equal share of --max-memory (at least 256 MiB), and what
    // a capture's analysis keeps depends on its budget where a limit bites
    // (fixtures/hostile/deflate_bomb.pcap inflates up to a share of it): so
    // each capture alone is run with the share it had. The default threads
    // are the cores; `--threads 1` runs one capture at a time with the whole
    // budget, given the share here.
    const BUDGET: usize = 1 << 30;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let share = (BUDGET / cores.min(paths.len())).max(256 << 20);
    let (budget, share) = (BUDGET.to_string(), share.to_string());

    let all = tempfile::tempdir().unwrap();
    let one_thread = tempfile::tempdir().unwrap();
    let status_all = parquet(all.path(), &["--max-memory", &budget], &keys, &paths);
    let status_one = parquet(
        one_thread.path(),
        &["--threads", "1", "--max-memory", &share],
        &keys,
        &paths,
    );
    assert_eq!(status_all, status_one);
    let (status_jsonl, lines_all) = jsonl(&["--max-memory", &budget], &keys, &paths);
    assert_eq!(status_all, status_jsonl);

    let mut alone_lines = Vec::new();
    let mut statuses = Vec::new();
    let mut rows = 0;
    for cap in &paths {
        let name = capture_name(cap);
        let alone = tempfile::tempdir().unwrap();
        parquet(alone.path(), &["--max-memory", &share], &keys, &[cap]);
        let want = dataset_rows(alone.path(), &name);
        for dir in [all.path(), one_thread.path()] {
            let got = dataset_rows(dir, &name);
            for ((table, w), (_, g)) in want.iter().zip(&got) {
                assert_eq!(w.len(), g.len(), "{name}: {table} rows");
                for (i, (a, b)) in w.iter().zip(g).enumerate() {
                    assert_eq!(a, b, "{name}: {table} row {i}");
                }
                rows += w.len();
            }
        }
        let (status, lines) = jsonl(&["--max-memory", &share], &keys, &[cap]);
        statuses.push(status);
        let quoted = serde_json::to_string(&name).unwrap();
        alone_lines.extend(lines.into_iter().map(|l| {
            let body = l.strip_suffix('}').expect("a record ends with }");
            format!("{body},\"capture\":{quoted}}}")
        }));
    }
    // The several-capture JSON Lines: each capture's records in turn, each
    // ending with its capture's name.
    assert_eq!(lines_all.len(), alone_lines.len(), "JSON Lines records");
    for (i, (a, b)) in lines_all.iter().zip(&alone_lines).enumerate() {
        assert_eq!(a, b, "JSON Lines record {i}");
    }
    // The several-capture run's rows compared with the JSON Lines of the
    // several-capture run, whose records name their capture.
    let mut by_capture: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for l in &lines_all {
        let name = json_str(Rec::new(l).get("capture").unwrap());
        by_capture.entry(name).or_default().push(l.clone());
    }
    for cap in &paths {
        let name = capture_name(cap);
        compare(all.path(), &name, by_capture.get(&name).map_or(&[][..], |v| v));
    }
    // The run's status from each capture's own (README, Exit codes): 2 when
    // one failed, else 3 when one was truncated, else 1 when none selected
    // anything, else 0.
    let want = if statuses.contains(&Some(2)) {
        2
    } else if statuses.contains(&Some(3)) {
        3
    } else if statuses.iter().all(|s| *s == Some(1)) {
        1
    } else {
        0
    };
    assert_eq!(
        status_all,
        Some(want),
        "exit status of the run against each capture's {statuses:?}"
    );
    eprintln!("{} captures, {rows} rows compared", paths.len());
    // The fixtures hold over 4,000 rows, each compared twice.
    assert!(paths.len() >= 70 && rows > 2 * 4_000, "{rows}");
}

#[test]
fn a_capture_that_fails_is_skipped_and_the_run_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.pcap");
    std::fs::write(&junk, b"this is not a capture file at all").unwrap();
    let good = common::root().join("fixtures/py_basic.pcap");
    let out = dir.path().join("out");
    let status = parquet(&out, &[], &[], &[&junk, &good]);
    assert_eq!(status, Some(2), "a capture failed");
    let (_, lines) = jsonl(&[], &[], &[&good]);
    compare(&out, "py_basic.pcap", &lines);
    for t in TABLES {
        let part = part_file(&out, t, "junk.pcap");
        assert!(!part.exists(), "{}", part.display());
        // Nor a temporary file left behind.
        if let Some(d) = part.parent().filter(|d| d.is_dir()) {
            assert_eq!(std::fs::read_dir(d).unwrap().count(), 0, "{}", d.display());
        }
    }
}
