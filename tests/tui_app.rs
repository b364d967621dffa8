//! The timeline with the application layer ([`wsscope::app`]) on real-peer
//! captures (`fixtures/apps/`): summaries in the list, latencies beside
//! responses, the decoded tree in the detail pane with the raw payload and
//! hex one key away, the connection's latency table, and the filter terms
//! `proto:`, `event:`, `method:` and `latency>…` — each checked against
//! the JSON Lines the same capture gives.

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use std::path::PathBuf;
use wsscope::event::*;
use wsscope::source::file::FileSource;
use wsscope::tui::app::{App, Feed, Options};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/apps")
        .join(name)
}

fn events(name: &str) -> Vec<Event> {
    let mut src = FileSource::open(&fixture(name)).unwrap();
    let mut out = Vec::new();
    wsscope::pipeline::analyze(&mut src, Default::default(), &mut out).unwrap();
    out
}

fn app(name: &str) -> App {
    let mut app = App::new(name, Options::default());
    for chunk in events(name).chunks(7) {
        app.on_feed(Feed::Events(chunk.to_vec()));
    }
    app.on_feed(Feed::Done(Ok(Default::default())));
    app
}

fn screen(app: &App, w: u16, h: u16) -> String {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| f.render_widget(app, f.area())).unwrap();
    wsscope::tui::buffer_text(t.backend().buffer())
}

/// Presses plain keys; `\n` is Enter, `\x15` Ctrl-U, `\t` Tab, `\x1b` Esc.
fn press(app: &mut App, keys: &str) {
    for c in keys.chars() {
        let k = match c {
            '\n' => KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE),
            '\t' => KeyEvent::new(KeyCode::Tab, KeyModifiers::NONE),
            '\x1b' => KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE),
            '\x15' => KeyEvent::new(KeyCode::Char('u'), KeyModifiers::CONTROL),
            c if c.is_uppercase() => KeyEvent::new(KeyCode::Char(c), KeyModifiers::SHIFT),
            c => KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE),
        };
        app.on_key(k);
    }
}

/// The message events that carry an application protocol's items.
fn decoded_messages(evs: &[Event]) -> Vec<&MessageEvent> {
    evs.iter()
        .filter_map(|e| match e {
            Event::Message(m) => Some(m),
            _ => None,
        })
        .filter(|m| m.decoded.as_ref().is_some_and(|d| !d.items.is_empty()))
        .collect()
}

#[test]
fn summaries_and_latencies_in_the_list() {
    let evs = events("ocpp16.pcap");
    let app = app("ocpp16.pcap");
    let want = decoded_messages(&evs);
    assert_eq!(want.len(), 16, "every OCPP message is decoded");
    // Each decoded message's row holds its items, as the event had them.
    let rows: Vec<_> = app
        .store
        .records
        .iter()
        .filter_map(|r| app.store.app(r))
        .collect();
    assert_eq!(rows.len(), want.len());
    for (row, m) in rows.iter().zip(&want) {
        let items = &m.decoded.as_ref().unwrap().items;
        assert_eq!(row.decoded.items.len(), items.len());
        for (got, want) in row.decoded.items.iter().zip(items) {
            assert_eq!(
                (&got.summary, got.latency, &got.id),
                (&want.summary, want.latency, &want.id)
            );
        }
    }
    // The list shows them, a response's latency first.
    let s = screen(&app, 200, 40);
    let answer = want
        .iter()
        .flat_map(|m| &m.decoded.as_ref().unwrap().items)
        .find(|i| i.kind == "CALLRESULT" && i.method.as_deref() == Some("BootNotification"))
        .unwrap();
    let latency = wsscope::app::latency_text(answer.latency.unwrap());
    assert!(s.contains("ocpp CALL BootNotification id cp-1"), "{s}");
    assert!(s.contains(&format!("[{latency}] ocpp CALLRESULT id cp-1")), "{s}");
    // No raw JSON where a summary is: the request's payload starts `[2,`.
    assert!(!s.contains("[2,\"cp-1\""), "{s}");
}

