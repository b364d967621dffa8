//! The export sink over hand-built events: every selection flag alone and
//! combined, numbering, `--wire` reconstruction, the jsonl record choice,
//! the pcap connection choice, and flag checks.

use clap::Parser;
use std::net::SocketAddr;
use wsscope::cli::ExportArgs;
use wsscope::commands::export::{exit_code, nothing_message, options, payload_format};
use wsscope::event::{
    ConnectionEndEvent, ConnectionEvent, Dir, DirStats, Event, EventSink, FrameEvent, HandshakeEvent,
    MessageEvent, Protocol, RoleBasis, TcpEnd, Timestamp,
};
use wsscope::output::export::{ExportSink, ExportSummary, Output};
use wsscope::output::wire::wire_payload;

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    args: ExportArgs,
}

fn args(a: &[&str]) -> ExportArgs {
    let mut v = vec!["export", "x.pcap"];
    v.extend_from_slice(a);
    let mut args = Cli::try_parse_from(v)
        .unwrap_or_else(|e| panic!("{a:?}: {e}"))
        .args;
    // As the command line does before running: FILE becomes the capture.
    args.input.resolve().unwrap();
    args
}

fn parse_err(a: &[&str]) -> String {
    let mut v = vec!["export", "x.pcap"];
    v.extend_from_slice(a);
    match Cli::try_parse_from(v) {
        Ok(_) => panic!("{a:?} parsed"),
        Err(e) => e.to_string(),
    }
}

fn ts(n: u32) -> Timestamp {
    Timestamp::new(1_700_000_000, n * 1000)
}

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn conn(c: u64) -> Event {
    Event::Connection(ConnectionEvent {
        conn: c,
        ts: ts(0),
        client: addr("10.0.0.1:40000"),
        server: addr("10.0.0.2:80"),
        syn_seen: true,
        role_basis: RoleBasis::Syn,
        packet: 1,
    })
}

fn handshake(c: u64) -> Event {
    Event::Handshake(Box::new(HandshakeEvent {
        conn: c,
        session: wsscope::model::SessionId::conn(c),
        method: "GET".into(),
        path: "/".into(),
        ..Default::default()
    }))
}

fn close(c: u64) -> Event {
    Event::Close(Box::new(ConnectionEndEvent {
        app: None,
        conn: c,
        ts: ts(999),
        client: addr("10.0.0.1:40000"),
        server: addr("10.0.0.2:80"),
        first_ts: ts(0),
        last_ts: ts(999),
        end: TcpEnd::Fin,
        protocol: Protocol::WebSocket,
        stats: [DirStats::default(), DirStats::default()],
        close_first: None,
        rtt: None,
        handshake_seen: true,
        violations: 0,
        tls: None,
        first_packet: 1,
        last_packet: 1,
        h2_ws_streams: 0,
        stream: None,
    }))
}

const KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

fn frame(c: u64, dir: Dir, opcode: u8, fin: bool, payload: &[u8]) -> FrameEvent {
    let masked = dir == Dir::C2S;
    FrameEvent {
        conn: c,
        session: wsscope::model::SessionId::conn(c),
        packets: wsscope::model::PacketSpan::one(1),
        ts: ts(payload.len() as u32),
        dir,
        fin,
        rsv: 0,
        opcode,
        masked,
        mask_key: masked.then_some(KEY),
        len: payload.len() as u64,
        len_bits: 7,
        header_len: if masked { 6 } else { 2 },
        offset: 0,
        payload: payload.to_vec(),
        truncated: false,
        close_code: None,
        close_reason: None,
        rtt: None,
        header_captured: None,
        header_bytes: None,
    }
}

