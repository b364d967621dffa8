//! `wsscope export --format har` on real captures: the document parses,
//! has the HAR 1.2 structure (and, with Python's `jsonschema`, validates
//! against `tests/har/har-1.2.schema.json`), and holds every message of the
//! selection — direction, opcode, bytes, order — as `export --format jsonl`
//! of the same capture reports it and as the peers' sidecars say they sent.

use serde_json::Value;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use base64::Engine;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// (capture, key log) of the fixtures the brief names.
fn captures() -> Vec<(PathBuf, Option<PathBuf>)> {
    let f = root().join("fixtures");
    vec![
        (f.join("py_basic.pcap"), None),
        (f.join("deflate_takeover.pcap"), None),
        (f.join("sizes.pcap"), None),
        (f.join("wss/wss_node.pcap"), Some(f.join("wss/wss_node.keys"))),
    ]
}

fn run(cap: &Path, keys: Option<&Path>, extra: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_wsscope"));
    cmd.arg("export").arg(cap).args(extra).env_remove("SSLKEYLOGFILE");
    if let Some(k) = keys {
        cmd.arg("--keylog").arg(k);
    }
    cmd.output().expect("run wsscope")
}

fn har(cap: &Path, keys: Option<&Path>, extra: &[&str]) -> Value {
    let mut args = vec!["--format", "har"];
    args.extend_from_slice(extra);
    let out = run(cap, keys, &args);
    assert!(
        out.status.success(),
        "{}: {}",
        cap.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{}: not JSON: {e}", cap.display()))
}

/// A message as both paths can say it: connection, `send`/`receive`,
/// opcode, bytes.
type Msg = (u64, String, u64, Vec<u8>);

/// The messages of a HAR, entry by entry.
fn har_messages(v: &Value) -> Vec<Msg> {
    let mut all = Vec::new();
    for e in v["log"]["entries"].as_array().expect("entries") {
        let conn = e["_wsscopeConn"].as_u64().expect("_wsscopeConn");
        for m in e["_webSocketMessages"].as_array().expect("_webSocketMessages") {
            let opcode = m["opcode"].as_u64().expect("opcode");
            let data = m["data"].as_str().expect("data");
            let bytes = if opcode == 1 && m.get("_wsscopeEncoding").is_none() {
                data.as_bytes().to_vec()
            } else {
                base64::engine::general_purpose::STANDARD
                    .decode(data)
                    .expect("base64 data")
            };
            all.push((conn, m["type"].as_str().expect("type").to_string(), opcode, bytes));
        }
    }
    all
}

/// The messages `export --format jsonl` reports, grouped by connection in
/// the order the HAR's entries come (each connection's messages in order).
fn jsonl_messages(cap: &Path, keys: Option<&Path>, extra: &[&str], order: &[u64]) -> Vec<Msg> {
    let mut args = vec!["--format", "jsonl"];
    args.extend_from_slice(extra);
    let out = run(cap, keys, &args);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let mut msgs: Vec<Msg> = Vec::new();
    for line in String::from_utf8(out.stdout).expect("utf-8").lines() {
        let v: Value = serde_json::from_str(line).expect("a JSON line");
        if v["type"] != "message" {
            continue;
        }
        let bytes = match (v["text"].as_str(), v["data_hex"].as_str()) {
            (Some(t), _) => t.as_bytes().to_vec(),
            (None, Some(h)) => hex::decode(h).expect("hex"),
            _ => panic!("a message without payload: {v}"),
        };
        let kind = if v["dir"] == "c2s" { "send" } else { "receive" };
        msgs.push((
            v["conn"].as_u64().expect("conn"),
            kind.to_string(),
            v["opcode"].as_u64().expect("opcode"),
            bytes,
        ));
    }
    let mut grouped = Vec::new();
    for c in order {
        grouped.extend(msgs.iter().filter(|m| m.0 == *c).cloned());
    }
    assert_eq!(
        grouped.len(),
        msgs.len(),
        "a connection with messages has no HAR entry"
    );
    grouped
}

fn entry_order(v: &Value) -> Vec<u64> {
    v["log"]["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| e["_wsscopeConn"].as_u64().expect("_wsscopeConn"))
        .collect()
}

/// A payload as a sidecar records it: the bytes, or for payloads over 4 KiB
/// their length and SHA-256.
type Sent = Result<Vec<u8>, (u64, String)>;

/// What the peers sent in one direction (data messages only), with opcodes.
fn sent(cap: &Path, dir: &str) -> Vec<(u64, Sent)> {
    let side = cap.with_extension("sent.jsonl");
    let text = std::fs::read_to_string(&side).expect("sidecar");
    text.lines()
        .map(|l| serde_json::from_str::<Value>(l).expect("sidecar line"))
        .filter(|v| v["dir"] == dir && (v["opcode"] == "text" || v["opcode"] == "binary"))
        .map(|v| {
            let opcode = if v["opcode"] == "text" { 1 } else { 2 };
            let payload = match (v["text"].as_str(), v["data_hex"].as_str()) {
                (Some(t), _) => Ok(t.as_bytes().to_vec()),
                (None, Some(h)) => Ok(hex::decode(h).expect("hex")),
                _ => Err((
                    v["len"].as_u64().expect("len"),
                    v["sha256"].as_str().expect("sha256").to_string(),
                )),
            };
            (opcode, payload)
        })
        .collect()
}

/// The structure HAR 1.2 requires of what wsscope writes, checked without
/// Python (the schema test checks it all, with it).
fn check_structure(v: &Value, tls: bool) {
    let log = &v["log"];
    assert_eq!(log["version"], "1.2");
    assert_eq!(log["creator"]["name"], "wsscope");
    assert_eq!(log["creator"]["version"], env!("CARGO_PKG_VERSION"));
    let entries = log["entries"].as_array().expect("entries");
    assert!(!entries.is_empty());
    for e in entries {
        let started = e["startedDateTime"].as_str().expect("startedDateTime");
        // YYYY-MM-DDThh:mm:ss.ffffff+00:00
        assert_eq!(started.len(), 32, "{started}");
        assert_eq!(started.get(10..11), Some("T"), "{started}");
        assert!(started.ends_with("+00:00"), "{started}");
        assert!(e["time"].as_f64().expect("time") >= 0.0);
        let req = &e["request"];
        assert_eq!(req["method"], "GET");
        let url = req["url"].as_str().expect("url");
        let scheme = if tls { "wss://" } else { "ws://" };
        assert!(url.starts_with(scheme), "{url}");
        assert_eq!(req["httpVersion"], "HTTP/1.1");
        let headers = req["headers"].as_array().expect("headers");
        assert!(
            headers
                .iter()
                .all(|h| h["name"].is_string() && h["value"].is_string())
        );
        // The Host header is the URL's authority; the path follows it.
        let host = headers
            .iter()
            .find(|h| h["name"].as_str().is_some_and(|n| n.eq_ignore_ascii_case("host")))
            .and_then(|h| h["value"].as_str())
            .expect("a Host header");
        assert!(url.starts_with(&format!("{scheme}{host}/")), "{url} vs {host}");
        for k in ["queryString", "cookies"] {
            assert!(req[k].is_array(), "{k}");
        }
        assert!(req["headersSize"].is_i64() && req["bodySize"].is_i64());
        let resp = &e["response"];
        assert_eq!(resp["status"], 101);
        assert_eq!(resp["statusText"], "Switching Protocols");
        assert!(resp["headers"].as_array().expect("headers").iter().any(|h| {
            h["name"]
                .as_str()
                .is_some_and(|n| n.eq_ignore_ascii_case("sec-websocket-accept"))
        }));
        assert!(resp["cookies"].is_array() && resp["redirectURL"].is_string());
        assert!(resp["content"]["size"].is_i64() && resp["content"]["mimeType"].is_string());
        assert!(e["cache"].is_object());
        let t = &e["timings"];
        for k in ["blocked", "dns", "connect"] {
            assert_eq!(t[k], -1, "{k}");
        }
        for k in ["send", "wait", "receive"] {
            assert!(t[k].as_f64().expect(k) >= 0.0, "{k}");
        }
        assert_eq!(e["_resourceType"], "websocket");
        // Only `_` custom fields beside the spec's.
        let spec = [
            "pageref",
            "startedDateTime",
            "time",
            "request",
            "response",
            "cache",
            "timings",
            "serverIPAddress",
            "connection",
            "comment",
        ];
        let obj = e.as_object().expect("entry object");
        for k in obj.keys() {
            assert!(spec.contains(&k.as_str()) || k.starts_with('_'), "{k}");
        }
        for m in e["_webSocketMessages"].as_array().expect("_webSocketMessages") {
            assert!(m["type"] == "send" || m["type"] == "receive", "{m}");
            assert!(m["opcode"] == 1 || m["opcode"] == 2, "{m}");
            let time = m["time"].as_f64().expect("time");
            assert!(time > 1.0e9, "seconds since the epoch: {time}");
            assert!(m["data"].is_string());
        }
    }
}

#[test]
fn har_of_fixtures_holds_what_jsonl_and_the_peers_say() {
    for (cap, keys) in captures() {
        let v = har(&cap, keys.as_deref(), &[]);
        check_structure(&v, keys.is_some());
        let got = har_messages(&v);
        let want = jsonl_messages(&cap, keys.as_deref(), &[], &entry_order(&v));
        assert!(!got.is_empty(), "{}", cap.display());
        assert_eq!(got, want, "{}: HAR vs export --format jsonl", cap.display());
        // Against what the peers sent, per direction (the sidecar interleaves
        // the directions only approximately).
        for (dir, kind) in [("c2s", "send"), ("s2c", "receive")] {
            let mine: Vec<(u64, &Vec<u8>)> =
                got.iter().filter(|m| m.1 == kind).map(|m| (m.2, &m.3)).collect();
            let theirs = sent(&cap, dir);
            assert_eq!(mine.len(), theirs.len(), "{} {dir}", cap.display());
            for (i, ((op, bytes), (sop, payload))) in mine.iter().zip(&theirs).enumerate() {
                assert_eq!(op, sop, "{} {dir} message {i}: opcode", cap.display());
                match payload {
                    Ok(p) => assert_eq!(*bytes, p, "{} {dir} message {i}", cap.display()),
                    Err((len, sha)) => {
                        assert_eq!(bytes.len() as u64, *len, "{} {dir} message {i}", cap.display());
                        assert_eq!(
                            &hex::encode(Sha256::digest(bytes)),
                            sha,
                            "{} {dir} {i}",
                            cap.display()
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn compressed_messages_are_inflated_and_binary_is_base64() {
    let f = root().join("fixtures");
    let v = har(&f.join("deflate_takeover.pcap"), None, &[]);
    let e = &v["log"]["entries"][0];
    let ext = e["response"]["headers"]
        .as_array()
        .expect("headers")
        .iter()
        .find(|h| {
            h["name"]
                .as_str()
                .is_some_and(|n| n.eq_ignore_ascii_case("sec-websocket-extensions"))
        })
        .and_then(|h| h["value"].as_str())
        .unwrap_or_default()
        .to_string();
    assert!(ext.contains("permessage-deflate"), "{ext}");
    let first = &e["_webSocketMessages"][0];
    assert_eq!(first["opcode"], 1);
    assert!(
        first["data"]
            .as_str()
            .is_some_and(|d| d.starts_with("{\"type\":\"update\"")),
        "{first}"
    );
    // sizes: the binary payloads decode to the bytes sent (the sidecar's
    // first c2s line is an empty binary message).
    let v = har(&f.join("sizes.pcap"), None, &[]);
    let m = &v["log"]["entries"][0]["_webSocketMessages"];
    assert_eq!(m[0]["opcode"], 2);
    assert_eq!(m[0]["data"], "");
}

#[test]
fn the_selection_picks_entries_and_messages() {
    let cap = root().join("fixtures/py_basic.pcap");
    let sel: &[&str] = &["--dir", "c2s", "--opcode", "text"];
    let v = har(&cap, None, sel);
    let got = har_messages(&v);
    assert!(!got.is_empty());
    assert!(got.iter().all(|m| m.1 == "send" && m.2 == 1), "{got:?}");
    assert_eq!(got, jsonl_messages(&cap, None, sel, &entry_order(&v)));
    let v = har(&cap, None, &["--select", "wsscope"]);
    let got = har_messages(&v);
    assert!(
        !got.is_empty()
            && got
                .iter()
                .all(|m| String::from_utf8_lossy(&m.3).contains("wsscope"))
    );
    // Nothing selected: an empty log, and exit status 1 (as for jsonl).
    let out = run(&cap, None, &["--format", "har", "--conn", "99"]);
    assert_eq!(out.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(v["log"]["entries"], serde_json::json!([]));
}

#[test]
fn har_goes_to_a_file_with_o() {
    let cap = root().join("fixtures/py_basic.pcap");
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("out.har");
    let out = run(
        &cap,
        None,
        &["--format", "har", "-o", path.to_str().expect("utf-8")],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.stdout.is_empty());
    let from_file: Value = serde_json::from_slice(&std::fs::read(&path).expect("read")).expect("JSON");
    assert_eq!(from_file, har(&cap, None, &[]));
}

#[test]
fn flags_har_cannot_honour_are_refused_with_what_to_do() {
    let cap = root().join("fixtures/py_basic.pcap");
    for (flags, says) in [
        (&["--frames"][..], "--frames"),
        (&["--wire"][..], "--wire"),
        (&["--opcode", "ping"][..], "control frames"),
        (&["--select", "op:text,close"][..], "control frames"),
        (&["--out-dir", "/tmp/never"][..], "-o FILE"),
    ] {
        let mut args = vec!["--format", "har"];
        args.extend_from_slice(flags);
        let out = run(&cap, None, &args);
        assert_eq!(out.status.code(), Some(2), "{flags:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(says), "{flags:?}: {err}");
    }
}

/// Validates with Python's `jsonschema` (Draft 7) against the schema in
/// `tests/har/`; a deliberately broken copy must fail, so a validator that
/// accepts anything cannot pass this test.
#[test]
#[ignore = "needs python3 jsonschema (run by .ci/run)"]
fn har_of_fixtures_validates_against_the_har_1_2_schema() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut files = Vec::new();
    for (i, (cap, keys)) in captures().into_iter().enumerate() {
        let v = har(&cap, keys.as_deref(), &[]);
        let p = dir.path().join(format!("{i}.har"));
        std::fs::write(&p, serde_json::to_vec(&v).expect("json")).expect("write");
        files.push(p);
        if i == 0 {
            let mut broken = v.clone();
            if let Some(r) = broken["log"]["entries"][0]["response"].as_object_mut() {
                r.remove("status");
            }
            let p = dir.path().join("broken.har");
            std::fs::write(&p, serde_json::to_vec(&broken).expect("json")).expect("write");
        }
    }
    let script = r#"
import json, sys, jsonschema
schema = json.load(open(sys.argv[1]))
jsonschema.Draft7Validator.check_schema(schema)
v = jsonschema.Draft7Validator(schema)
for f in sys.argv[3:]:
    v.validate(json.load(open(f)))
errors = list(v.iter_errors(json.load(open(sys.argv[2]))))
assert errors, "the broken HAR validated: the schema checks nothing"
print("ok", len(sys.argv) - 3)
"#;
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(root().join("tests/har/har-1.2.schema.json"))
        .arg(dir.path().join("broken.har"))
        .args(&files)
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_rejected_upgrade_has_no_entry_and_a_midstream_one_says_so() {
    let f = root().join("fixtures");
    // 403: no WebSocket, no message: an empty log, status 1, and no hint
    // at --frames (which HAR refuses).
    let out = run(&f.join("rejected_403.pcap"), None, &["--format", "har"]);
    assert_eq!(out.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(v["log"]["entries"], serde_json::json!([]));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no messages to export") && !err.contains("--frames"),
        "{err}"
    );
    // Picked up mid-stream: no upgrade to show, the messages still.
    let cap = f.join("midstream.pcap");
    let v = har(&cap, None, &[]);
    let e = &v["log"]["entries"][0];
    assert_eq!(e["_wsscopeHandshakeCaptured"], false);
    assert_eq!(e["response"]["status"], 0);
    assert!(
        e["request"]["url"]
            .as_str()
            .is_some_and(|u| u.starts_with("ws://"))
    );
    let got = har_messages(&v);
    assert!(!got.is_empty());
    assert_eq!(got, jsonl_messages(&cap, None, &[], &entry_order(&v)));
}

/// sizes.pcap's one entry is about 3 MB of JSON; with `--max-memory 8M`
/// the output share is 2 MiB, so the entry waits in the temporary file
/// before it is written: the document must be the same, byte for byte.
#[test]
fn an_entry_past_the_output_share_is_written_the_same() {
    let cap = root().join("fixtures/sizes.pcap");
    let whole = run(&cap, None, &["--format", "har"]);
    assert!(whole.status.success());
    assert!(whole.stdout.len() > 2 << 20, "{}", whole.stdout.len());
    let tight = run(
        &cap,
        None,
        &["--format", "har", "--max-memory", "8M", "--max-conn-memory", "8M"],
    );
    assert!(
        tight.status.success(),
        "{}",
        String::from_utf8_lossy(&tight.stderr)
    );
    assert!(whole.stdout == tight.stdout, "the spilled HAR differs");
}
