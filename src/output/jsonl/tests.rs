//! The JSON Lines rendering of each event kind.

use super::*;
use crate::event::*;
use serde_json::Value;

fn json(ev: &Event) -> Value {
    let s = event_to_string(ev);
    serde_json::from_str(&s).unwrap_or_else(|e| panic!("{e}: {s}"))
}

fn frame_ev() -> FrameEvent {
    FrameEvent {
        conn: 3,
        session: crate::model::SessionId::conn(3),
        packets: crate::model::PacketSpan::one(1),
        ts: Timestamp::new(1_700_000_000, 123_456_789),
        dir: Dir::C2S,
        fin: true,
        rsv: 4,
        opcode: 0x8,
        masked: true,
        mask_key: Some([0x37, 0xfa, 0x21, 0x3d]),
        len: 5,
        len_bits: 7,
        header_len: 6,
        offset: 100,
        payload: vec![0x03, 0xe8, b'b', b'"', b'\n'],
        truncated: false,
        close_code: Some(1000),
        close_reason: Some("b\"\n".into()),
        rtt: None,
        header_captured: None,
        header_bytes: None,
    }
}

#[test]
fn frame_contract() {
    let ev = Event::Frame(frame_ev());
    let s = event_to_string(&ev);
    assert!(
        s.starts_with(r#"{"type":"frame","ts":1700000000.123456789,"conn":3,"dir":"c2s""#),
        "{s}"
    );
    let v = json(&ev);
    assert_eq!(v["fin"], true);
    assert_eq!(v["rsv"], 4);
    assert_eq!(v["opcode"], 8);
    assert_eq!(v["opcode_name"], "close");
    assert_eq!(v["mask_key"], "37fa213d");
    assert_eq!(v["len"], 5);
    assert_eq!(v["payload_hex"], "03e862220a");
    assert_eq!(v["truncated"], false);
    assert_eq!(v["close_code"], 1000);
    assert_eq!(v["close_reason"], "b\"\n");
    assert!(v.get("rtt").is_none());

    let mut f = frame_ev();
    f.opcode = 0x3;
    f.mask_key = None;
    let v = json(&Event::Frame(f));
    assert_eq!(v["opcode_name"], "reserved-0x3");
    assert_eq!(v["mask_key"], Value::Null);
    assert!(v.get("close_code").is_none());

    let mut f = frame_ev();
    f.opcode = 0xA;
    f.rtt = Some(0.0125);
    assert_eq!(json(&Event::Frame(f))["rtt"], 0.0125);
}

#[test]
fn message_text_or_hex() {
    let mut m = MessageEvent {
        decoded: None,
        conn: 1,
        session: crate::model::SessionId::conn(1),
        seq: 0,
        first_frame_offset: 0,
        packets: None,
        ts: Timestamp::new(5, 0),
        dir: Dir::S2C,
        opcode: 1,
        frames: 2,
        compressed: true,
        data: "héllo \u{1b}".as_bytes().to_vec(),
        wire_len: 9,
        is_text: true,
        inflate_error: None,
        truncated: false,
    };
    let v = json(&Event::Message(m.clone()));
    assert_eq!(v["text"], "héllo \u{1b}");
    assert!(v.get("data_hex").is_none());
    assert_eq!(v["len"], 8);
    assert_eq!(v["ts"].as_f64(), Some(5.0));
    m.is_text = false;
    m.inflate_error = Some("x".into());
    let v = json(&Event::Message(m));
    assert_eq!(v["data_hex"], "68c3a96c6c6f201b");
    assert_eq!(v["inflate_error"], "x");
}

#[test]
fn handshake_and_close_contract() {
    let h = HandshakeEvent {
        conn: 0,
        session: crate::model::SessionId::conn(0),
        method: "GET".into(),
        path: "/chat".into(),
        key: Some("k".into()),
        status: Some(101),
        accept_ok: Some(true),
        deflate: Some(DeflateParams {
            client_max_window_bits: Some(12),
            ..Default::default()
        }),
        request_headers: vec![("Host".into(), "a".into())],
        ..Default::default()
    };
    let v = json(&Event::Handshake(Box::new(h)));
    for k in [
        "method",
        "path",
        "host",
        "origin",
        "key",
        "version",
        "subprotocol",
        "extensions",
        "status",
        "accept",
        "accept_expected",
        "accept_ok",
    ] {
        assert!(v.get(k).is_some(), "{k}");
    }
    assert_eq!(v["host"], Value::Null);
    assert_eq!(v["status"], 101);
    assert_eq!(v["deflate"]["client_max_window_bits"], 12);
    assert_eq!(v["request_headers"][0][1], "a");
    // The Zeek-style facts: null / [] when absent.
    for k in [
        "client_extensions",
        "server_extensions",
        "server_subprotocol",
        "rejected",
    ] {
        assert_eq!(v[k], Value::Null, "{k}");
    }
    assert_eq!(v["client_subprotocols"], serde_json::json!([]));

    let addr: std::net::SocketAddr = "[::1]:8765".parse().unwrap();
    let c = ConnectionEndEvent {
        app: None,
        conn: 2,
        ts: Timestamp::new(9, 1),
        client: addr,
        server: "10.0.0.1:80".parse().unwrap(),
        first_ts: Timestamp::new(1, 0),
        last_ts: Timestamp::new(9, 1),
        end: TcpEnd::Fin,
        protocol: Protocol::WebSocket,
        stats: [
            DirStats {
                frames: 3,
                close: Some((Some(1000), None)),
                ..Default::default()
            },
            DirStats::default(),
        ],
        close_first: Some(Dir::C2S),
        rtt: Some((0.1, 0.2, 0.3)),
        handshake_seen: true,
        violations: 1,
        tls: None,
        first_packet: 1,
        last_packet: 1,
        h2_ws_streams: 0,
        stream: None,
    };
    let v = json(&Event::Close(Box::new(c)));
    assert_eq!(v["client"], "[::1]:8765");
    assert_eq!(v["c2s"]["frames"], 3);
    assert_eq!(v["c2s"]["close_code"], 1000);
    assert_eq!(v["s2c"]["close_code"], Value::Null);
    assert_eq!(v["rtt_median"], 0.2);
    assert_eq!(v["protocol"], "websocket");
    assert_eq!(v["end"], "fin");
}

#[test]
fn sink_writes_lines() {
    use crate::event::EventSink;
    let mut s = JsonlSink::with_flush_each(Vec::new(), true);
    s.event(Event::Frame(frame_ev()));
    s.event(Event::Gap(GapEvent {
        conn: 3,
        ts: Timestamp::new(1, 0),
        dir: Dir::S2C,
        offset: 10,
        bytes: 20,
        reason: GapReason::Lost,
        frame_offset: None,
        packet: 1,
    }));
    let out = String::from_utf8(s.into_inner()).unwrap();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2);
    let g: Value = serde_json::from_str(lines[1]).unwrap();
    assert_eq!(g["type"], "gap");
    assert_eq!(g["bytes"], 20);
    assert_eq!(g["reason"], "lost");
}

