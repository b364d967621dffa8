use super::*;
use crate::event::{ConnectionEvent, RoleBasis};
use serde_json::Value;

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn connection(conn: ConnId) -> Event {
    Event::Connection(ConnectionEvent {
        conn,
        ts: Timestamp::new(1_700_000_000, 0),
        client: addr("10.0.0.1:50000"),
        server: addr("10.0.0.2:8080"),
        syn_seen: true,
        role_basis: RoleBasis::Syn,
        packet: 1,
    })
}

fn handshake(conn: ConnId) -> Event {
    Event::Handshake(Box::new(HandshakeEvent {
        conn,
        session: SessionId::conn(conn),
        ts: Timestamp::new(1_700_000_000, 500_000_000),
        method: "GET".into(),
        path: "/chat?room=1&x".into(),
        host: Some("example.com:8080".into()),
        status: Some(101),
        reason: Some("Switching Protocols".into()),
        response_ts: Some(Timestamp::new(1_700_000_000, 502_500_000)),
        request_headers: vec![
            ("Host".into(), "example.com:8080".into()),
            ("Cookie".into(), "a=1; b=2".into()),
            ("Upgrade".into(), "websocket".into()),
        ],
        response_headers: vec![("Upgrade".into(), "websocket".into())],
        ..HandshakeEvent::default()
    }))
}

fn message(conn: ConnId, dir: Dir, opcode: u8, data: &[u8]) -> Event {
    Event::Message(MessageEvent {
        decoded: None,
        conn,
        session: SessionId::conn(conn),
        seq: 0,
        first_frame_offset: 0,
        packets: None,
        ts: Timestamp::new(1_700_000_001, 250_000_000),
        dir,
        opcode,
        frames: 1,
        compressed: false,
        data: data.to_vec(),
        wire_len: data.len() as u64,
        is_text: opcode == 1 && std::str::from_utf8(data).is_ok(),
        inflate_error: None,
        truncated: false,
    })
}

fn close(conn: ConnId) -> Event {
    let mut events = Vec::new();
    // The close record's shape does not matter here: build it through the
    // analyzer's own type with defaults.
    events.push(Event::Close(Box::new(crate::event::ConnectionEndEvent {
        app: None,
        conn,
        ts: Timestamp::new(1_700_000_002, 0),
        client: addr("10.0.0.1:50000"),
        server: addr("10.0.0.2:8080"),
        first_ts: Timestamp::new(1_700_000_000, 0),
        last_ts: Timestamp::new(1_700_000_002, 0),
        end: crate::event::TcpEnd::Fin,
        protocol: crate::event::Protocol::WebSocket,
        stats: Default::default(),
        close_first: None,
        rtt: None,
        handshake_seen: true,
        violations: 0,
        tls: None,
        first_packet: 1,
        last_packet: 1,
        h2_ws_streams: 0,
        stream: None,
    })));
    events.remove(0)
}

fn har(events: &[Event], limit: usize) -> Value {
    let mut out = Vec::new();
    let mut w = HarWriter::new(&mut out, limit);
    for e in events {
        w.write_event(e).unwrap();
    }
    w.flush().unwrap();
    drop(w);
    serde_json::from_slice(&out).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out)))
}

#[test]
fn an_entry_holds_the_upgrade_and_the_messages() {
    let v = har(
        &[
            connection(0),
            handshake(0),
            message(0, Dir::C2S, 1, "héllo \u{1b}".as_bytes()),
            message(0, Dir::S2C, 2, &[0, 1, 0xff]),
            close(0),
        ],
        1 << 20,
    );
    assert_eq!(v["log"]["version"], "1.2");
    assert_eq!(v["log"]["creator"]["name"], "wsscope");
    let e = &v["log"]["entries"][0];
    assert_eq!(e["request"]["url"], "ws://example.com:8080/chat?room=1&x");
    assert_eq!(e["request"]["headers"][1]["name"], "Cookie");
    assert_eq!(
        e["request"]["queryString"][1],
        serde_json::json!({"name": "x", "value": ""})
    );
    assert_eq!(
        e["request"]["cookies"][1],
        serde_json::json!({"name": "b", "value": "2"})
    );
    assert_eq!(e["response"]["status"], 101);
    assert_eq!(e["startedDateTime"], "2023-11-14T22:13:20.500000+00:00");
    assert!((e["timings"]["wait"].as_f64().unwrap() - 2.5).abs() < 1e-9);
    assert_eq!(e["_resourceType"], "websocket");
    assert_eq!(e["_wsscopeEnd"], "fin");
    let m = &e["_webSocketMessages"];
    assert_eq!(m[0]["type"], "send");
    assert_eq!(m[0]["data"], "héllo \u{1b}");
    // serde_json parses floats to within an ulp or so.
    assert!((m[0]["time"].as_f64().unwrap() - 1_700_000_001.25).abs() < 1e-6);
    assert_eq!(m[1]["type"], "receive");
    assert_eq!(m[1]["opcode"], 2);
    assert_eq!(m[1]["data"], "AAH/");
}

#[test]
fn interleaved_connections_spill_and_come_back_whole() {
    for limit in [1 << 20, 0] {
        let mut events = vec![connection(0), handshake(0), connection(1), handshake(1)];
        for i in 0..200u32 {
            let c = u64::from(i % 2);
            events.push(message(c, Dir::C2S, 1, format!("msg {i} of {c}").as_bytes()));
        }
        events.push(close(1));
        events.push(close(0));
        let v = har(&events, limit);
        let entries = v["log"]["entries"].as_array().unwrap();
        // In the order the connections ended.
        assert_eq!(entries[0]["_wsscopeConn"], 1);
        assert_eq!(entries[1]["_wsscopeConn"], 0);
        for e in entries {
            let c = e["_wsscopeConn"].as_u64().unwrap();
            let got: Vec<&str> = e["_webSocketMessages"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m["data"].as_str().unwrap())
                .collect();
            let want: Vec<String> = (0..200u64)
                .filter(|i| i % 2 == c)
                .map(|i| format!("msg {i} of {c}"))
                .collect();
            assert_eq!(got, want, "limit {limit}");
        }
    }
}

#[test]
fn without_a_handshake_or_a_close_the_document_is_still_whole() {
    let mut bad = message(3, Dir::S2C, 1, &[0xff, b'a']);
    if let Event::Message(m) = &mut bad {
        m.truncated = true;
    }
    let v = har(&[connection(3), bad], 1 << 20);
    let e = &v["log"]["entries"][0];
    assert_eq!(e["request"]["url"], "ws://10.0.0.2:8080/");
    assert_eq!(e["response"]["status"], 0);
    assert_eq!(e["_wsscopeHandshakeCaptured"], false);
    assert_eq!(e["_wsscopeEnd"], "open");
    let m = &e["_webSocketMessages"][0];
    assert_eq!(m["data"], "/2E=");
    assert_eq!(m["_wsscopeEncoding"], "base64");
    assert_eq!(m["_wsscopeTruncated"], true);
    // Nothing selected: an empty log, still valid.
    let v = har(&[], 0);
    assert_eq!(v["log"]["entries"], serde_json::json!([]));
}

#[test]
fn urls_follow_tls_and_absolute_targets() {
    let server = addr("[2001:db8::1]:443");
    assert_eq!(ws_url(server, true, None), "wss://[2001:db8::1]:443/");
    let h = HandshakeEvent {
        path: "https://proxy.example/x".into(),
        host: Some("ignored".into()),
        ..HandshakeEvent::default()
    };
    assert_eq!(ws_url(server, true, Some(&h)), "wss://proxy.example/x");
}