#[test]
fn detail_shows_the_tree_then_the_payload_and_hex_one_key_away() {
    let evs = events("ocpp16.pcap");
    let mut app = app("ocpp16.pcap");
    // The answer to the Heartbeat (row 4: the handshake is row 0).
    press(&mut app, "jjjj\n");
    let s = screen(&app, 160, 80);
    let m = decoded_messages(&evs)[3];
    let item = &m.decoded.as_ref().unwrap().items[0];
    assert_eq!(
        (item.kind.as_str(), item.method.as_deref()),
        ("CALLRESULT", Some("Heartbeat"))
    );
    for want in [
        "Application message · ocpp".to_string(),
        "Kind             CALLRESULT".into(),
        format!("Id               {}", item.id.as_deref().unwrap()),
        "Method           Heartbeat".into(),
        format!(
            "Latency          {} after the request (packet {})",
            wsscope::app::latency_text(item.latency.unwrap()),
            item.request_packet.unwrap()
        ),
        // OCPP builds its tree: shown re-indented, before the payload.
        "    Tree".into(),
        format!("Payload ({} bytes)", m.data.len()),
        "(JSON, re-indented)".into(),
        // The connection's latency table, from its close summary.
        "Application      ocpp (subprotocol ocpp1.6)".into(),
        "latency        Heartbeat ×2".into(),
    ] {
        assert!(s.contains(&want), "missing {want:?} in\n{s}");
    }
    // Tree first, payload after: the JSON twice.
    assert!(s.find("Application message").unwrap() < s.find("Payload (").unwrap());
    assert_eq!(
        s.matches("\"currentTime\": \"2026-01-01T00:00:00Z\"").count(),
        2,
        "{s}"
    );
    // x: the payload as hex, the decoded part still above it.
    press(&mut app, "x");
    let s = screen(&app, 160, 80);
    let hex: String = m.data[..4].iter().map(|b| format!("{b:02x} ")).collect();
    assert!(s.contains(hex.trim_end()), "no hex {hex:?} in\n{s}");
    assert!(s.contains("Application message · ocpp"), "{s}");
}

#[test]
fn a_tree_that_is_the_whole_message_is_not_shown_twice() {
    // JSON-RPC trees are spans of the message: nothing was copied.
    let mut app = app("jsonrpc.pcap");
    let pos = app
        .view
        .rows
        .iter()
        .position(|&i| {
            let r = &app.store.records[i as usize];
            app.store
                .app(r)
                .is_some_and(|a| a.decoded.items.len() == 1 && a.decoded.items[0].kind == "request")
        })
        .expect("a JSON-RPC request row");
    app.cursor = pos;
    press(&mut app, "\n");
    let s = screen(&app, 160, 60);
    assert!(
        s.contains("Tree             the whole payload, unchanged (below)"),
        "{s}"
    );
    assert!(s.contains("Application message · json-rpc"), "{s}");
}

#[test]
fn a_built_tree_is_kept_as_the_json_lines_writer_gets_it() {
    // MQTT packets are built trees (not spans of the message).
    let evs = events("mqtt.pcap");
    let mut app = app("mqtt.pcap");
    let rows: Vec<u32> = app.view.rows.clone();
    let (pos, idx) = rows
        .iter()
        .enumerate()
        .find(|(_, i)| {
            let r = &app.store.records[**i as usize];
            app.store.app(r).is_some_and(|a| {
                a.decoded.items.iter().any(|m| m.kind == "PUBLISH")
                    && a.trees
                        .iter()
                        .any(|t| matches!(t, wsscope::tui::store::Tree::Json(_)))
            })
        })
        .expect("a PUBLISH row with a built tree");
    let r = app.store.records[*idx as usize];
    let row = app.store.app(&r).unwrap();
    let i = row
        .decoded
        .items
        .iter()
        .position(|m| m.kind == "PUBLISH")
        .unwrap();
    let wsscope::tui::store::Tree::Json(kept) = &row.trees[i] else {
        panic!()
    };
    // The same tree the JSON Lines writer gets.
    let ev_tree = evs
        .iter()
        .filter_map(|e| match e {
            Event::Message(m)
                if m.packets.map(|p| p.last) == r.packets().map(|p| p.1) && m.dir == r.dir.unwrap() =>
            {
                m.decoded.as_ref()
            }
            _ => None,
        })
        .flat_map(|d| d.items.iter())
        .find(|m| m.kind == "PUBLISH")
        .unwrap()
        .tree
        .clone();
    assert_eq!(serde_json::from_str::<serde_json::Value>(kept).unwrap(), ev_tree);
    app.cursor = pos;
    press(&mut app, "\n");
    let s = screen(&app, 160, 90);
    assert!(s.contains("Application message"), "{s}");
    assert!(s.contains("    Tree"), "{s}");
    assert!(s.contains("PUBLISH"), "{s}");
}