/// `--payload none|N` on the records.
mod lean_tests {
    use super::*;

    fn message(text: bool, data: &[u8]) -> Event {
        Event::Message(MessageEvent {
            decoded: None,
            conn: 1,
            session: crate::model::SessionId::conn(1),
            seq: 0,
            first_frame_offset: 0,
            packets: None,
            ts: Timestamp::new(5, 0),
            dir: Dir::S2C,
            opcode: if text { 1 } else { 2 },
            frames: 1,
            compressed: false,
            data: data.to_vec(),
            wire_len: data.len() as u64,
            is_text: text,
            inflate_error: None,
            truncated: false,
        })
    }

    fn render(ev: &Event, limit: PayloadLimit) -> String {
        let mut v = Vec::new();
        event_json_with(ev, limit, &mut v);
        String::from_utf8(v).unwrap_or_default()
    }

    #[test]
    fn payload_limits_on_messages() {
        let t = message(true, "hé€!".as_bytes());
        let full = render(&t, PayloadLimit::Full);
        assert!(full.contains(r#""len":7,"text":"hé€!","wire_len""#), "{full}");
        assert_eq!(render(&t, PayloadLimit::Full), event_to_string(&t));
        let none = render(&t, PayloadLimit::None);
        assert!(none.contains(r#""len":7,"wire_len""#), "{none}");
        // 4 bytes end inside €: the cut keeps 3 and says so.
        let cut = render(&t, PayloadLimit::Bytes(4));
        assert!(
            cut.contains(r#""text":"hé","payload_cut":true,"wire_len""#),
            "{cut}"
        );
        assert_eq!(render(&t, PayloadLimit::Bytes(7)), full);
        let b = message(false, &[1, 2, 3]);
        let cut = render(&b, PayloadLimit::Bytes(2));
        assert!(cut.contains(r#""data_hex":"0102","payload_cut":true,"#), "{cut}");
        assert!(!render(&b, PayloadLimit::None).contains("data_hex"));
        // Invalid UTF-8 in a text message: the lossy text, cut.
        let lossy = message(true, b"ab\xffcd");
        assert!(render(&lossy, PayloadLimit::Full).contains("\"text\":\"ab\u{fffd}cd\""));
        assert!(render(&lossy, PayloadLimit::Bytes(3)).contains(r#""text":"ab","payload_cut":true"#));
    }

    /// The string escaping before it was made fast, for comparison.
    fn reference(v: &str) -> String {
        if v.bytes().all(|b| b < 0x7F) {
            return serde_json::to_string(v).unwrap_or_default();
        }
        let mut out = String::from("\"");
        let mut utf16 = [0u16; 2];
        for c in v.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                c if crate::output::text::is_unsafe_char(c) => {
                    for unit in c.encode_utf16(&mut utf16).iter() {
                        out.push_str(&format!("\\u{unit:04x}"));
                    }
                }
                c => out.push(c),
            }
        }
        out.push('"');
        out
    }

    #[test]
    fn strings_escaped_as_before() {
        let mut s = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = move || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s
        };
        let pool: Vec<char> = "ab \"\\\n\t\x01\x1b\x7fé€😀\u{85}\u{202e}\u{200b}\u{feff}{}:,"
            .chars()
            .collect();
        for _ in 0..3000 {
            let len = (next() % 40) as usize;
            let v: String = (0..len)
                .map(|_| pool[(next() % pool.len() as u64) as usize])
                .collect();
            let mut out = Vec::new();
            Obj::new(&mut out).raw_str(&v);
            assert_eq!(
                String::from_utf8(out).unwrap_or_default(),
                format!("{{{}", reference(&v)),
                "{v:?}"
            );
        }
    }
}
