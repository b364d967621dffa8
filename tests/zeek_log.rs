//! `dump --format zeek` on every fixture: the log follows Zeek's ASCII log
//! format (header lines in order, `#fields`/`#types` as wide as every row,
//! every value parses as its type, nothing raw that Zeek would escape), its
//! first columns are Zeek's websocket.log's, and its rows are the capture's
//! WebSocket sessions as `dump --format jsonl` reports them: one per
//! handshake record plus one per WebSocket picked up without one, with the
//! handshake's values and the session's close-record counters.

mod common;

use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Zeek's `base/protocols/websocket/main.zeek`: the logged fields and types.
const ZEEK_FIELDS: [(&str, &str); 13] = [
    ("ts", "time"),
    ("uid", "string"),
    ("id.orig_h", "addr"),
    ("id.orig_p", "port"),
    ("id.resp_h", "addr"),
    ("id.resp_p", "port"),
    ("host", "string"),
    ("uri", "string"),
    ("user_agent", "string"),
    ("subprotocol", "string"),
    ("client_protocols", "vector[string]"),
    ("server_extensions", "vector[string]"),
    ("client_extensions", "vector[string]"),
];

fn run(args: &[&str], cap: &Path, keys: Option<&Path>) -> (Option<i32>, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_wsscope"));
    cmd.args(args);
    if let Some(k) = keys {
        cmd.arg("--keylog").arg(k);
    }
    let out = cmd
        .arg(cap)
        .env_remove("SSLKEYLOGFILE")
        .env("TZ", "UTC")
        .output()
        .expect("run wsscope");
    (
        out.status.code(),
        String::from_utf8(out.stdout).expect("UTF-8 output"),
    )
}

/// Every fixture capture, and the wss:// ones again with their key logs.
fn captures() -> Vec<(PathBuf, Option<PathBuf>)> {
    let root = common::root().join("fixtures");
    let mut caps = common::fixtures();
    for dir in ["hostile", "wss", "apps", "h2"] {
        caps.extend(common::captures_in(&root.join(dir)));
    }
    let mut out = Vec::new();
    for cap in caps {
        let keys = cap.with_extension("keys");
        out.push((cap.clone(), None));
        if keys.is_file() {
            out.push((cap, Some(keys)));
        }
    }
    out
}

/// A Zeek ASCII value unescaped (`\xNN` → the byte); `None` for `-`.
fn unescape(v: &str) -> Option<String> {
    if v == "-" {
        return None;
    }
    if v == "(empty)" {
        return Some(String::new());
    }
    let b = v.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' {
            assert!(
                b.len() >= i + 4 && b[i + 1] == b'x',
                "a backslash that is not a \\xNN escape: {v:?}"
            );
            let hex = std::str::from_utf8(&b[i + 2..i + 4]).unwrap();
            out.push(u8::from_str_radix(hex, 16).unwrap_or_else(|_| panic!("bad escape in {v:?}")));
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    Some(String::from_utf8(out).expect("escaped UTF-8"))
}

/// A vector value: `None` unset, else its elements (the separator `,`
/// splits; an element's own commas are escaped).
fn vector(v: &str) -> Option<Vec<String>> {
    match v {
        "-" => None,
        "(empty)" => Some(Vec::new()),
        v => Some(v.split(',').map(|e| unescape(e).unwrap_or_default()).collect()),
    }
}

fn is_decimal(v: &str) -> bool {
    let v = v.strip_prefix('-').unwrap_or(v);
    let mut parts = v.split('.');
    let (Some(a), Some(b), None) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    !a.is_empty() && !b.is_empty() && a.bytes().chain(b.bytes()).all(|c| c.is_ascii_digit())
}

