//! End to end: the real binary in a real terminal (tmux). Opens a fixture,
//! selects a connection, finds a message by search, toggles the hex view,
//! exports the payload (checked against the bytes the peer sent), quits, and
//! checks the terminal was restored.
//!
//! `WSSCOPE_TUI_BIN` overrides the binary (e.g. the `tui_demo` example).

mod common;

use common::tmux::Tmux;
use std::path::{Path, PathBuf};
use std::process::Command;

fn binary() -> PathBuf {
    std::env::var_os("WSSCOPE_TUI_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_wsscope")))
}

/// The c2s binary payload py_basic's client sent, from the fixture's sidecar.
fn sent_binary(sidecar: &Path) -> Vec<u8> {
    let text = std::fs::read_to_string(sidecar).unwrap();
    let line = text
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|v| v["dir"] == "c2s" && v["opcode"] == "binary" && v["len"] == 256)
        .expect("a 256-byte binary message in the sidecar");
    hex::decode(line["data_hex"].as_str().unwrap()).unwrap()
}

#[test]
#[ignore = "needs tmux"]
fn open_select_search_hex_export_quit() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let capture = root.join("fixtures/py_basic.pcap");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("payload.bin");
    let tmux = Tmux::new("e2e");
    // After the TUI exits, the shell prints its status and the tty mode.
    let script = format!(
        "'{}' '{}'; echo EXIT=$?; stty -a | tr ' ;' '\\n\\n' | grep -x -- '-*icanon'; sleep 30",
        binary().display(),
        capture.display()
    );
    tmux.start(120, 40, &script);

    // Opens: header, connection, first messages.
    tmux.wait("the first screen", |s| {
        s.contains("py_basic.pcap") && s.contains("/py_basic") && s.contains("hello, wsscope")
    });
    assert_eq!(
        tmux.run(&["display", "-p", "-t", "e2e", "#{alternate_on}"])
            .trim(),
        "1"
    );

    // Select the connection (connections pane, down one, Enter).
    tmux.keys(&["BTab", "j", "Enter"]);
    tmux.wait("the connection's timeline", |s| s.contains("Timeline conn 0"));

    // Find the binary message by its first bytes (a regex over the payload).
    tmux.keys(&["/"]);
    tmux.wait("the search prompt", |s| s.contains("search (regex) /"));
    tmux.text(r"\x00\x01\x02\x03");
    tmux.keys(&["Enter"]);
    tmux.wait("the search hit", |s| s.contains(r"/\x00\x01\x02\x03/  row"));

    // Hex view of its payload.
    tmux.keys(&["x"]);
    let s = tmux.wait("the hex view", |s| s.contains("payload as hex"));
    assert!(
        s.contains("00000000  00 01 02 03 04 05 06 07  08 09 0a 0b 0c 0d 0e 0f  |................|"),
        "{s}"
    );

    // Export it raw.
    tmux.keys(&["e"]);
    tmux.wait("the export prompt", |s| s.contains("export payload to"));
    tmux.keys(&["C-u"]);
    tmux.text(&out.display().to_string());
    tmux.keys(&["Enter"]);
    tmux.wait("the export", |s| s.contains("256 bytes written to"));
    assert_eq!(
        std::fs::read(&out).unwrap(),
        sent_binary(&root.join("fixtures/py_basic.sent.jsonl"))
    );

    // Quit: exit status 0, canonical mode back, main screen back.
    tmux.keys(&["q"]);
    let s = tmux.wait("the exit", |s| s.contains("EXIT="));
    assert!(s.contains("EXIT=0"), "{s}");
    let s = tmux.wait("stty", |s| s.lines().any(|l| l.trim().ends_with("icanon")));
    assert!(s.lines().any(|l| l.trim() == "icanon"), "raw mode left on:\n{s}");
    assert_eq!(
        tmux.run(&["display", "-p", "-t", "e2e", "#{alternate_on}"])
            .trim(),
        "0"
    );
}

