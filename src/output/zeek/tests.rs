//! Zeek's ASCII escaping and the row a session gets.

use super::*;
use crate::event::{ConnectionEvent, Protocol, RoleBasis, SessionId, TcpEnd};

fn esc(v: &str, in_vector: bool) -> String {
    let mut out = Vec::new();
    escape_into(&mut out, v, in_vector);
    String::from_utf8(out).unwrap()
}

#[test]
fn reserved_values_get_their_first_byte_escaped() {
    // Else Zeek's reader takes them for unset and empty.
    assert_eq!(esc("-", false), "\\x2d");
    assert_eq!(esc("(empty)", false), "\\x28empty)");
    assert_eq!(esc("", false), "(empty)");
    // Only the whole value is reserved.
    assert_eq!(esc("--", false), "--");
    assert_eq!(esc("-x", false), "-x");
}

#[test]
fn separators_backslash_and_controls_are_hex() {
    assert_eq!(esc("a\tb", false), "a\\x09b");
    assert_eq!(esc("a\\x41", false), "a\\x5cx41");
    assert_eq!(esc("a\r\n\x1b[31m", false), "a\\x0d\\x0a\\x1b[31m");
    // The set separator only inside a vector element.
    assert_eq!(esc("a,b", false), "a,b");
    assert_eq!(esc("a,b", true), "a\\x2cb");
    // UTF-8 stays; a bidi override (U+202E) and a C1 control do not.
    assert_eq!(esc("héllo", false), "héllo");
    assert_eq!(esc("a\u{202e}b", false), "a\\xe2\\x80\\xaeb");
    assert_eq!(esc("\u{85}", false), "\\xc2\\x85");
}

#[test]
fn extension_lists_split_as_zeeks_script_does() {
    assert_eq!(
        split_list("permessage-deflate; client_max_window_bits, x-webkit-deflate-frame"),
        [
            "permessage-deflate; client_max_window_bits",
            "x-webkit-deflate-frame"
        ]
    );
    // ` *, *`: spaces around a comma go, others stay; empties stay.
    assert_eq!(split_list("a ,  b,,c"), ["a", "b", "", "c"]);
    assert_eq!(split_list("one"), ["one"]);
}

#[test]
fn times_round_to_the_microsecond() {
    assert_eq!(
        time_str(Timestamp::new(1700000000, 123456789)),
        "1700000000.123457"
    );
    assert_eq!(
        time_str(Timestamp::new(1700000000, 999999500)),
        "1700000001.000000"
    );
    assert_eq!(time_str(Timestamp::new(0, 0)), "0.000000");
    assert_eq!(time_str(Timestamp::new(-2, 500_000_000)), "-1.500000");
    assert_eq!(log_time(Timestamp::new(1700000000, 0)), "2023-11-14-22-13-20");
}

#[test]
fn uids_look_like_zeeks_and_are_stable() {
    let a = uid("cap.pcap", 0, None);
    assert!(a.starts_with('C') && (10..=18).contains(&a.len()), "{a}");
    assert!(a.bytes().skip(1).all(|b| b.is_ascii_alphanumeric()), "{a}");
    assert_eq!(a, uid("cap.pcap", 0, None));
    assert_ne!(a, uid("other.pcap", 0, None));
    assert_ne!(a, uid("cap.pcap", 1, None));
    assert_ne!(a, uid("cap.pcap", 0, Some(1)));
}

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn close(conn: ConnId, protocol: Protocol, handshake_seen: bool) -> ConnectionEndEvent {
    let mut stats: [DirStats; 2] = Default::default();
    stats[0].frames = 3;
    stats[0].messages = 2;
    stats[0].stream_bytes = 300;
    stats[0].close = Some((Some(1000), None));
    stats[1].frames = 4;
    stats[1].messages = 4;
    stats[1].stream_bytes = 400;
    ConnectionEndEvent {
        conn,
        ts: Timestamp::new(12, 0),
        client: addr("10.0.0.1:40000"),
        server: addr("10.0.0.2:80"),
        first_ts: Timestamp::new(10, 0),
        last_ts: Timestamp::new(12, 500_000_000),
        end: TcpEnd::Fin,
        protocol,
        stats,
        close_first: Some(Dir::C2S),
        rtt: Some((0.001, 0.002, 0.003)),
        handshake_seen,
        violations: 1,
        tls: None,
        first_packet: 1,
        last_packet: 9,
        app: None,
        h2_ws_streams: 0,
        stream: None,
    }
}

fn connection(conn: ConnId) -> Event {
    Event::Connection(ConnectionEvent {
        conn,
        ts: Timestamp::new(10, 0),
        client: addr("10.0.0.1:40000"),
        server: addr("10.0.0.2:80"),
        syn_seen: true,
        role_basis: RoleBasis::Syn,
        packet: 1,
    })
}