fn message(c: u64, dir: Dir, opcode: u8, frames: u32, data: &[u8]) -> MessageEvent {
    MessageEvent {
        decoded: None,
        conn: c,
        session: wsscope::model::SessionId::conn(c),
        seq: 0,
        first_frame_offset: 0,
        packets: None,
        ts: ts(data.len() as u32),
        dir,
        opcode,
        frames,
        compressed: false,
        data: data.to_vec(),
        wire_len: data.len() as u64,
        is_text: opcode == 1,
        inflate_error: None,
        truncated: false,
    }
}

/// A frame event plus, for a final data frame, its one-frame message.
fn unit(c: u64, dir: Dir, opcode: u8, payload: &[u8]) -> Vec<Event> {
    let mut v = vec![Event::Frame(frame(c, dir, opcode, true, payload))];
    if opcode < 8 {
        v.push(Event::Message(message(c, dir, opcode, 1, payload)));
    }
    v
}

/// Three connections: 0 and 2 WebSocket with text, binary, ping/pong,
/// close; 1 has a reserved opcode.
fn capture() -> Vec<Event> {
    let mut v = vec![conn(0), handshake(0), conn(1), conn(2), handshake(2)];
    v.extend(unit(0, Dir::C2S, 1, b"hello server"));
    v.extend(unit(0, Dir::S2C, 1, b"hello client"));
    v.extend(unit(1, Dir::C2S, 3, b"reserved"));
    v.extend(unit(0, Dir::C2S, 2, &[0, 1, 2, 0xff]));
    v.extend(unit(2, Dir::S2C, 1, b"{\"price\": 42}"));
    v.extend(unit(0, Dir::C2S, 9, b"ping-1"));
    v.extend(unit(0, Dir::S2C, 10, b"ping-1"));
    v.extend(unit(2, Dir::C2S, 2, b"binary price 7"));
    v.extend(unit(0, Dir::C2S, 8, &[0x03, 0xe8]));
    v.push(close(0));
    v.push(close(1));
    v.push(close(2));
    v
}

/// Runs the sink over `events` in jsonl mode: the records it would write.
fn records(a: &ExportArgs, events: Vec<Event>) -> (Vec<Event>, ExportSummary) {
    let mut out: Vec<Event> = Vec::new();
    let summary = {
        let mut sink = ExportSink::new(options(a), Output::Events(Box::new(&mut out)));
        for e in events {
            sink.event(e);
        }
        sink.finish().unwrap();
        sink.into_summary()
    };
    (out, summary)
}

/// (conn, dir, opcode, payload) of the selected frames/messages.
fn selected(flags: &[&str]) -> Vec<(u64, Dir, u8, Vec<u8>)> {
    let (out, summary) = records(&args(flags), capture());
    let v: Vec<_> = out
        .into_iter()
        .filter_map(|e| match e {
            Event::Frame(f) => Some((f.conn, f.dir, f.opcode, f.payload)),
            Event::Message(m) => Some((m.conn, m.dir, m.opcode, m.data)),
            _ => None,
        })
        .collect();
    assert_eq!(summary.selected, v.len() as u64);
    v
}

fn payloads(flags: &[&str]) -> Vec<String> {
    selected(flags)
        .into_iter()
        .map(|(c, d, o, p)| format!("{c} {d} {o} {}", String::from_utf8_lossy(&p)))
        .collect()
}

#[test]
fn no_flags_selects_every_message() {
    assert_eq!(
        payloads(&[]),
        [
            "0 c2s 1 hello server",
            "0 s2c 1 hello client",
            "1 c2s 3 reserved",
            "0 c2s 2 \0\u{1}\u{2}\u{fffd}",
            "2 s2c 1 {\"price\": 42}",
            "2 c2s 2 binary price 7",
        ]
    );
    assert_eq!(payloads(&["--messages"]), payloads(&[]));
    // Frames: control frames too.
    assert_eq!(selected(&["--frames"]).len(), 9);
}