/// Checks `v` as a value of Zeek type `ty`.
fn check_value(ty: &str, v: &str, what: &str) {
    if v == "-" {
        return;
    }
    let ok = match ty {
        "time" | "interval" | "double" => is_decimal(v),
        "count" => v.parse::<u64>().is_ok(),
        "int" => v.parse::<i64>().is_ok(),
        "port" => v.parse::<u16>().is_ok(),
        "addr" => v.parse::<IpAddr>().is_ok(),
        "bool" => v == "T" || v == "F",
        "string" | "enum" => unescape(v).is_some(),
        t if t.starts_with("vector[") || t.starts_with("set[") => {
            let inner = &t[t.find('[').unwrap() + 1..t.len() - 1];
            if v != "(empty)" {
                for e in v.split(',') {
                    check_value(inner, e, what);
                }
            }
            true
        }
        other => panic!("{what}: unknown Zeek type {other}"),
    };
    assert!(ok, "{what}: {v:?} is not a Zeek {ty}");
}

/// A row of the log: field name → raw value.
type Row = HashMap<String, String>;

/// The log's rows, after checking the format.
fn parse_log(log: &str, what: &str) -> Vec<Row> {
    let lines: Vec<&str> = log.lines().collect();
    assert!(lines.len() >= 9, "{what}: {log}");
    let fixed = [
        "#separator \\x09",
        "#set_separator\t,",
        "#empty_field\t(empty)",
        "#unset_field\t-",
        "#path\twebsocket",
    ];
    assert_eq!(&lines[..5], fixed, "{what}: header");
    let stamp = |l: &str, tag: &str| {
        let t = l
            .strip_prefix(tag)
            .unwrap_or_else(|| panic!("{what}: {l:?} is not {tag}"));
        let shape: String = t
            .chars()
            .map(|c| if c.is_ascii_digit() { 'd' } else { c })
            .collect();
        assert_eq!(shape, "dddd-dd-dd-dd-dd-dd", "{what}: {l:?}");
    };
    stamp(lines[5], "#open\t");
    stamp(lines[lines.len() - 1], "#close\t");
    let fields: Vec<&str> = lines[6]
        .strip_prefix("#fields\t")
        .expect("#fields")
        .split('\t')
        .collect();
    let types: Vec<&str> = lines[7]
        .strip_prefix("#types\t")
        .expect("#types")
        .split('\t')
        .collect();
    assert_eq!(fields.len(), types.len(), "{what}: #fields and #types");
    let zeek: Vec<(&str, &str)> = fields
        .iter()
        .copied()
        .zip(types.iter().copied())
        .take(13)
        .collect();
    assert_eq!(zeek, ZEEK_FIELDS, "{what}: Zeek's own columns first");
    let mut rows = Vec::new();
    for line in &lines[8..lines.len() - 1] {
        assert!(!line.starts_with('#'), "{what}: a # line among the rows: {line}");
        assert!(
            line.bytes().all(|b| b == b'\t' || (b >= 0x20 && b != 0x7f)),
            "{what}: a raw control byte in {line:?}"
        );
        let vals: Vec<&str> = line.split('\t').collect();
        assert_eq!(vals.len(), fields.len(), "{what}: columns of {line}");
        let mut row = HashMap::new();
        for ((f, ty), v) in fields.iter().zip(&types).zip(&vals) {
            check_value(ty, v, &format!("{what} {f}"));
            row.insert(f.to_string(), v.to_string());
        }
        for f in ["ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p"] {
            assert_ne!(row[f], "-", "{what}: {f} unset in {line}");
        }
        rows.push(row);
    }
    rows
}

fn s(v: &Value) -> Option<String> {
    v.as_str().map(str::to_string)
}

fn num(v: &str) -> Option<f64> {
    (v != "-").then(|| v.parse().unwrap())
}

/// The value `dump --format jsonl` gave, as the log writes a count.
fn count(v: &Value) -> String {
    v.as_u64().map_or("-".to_string(), |n| n.to_string())
}

fn close_enough(a: Option<f64>, b: Option<f64>, what: &str) {
    match (a, b) {
        (Some(a), Some(b)) => assert!((a - b).abs() < 1.5e-6, "{what}: {a} vs {b}"),
        (a, b) => assert_eq!(a.is_some(), b.is_some(), "{what}"),
    }
}