/// The timeline on live loopback capture: it fills in while a real client
/// (Python `websockets`) sends messages, then quits cleanly.
#[cfg(feature = "live")]
#[test]
#[ignore = "needs tmux, CAP_NET_RAW and python3 websockets (run by .ci/run)"]
fn live_capture_view_updates_while_a_client_sends() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let tmux = Tmux::new("e2e-live");
    let script = format!(
        "'{}' -i lo -f 'tcp port {port}'; echo EXIT=$?; stty -a | tr ' ;' '\\n\\n' | grep -x -- '-*icanon'; sleep 30",
        binary().display()
    );
    tmux.start(120, 40, &script);
    let s = tmux.wait("the live view", |s| {
        s.contains("lo (live)") || s.contains("following")
    });
    assert!(!s.contains("live-hello-0"), "nothing sent yet:\n{s}");
    // A real client sends three rounds of messages while the view is open.
    let peer = Command::new("python3")
        .arg(root.join("tests/peers/live_exchange.py"))
        .arg(port.to_string())
        .arg("3")
        .output()
        .unwrap();
    assert!(peer.status.success(), "{}", String::from_utf8_lossy(&peer.stderr));
    // The view follows the tail: the last round is on screen, and the header
    // counts every message (3 rounds × 4 messages each way).
    tmux.wait("the messages to appear", |s| {
        s.contains("live-hello-2") && s.contains("frag-2-a")
    });
    let s = tmux.wait("all messages counted", |s| s.contains("24 msgs"));
    assert!(s.contains("following"), "live view follows the tail:\n{s}");
    assert!(s.contains("/live"), "the connection row shows the path:\n{s}");
    assert!(
        s.contains('✓'),
        "the handshake badge shows a verified accept:\n{s}"
    );
    tmux.keys(&["q"]);
    let s = tmux.wait("the shell after quitting", |s| s.contains("EXIT="));
    assert!(s.contains("EXIT=0"), "{s}");
    assert!(s.lines().any(|l| l.trim() == "icanon"), "raw mode left on:\n{s}");
}

/// The text of chromium.pcap's 1 600-character message, from its sidecar.
fn sent_long_text(sidecar: &Path) -> String {
    let text = std::fs::read_to_string(sidecar).unwrap();
    text.lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|v| v["dir"] == "c2s" && v["opcode"] == "text" && v["len"] == 1600)
        .expect("a 1600-byte text message in the sidecar")["text"]
        .as_str()
        .unwrap()
        .to_string()
}

/// A long message in the real binary: Tab to the detail, page down to the
/// end of the payload (its last characters, wrapped, appear), zoom and
/// back; Space on a file pages the timeline down without following.
#[test]
#[ignore = "needs tmux"]
fn long_payload_scrolls_zooms_and_space_pages() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let capture = root.join("fixtures/chromium.pcap");
    let sent = sent_long_text(&root.join("fixtures/chromium.sent.jsonl"));
    let tmux = Tmux::new("e2e-detail");
    let script = format!(
        "'{}' '{}'; echo EXIT=$?; sleep 30",
        binary().display(),
        capture.display()
    );
    tmux.start(120, 40, &script);
    tmux.wait("the first screen", |s| s.contains("hello from chromium"));

    // The message, by its text.
    tmux.keys(&["/"]);
    tmux.wait("the search prompt", |s| s.contains("search (regex) /"));
    tmux.text("^(abcdefgh){200}$");
    tmux.keys(&["Enter"]);
    tmux.wait("the search hit", |s| s.contains("Payload (inflated 1600 bytes)"));

    // Rows of 114 characters (118 inside the borders, less the indent): the
    // last row holds what is left over, and it is not on screen yet.
    let rows_of = |s: &str| -> Vec<String> {
        s.lines()
            .map(|l| l.trim_matches(|c| c == '┃' || c == '│' || c == ' ').to_string())
            .collect()
    };
    let tail = &sent[sent.len() / 114 * 114..];
    assert!(!tail.is_empty() && tail.len() < 114);
    tmux.keys(&["Tab"]);
    let s = tmux.wait("the detail focused", |s| s.contains("┏ Detail"));
    assert!(!rows_of(&s).iter().any(|r| r == tail), "{s}");
    let first_row = &sent[..114];
    assert!(rows_of(&s).iter().any(|r| r == first_row), "{s}");
    // Page down until the payload's end shows (one or two pages).
    tmux.keys(&["PageDown"]);
    let s = tmux.wait("the end of the payload", |s| {
        rows_of(s).iter().any(|r| r == tail) && s.contains("Wire bytes (deflated, 21 bytes)")
    });
    assert!(s.contains("lines 21-40 of"), "the title says where:\n{s}");
    // j scrolls one line.
    tmux.keys(&["j"]);
    tmux.wait("one line down", |s| s.contains("lines 22-41 of"));

    // z: the detail takes the screen; Esc gives it back.
    tmux.keys(&["z"]);
    let s = tmux.wait("the zoom", |s| s.contains("z/Esc: back"));
    assert!(!s.contains("Timeline") && !s.contains("Connections"), "{s}");
    assert!(s.lines().next().unwrap().contains("chromium.pcap"), "{s}");
    tmux.keys(&["Escape"]);
    tmux.wait("the panes back", |s| {
        s.contains("Timeline") && s.contains("Connections")
    });

    // Esc leaves the detail; Space pages the timeline down (to the last
    // rows: the close frames), and nothing follows a file.
    tmux.keys(&["Escape"]);
    tmux.wait("the timeline focused", |s| s.contains("┏ Timeline"));
    tmux.keys(&["Space"]);
    let s = tmux.wait("a page down", |s| s.contains("0x8  close (control)"));
    assert!(!s.contains("following"), "{s}");
    assert!(!s.lines().next().unwrap().contains("following"), "{s}");

    tmux.keys(&["q"]);
    let s = tmux.wait("the exit", |s| s.contains("EXIT="));
    assert!(s.contains("EXIT=0"), "{s}");
}