#[test]
fn each_flag_alone() {
    assert_eq!(
        payloads(&["--conn", "2"]),
        ["2 s2c 1 {\"price\": 42}", "2 c2s 2 binary price 7"]
    );
    assert_eq!(payloads(&["--conn", "1", "--conn", "2"]).len(), 3);
    assert_eq!(
        payloads(&["--dir", "s2c"]),
        ["0 s2c 1 hello client", "2 s2c 1 {\"price\": 42}"]
    );
    assert_eq!(payloads(&["--dir", "server"]), payloads(&["--dir", "s2c"]));
    assert_eq!(payloads(&["--opcode", "binary"]).len(), 2);
    assert_eq!(payloads(&["--opcode", "3"]), ["1 c2s 3 reserved"]);
    assert_eq!(payloads(&["--opcode", "text", "--opcode", "0x3"]).len(), 4);
    assert_eq!(payloads(&["--frames", "--opcode", "ping"]), ["0 c2s 9 ping-1"]);
    assert_eq!(
        payloads(&["--frames", "--opcode", "pong", "--opcode", "close"]),
        ["0 s2c 10 ping-1", "0 c2s 8 \u{3}\u{fffd}"]
    );
    assert_eq!(
        payloads(&["--grep", "price"]),
        ["2 s2c 1 {\"price\": 42}", "2 c2s 2 binary price 7"]
    );
    assert_eq!(payloads(&["--grep", "^hello (server|client)$"]).len(), 2);
    // Binary payloads are matched as lossy UTF-8 text.
    assert_eq!(
        payloads(&["--grep", "\u{fffd}"]),
        ["0 c2s 2 \0\u{1}\u{2}\u{fffd}"]
    );
    // Messages by default, and a ping is not a message; but a selection that
    // names a control opcode takes those frames too (as the TUI lists them).
    assert_eq!(payloads(&["--opcode", "ping"]), ["0 c2s 9 ping-1"]);
}

#[test]
fn flags_combined() {
    assert_eq!(
        payloads(&["--conn", "0", "--dir", "c2s"]),
        ["0 c2s 1 hello server", "0 c2s 2 \0\u{1}\u{2}\u{fffd}"]
    );
    assert_eq!(
        payloads(&["--conn", "0", "--dir", "c2s", "--opcode", "text"]),
        ["0 c2s 1 hello server"]
    );
    assert_eq!(
        payloads(&["--grep", "price", "--dir", "c2s"]),
        ["2 c2s 2 binary price 7"]
    );
    assert_eq!(
        payloads(&["--grep", "price", "--conn", "0"]),
        Vec::<String>::new()
    );
    assert_eq!(
        payloads(&[
            "--frames", "--conn", "0", "--opcode", "ping", "--opcode", "pong", "--grep", "ping"
        ]),
        ["0 c2s 9 ping-1", "0 s2c 10 ping-1"]
    );
    assert_eq!(
        payloads(&[
            "--frames", "--dir", "s2c", "--opcode", "pong", "--grep", "ping", "--conn", "0"
        ]),
        ["0 s2c 10 ping-1"]
    );
}

#[test]
fn jsonl_records_are_the_selection_with_its_connections_records() {
    let (out, _) = records(&args(&["--format", "jsonl", "--grep", "price"]), capture());
    let kinds: Vec<String> = out
        .iter()
        .map(|e| format!("{}:{}", e.type_name(), e.conn().unwrap()))
        .collect();
    // Connection 0 and 1 have nothing selected: none of their records.
    assert_eq!(
        kinds,
        ["connection:2", "handshake:2", "message:2", "message:2", "close:2"]
    );
    let (out, _) = records(
        &args(&["--format", "jsonl", "--frames", "--conn", "0", "--opcode", "ping"]),
        capture(),
    );
    let kinds: Vec<&str> = out.iter().map(|e| e.type_name()).collect();
    assert_eq!(kinds, ["connection", "handshake", "frame", "close"]);
}

/// Output of the sink in a dump format, into one stream.
fn stream(flags: &[&str], events: Vec<Event>) -> (String, ExportSummary) {
    let (out, summary) = stream_bytes(flags, events);
    (String::from_utf8(out).unwrap(), summary)
}

