//! Live capture end to end (feature `live`): `wsscope dump -i lo` watches a
//! real Python `websockets` exchange on loopback, then the `-w` file read
//! back offline must give the same JSON Lines.
//!
//! Needs CAP_NET_RAW (root in CI), python3 with `websockets`, and the `live`
//! feature: `.ci/run` runs it with `cargo test --features live -- --ignored`.
#![cfg(feature = "live")]

mod common;

use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn wait_for_line(r: &mut impl BufRead, needle: &str, timeout: Duration) -> String {
    let start = Instant::now();
    let mut line = String::new();
    while start.elapsed() < timeout {
        line.clear();
        if r.read_line(&mut line).unwrap_or(0) == 0 {
            break;
        }
        if line.contains(needle) {
            return line;
        }
    }
    panic!("wsscope never said `{needle}` (last: {line:?})");
}

/// Runs the exchange while `wsscope dump -i lo` captures; returns (live
/// JSON Lines, what the client sent, the -w file, wsscope's stderr).
fn capture_exchange(count: u32) -> (Vec<Value>, Vec<Value>, tempfile::TempDir, String) {
    capture_exchange_with(count, &["dump", "--format", "jsonl"])
}

/// Like [`capture_exchange`], running `wsscope CMD... -i lo ...`.
fn capture_exchange_with(count: u32, cmd: &[&str]) -> (Vec<Value>, Vec<Value>, tempfile::TempDir, String) {
    let port = free_port();
    let dir = tempfile::tempdir().unwrap();
    let saved = dir.path().join("live.pcap");
    let mut ws = Command::new(env!("CARGO_BIN_EXE_wsscope"))
        .args(cmd)
        .args([
            "-i",
            "lo",
            "-f",
            &format!("tcp port {port}"),
            "--duration",
            "60",
            "-w",
        ])
        .arg(&saved)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = BufReader::new(ws.stderr.take().unwrap());
    wait_for_line(&mut err, "capturing on lo", Duration::from_secs(20));
    let peer = Command::new("python3")
        .arg(common::root().join("tests/peers/live_exchange.py"))
        .arg(port.to_string())
        .arg(count.to_string())
        .output()
        .unwrap();
    assert!(
        peer.status.success(),
        "peer failed: {}",
        String::from_utf8_lossy(&peer.stderr)
    );
    // Give libpcap a moment to hand over the last packets (it flushes every
    // 50 ms read timeout), then stop the capture like a user would: Ctrl-C.
    std::thread::sleep(Duration::from_millis(500));
    unsafe_free_kill(ws.id(), "INT");
    let out = ws.wait_with_output().unwrap();
    let mut rest = String::new();
    let _ = std::io::Read::read_to_string(&mut err, &mut rest);
    assert!(
        out.status.success(),
        "wsscope exited with {:?}: {rest}",
        out.status
    );
    let live: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let sent: Vec<Value> = String::from_utf8(peer.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (live, sent, dir, rest)
}

/// Sends a signal with the `kill` command (no unsafe, no extra crate).
fn unsafe_free_kill(pid: u32, sig: &str) {
    let st = Command::new("kill")
        .args([&format!("-{sig}"), &pid.to_string()])
        .status()
        .unwrap();
    assert!(st.success());
}

#[test]
#[ignore = "needs CAP_NET_RAW, libpcap and python3 websockets (run by .ci/run)"]
fn live_dump_reports_the_messages_sent_and_matches_the_saved_capture() {
    let (live, sent, dir, stderr) = capture_exchange(1);
    // Clean stop: a summary with packets seen and dropped.
    assert!(
        stderr.contains("packets captured on lo") && stderr.contains("0 dropped"),
        "{stderr}"
    );

    let hs: Vec<&Value> = live.iter().filter(|v| v["type"] == "handshake").collect();
    assert_eq!(hs.len(), 1, "one handshake");
    assert_eq!(hs[0]["accept_ok"], true, "accept verified");
    assert_eq!(hs[0]["status"], 101);
    let msgs: Vec<&Value> = live
        .iter()
        .filter(|v| v["type"] == "message" && v["dir"] == "c2s")
        .collect();
    assert_eq!(msgs.len(), sent.len(), "message count");
    for (m, s) in msgs.iter().zip(&sent) {
        if s["opcode"] == "text" {
            assert_eq!(m["text"], s["text"]);
        } else {
            assert_eq!(m["data_hex"], s["data_hex"]);
        }
    }
    assert!(
        msgs.iter().any(|m| m["compressed"] == true),
        "the compressible message was deflated on the wire"
    );
    assert!(
        msgs.iter().any(|m| m["frames"].as_u64().unwrap() > 1),
        "the fragmented message took several frames"
    );

    // The -w file, read back offline, gives the same JSON Lines.
    let offline = Command::new(env!("CARGO_BIN_EXE_wsscope"))
        .args(["dump", "--format", "jsonl"])
        .arg(dir.path().join("live.pcap"))
        .output()
        .unwrap();
    assert!(offline.status.success());
    let offline: Vec<Value> = String::from_utf8(offline.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        offline, live,
        "offline reading of the -w file differs from the live output"
    );
}

#[test]
#[ignore = "needs CAP_NET_RAW and libpcap (run by .ci/run)"]
fn live_errors_say_what_to_do() {
    let out = Command::new(env!("CARGO_BIN_EXE_wsscope"))
        .args(["dump", "-i", "nosuch9"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no such interface") && err.contains("--list-interfaces") && err.contains("lo"),
        "{err}"
    );

    let out = Command::new(env!("CARGO_BIN_EXE_wsscope"))
        .args(["dump", "-i", "lo", "-f", "tcp port banana"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot use filter `tcp port banana`"), "{err}");

    let out = Command::new(env!("CARGO_BIN_EXE_wsscope"))
        .arg("-D")
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .any(|l| l.starts_with("lo"))
    );

    let out = Command::new(env!("CARGO_BIN_EXE_wsscope"))
        .args(["dump", "-i", "lo", "-c", "1", "-f", "tcp port 9"])
        .arg("--duration")
        .arg("0.5")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "--duration stops by itself: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
#[ignore = "needs CAP_NET_RAW, libpcap and python3 websockets (run by .ci/run)"]
fn live_export_selects_as_it_captures() {
    let (records, sent, _dir, _) = capture_exchange_with(
        2,
        &["export", "--format", "jsonl", "--dir", "c2s", "--opcode", "text"],
    );
    let texts: Vec<&Value> = records.iter().filter(|v| v["type"] == "message").collect();
    let want: Vec<&Value> = sent.iter().filter(|v| v["opcode"] == "text").collect();
    assert_eq!(
        texts.len(),
        want.len(),
        "only the client's text messages are selected"
    );
    for (m, w) in texts.iter().zip(&want) {
        assert_eq!((&m["dir"], &m["text"]), (&Value::from("c2s"), &w["text"]));
    }
    assert!(records.iter().all(|v| v["type"] != "frame" || v["opcode"] == 1));
}