/// A tmux session running the TUI on `capture` (120×40), named by `tag`.
fn open_tui(capture: &Path, tag: &str) -> Tmux {
    let tmux = Tmux::new(&format!("e2e-{tag}"));
    let script = format!(
        "'{}' '{}'; echo EXIT=$?; sleep 30",
        binary().display(),
        capture.display()
    );
    tmux.start(120, 40, &script);
    tmux
}

/// `wsscope ARGS` (the CLI of the same binary), its stdout.
fn wsscope(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_wsscope"))
        .args(args)
        .output()
        .expect("wsscope runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// `]` lands on each of bad_server's violations in capture order (the order
/// `wsscope dump` writes them), the detail pane showing its rule; past the
/// last it wraps to the first, and `[` goes back.
#[test]
#[ignore = "needs tmux"]
fn bracket_visits_every_violation_in_order() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let capture = root.join("fixtures/bad_server.pcap");
    let rules: Vec<String> = wsscope(&["dump", "--format", "jsonl", capture.to_str().unwrap()])
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|v| v["type"] == "violation")
        .map(|v| v["rule"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(rules.len(), 13, "{rules:?}");
    let n = rules.len();
    let tmux = open_tui(&capture, "problems");
    tmux.wait("the first screen", |s| {
        s.contains("bad_server.pcap") && s.contains("/bad")
    });
    let rule_field = |rule: &str| format!("{:<16} {rule}", "Rule");
    for (k, rule) in rules.iter().enumerate() {
        tmux.text("]");
        let status = format!("violation {} of {n} · {rule}", k + 1);
        let s = tmux.wait(&status, |s| s.contains(&status));
        assert!(
            s.contains(&rule_field(rule)),
            "the detail shows the violation:\n{s}"
        );
        assert!(!s.contains("(wrapped)"), "{s}");
    }
    tmux.text("]");
    let status = format!("violation 1 of {n} · {}  (wrapped)", rules[0]);
    tmux.wait(&status, |s| s.contains(&status));
    tmux.text("[");
    let status = format!("violation {n} of {n} · {}  (wrapped)", rules[n - 1]);
    tmux.wait(&status, |s| s.contains(&status));
    tmux.text("[");
    let status = format!("violation {} of {n} · {}", n - 1, rules[n - 2]);
    tmux.wait(&status, |s| s.contains(&status) && !s.contains("(wrapped)"));

    // Frames: the same violations, from where the cursor is.
    tmux.text("m");
    tmux.wait("the frames view", |s| s.contains("· frames ·"));
    tmux.text("]");
    let status = format!("violation {n} of {n} · {}", rules[n - 1]);
    tmux.wait(&status, |s| s.contains(&status));
    tmux.text("q");
    let s = tmux.wait("the exit", |s| s.contains("EXIT="));
    assert!(s.contains("EXIT=0"), "{s}");
}

/// The span the detail pane shows for a connection is the one `wsscope
/// conns` gives it: pcapng_multi's connection 0 lasted 25 ms and was
/// summarised when the capture ended, almost a second later.
#[test]
#[ignore = "needs tmux"]
fn detail_span_is_the_conns_duration() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let capture = root.join("fixtures/pcapng_multi.pcapng");
    let conns = wsscope(&["conns", "--format", "jsonl", capture.to_str().unwrap()]);
    let line = conns.lines().next().expect("connection 0");
    let v: serde_json::Value = serde_json::from_str(line).unwrap();
    assert_eq!(v["conn"], 0);
    // The exact time text (a JSON number with nanosecond digits).
    let ts = |field: &str| {
        let raw = line
            .split(&format!("\"{field}\":"))
            .nth(1)
            .and_then(|r| r.split([',', '}']).next())
            .unwrap();
        let (secs, frac) = raw.split_once('.').unwrap();
        wsscope::event::Timestamp::new(secs.parse().unwrap(), format!("{frac:0<9}")[..9].parse().unwrap())
    };
    let duration = v["duration"].as_f64().unwrap();
    let span = format!(
        "{} – {} ({})",
        ts("first_ts"),
        ts("last_ts"),
        wsscope::tui::text::duration(duration)
    );

    let tmux = open_tui(&capture, "span");
    tmux.wait("the first screen", |s| {
        s.contains("pcapng_multi.pcapng") && s.contains("/pcapng_multi_a")
    });
    // Select connection 0: its timeline opens on the handshake row, whose
    // detail is the connection's.
    tmux.keys(&["BTab", "j", "Enter"]);
    let s = tmux.wait("the connection's detail", |s| {
        s.contains("Timeline conn 0") && s.contains("Span ")
    });
    let shown = s
        .lines()
        .find(|l| l.contains("Span "))
        .unwrap()
        .split_once("Span")
        .unwrap()
        .1
        .trim_matches(|c: char| c == ' ' || c == '│' || c == '┃');
    assert_eq!(shown, span, "{s}");
    tmux.keys(&["q"]);
    tmux.wait("the exit", |s| s.contains("EXIT="));
}

/// The timeline's filter is the selection language of `dump --select`:
/// `conn:1 dir:s2c` shows exactly the rows `dump` selects that the
/// messages view has (messages, control frames, the handshake, problems),
/// all of connection 1 from the server; `foo:1` is an error that lists the
/// keys.
#[test]
#[ignore = "needs tmux"]
fn filter_takes_the_selection_language() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let capture = root.join("fixtures/pcapng_multi.pcapng");
    let out = Command::new(binary())
        .args(["dump", "--format", "jsonl", "--select", "conn:1 dir:s2c"])
        .arg(&capture)
        .output()
        .unwrap();
    assert!(out.status.success());
    let want = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|v| match v["type"].as_str().unwrap() {
            "message" | "handshake" | "violation" | "gap" | "diagnostic" => true,
            "frame" => v["opcode"].as_u64().unwrap() >= 8,
            _ => false,
        })
        .count();
    assert!(want > 5, "{want}");
    let tmux = open_tui(&capture, "filter");
    tmux.keys(&["f"]);
    tmux.wait("the filter prompt", |s| s.contains("filter ("));
    tmux.text("conn:1 dir:s2c");
    tmux.keys(&["Enter"]);
    let s = tmux.wait("the filtered view", |s| s.contains("rows match"));
    assert!(s.contains(&format!("{want} rows match")), "{s}");
    // Every row shown is connection 1, server to client (or its handshake).
    let rows: Vec<&str> = s
        .lines()
        .skip_while(|l| !l.contains("time (UTC)"))
        .skip(1)
        .take_while(|l| !l.starts_with('┗') && !l.starts_with('└') && !l.contains("c2s "))
        .filter(|l| l.chars().nth(1).is_some_and(|c| c.is_ascii_digit()))
        .collect();
    assert_eq!(rows.len(), want, "{s}");
    for r in &rows {
        let cols: Vec<&str> = r
            .trim_matches(|c| c == '┃' || c == '│')
            .split_whitespace()
            .collect();
        assert_eq!(cols.get(1), Some(&"1"), "{r}");
        assert!(cols.get(2) == Some(&"←") || r.contains("HTTP"), "{r}");
    }
    tmux.keys(&["f", "C-u"]);
    tmux.text("foo:1");
    tmux.keys(&["Enter"]);
    let s = tmux.wait("the error", |s| s.contains("unknown key"));
    assert!(s.contains("conn:") && s.contains("dir:"), "{s}");
    tmux.keys(&["q"]);
    tmux.wait("the exit", |s| s.contains("EXIT=0"));
}