fn stream_bytes(flags: &[&str], events: Vec<Event>) -> (Vec<u8>, ExportSummary) {
    let a = args(flags);
    let mut out = Vec::new();
    let summary = {
        let mut sink = ExportSink::new(
            options(&a),
            Output::Stream(&mut out, payload_format(a.format).unwrap()),
        );
        for e in events {
            sink.event(e);
        }
        sink.finish().unwrap();
        sink.into_summary()
    };
    (out, summary)
}

#[test]
fn headers_number_payloads_per_connection_whatever_the_filter() {
    let (s, _) = stream(&["--format", "hexdump", "--dir", "s2c"], capture());
    let headers: Vec<&str> = s.lines().filter(|l| l.starts_with('#')).collect();
    assert_eq!(
        headers,
        [
            "# conn 0 s2c 22:13:20.000012 text 12 bytes (message 2)",
            "# conn 2 s2c 22:13:20.000013 text 13 bytes (message 1)",
        ]
    );
    let (s, _) = stream(
        &["--format", "xxd", "--frames", "--conn", "0", "--opcode", "close"],
        capture(),
    );
    assert_eq!(
        s,
        "# conn 0 c2s 22:13:20.000002 close 2 bytes (frame 6)\n00000000: 03e8                                     ..\n"
    );
}

#[test]
fn out_dir_names_are_stable_per_connection() {
    let dir = tempfile::tempdir().unwrap();
    let a = args(&[
        "--format",
        "raw",
        "--dir",
        "s2c",
        "--out-dir",
        dir.path().to_str().unwrap(),
    ]);
    let summary = {
        let mut sink = ExportSink::new(
            options(&a),
            Output::Dir(dir.path().to_path_buf(), payload_format(a.format).unwrap()),
        );
        for e in capture() {
            sink.event(e);
        }
        sink.finish().unwrap();
        sink.into_summary()
    };
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["conn0-0002-s2c.bin", "conn2-0001-s2c.bin"]);
    assert_eq!(
        std::fs::read(dir.path().join("conn2-0001-s2c.bin")).unwrap(),
        b"{\"price\": 42}"
    );
    assert_eq!(summary.files, 2);
}

#[test]
fn wire_frames_are_remasked() {
    let (s, _) = stream_bytes(
        &[
            "--format", "raw", "--frames", "--wire", "--conn", "0", "--opcode", "text",
        ],
        capture(),
    );
    let masked: Vec<u8> = b"hello server"
        .iter()
        .zip(KEY.iter().cycle())
        .map(|(b, k)| b ^ k)
        .collect();
    // c2s masked, s2c as is.
    let mut want = masked.clone();
    want.extend_from_slice(b"hello client");
    assert_eq!(s, want);
    // Without --wire: unmasked.
    let (s, _) = stream(
        &["--format", "raw", "--frames", "--conn", "0", "--opcode", "text"],
        capture(),
    );
    assert_eq!(s, "hello serverhello client");
    let f = frame(0, Dir::C2S, 1, true, b"Hello");
    assert_eq!(wire_payload(&f), [0x7f, 0x9f, 0x4d, 0x51, 0x58]);
}

