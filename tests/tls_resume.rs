//! TLS 1.2 resumption without a key log line for the resumed connection:
//! the master secret of the full handshake earlier in the same capture is
//! found by the session id the server echoes, or by the ticket the client
//! offers (recorded from Python `ssl` peers, fixtures/wss/).

use std::process::Command;

fn run(fixture: &str, keys: &str) -> Vec<serde_json::Value> {
    let dir = env!("CARGO_MANIFEST_DIR");
    let out = Command::new(env!("CARGO_BIN_EXE_wsscope"))
        .args(["dump", "--format", "jsonl", "--keylog", keys])
        .arg(format!("{dir}/fixtures/wss/{fixture}.pcap"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The key log with only the first connection's line.
fn first_line_only(fixture: &str, tmp: &tempfile::TempDir) -> String {
    let dir = env!("CARGO_MANIFEST_DIR");
    let text = std::fs::read_to_string(format!("{dir}/fixtures/wss/{fixture}.keys")).unwrap();
    let lines: Vec<&str> = text.lines().filter(|l| l.starts_with("CLIENT_RANDOM")).collect();
    assert_eq!(lines.len(), 2, "{fixture}: one line per connection expected");
    let p = tmp.path().join("first.keys");
    std::fs::write(&p, format!("{}\n", lines[0])).unwrap();
    p.to_string_lossy().into_owned()
}

#[test]
fn resumed_sessions_decrypt_with_the_earlier_master_secret() {
    for fixture in ["wss_resumed12_id", "wss_resumed12_ticket"] {
        let tmp = tempfile::tempdir().unwrap();
        let keys = first_line_only(fixture, &tmp);
        let ev = run(fixture, &keys);
        let tls: Vec<&serde_json::Value> = ev.iter().filter(|e| e["type"] == "tls").collect();
        assert_eq!(tls.len(), 2, "{fixture}");
        assert_eq!(tls[0]["decrypted"], true, "{fixture}");
        assert_eq!(tls[0]["resumed"], false, "{fixture}");
        assert_eq!(tls[1]["resumed"], true, "{fixture}");
        assert_eq!(tls[1]["decrypted"], true, "{fixture}: {}", tls[1]);
        assert!(
            tls[1]["detail"]
                .as_str()
                .unwrap_or("")
                .contains("earlier connection"),
            "{fixture}: {}",
            tls[1]
        );
        // The resumed connection's WebSocket is there: handshake and frames.
        let frames_of = |c: u64| {
            ev.iter()
                .filter(|e| e["type"] == "frame" && e["conn"] == c)
                .count()
        };
        assert!(frames_of(0) > 0 && frames_of(1) > 0, "{fixture}");
        let closes: Vec<&str> = ev
            .iter()
            .filter(|e| e["type"] == "close")
            .filter_map(|e| e["protocol"].as_str())
            .collect();
        assert_eq!(closes, ["wss", "wss"], "{fixture}");
    }
}

#[test]
fn without_the_earlier_handshake_the_resumed_one_has_no_key() {
    // The second connection alone (its own line removed): no earlier
    // session in the capture can supply the secret when the first one is
    // not decrypted either.
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("none.keys");
    std::fs::write(&p, "# empty\n").unwrap();
    let ev = run("wss_resumed12_id", &p.to_string_lossy());
    let reasons: Vec<&str> = ev
        .iter()
        .filter(|e| e["type"] == "tls")
        .filter_map(|e| e["reason"].as_str())
        .collect();
    assert_eq!(reasons, ["no-key", "no-key"]);
    assert!(!ev.iter().any(|e| e["type"] == "frame"));
}