/// The counters of the session's close record `c` equal the row's.
fn check_counters(row: &Row, c: &Value, what: &str) {
    for dir in ["c2s", "s2c"] {
        let d = &c[dir];
        assert_eq!(
            row[&format!("frames_{dir}")],
            count(&d["frames"]),
            "{what} frames_{dir}"
        );
        assert_eq!(
            row[&format!("messages_{dir}")],
            count(&d["messages"]),
            "{what} messages_{dir}"
        );
        assert_eq!(
            row[&format!("bytes_{dir}")],
            count(&d["stream_bytes"]),
            "{what} bytes_{dir}"
        );
        assert_eq!(
            row[&format!("close_code_{dir}")],
            count(&d["close_code"]),
            "{what} close_code_{dir}"
        );
    }
    assert_eq!(
        unescape(&row["close_first"]),
        s(&c["close_first"]),
        "{what} close_first"
    );
    assert_eq!(row["violations"], count(&c["violations"]), "{what} violations");
    assert_eq!(unescape(&row["end"]), s(&c["end"]), "{what} end");
    close_enough(
        num(&row["rtt_median"]),
        c["rtt_median"].as_f64(),
        &format!("{what} rtt_median"),
    );
    close_enough(
        num(&row["duration"]),
        c["duration"].as_f64(),
        &format!("{what} duration"),
    );
}

/// `a, b` as Zeek splits a header list (` *, *`), to compare with a vector.
fn zeek_split(v: &str) -> Vec<String> {
    let re = regex::Regex::new(" *, *").unwrap();
    re.split(v).map(str::to_string).collect()
}

