//! The selection language end to end: `dump` and `export` with `--select`
//! and the selection flags, checked against what the unfiltered JSON Lines
//! dump says the capture holds (counted here, independently of the
//! selection code).

mod common;

use serde_json::Value;
use std::process::{Command, Output};

fn wsscope(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wsscope"))
        .args(args)
        .output()
        .unwrap()
}

fn fixture(name: &str) -> String {
    common::root()
        .join("fixtures")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

/// Runs and expects success; stdout.
fn ok(args: &[&str]) -> Vec<u8> {
    let out = wsscope(args);
    assert!(
        out.status.success(),
        "{args:?}: {:?} {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn records(stdout: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect()
}

/// Every event of the capture, unselected.
fn all_events(file: &str) -> Vec<Value> {
    records(&ok(&["dump", "--format", "jsonl", file]))
}

fn is_type(v: &Value, t: &str) -> bool {
    v["type"] == t
}

/// The pcapng with two WebSocket connections, each with pings both ways.
const MULTI: &str = "pcapng_multi.pcapng";

#[test]
fn dump_expression_equals_dump_flags() {
    let f = fixture(MULTI);
    for format in ["text", "jsonl"] {
        let by_expr = ok(&["dump", "--format", format, &f, "--select", "conn:1 dir:s2c"]);
        let by_flags = ok(&["dump", "--format", format, &f, "--conn", "1", "--dir", "s2c"]);
        assert_eq!(by_expr, by_flags, "{format}");
        assert!(!by_expr.is_empty());
    }
    // What it keeps: connection 1's events that are s2c or of both sides
    // (connection, handshake, close records).
    let want: Vec<Value> = all_events(&f)
        .into_iter()
        .filter(|v| v["conn"] == 1 && (v.get("dir").is_none_or(Value::is_null) || v["dir"] == "s2c"))
        .collect();
    let got = records(&ok(&[
        "dump",
        "--format",
        "jsonl",
        &f,
        "--select",
        "conn:1 dir:s2c",
    ]));
    assert_eq!(got, want);
    for t in ["connection", "handshake", "close", "frame", "message"] {
        assert!(got.iter().any(|v| is_type(v, t)), "{t} kept");
    }
}

#[test]
fn empty_expression_is_no_selection() {
    let f = fixture(MULTI);
    assert_eq!(ok(&["dump", &f, "--select", ""]), ok(&["dump", &f]));
    assert_eq!(ok(&["export", &f, "--select", "  "]), ok(&["export", &f]));
}

#[test]
fn unknown_key_exits_2_listing_the_keys() {
    let f = fixture(MULTI);
    for cmd in ["export", "dump"] {
        let out = wsscope(&[cmd, &f, "--select", "foo:1"]);
        assert_eq!(out.status.code(), Some(2), "{cmd}");
        assert!(out.stdout.is_empty());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("unknown key \"foo:\""), "{err}");
        for key in ["conn:", "dir:", "op:", "is:", "len", "rule:"] {
            assert!(err.contains(key), "{cmd}: {err} lacks {key}");
        }
    }
    let out = wsscope(&["export", &f, "--select", "op:pingg"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("ping, pong"));
}

/// `# conn 0 c2s 05:41:38.139354 ping 10 bytes (frame 7)` lines.
fn headers(stdout: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(stdout)
        .lines()
        .filter(|l| l.starts_with("# conn "))
        .map(str::to_string)
        .collect()
}

#[test]
fn export_of_messages_takes_pings_named_by_opcode() {
    let f = fixture(MULTI);
    let pings: Vec<Value> = all_events(&f)
        .into_iter()
        .filter(|v| is_type(v, "frame") && v["opcode"] == 9)
        .collect();
    assert!(pings.len() >= 4, "the fixture has pings");
    let out = ok(&["export", &f, "--opcode", "ping"]);
    let h = headers(&out);
    assert_eq!(h.len(), pings.len(), "{h:?}");
    for (line, p) in h.iter().zip(&pings) {
        let head = format!("# conn {} {} ", p["conn"], p["dir"].as_str().unwrap());
        assert!(line.starts_with(&head), "{line} vs {head}");
        assert!(
            line.contains(&format!(" ping {} bytes (frame ", p["len"])),
            "{line}"
        );
    }
    // The payloads themselves, in order.
    let text = String::from_utf8_lossy(&out);
    assert!(
        text.contains("|client-ping-1|") && text.contains("|server-ping-A|"),
        "{text}"
    );
    // The same pings, numbered as --frames numbers them; the same by expression.
    assert_eq!(out, ok(&["export", &f, "--opcode", "ping", "--frames"]));
    assert_eq!(out, ok(&["export", &f, "--select", "op:ping"]));
    assert_eq!(out, ok(&["export", &f, "--select", "is:control op:9"]));
    // jsonl: the ping frame records.
    let recs = records(&ok(&["export", &f, "--select", "op:ping", "--format", "jsonl"]));
    let frames: Vec<&Value> = recs.iter().filter(|v| is_type(v, "frame")).collect();
    assert_eq!(frames.len(), pings.len());
    assert!(!recs.iter().any(|v| is_type(v, "message")));
}

#[test]
fn control_frames_beside_messages_keep_the_messages_as_they_were() {
    let f = fixture(MULTI);
    let text_only = headers(&ok(&["export", &f, "--opcode", "text"]));
    let both = headers(&ok(&["export", &f, "--opcode", "text", "--opcode", "pong"]));
    let (pongs, texts): (Vec<String>, Vec<String>) = both.into_iter().partition(|l| l.contains(" pong "));
    assert_eq!(texts, text_only, "message numbering unchanged");
    assert!(
        !pongs.is_empty() && pongs.iter().all(|l| l.contains("(frame ")),
        "{pongs:?}"
    );
    // One file each, none overwriting another.
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let out = wsscope(&[
        "export",
        &f,
        "--opcode",
        "text",
        "--opcode",
        "pong",
        "--format",
        "raw",
        "--out-dir",
        d,
    ]);
    assert!(out.status.success());
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names.len(), text_only.len() + pongs.len(), "{names:?}");
    assert!(names.iter().any(|n| n.starts_with("conn0-frame")), "{names:?}");
}

#[test]
fn len_selects_by_payload_length() {
    let f = fixture(MULTI);
    let all = all_events(&f);
    let count = |t: &str| {
        all.iter()
            .filter(|v| is_type(v, t) && v["len"].as_u64().unwrap() > 100)
            .count()
    };
    let (frames, messages) = (count("frame"), count("message"));
    assert!(frames > 0 && messages > 0);
    let exported = |extra: &[&str]| {
        let mut a = vec!["export", f.as_str(), "--select", "len>100", "--format", "jsonl"];
        a.extend_from_slice(extra);
        records(&ok(&a))
    };
    let m = exported(&[]);
    assert_eq!(m.iter().filter(|v| is_type(v, "message")).count(), messages);
    let fr = exported(&["--frames"]);
    assert_eq!(fr.iter().filter(|v| is_type(v, "frame")).count(), frames);
    // dump: exactly the frames and messages over 100 bytes, nothing else.
    let d = records(&ok(&["dump", "--format", "jsonl", &f, "--select", "len>100"]));
    assert_eq!(d.len(), frames + messages);
    assert!(d.iter().all(|v| v["len"].as_u64().unwrap() > 100));
    // 1k = 1024 bytes.
    let big = all
        .iter()
        .filter(|v| is_type(v, "frame") && v["len"].as_u64().unwrap() >= 1024)
        .count();
    let d = records(&ok(&[
        "dump",
        "--format",
        "jsonl",
        &f,
        "--select",
        "len>=1k is:data",
    ]));
    assert_eq!(d.iter().filter(|v| is_type(v, "frame")).count(), big);
}

#[test]
fn dump_violations_by_rule() {
    let f = fixture("bad_server.pcap");
    let all = all_events(&f);
    let rule = "non-minimal-length";
    let want: Vec<&Value> = all
        .iter()
        .filter(|v| is_type(v, "violation") && v["rule"] == rule)
        .collect();
    assert_eq!(want.len(), 2);
    let got = records(&ok(&[
        "dump",
        "--format",
        "jsonl",
        &f,
        "--select",
        &format!("rule:{rule}"),
    ]));
    assert_eq!(got.iter().collect::<Vec<_>>(), want);
    let violations = all.iter().filter(|v| is_type(v, "violation")).count();
    let got = records(&ok(&[
        "dump",
        "--format",
        "jsonl",
        &f,
        "--select",
        "is:violation",
    ]));
    assert_eq!(got.len(), violations);
    // A payload regex keeps only frames and messages.
    let got = records(&ok(&["dump", "--format", "jsonl", &f, "--grep", "masked"]));
    assert!(!got.is_empty());
    assert!(
        got.iter().all(|v| is_type(v, "frame") || is_type(v, "message")),
        "{got:?}"
    );
}

#[test]
fn nothing_matched_exits_1_saying_what_the_capture_holds() {
    let f = fixture(MULTI);
    let n = all_events(&f).len();
    let out = wsscope(&["dump", &f, "--conn", "7"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!(
            "no event matched --conn 7: {f} holds {n} events in 2 connections"
        )),
        "{err}"
    );
    // Flags and expression both apply: connection 0 and connection 1 is nothing.
    let out = wsscope(&["export", &f, "--conn", "0", "--select", "conn:1"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no message matched --conn 0 --select \"conn:1\""),
        "{err}"
    );
}

#[test]
fn pcap_export_by_expression_equals_flags() {
    let f = fixture(MULTI);
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.pcap");
    let b = dir.path().join("b.pcap");
    ok(&[
        "export",
        &f,
        "--select",
        "conn:1",
        "--format",
        "pcap",
        "-o",
        a.to_str().unwrap(),
    ]);
    ok(&[
        "export",
        &f,
        "--conn",
        "1",
        "--format",
        "pcap",
        "-o",
        b.to_str().unwrap(),
    ]);
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
}

#[test]
fn dump_help_says_how_events_are_selected() {
    let help = String::from_utf8_lossy(&ok(&["dump", "--help"])).into_owned();
    for s in [
        "--select <EXPR>",
        "--conn",
        "Selecting events",
        "is:violation",
        "exit status 1",
    ] {
        assert!(help.contains(s), "{s}: {help}");
    }
}

/// The timeline's `f` filter speaks the same language: `conn:` is a
/// connection (it used to be searched for as payload text), an unknown key
/// is an error on the status line.
#[test]
fn tui_filter_takes_the_language() {
    use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    use wsscope::event::Event;
    use wsscope::tui::app::{App, Feed, Options};

    let path = common::root().join("fixtures").join(MULTI);
    let evs = common::analyze(&path);
    let mut app = App::new(MULTI, Options::default());
    app.on_feed(Feed::Events(evs.clone()));
    app.on_feed(Feed::Done(Ok(Default::default())));
    // `f`, Ctrl-U (the prompt holds the current filter), the text, Enter.
    let typed = |app: &mut App, s: &str| {
        app.on_key(KeyEvent::new(KeyCode::Char('f'), KeyModifiers::NONE));
        app.on_key(KeyEvent::new(KeyCode::Char('u'), KeyModifiers::CONTROL));
        for c in s.chars() {
            app.on_key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE));
        }
        app.on_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
    };
    typed(&mut app, "conn:1 op:text");
    let want = evs
        .iter()
        .filter(|e| matches!(e, Event::Message(m) if m.conn == 1 && m.opcode == 1))
        .count();
    assert!(want > 0);
    let data: Vec<_> = app
        .view
        .rows
        .iter()
        .map(|&i| &app.store.records[i as usize])
        .filter(|r| r.is_data())
        .collect();
    assert_eq!(data.len(), want);
    assert!(data.iter().all(|r| r.conn == 1 && r.opcode == 1));
    assert_eq!(app.status.as_ref().map(|s| s.1), Some(false), "{:?}", app.status);

    typed(&mut app, "foo:1");
    let (msg, is_err) = app.status.clone().unwrap();
    assert!(
        is_err && msg.contains("unknown key \"foo:\"") && msg.contains("conn:"),
        "{msg}"
    );
}