/// The timeline on a truncated capture: it shows what came before the
/// cut, and on quitting says so on stderr and exits 3 (as `dump` does);
/// `--allow-truncated` exits 0.
#[test]
#[ignore = "needs tmux"]
fn a_truncated_capture_exits_3_from_the_timeline() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let bytes = std::fs::read(root.join("fixtures/py_basic.pcap")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cut = dir.path().join("cut.pcap");
    std::fs::write(&cut, &bytes[..3000]).unwrap();
    for (extra, want, said) in [
        ("", "EXIT=3", "exit status 3"),
        ("--allow-truncated", "EXIT=0", "exit status 0"),
    ] {
        let err = dir.path().join(format!("err{}.txt", extra.len()));
        let tmux = Tmux::new(&format!("cut{}", extra.len()));
        let script = format!(
            "'{}' {extra} '{}' 2>'{}'; echo EXIT=$?; sleep 30",
            binary().display(),
            cut.display(),
            err.display()
        );
        tmux.start(120, 40, &script);
        tmux.wait("the first screen", |s| {
            s.contains("cut.pcap") && s.contains("/py_basic")
        });
        tmux.keys(&["q"]);
        tmux.wait("the exit status", |s| s.contains("EXIT="));
        let screen = tmux.screen();
        assert!(screen.contains(want), "{extra}: {screen}");
        let err = std::fs::read_to_string(&err).unwrap();
        assert!(
            err.contains("cut.pcap is truncated") && err.contains(said),
            "{extra}: {err}"
        );
    }
}