fn lines(events: Vec<Event>) -> Vec<String> {
    let mut sink = ZeekSink::new(Vec::new()).capture_name("t.pcap");
    for ev in events {
        sink.event(ev);
    }
    sink.finish().unwrap();
    String::from_utf8(sink.into_inner())
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn a_session_row_has_its_handshake_and_its_counters() {
    let hs = HandshakeEvent {
        conn: 0,
        session: SessionId {
            conn: 0,
            stream: None,
        },
        ts: Timestamp::new(10, 100_000_000),
        response_ts: Some(Timestamp::new(10, 200_000_000)),
        method: "GET".into(),
        path: "/chat".into(),
        host: Some("example.com".into()),
        request_headers: vec![("User-Agent".into(), "curl\t8".into())],
        client_subprotocols: vec!["v2".into(), "v1".into()],
        server_subprotocol: Some("v2".into()),
        client_extensions: Some("permessage-deflate; a=1, x".into()),
        status: Some(101),
        accept_ok: Some(true),
        rejected: Some(false),
        ..Default::default()
    };
    let out = lines(vec![
        connection(0),
        Event::Handshake(Box::new(hs)),
        Event::Close(Box::new(close(0, Protocol::WebSocket, true))),
    ]);
    let fields: Vec<&str> = out[6].split('\t').collect();
    assert_eq!(fields.len(), COLUMNS.len() + 1, "{}", out[6]);
    let rows: Vec<_> = out.iter().filter(|l| !l.starts_with('#')).collect();
    assert_eq!(rows.len(), 1);
    let row: Vec<&str> = rows[0].split('\t').collect();
    let uid = uid("t.pcap", 0, None);
    let cid = community_id(addr("10.0.0.1:40000"), addr("10.0.0.2:80"));
    let want = [
        "10.200000",
        uid.as_str(),
        "10.0.0.1",
        "40000",
        "10.0.0.2",
        "80",
        "example.com",
        "/chat",
        "curl\\x098",
        "v2",
        "v2,v1",
        "-",
        "permessage-deflate; a=1,x",
        cid.as_str(),
        "-",
        "1.1",
        "101",
        "T",
        "3",
        "4",
        "2",
        "4",
        "300",
        "400",
        "1000",
        "-",
        "c2s",
        "0.002000",
        "1",
        "fin",
        "2.500000",
    ];
    assert_eq!(row, want);
    assert_eq!(out.first().map(String::as_str), Some("#separator \\x09"));
    assert_eq!(out[5], "#open\t1970-01-01-00-00-10");
    assert_eq!(
        out.last().map(String::as_str),
        Some("#close\t1970-01-01-00-00-12")
    );
}

#[test]
fn a_websocket_without_handshake_gets_a_row_and_plain_tcp_none() {
    let out = lines(vec![
        connection(0),
        connection(1),
        Event::Close(Box::new(close(0, Protocol::WebSocket, false))),
        Event::Close(Box::new(close(1, Protocol::Other, false))),
    ]);
    let rows: Vec<_> = out.iter().filter(|l| !l.starts_with('#')).collect();
    assert_eq!(rows.len(), 1);
    let row: Vec<&str> = rows[0].split('\t').collect();
    assert_eq!(row[0], "10.000000");
    // host … client_extensions, stream, http_version, status, accept_ok: unset.
    assert!(row[6..13].iter().all(|v| *v == "-"), "{row:?}");
    assert_eq!(&row[14..18], ["-", "-", "-", "-"]);
    assert_eq!(row[18], "3");
}

#[test]
fn header_and_footer_can_be_left_out_for_concatenation() {
    let mut sink = ZeekSink::new(Vec::new()).header(false).footer(false);
    sink.event(connection(0));
    sink.event(Event::Close(Box::new(close(0, Protocol::WebSocket, false))));
    sink.finish().unwrap();
    let out = String::from_utf8(sink.into_inner()).unwrap();
    assert_eq!(out.lines().count(), 1);
    assert!(!out.contains('#'));
}

#[test]
fn a_handshake_whose_close_never_came_is_written_at_the_end_without_counters() {
    let hs = HandshakeEvent {
        conn: 0,
        session: SessionId {
            conn: 0,
            stream: None,
        },
        ts: Timestamp::new(10, 0),
        path: "/".into(),
        ..Default::default()
    };
    let out = lines(vec![connection(0), Event::Handshake(Box::new(hs))]);
    let rows: Vec<_> = out.iter().filter(|l| !l.starts_with('#')).collect();
    assert_eq!(rows.len(), 1);
    let row: Vec<&str> = rows[0].split('\t').collect();
    assert_eq!(&row[2..8], ["10.0.0.1", "40000", "10.0.0.2", "80", "-", "/"]);
    assert!(row[18..].iter().all(|v| *v == "-"), "{row:?}");
    assert_eq!(
        out.last().map(String::as_str),
        Some("#close\t1970-01-01-00-00-10")
    );
}