/// Rows of the view that are messages.
fn message_rows(app: &App) -> usize {
    app.view
        .rows
        .iter()
        .filter(|&&i| app.store.records[i as usize].kind == wsscope::tui::store::Kind::Message)
        .count()
}

#[test]
fn filter_terms_select_as_dump_and_export_do() {
    for (name, filters) in [
        (
            "ocpp16.pcap",
            &[
                "proto:ocpp",
                "method:Heartbeat",
                "method:Heartbeat dir:s2c",
                "latency>5ms",
                "latency<=1ms",
                "proto:mqtt",
            ][..],
        ),
        (
            "socketio.pcap",
            &["proto:socket.io", "event:chat", "latency>0s", "event:nope"][..],
        ),
        ("mqtt.pcap", &["proto:mqtt", "latency>=1us"][..]),
    ] {
        let evs = events(name);
        let mut app = app(name);
        let mut nonzero = 0;
        for f in filters {
            let sel = wsscope::select::parse_expr(f).unwrap();
            let want = evs
                .iter()
                .filter(|e| matches!(e, Event::Message(m) if sel.matches_message(m)))
                .count();
            press(&mut app, &format!("f\x15{f}\n"));
            assert!(
                app.status.as_ref().is_none_or(|s| !s.1),
                "{name} {f}: {:?}",
                app.status
            );
            assert_eq!(message_rows(&app), want, "{name}: filter {f}");
            nonzero += usize::from(want > 0);
        }
        assert!(
            nonzero + 1 >= filters.len(),
            "{name}: filters that select nothing prove little"
        );
    }
}

#[test]
fn http2_streams_named_and_their_own_connect_shown() {
    let mut a = App::new("h2c_python.pcap", Options::default());
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/h2/h2c_python.pcap");
    let mut src = FileSource::open(&path).unwrap();
    let mut evs = Vec::new();
    wsscope::pipeline::analyze(&mut src, Default::default(), &mut evs).unwrap();
    for chunk in evs.chunks(7) {
        a.on_feed(Feed::Events(chunk.to_vec()));
    }
    a.on_feed(Feed::Done(Ok(Default::default())));
    // Every row of a stream names it, as the events do.
    let want: Vec<Option<u32>> = evs
        .iter()
        .filter(|e| matches!(e, Event::Handshake(_) | Event::Message(_)))
        .map(|e| e.stream())
        .collect();
    let got: Vec<Option<u32>> = a
        .view
        .rows
        .iter()
        .map(|&i| &a.store.records[i as usize])
        .filter(|r| {
            matches!(
                r.kind,
                wsscope::tui::store::Kind::Handshake | wsscope::tui::store::Kind::Message
            )
        })
        .map(|r| a.store.stream_of(r))
        .collect();
    assert_eq!(got, want);
    let s = screen(&a, 160, 50);
    for cell in [
        "0/1   → HTTP",
        "0/3   → HTTP",
        "0/5   → HTTP",
        "CONNECT /ws/b → 200 (HTTP/2, no accept key)",
    ] {
        assert!(s.contains(cell), "missing {cell:?} in\n{s}");
    }
    assert!(
        !s.contains("rejected"),
        "a 200 answer to a CONNECT is no refusal:\n{s}"
    );
    // A row of stream 3: its own CONNECT in the detail, not another's.
    let pos = a
        .view
        .rows
        .iter()
        .position(|&i| {
            let r = &a.store.records[i as usize];
            r.kind == wsscope::tui::store::Kind::Message && a.store.stream_of(r) == Some(3)
        })
        .unwrap();
    a.cursor = pos;
    press(&mut a, "\n");
    let s = screen(&a, 160, 90);
    for want in [
        "HTTP/2 stream 3",
        "WebSocket streams 3 (HTTP/2, RFC 8441): 1, 3, 5",
        "CONNECT /ws/b HTTP/2 (extended CONNECT)",
        ":protocol: websocket",
        "HTTP/2 200",
        "RFC 8441 (HTTP/2) has no accept key",
    ] {
        assert!(s.contains(want), "missing {want:?} in\n{s}");
    }
    assert!(!s.contains("/ws/c HTTP/2"), "another stream's CONNECT:\n{s}");
    // The filter takes conn:0/3 as dump and export do.
    press(&mut a, "\x1bf\x15conn:0/3\n");
    let sel = wsscope::select::parse_expr("conn:0/3").unwrap();
    let n = evs
        .iter()
        .filter(|e| matches!(e, Event::Message(m) if sel.matches_message(m)))
        .count();
    assert!(n > 0);
    assert_eq!(message_rows(&a), n);
}