#[test]
fn wire_messages_concatenate_their_frames_across_interleaving() {
    // c2s: a text in 3 fragments with a ping between fragments 1 and 2;
    // s2c frames interleaved; then a fragmented message cut short by a new
    // data frame (its message arrives after that frame).
    let mut key2 = frame(0, Dir::C2S, 0, false, b"wor");
    key2.mask_key = Some([1, 2, 3, 4]);
    let events = vec![
        conn(0),
        Event::Frame(frame(0, Dir::C2S, 1, false, b"hel")),
        Event::Frame(frame(0, Dir::S2C, 2, false, b"AB")),
        Event::Frame(frame(0, Dir::C2S, 9, true, b"ping")),
        Event::Frame(frame(0, Dir::C2S, 0, false, b"lo ")),
        Event::Frame(frame(0, Dir::S2C, 0, true, b"C")),
        Event::Message(message(0, Dir::S2C, 2, 2, b"ABC")),
        Event::Frame(key2),
        Event::Frame(frame(0, Dir::C2S, 0, true, b"ld")),
        Event::Message(message(0, Dir::C2S, 1, 4, b"hello world")),
        Event::Frame(frame(0, Dir::C2S, 1, false, b"cut")),
        Event::Frame(frame(0, Dir::C2S, 1, true, b"next")),
        Event::Message(message(0, Dir::C2S, 1, 1, b"cut")),
        Event::Message(message(0, Dir::C2S, 1, 1, b"next")),
    ];
    let mask =
        |d: &[u8], k: [u8; 4]| -> Vec<u8> { d.iter().zip(k.iter().cycle()).map(|(b, k)| b ^ k).collect() };
    let (s, summary) = stream(&["--format", "hexdump", "--wire", "--dir", "c2s"], events.clone());
    assert_eq!(summary.selected, 3);
    let headers: Vec<&str> = s.lines().filter(|l| l.starts_with('#')).collect();
    assert!(
        headers[0].contains("text 11 bytes (message 2, 4 frames, wire bytes)"),
        "{}",
        headers[0]
    );
    let (raw, _) = stream_bytes(&["--format", "raw", "--wire", "--dir", "c2s"], events.clone());
    let want = [
        mask(b"hel", KEY),
        mask(b"lo ", KEY),
        mask(b"wor", [1, 2, 3, 4]),
        mask(b"ld", KEY),
        mask(b"cut", KEY),
        mask(b"next", KEY),
    ]
    .concat();
    assert_eq!(raw, want);
    let (raw, _) = stream(&["--format", "raw", "--wire", "--dir", "s2c"], events.clone());
    assert_eq!(raw, "ABC");
    let (raw, _) = stream(&["--format", "raw", "--dir", "c2s"], events);
    assert_eq!(raw, "hello worldcutnext");
}

#[test]
fn pcap_selects_whole_connections() {
    let conns = |flags: &[&str]| {
        let a = args(&[&["--format", "pcap"], flags].concat());
        let mut sink = ExportSink::new(options(&a), Output::Conns);
        for e in capture() {
            sink.event(e);
        }
        sink.finish().unwrap();
        sink.into_summary()
            .matched_conns
            .into_iter()
            .collect::<Vec<u64>>()
    };
    assert_eq!(conns(&[]), [0, 1, 2]);
    assert_eq!(conns(&["--conn", "1"]), [1]);
    assert_eq!(conns(&["--conn", "7"]), Vec::<u64>::new());
    assert_eq!(conns(&["--grep", "price"]), [2]);
    assert_eq!(conns(&["--dir", "s2c"]), [0, 2]);
    assert_eq!(conns(&["--frames", "--opcode", "ping"]), [0]);
    // Messages, with the control frames the selection names.
    assert_eq!(conns(&["--opcode", "ping"]), [0]);
}

#[test]
fn nothing_matched_is_exit_1_with_a_useful_message() {
    let a = args(&["--grep", "nope", "--conn", "0"]);
    let (_, summary) = records(&a, capture());
    assert!(summary.matched_nothing());
    assert_eq!(exit_code(&summary), std::process::ExitCode::from(1));
    assert_eq!(
        nothing_message(&summary, &a),
        "no message matched --conn 0 --grep \"nope\": x.pcap holds 6 messages in 3 connections (conns 0-2)"
    );
    let a = args(&[]);
    let (_, summary) = records(&a, vec![conn(0), close(0)]);
    assert!(nothing_message(&summary, &a).contains("no messages to export"));
    assert!(nothing_message(&summary, &a).contains("try --frames"));
    let (_, summary) = records(&a, capture());
    assert!(!summary.matched_nothing());
    assert_eq!(exit_code(&summary), std::process::ExitCode::SUCCESS);
}