/// Checks one capture's log against its JSON Lines; returns the rows checked.
fn check_capture(cap: &Path, keys: Option<&Path>) -> usize {
    let what = format!("{}{}", cap.display(), if keys.is_some() { " (keys)" } else { "" });
    let (code, log) = run(&["dump", "--format", "zeek"], cap, keys);
    let (jcode, jsonl) = run(&["dump", "--format", "jsonl", "--payload", "none"], cap, keys);
    assert_eq!(code, jcode, "{what}: exit status");
    let rows = parse_log(&log, &what);
    let recs: Vec<Value> = jsonl.lines().map(|l| serde_json::from_str(l).unwrap()).collect();

    let mut ends: HashMap<u64, (String, String, String)> = HashMap::new();
    let mut handshakes: BTreeMap<(u64, Option<u64>), Vec<&Value>> = BTreeMap::new();
    let mut closes: HashMap<(u64, Option<u64>), &Value> = HashMap::new();
    for r in &recs {
        let conn = r["conn"].as_u64().unwrap_or(u64::MAX);
        match r["type"].as_str() {
            Some("connection") => {
                let cid = s(&r["community_id"]).expect("community_id");
                ends.insert(conn, (s(&r["client"]).unwrap(), s(&r["server"]).unwrap(), cid));
            }
            Some("handshake") => handshakes
                .entry((conn, r["stream"].as_u64()))
                .or_default()
                .push(r),
            Some("close") => {
                closes.insert((conn, r["stream"].as_u64()), r);
            }
            _ => {}
        }
    }
    // The sessions the log must have: each handshake, and each WebSocket
    // connection without any.
    let mut want: BTreeMap<(u64, Option<u64>), Vec<Option<&Value>>> = handshakes
        .iter()
        .map(|(k, v)| (*k, v.iter().map(|h| Some(*h)).collect()))
        .collect();
    for ((conn, stream), c) in &closes {
        let ws = matches!(c["protocol"].as_str(), Some("websocket" | "wss"));
        if stream.is_none() && ws && !handshakes.keys().any(|(hc, _)| hc == conn) {
            want.insert((*conn, None), vec![None]);
        }
    }
    // The log's rows by endpoints and stream, in order.
    let mut got: HashMap<(String, String, Option<u64>), Vec<&Row>> = HashMap::new();
    for row in &rows {
        let ep =
            |h: &str, p: &str| SocketAddr::new(row[h].parse().unwrap(), row[p].parse().unwrap()).to_string();
        let key = (
            ep("id.orig_h", "id.orig_p"),
            ep("id.resp_h", "id.resp_p"),
            num(&row["stream"]).map(|n| n as u64),
        );
        got.entry(key).or_default().push(row);
    }
    let total: usize = want.values().map(Vec::len).sum();
    assert_eq!(
        rows.len(),
        total,
        "{what}: rows against handshakes (+ handshake-less WebSockets)"
    );
    for ((conn, stream), sessions) in &want {
        let (client, server, cid) = ends
            .get(conn)
            .unwrap_or_else(|| panic!("{what}: no connection record of {conn}"));
        let key = (client.clone(), server.clone(), *stream);
        let rows = got
            .get(&key)
            .unwrap_or_else(|| panic!("{what}: no row for {key:?}"));
        assert_eq!(rows.len(), sessions.len(), "{what}: rows of {key:?}");
        let close = closes.get(&(*conn, *stream));
        for (i, (row, h)) in rows.iter().zip(sessions).enumerate() {
            let what = format!("{what} conn {conn} stream {stream:?} #{i}");
            assert_eq!(unescape(&row["community_id"]).as_ref(), Some(cid), "{what}");
            match h {
                Some(h) => {
                    assert_eq!(unescape(&row["host"]), s(&h["host"]), "{what} host");
                    assert_eq!(unescape(&row["uri"]), s(&h["path"]), "{what} uri");
                    assert_eq!(
                        unescape(&row["subprotocol"]),
                        s(&h["server_subprotocol"]),
                        "{what} subprotocol"
                    );
                    let offered: Vec<String> = h["client_subprotocols"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .filter_map(s)
                        .collect();
                    let offered = Some(offered).filter(|v| !v.is_empty());
                    assert_eq!(
                        vector(&row["client_protocols"]),
                        offered,
                        "{what} client_protocols"
                    );
                    for side in ["client_extensions", "server_extensions"] {
                        // An empty header splits into one empty element,
                        // which Zeek's writer writes `(empty)`, as an empty
                        // vector (Zeek's own ambiguity).
                        let v = s(&h[side])
                            .map(|v| zeek_split(&v))
                            .map(|v| if v == [""] { Vec::new() } else { v });
                        assert_eq!(vector(&row[side]), v, "{what} {side}");
                    }
                    let ua = h["request_headers"].as_array().unwrap().iter().find_map(|p| {
                        let n = p[0].as_str()?;
                        n.eq_ignore_ascii_case("user-agent").then(|| s(&p[1])).flatten()
                    });
                    assert_eq!(unescape(&row["user_agent"]), ua, "{what} user_agent");
                    assert_eq!(row["status"], count(&h["status"]), "{what} status");
                    let at = h["response_ts"].as_f64().or(h["ts"].as_f64());
                    close_enough(num(&row["ts"]), at, &format!("{what} ts"));
                }
                None => {
                    for f in ["host", "uri", "user_agent", "subprotocol", "client_protocols"] {
                        assert_eq!(row[f], "-", "{what} {f}");
                    }
                }
            }
            // The session (the last handshake of its connection or stream)
            // carries the close record's counters.
            match close {
                Some(c) if i + 1 == rows.len() => check_counters(row, c, &what),
                _ => assert_eq!(row["frames_c2s"], "-", "{what}: counters on an earlier handshake"),
            }
        }
    }
    rows.len()
}

#[test]
fn zeek_log_of_every_fixture_is_well_formed_and_has_its_sessions() {
    let caps = captures();
    let mut rows = 0;
    for (cap, keys) in &caps {
        rows += check_capture(cap, keys.as_deref());
    }
    eprintln!("{} captures, {rows} rows checked", caps.len());
    assert!(
        caps.len() > 60 && rows > 60,
        "{} captures, {rows} rows",
        caps.len()
    );
}

/// The same on the shared corpus: other tools' captures, other peers'
/// header values (and their keep-alive, mid-stream and HTTP/2 shapes).
#[test]
#[ignore = "needs ../shared/corpus"]
fn zeek_log_of_the_corpus_is_well_formed_and_has_its_sessions() {
    let caps = common::corpus();
    let mut rows = 0;
    for cap in &caps {
        rows += check_capture(cap, None);
    }
    eprintln!("{} corpus captures, {rows} rows checked", caps.len());
    assert!(rows > 0);
}
