//! Golden tests: the JSON Lines output (`wsscope dump --format jsonl`) of
//! every fixture is pinned in `tests/golden/<fixture>.jsonl`, so any change
//! to the contract's output shows up in review. Strings longer than 256
//! characters (big payloads) are pinned by length and SHA-256 to keep the
//! files small and readable.
//!
//! The goldens are not the proof of correctness — ws_fixtures.rs (peers'
//! logs) and tshark_ws.rs (tshark) are; goldens catch unintended changes.
//! After an intended change: `WSSCOPE_BLESS=1 cargo test --test golden`,
//! then review the diff.

mod common;

use serde_json::Value;
use sha2::{Digest, Sha256};
use wsscope::output::jsonl::JsonlSink;

fn shrink(v: Value) -> Value {
    match v {
        Value::String(s) if s.len() > 256 => Value::String(format!(
            "<{} chars, sha256 {}>",
            s.len(),
            hex::encode(Sha256::digest(s.as_bytes()))
        )),
        Value::Array(a) => Value::Array(a.into_iter().map(shrink).collect()),
        Value::Object(o) => Value::Object(o.into_iter().map(|(k, v)| (k, shrink(v))).collect()),
        other => other,
    }
}

fn render(path: &std::path::Path) -> String {
    let mut sink = JsonlSink::new(Vec::new());
    let mut src = wsscope::source::file::FileSource::open(path).unwrap();
    wsscope::pipeline::analyze(&mut src, Default::default(), &mut sink).unwrap();
    sink.flush().unwrap();
    let raw = String::from_utf8(sink.into_inner()).unwrap();
    let mut out = String::new();
    for line in raw.lines() {
        // Every line must be a JSON object with "type" and "ts" (the contract).
        let v: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        assert!(
            v["type"].is_string() && v["ts"].is_number(),
            "missing type/ts: {line}"
        );
        // Keep the exact timestamp text (serde_json would round it).
        let ts = line
            .split("\"ts\":")
            .nth(1)
            .and_then(|r| r.split([',', '}']).next())
            .unwrap();
        let mut o = shrink(v);
        o["ts"] = Value::String(ts.to_string());
        out.push_str(&serde_json::to_string(&o).unwrap());
        out.push('\n');
    }
    out
}

#[test]
fn jsonl_output_of_every_fixture_is_pinned() {
    let bless = std::env::var_os("WSSCOPE_BLESS").is_some();
    let mut mismatched = Vec::new();
    let fixtures = common::fixtures();
    assert!(fixtures.len() >= 20);
    for path in fixtures {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let golden = common::root().join("tests/golden").join(format!("{name}.jsonl"));
        let got = render(&path);
        if bless {
            std::fs::write(&golden, &got).unwrap();
            continue;
        }
        let want = std::fs::read_to_string(&golden)
            .unwrap_or_else(|_| panic!("no golden for {name}: run WSSCOPE_BLESS=1 cargo test --test golden"));
        if got != want {
            let line = got
                .lines()
                .zip(want.lines())
                .position(|(a, b)| a != b)
                .unwrap_or(got.lines().count().min(want.lines().count()));
            mismatched.push(format!(
                "{name}: first difference at line {}:\n  got:  {}\n  want: {}",
                line + 1,
                got.lines().nth(line).unwrap_or("<end>"),
                want.lines().nth(line).unwrap_or("<end>")
            ));
        }
    }
    assert!(mismatched.is_empty(), "{}", mismatched.join("\n"));
}