#[test]
fn annotate_shows_the_rebuilt_header() {
    let (s, _) = stream(&["--frames", "--annotate", "--opcode", "ping"], capture());
    assert_eq!(
        s,
        "# conn 0 c2s 22:13:20.000006 ping 6 bytes (frame 4)\n\
         # header 89 86 37 fa 21 3d\n\
         #   89           FIN=1 RSV1=0 RSV2=0 RSV3=0 opcode=0x9 (ping)\n\
         #   86           MASK=1 length=6\n\
         #   37 fa 21 3d  masking key\n\
         00000000  70 69 6e 67 2d 31                                 |ping-1|\n\
         00000006\n"
    );
}

#[test]
fn flag_checks_say_what_to_do() {
    let check = |flags: &[&str], tty: bool| args(flags).check(tty).err().map(|e| e.to_string());
    assert!(check(&[], true).is_none(), "hexdump to a terminal is fine");
    let e = check(&["--format", "raw"], true).unwrap();
    assert!(
        e.contains("terminal") && e.contains("-o FILE") && e.contains("--format hexdump"),
        "{e}"
    );
    assert!(check(&["--format", "raw", "--force"], true).is_none());
    assert!(check(&["--format", "raw"], false).is_none());
    assert!(check(&["--format", "raw", "-o", "/tmp/x.bin"], true).is_none());
    assert!(check(&["--format", "pcap"], true).unwrap().contains("terminal"));
    let e = check(&["--format", "pcap", "--out-dir", "d"], false).unwrap();
    assert!(e.contains("-o FILE"), "{e}");
    let e = check(&["--format", "jsonl", "--out-dir", "d"], false).unwrap();
    assert!(e.contains("-o FILE"), "{e}");
    assert!(
        check(&["--format", "pcap", "--wire"], false)
            .unwrap()
            .contains("drop --wire")
    );
    assert!(check(&["--annotate"], false).unwrap().contains("add --frames"));
    assert!(
        check(&["--annotate", "--frames", "--format", "raw"], false)
            .unwrap()
            .contains("hexdump or xxd")
    );
    assert!(check(&["--annotate", "--frames", "--format", "xxd"], false).is_none());
    assert!(
        check(&["--no-squeeze", "--format", "xxd"], false)
            .unwrap()
            .contains("hexdump")
    );
    let mut stdin_pcap = Cli::try_parse_from(["export", "-", "--format", "pcap", "-o", "o.pcap"])
        .unwrap()
        .args;
    stdin_pcap.input.resolve().unwrap();
    assert!(
        stdin_pcap
            .check(false)
            .unwrap_err()
            .to_string()
            .contains("standard input")
    );
    // Clap-level conflicts and values.
    assert!(parse_err(&["--frames", "--messages"]).contains("cannot be used with"));
    assert!(parse_err(&["-o", "a", "--out-dir", "b"]).contains("cannot be used with"));
    assert!(parse_err(&["--opcode", "hello"]).contains("unknown opcode"));
    assert!(parse_err(&["--dir", "up"]).contains("c2s or s2c"));
    assert!(parse_err(&["--grep", "("]).contains("regular expression"));
    assert!(parse_err(&["--format", "pdf"]).contains("hexdump"));
}

#[test]
fn output_over_the_capture_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let cap = dir.path().join("c.pcap");
    std::fs::write(&cap, b"x").unwrap();
    let mut a = Cli::try_parse_from(["export", cap.to_str().unwrap(), "-o", cap.to_str().unwrap()])
        .unwrap()
        .args;
    a.input.resolve().unwrap();
    assert!(a.check(false).unwrap_err().to_string().contains("overwrite"));
    assert_eq!(std::fs::read(&cap).unwrap(), b"x");
}
