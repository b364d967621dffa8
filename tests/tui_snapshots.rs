//! TUI tests: an `App` fed with events from real fixtures (through the same
//! `pipeline::analyze` loop as every command) and driven by key presses,
//! rendered to ratatui's `TestBackend`. Snapshots hold characters; styles are
//! asserted cell by cell.

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers, MouseEvent, MouseEventKind};
use ratatui::style::{Color, Modifier};
use std::net::SocketAddr;
use std::path::PathBuf;
use wsscope::event::*;
use wsscope::select::Selection;
use wsscope::source::file::FileSource;
use wsscope::tui::app::{Action, App, Feed, Options};
use wsscope::tui::store::Budget;

fn fixture(name: &str) -> PathBuf {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name);
    assert!(p.is_file(), "missing fixture {}", p.display());
    p
}

fn events(name: &str) -> Vec<Event> {
    let path = fixture(name);
    let mut src = FileSource::open(&path).unwrap();
    let mut out = Vec::new();
    wsscope::pipeline::analyze(&mut src, Default::default(), &mut out).unwrap();
    out
}

fn app_from(name: &str, opts: Options) -> App {
    let evs = events(name);
    assert!(
        evs.iter().any(|e| matches!(e, Event::Message(_))),
        "{name}: the WebSocket layer produced no messages"
    );
    let mut app = App::new(name, opts);
    // Several batches, as the reader thread sends them.
    for chunk in evs.chunks(7) {
        app.on_feed(Feed::Events(chunk.to_vec()));
    }
    app.on_feed(Feed::Done(Ok(Default::default())));
    app
}

fn app(name: &str) -> App {
    app_from(name, Options::default())
}

/// Events of a capture analysed with the key log `keys` (NSS format text).
fn events_with_keys(name: &str, keys: Option<&[u8]>) -> Vec<Event> {
    let path = fixture(name);
    let mut cfg = wsscope::analyzer::AnalyzerConfig::default();
    if let Some(text) = keys {
        let mut log = wsscope::tls::keylog::KeyLog::new();
        log.parse_complete(text, &mut Default::default());
        cfg.keylog = Some(std::sync::Arc::new(log));
    }
    let mut src = FileSource::open(&path).unwrap();
    let mut out = Vec::new();
    wsscope::pipeline::analyze(&mut src, cfg, &mut out).unwrap();
    out
}

/// An app over a TLS fixture, decrypted with `keys` (or not).
fn tls_app(name: &str, keys: Option<&[u8]>, opts: Options) -> App {
    let evs = events_with_keys(name, keys);
    assert!(
        evs.iter().any(|e| matches!(e, Event::Tls(_))),
        "{name}: no TLS seen"
    );
    let mut app = App::new(name, opts);
    for chunk in evs.chunks(7) {
        app.on_feed(Feed::Events(chunk.to_vec()));
    }
    app.on_feed(Feed::Done(Ok(Default::default())));
    app
}

fn keys_of(name: &str) -> Vec<u8> {
    std::fs::read(fixture(name)).unwrap()
}

fn render(app: &App, w: u16, h: u16) -> Buffer {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| f.render_widget(app, f.area())).unwrap();
    t.backend().buffer().clone()
}

fn screen(app: &App, w: u16, h: u16) -> String {
    wsscope::tui::buffer_text(&render(app, w, h))
}

fn key(code: KeyCode) -> KeyEvent {
    KeyEvent::new(code, KeyModifiers::NONE)
}

/// Presses keys: plain characters, or `<Tab>`, `<BTab>`, `<Enter>`, `<Esc>`,
/// `<Down>`, `<Up>`, `<End>`, `<C-u>`, `<Space>`. Returns the last action.
fn press(app: &mut App, keys: &str) -> Action {
    let mut last = Action::None;
    let mut rest = keys;
    while let Some(c) = rest.chars().next() {
        let (k, len) = if c == '<' {
            let end = rest.find('>').expect("unclosed <");
            let name = &rest[1..end];
            let k = match name {
                "Tab" => key(KeyCode::Tab),
                "BTab" => KeyEvent::new(KeyCode::BackTab, KeyModifiers::SHIFT),
                "Enter" => key(KeyCode::Enter),
                "Esc" => key(KeyCode::Esc),
                "Down" => key(KeyCode::Down),
                "Up" => key(KeyCode::Up),
                "End" => key(KeyCode::End),
                "PgDn" => key(KeyCode::PageDown),
                "Space" => key(KeyCode::Char(' ')),
                "C-u" => KeyEvent::new(KeyCode::Char('u'), KeyModifiers::CONTROL),
                "lt" => key(KeyCode::Char('<')),
                other => panic!("unknown key {other}"),
            };
            (k, end + 1)
        } else {
            let mods = if c.is_uppercase() {
                KeyModifiers::SHIFT
            } else {
                KeyModifiers::NONE
            };
            (KeyEvent::new(KeyCode::Char(c), mods), c.len_utf8())
        };
        last = app.on_key(k);
        rest = &rest[len..];
    }
    last
}

/// Row (y) of the first line containing `needle`.
fn line_of(buf: &Buffer, needle: &str) -> Option<u16> {
    let text = wsscope::tui::buffer_text(buf);
    text.lines().position(|l| l.contains(needle)).map(|y| y as u16)
}

/// First cell (x, y) whose symbol is `sym` on row `y`.
fn cell_x(buf: &Buffer, y: u16, sym: &str) -> Option<u16> {
    (0..buf.area.width).find(|&x| buf[(x, y)].symbol() == sym)
}

#[test]
fn start_screen_on_a_fixture() {
    let app = app("py_basic.pcap");
    let s = screen(&app, 120, 40);
    for want in [
        "py_basic.pcap",
        "1 ws / 1 tcp",
        "20 frames · 14 msgs",
        "127.0.0.1:48836 → 127.0.0.1:19010 /py_basic",
        "GET /py_basic → 101 accept ✓",
        "hello, wsscope",
        "héllo wörld ✓ 🙂",
        "00 01 02 03",
        "client-ping-1",
        "closed 1000 normal",
    ] {
        assert!(s.contains(want), "missing {want:?} in\n{s}");
    }
    insta::assert_snapshot!("start_screen", s);
}

#[test]
fn selected_text_message_and_frame_dissection() {
    let mut app = app("py_basic.pcap");
    // Row 1 is the first text message; Enter focuses the detail.
    press(&mut app, "j<Enter>");
    let s = screen(&app, 120, 40);
    assert!(
        s.contains("WebSocket message · conn 0 · c2s client → server"),
        "{s}"
    );
    assert!(s.contains("Payload (14 bytes)"), "{s}");
    insta::assert_snapshot!("selected_text_message", s);

    // Frames: the same moment, dissected field by field.
    press(&mut app, "<Esc>m<Enter>");
    let s = screen(&app, 120, 70);
    for want in [
        "WebSocket frame · conn 0 · c2s",
        "FIN              1  final fragment",
        "RSV1             0",
        "Opcode           0x1  text (data)",
        "MASK             1  masked",
        "Payload length   14  (7-bit form; header 6 bytes)",
        "Masking key",
        "Sec-WebSocket-Accept",
        "Accept           ✓ verified",
    ] {
        assert!(s.contains(want), "missing {want:?} in\n{s}");
    }
    insta::assert_snapshot!("selected_text_frame", s);
}

#[test]
fn compressed_json_message_shows_inflated_and_wire_bytes() {
    let mut app = app("deflate_takeover.pcap");
    press(&mut app, "j");
    let s = screen(&app, 120, 60);
    assert!(s.contains("Compressed       permessage-deflate"), "{s}");
    assert!(s.contains("(JSON, re-indented)"), "{s}");
    assert!(s.contains("\"type\": \"update\","), "{s}");
    assert!(s.contains("Wire bytes (deflated"), "{s}");
    assert!(s.contains("permessage-deflate"), "{s}");
}

#[test]
fn hex_view() {
    let mut app = app("py_basic.pcap");
    press(&mut app, "jjjjj"); // the c2s binary 0..255
    press(&mut app, "x<Enter>");
    let s = screen(&app, 120, 40);
    assert!(s.contains("Detail payload as hex (x)"), "{s}");
    assert!(
        s.contains("00000000  00 01 02 03 04 05 06 07  08 09 0a 0b 0c 0d 0e 0f  |................|"),
        "{s}"
    );
    assert!(
        s.contains("00000020  20 21 22 23 24 25 26 27  28 29 2a 2b 2c 2d 2e 2f  | !\"#$%&'()*+,-./|"),
        "{s}"
    );
    insta::assert_snapshot!("hex_view", s);
}

#[test]
fn violation_row_is_highlighted() {
    let mut app = app("bad_server.pcap");
    press(&mut app, "j"); // the accept mismatch
    let buf = render(&app, 120, 40);
    let s = wsscope::tui::buffer_text(&buf);
    assert!(s.contains("✗ 127.0.0.1:60158 → 127.0.0.1:19019 /bad"), "{s}");
    assert!(s.contains("⚠ accept-mismatch"), "{s}");
    let tall = screen(&app, 120, 90);
    assert!(tall.contains("Accept           ✗ MISMATCH"), "{tall}");
    let y = line_of(&buf, "⚠ client-frame-unmasked").expect("violation row");
    let x = cell_x(&buf, y, "⚠").unwrap();
    assert_eq!(buf[(x, y)].fg, Color::Red);
    assert!(buf[(x, y)].modifier.contains(Modifier::BOLD));
    insta::assert_snapshot!("violation_row", s);

    // NO_COLOR: the same row is marked without colour.
    let app = app_from(
        "bad_server.pcap",
        Options {
            no_color: true,
            ..Default::default()
        },
    );
    let buf = render(&app, 120, 40);
    let y = line_of(&buf, "⚠ client-frame-unmasked").unwrap();
    let x = cell_x(&buf, y, "⚠").unwrap();
    assert_eq!(buf[(x, y)].fg, Color::Reset);
    assert!(
        buf[(x, y)]
            .modifier
            .contains(Modifier::BOLD | Modifier::UNDERLINED)
    );
}

#[test]
fn direction_colours_and_no_color() {
    let app = app("py_basic.pcap");
    let buf = render(&app, 120, 40);
    let y = line_of(&buf, "→ text").unwrap();
    assert_eq!(buf[(cell_x(&buf, y, "→").unwrap(), y)].fg, Color::Cyan);
    let y = line_of(&buf, "← text").unwrap();
    assert_eq!(buf[(cell_x(&buf, y, "←").unwrap(), y)].fg, Color::Magenta);

    let app = app_from(
        "py_basic.pcap",
        Options {
            no_color: true,
            ..Default::default()
        },
    );
    let buf = render(&app, 120, 40);
    for cell in buf.content() {
        assert_eq!((cell.fg, cell.bg), (Color::Reset, Color::Reset), "{cell:?}");
    }
    // The cursor row is still visible (reverse video).
    assert!(
        buf.content()
            .iter()
            .any(|c| c.modifier.contains(Modifier::REVERSED))
    );
}

#[test]
fn search_hit() {
    let mut app = app("py_basic.pcap");
    press(&mut app, "/normal closure<Enter>");
    let buf = render(&app, 120, 40);
    let s = wsscope::tui::buffer_text(&buf);
    assert!(s.contains("/normal closure/  row"), "{s}");
    let r = app.selected().copied().unwrap();
    assert_eq!(r.opcode, 8, "the hit is the close frame");
    // The hit is highlighted inside the preview.
    let y = line_of(&buf, "1000 normal \"normal closure: bye\"").unwrap();
    assert!((0..120).any(|x| buf[(x, y)].bg == Color::Yellow));
    insta::assert_snapshot!("search_hit", s);
    // n wraps around to the same (only) hit, N too.
    let before = app.cursor;
    press(&mut app, "nN");
    assert!(app.cursor >= before, "still on a hit");
    press(&mut app, "/no such thing<Enter>");
    assert!(screen(&app, 120, 40).contains("/no such thing/ not found"));
}

#[test]
fn help_screen() {
    let mut app = app("py_basic.pcap");
    press(&mut app, "?");
    let s = screen(&app, 120, 40);
    for want in [
        "Keys — Esc or ? to close",
        "swimlanes",
        "search payload text",
        "export the selection",
        "quit",
    ] {
        assert!(s.contains(want), "missing {want:?} in\n{s}");
    }
    insta::assert_snapshot!("help", s);
    press(&mut app, "<Esc>");
    assert!(!app.help);
}

#[test]
fn small_terminal_80x24() {
    let mut app = app("py_basic.pcap");
    let s = screen(&app, 80, 24);
    assert!(s.contains("py_basic.pcap"), "{s}");
    assert!(s.contains("hello, wsscope"), "{s}");
    assert!(s.contains("Detail"), "{s}");
    assert!(s.contains("q quit") || s.contains("? help"), "{s}");
    insta::assert_snapshot!("terminal_80x24", s);
    // Resize: the same app draws at any size.
    press(&mut app, "G");
    let s = screen(&app, 200, 60);
    assert!(s.contains("Timeline") && s.contains("Detail"));
}

#[test]
fn swimlanes() {
    let mut app = app("py_basic.pcap");
    press(&mut app, "<BTab>j<Enter>s");
    let s = screen(&app, 120, 40);
    assert!(s.contains("client 127.0.0.1:48836"), "{s}");
    assert!(s.contains("server 127.0.0.1:19010"), "{s}");
    assert!(s.contains("│─ text 14 hello, wsscope ─"), "{s}");
    assert!(s.contains("◀─"), "{s}");
    insta::assert_snapshot!("swimlanes", s);
}

#[test]
fn time_formats_cycle() {
    let mut app = app("py_basic.pcap");
    press(&mut app, "t");
    assert!(screen(&app, 120, 40).contains("+      0.005420"));
    press(&mut app, "t");
    assert!(screen(&app, 120, 40).contains("since prev (s)"));
    press(&mut app, "t");
    assert!(screen(&app, 120, 40).contains("05:40:49.629547"));
}

#[test]
fn filter_is_the_export_selection() {
    let evs = events("py_basic.pcap");
    let mut app = app("py_basic.pcap");
    press(&mut app, "fdir:s2c op:text,binary<Enter>");
    let sel = Selection {
        dir: Some(Dir::S2C),
        opcodes: vec![1, 2],
        ..Default::default()
    };
    let want = evs
        .iter()
        .filter(|e| matches!(e, Event::Message(m) if sel.matches_message(m)))
        .count();
    let data_rows = app
        .view
        .rows
        .iter()
        .filter(|&&i| app.store.records[i as usize].is_data())
        .count();
    assert_eq!(data_rows, want);
    assert!(want > 0);
    let s = screen(&app, 120, 40);
    assert!(s.contains("filter: dir:s2c op:text,binary"), "{s}");
    assert!(!s.contains(" → text"), "{s}");
    // The same filter over frames.
    press(&mut app, "m");
    let want = evs
        .iter()
        .filter(|e| matches!(e, Event::Frame(f) if sel.matches_frame(f)))
        .count();
    let data_rows = app
        .view
        .rows
        .iter()
        .filter(|&&i| app.store.records[i as usize].is_data())
        .count();
    assert_eq!(data_rows, want);
    // A regex over the text; a bad one is reported.
    press(&mut app, "f<C-u>wörld<Enter>");
    assert_eq!(app.view.rows.len(), 2);
    press(&mut app, "f<C-u>op:nope<Enter>");
    assert!(app.status.as_ref().unwrap().0.contains("unknown opcode"));
}

#[test]
fn export_payload_raw_and_hexdump() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = app("py_basic.pcap");
    press(&mut app, "jjjjj"); // binary 0..255
    let bin = dir.path().join("p.bin");
    let act = press(&mut app, &format!("e<C-u>{}<Enter>", bin.display()));
    let Action::Export(job) = act else {
        panic!("{act:?}")
    };
    wsscope::tui::export::write(&job).unwrap();
    app.export_done(job.summary, Ok(()));
    let want: Vec<u8> = (0..=255).collect();
    assert_eq!(std::fs::read(&bin).unwrap(), want);
    assert!(screen(&app, 120, 40).contains("256 bytes written to"));

    let txt = dir.path().join("p.txt");
    let Action::Export(job) = press(&mut app, &format!("e<C-u>{}<Enter>", txt.display())) else {
        panic!()
    };
    let dump = String::from_utf8(job.contents).unwrap();
    assert!(
        dump.starts_with("00000000  00 01 02 03 04 05 06 07  08 09 0a 0b 0c 0d 0e 0f  |................|\n")
    );
    assert!(dump.ends_with("00000100\n"));

    // The selection: every text message the filter keeps, raw.
    press(&mut app, "fop:text<Enter>");
    let Action::Export(job) = press(&mut app, "E<C-u>all.bin<Enter>") else {
        panic!()
    };
    let text = String::from_utf8(job.contents).unwrap();
    assert!(text.starts_with("hello, wsscopehello, wsscopehéllo"), "{text}");
}

#[test]
fn payloads_over_the_budget_are_not_kept() {
    let mut app = app_from(
        "py_basic.pcap",
        Options {
            budget: Budget {
                max_each: 64,
                max_total: 1 << 20,
                preview: 16,
                ..Budget::default()
            },
            ..Default::default()
        },
    );
    press(&mut app, "jjjjj");
    let s = screen(&app, 120, 40);
    assert!(s.contains("payload not kept"), "{s}");
    assert!(s.contains("use wsscope export"), "{s}");
    assert!(matches!(press(&mut app, "e<Enter>"), Action::None));
    assert!(app.status.as_ref().unwrap().0.contains("payload not kept"));
}

/// Past the store's share of the memory budget, the first rows stay and
/// the rest are counted: the header and the status line say how many, from
/// when, and where to find them; the help breaks them down per kind.
#[test]
fn rows_past_the_memory_budget_are_counted_and_shown() {
    let full = app("py_basic.pcap");
    let mut app = app_from(
        "py_basic.pcap",
        Options {
            budget: Budget {
                output: 10 << 10,
                max_memory: 64 << 10,
                ..Budget::default()
            },
            ..Default::default()
        },
    );
    let s = &app.store;
    let nh = s.not_held;
    assert!(!s.records.is_empty() && nh.rows() > 0, "{nh:?}");
    // Every row is either held (a prefix of the full timeline) or counted.
    assert_eq!(
        s.records.len() as u64 + nh.rows(),
        full.store.records.len() as u64
    );
    // (Payloads may be cut to a preview near the share's end: the arena counts too.)
    let rows = |r: &[wsscope::tui::store::Record]| -> Vec<_> {
        r.iter().map(|r| (r.kind, r.ts(), r.len, r.dir)).collect()
    };
    assert!(rows(&s.records) == rows(&full.store.records[..s.records.len()]));
    assert_eq!(nh.since, Some(full.store.records[s.records.len()].ts()));
    // Counts come from events: the same as with room for everything.
    assert_eq!((s.frames, s.messages), (full.store.frames, full.store.messages));
    let c = s.conn(0).unwrap();
    assert_eq!(c.total_frames(), full.store.conn(0).unwrap().total_frames());
    let screen = screen(&app, 160, 30);
    let lines: Vec<&str> = screen.lines().collect();
    let header_and_status = format!("{}\n{}", lines[0], lines[lines.len() - 1]);
    insta::assert_snapshot!("rows_not_held", header_and_status);
    press(&mut app, "?");
    let help = crate::screen(&app, 120, 50);
    assert!(help.contains("Memory budget"), "{help}");
    assert!(
        help.contains(&format!("not held: {} frames · {} msgs", nh.frames, nh.messages)),
        "{help}"
    );
}

// ---------------------------------------------------------------- hand-built

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn frame(conn: ConnId, n: u32, dir: Dir, opcode: u8, payload: &[u8]) -> Event {
    Event::Frame(FrameEvent {
        conn,
        session: wsscope::model::SessionId::conn(conn),
        packets: wsscope::model::PacketSpan::one(u64::from(n)),
        ts: Timestamp::new(1_700_000_000, n * 1000),
        dir,
        fin: true,
        rsv: 0,
        opcode,
        masked: dir == Dir::C2S,
        mask_key: (dir == Dir::C2S).then_some([1, 2, 3, 4]),
        len: payload.len() as u64,
        len_bits: 7,
        header_len: 6,
        offset: u64::from(n) * 100,
        payload: payload.to_vec(),
        truncated: false,
        close_code: None,
        close_reason: None,
        rtt: None,
        header_captured: None,
        header_bytes: None,
    })
}

fn message(conn: ConnId, n: u32, dir: Dir, data: &[u8]) -> Event {
    Event::Message(MessageEvent {
        decoded: None,
        conn,
        session: wsscope::model::SessionId::conn(conn),
        seq: 0,
        first_frame_offset: u64::from(n) * 100,
        packets: Some(wsscope::model::PacketSpan::one(u64::from(n))),
        ts: Timestamp::new(1_700_000_000, n * 1000),
        dir,
        opcode: 1,
        frames: 1,
        compressed: false,
        data: data.to_vec(),
        wire_len: data.len() as u64,
        is_text: std::str::from_utf8(data).is_ok(),
        inflate_error: None,
        truncated: false,
    })
}

fn connection(conn: ConnId) -> Event {
    Event::Connection(ConnectionEvent {
        conn,
        ts: Timestamp::new(1_700_000_000, 0),
        client: addr("10.0.0.1:5000"),
        server: addr("10.0.0.2:80"),
        syn_seen: true,
        role_basis: RoleBasis::Syn,
        packet: 1,
    })
}

#[test]
fn control_characters_render_as_inert_placeholders() {
    let evil: &[u8] =
        b"\x1b[2J\x1b]0;pwned\x07bell\x08\x7f \xc2\x9b31m \xe2\x80\xaeevil\xe2\x81\xa6 \x1bP+q\x1b\\ \r\n";
    let mut app = App::new("evil", Options::default());
    let mut evs = vec![connection(0)];
    evs.push(Event::Handshake(Box::new(HandshakeEvent {
        conn: 0,
        session: wsscope::model::SessionId::conn(0),
        ts: Timestamp::new(1_700_000_000, 0),
        method: "GET".into(),
        path: "/\x1b[31mred".into(),
        request_headers: vec![("X-Evil".into(), "a\x1b]52;c;AAAA\x07b".into())],
        accept_ok: Some(true),
        status: Some(101),
        ..Default::default()
    })));
    for n in 1..4 {
        evs.push(frame(0, n, Dir::S2C, 1, evil));
        evs.push(message(0, n, Dir::S2C, evil));
    }
    app.on_events(evs);
    press(&mut app, "jj");
    for keys in ["", "x", "m", "s", "<Enter>"] {
        press(&mut app, keys);
        for (w, h) in [(120, 40), (80, 24)] {
            let buf = render(&app, w, h);
            for cell in buf.content() {
                for c in cell.symbol().chars() {
                    let u = u32::from(c);
                    assert!(
                        !(u < 0x20
                            || (0x7f..=0x9f).contains(&u)
                            || (0x202a..=0x202e).contains(&u)
                            || (0x2066..=0x2069).contains(&u)),
                        "raw control U+{u:04X} reached the buffer"
                    );
                }
            }
            let s = wsscope::tui::buffer_text(&buf);
            assert!(s.contains('␛'), "{s}");
        }
    }
    press(&mut app, "x");
    let s = screen(&app, 120, 80);
    assert!(s.contains("␛[2J␛]0;pwned␇bell␈␡"), "{s}");
    assert!(s.contains("⟨U+009B⟩31m ⟨U+202E⟩evil⟨U+2066⟩"), "{s}");
    assert!(s.contains("X-Evil: a␛]52;c;AAAA␇b"), "{s}");
}

#[test]
fn live_mode_follows_the_tail_and_space_pauses() {
    let mut app = App::new(
        "eth0",
        Options {
            live: true,
            ..Default::default()
        },
    );
    app.on_events(vec![connection(0)]);
    for n in 1..=50 {
        app.on_events(vec![
            frame(0, n, Dir::C2S, 1, format!("msg {n}").as_bytes()),
            message(0, n, Dir::C2S, format!("msg {n}").as_bytes()),
        ]);
    }
    assert_eq!(app.cursor, app.view.len() - 1, "following");
    let s = screen(&app, 120, 30);
    assert!(
        s.contains("msg 50") && s.contains("● LIVE") && s.contains("following"),
        "{s}"
    );

    press(&mut app, "<Space>");
    assert!(app.paused);
    let shown = app.view.len();
    app.on_events(vec![message(0, 51, Dir::C2S, b"msg 51")]);
    assert_eq!(app.view.len(), shown, "paused: the view does not move");
    let s = screen(&app, 120, 30);
    assert!(s.contains("PAUSED +1") && !s.contains("msg 51"), "{s}");
    press(&mut app, "<Space>");
    let s = screen(&app, 120, 30);
    assert!(s.contains("msg 51"), "{s}");

    // Scrolling up stops following; G follows again.
    press(&mut app, "k");
    app.on_events(vec![message(0, 52, Dir::C2S, b"msg 52")]);
    assert_ne!(app.cursor, app.view.len() - 1);
    press(&mut app, "G");
    app.on_events(vec![message(0, 53, Dir::C2S, b"msg 53")]);
    assert_eq!(app.cursor, app.view.len() - 1);
}

#[test]
fn mouse_wheel_scrolls() {
    let mut app = app("py_basic.pcap");
    let _ = render(&app, 120, 40);
    let tl = app.geometry.get().timeline_rows;
    app.on_mouse(MouseEvent {
        kind: MouseEventKind::ScrollDown,
        column: tl.x + 2,
        row: tl.y + 1,
        modifiers: KeyModifiers::NONE,
    });
    assert_eq!(app.cursor, 3);
}

#[test]
fn a_million_rows_stay_virtualised() {
    let n = 300_000u32;
    let mut app = App::new("big", Options::default());
    app.on_events(vec![connection(0)]);
    let payload = br#"{"type":"update","seq":12345}"#;
    let mut batch = Vec::with_capacity(4096);
    for i in 0..n {
        batch.push(frame(
            0,
            i,
            if i % 3 == 0 { Dir::C2S } else { Dir::S2C },
            1,
            payload,
        ));
        batch.push(message(
            0,
            i,
            if i % 3 == 0 { Dir::C2S } else { Dir::S2C },
            payload,
        ));
        if batch.len() >= 4096 {
            app.on_events(std::mem::take(&mut batch));
        }
    }
    app.on_events(batch);
    assert_eq!(app.view.len(), n as usize);
    // A single-frame message shares its frame's bytes.
    assert_eq!(app.store.kept_bytes, payload.len() * n as usize);
    let t = std::time::Instant::now();
    press(&mut app, "G");
    let s = screen(&app, 120, 40);
    press(&mut app, "<PgDn>gjjj");
    let _ = screen(&app, 120, 40);
    // Drawing touches only the visible rows: fast even unoptimised.
    assert!(
        t.elapsed() < std::time::Duration::from_secs(2),
        "{:?}",
        t.elapsed()
    );
    assert!(s.contains("12345"));
}

// ------------------------------------------------------------------- TLS

/// The key log lines of one client random (a key log holding only some
/// connections decrypts exactly those).
fn keys_for(keys: &[u8], random_prefix: &str) -> Vec<u8> {
    String::from_utf8_lossy(keys)
        .lines()
        .filter(|l| l.contains(random_prefix))
        .map(|l| format!("{l}\n"))
        .collect::<String>()
        .into_bytes()
}

#[test]
fn wss_with_keys_lock_badge_and_tls_facts() {
    let keys = keys_of("wss/wss_chromium.keys");
    let mut app = tls_app("wss/wss_chromium.pcap", Some(&keys), Options::default());
    let s = screen(&app, 120, 40);
    // Decrypted: the WebSocket is listed with an open lock; the page and
    // favicon connections (decrypted HTTPS, no WebSocket) only with `a`.
    assert!(
        s.contains("1 ✓ 🔓 127.0.0.1:50224 → 127.0.0.1:19119 /ws deflate  16f 14m  closed 1000 normal"),
        "{s}"
    );
    assert!(s.contains("3 tls (🔓 decrypted 🔒 not)"), "{s}");
    assert!(!s.contains("127.0.0.1:50218"), "{s}");
    assert!(s.contains("hello from chromium over wss"), "{s}");
    // The connection's detail: TLS facts, where the key came from.
    press(&mut app, "<BTab>j");
    let s = screen(&app, 120, 60);
    for want in [
        "Connection 1 · 127.0.0.1:50224 → 127.0.0.1:19119 · wss",
        "▾ TLS · TLS 1.3 · 🔓 decrypted",
        "Version          TLS 1.3",
        "Cipher suite     TLS_AES_256_GCM_SHA384",
        "SNI              wsscope.test",
        "ALPN             http/1.1 (offered http/1.1)",
        "Resumed          yes (session resumption)",
        "Client random    a53da65a1a687f100992cd232e8955dc041c2ee397cd65f27472a170706575a1",
        "Key              🔓 found in the key log (--keylog / $SSLKEYLOGFILE)",
        "Records          c2s 12 · s2c 15",
        "▾ Handshake · GET /ws → 101 accept ✓",
    ] {
        assert!(s.contains(want), "missing {want:?} in\n{s}");
    }
    insta::assert_snapshot!("wss_with_keys", s);
    // `a`: every TCP connection, the decrypted HTTPS ones too.
    press(&mut app, "a");
    let s = screen(&app, 120, 40);
    assert!(
        s.contains(
            "0 · 🔓 127.0.0.1:50218 → 127.0.0.1:19119 https wsscope.test [http/1.1]  6.9 KiB  tcp fin"
        ),
        "{s}"
    );
    assert!(!s.contains("not decrypted"), "{s}");
}

#[test]
fn wss_without_keys_lists_the_tls_connections_with_the_reason() {
    let mut app = tls_app("wss/wss_chromium.pcap", None, Options::default());
    let s = screen(&app, 120, 40);
    for want in [
        "0 ws / 3 tcp",
        "3 tls (3 not decrypted)",
        "0 · 🔒 127.0.0.1:50218 → 127.0.0.1:19119 tls wsscope.test  not decrypted: no-key",
        "1 · 🔒 127.0.0.1:50224 → 127.0.0.1:19119 tls wsscope.test  not decrypted: no-key",
        "2 · 🔒 127.0.0.1:50240 → 127.0.0.1:19119 tls wsscope.test  not decrypted: no-key",
        "no WebSocket seen: 3 TLS connection(s) not decrypted",
        "TLS              3 connections · 0 decrypted · 3 not",
    ] {
        assert!(s.contains(want), "missing {want:?} in\n{s}");
    }
    // Select the WebSocket one: its timeline is empty, the detail says why.
    press(&mut app, "<BTab>jj");
    let s = screen(&app, 120, 60);
    for want in [
        "TLS not decrypted (no-key): nothing inside to show",
        "Connection 1 · 127.0.0.1:50224 → 127.0.0.1:19119 · tls",
        "▾ TLS · TLS 1.3 · 🔒 not decrypted: no-key",
        "ALPN             not visible: encrypted in TLS 1.3 (offered http/1.1)",
        "Key              🔒 not found: no key log line for this connection's client random",
        "SSLKEYLOGFILE=/path/keys.log",
        "wsscope --keylog /path/keys.log FILE",
    ] {
        assert!(s.contains(want), "missing {want:?} in\n{s}");
    }
    insta::assert_snapshot!("wss_without_keys", s);
}

/// A key log holding only the WebSocket connection's lines: the other two
/// TLS connections are listed beside it, undecrypted, without pressing `a`.
#[test]
fn undecrypted_tls_is_listed_beside_websocket() {
    let keys = keys_for(&keys_of("wss/wss_chromium.keys"), "a53da65a1a687f10");
    let mut app = tls_app("wss/wss_chromium.pcap", Some(&keys), Options::default());
    let s = screen(&app, 120, 40);
    for want in [
        "1 ws / 3 tcp",
        "3 tls (2 not decrypted)",
        "(a: all TCP)",
        "0 · 🔒 127.0.0.1:50218 → 127.0.0.1:19119 tls wsscope.test  not decrypted: no-key",
        "1 ✓ 🔓 127.0.0.1:50224 → 127.0.0.1:19119 /ws deflate",
        "2 · 🔒 127.0.0.1:50240 → 127.0.0.1:19119 tls wsscope.test  not decrypted: no-key",
    ] {
        assert!(s.contains(want), "missing {want:?} in\n{s}");
    }
    assert_eq!(app.conn_list().len(), 3);
    // The merged timeline still shows only the WebSocket's rows.
    assert!(
        app.view
            .rows
            .iter()
            .all(|&i| app.store.records[i as usize].conn == 1)
    );
    // The help explains the locks (only when the capture has TLS).
    press(&mut app, "?");
    assert!(
        screen(&app, 120, 40).contains("TLS: 🔓 decrypted · 🔒 not decrypted"),
        "{}",
        screen(&app, 120, 40)
    );
    let mut plain = self::app("py_basic.pcap");
    press(&mut plain, "?");
    assert!(!screen(&plain, 120, 40).contains("TLS:"));
}

#[test]
fn lock_styles_and_no_color() {
    let keys = keys_for(&keys_of("wss/wss_chromium.keys"), "a53da65a1a687f10");
    let app = tls_app("wss/wss_chromium.pcap", Some(&keys), Options::default());
    let buf = render(&app, 120, 40);
    let y = line_of(&buf, "/ws deflate").unwrap();
    assert_eq!(buf[(cell_x(&buf, y, "🔓").unwrap(), y)].fg, Color::Green);
    let y = line_of(&buf, "127.0.0.1:50218").unwrap();
    assert_eq!(buf[(cell_x(&buf, y, "🔒").unwrap(), y)].fg, Color::Yellow);
    let x = cell_x(&buf, y, "n").unwrap(); // "not decrypted"
    assert_eq!(buf[(x, y)].fg, Color::Yellow);

    // NO_COLOR: no colour anywhere; the two locks still differ (glyph and
    // emphasis), and the reason is in words.
    let app = tls_app(
        "wss/wss_chromium.pcap",
        Some(&keys),
        Options {
            no_color: true,
            ..Default::default()
        },
    );
    let buf = render(&app, 120, 40);
    for cell in buf.content() {
        assert_eq!((cell.fg, cell.bg), (Color::Reset, Color::Reset), "{cell:?}");
    }
    let y = line_of(&buf, "/ws deflate").unwrap();
    let open = &buf[(cell_x(&buf, y, "🔓").unwrap(), y)];
    let y = line_of(&buf, "127.0.0.1:50218").unwrap();
    let closed = &buf[(cell_x(&buf, y, "🔒").unwrap(), y)];
    assert!(open.modifier.contains(Modifier::BOLD));
    assert!(closed.modifier.contains(Modifier::UNDERLINED));
    assert_ne!(open.modifier, closed.modifier);
}

/// SNI, ALPN and the unsupported-suite detail come off the wire: they
/// render as inert placeholders in the row and the detail.
#[test]
fn hostile_tls_fields_render_inert() {
    let mut app = App::new("evil-tls", Options::default());
    let evil = "a\x1b[2Jb\u{202e}c\x07";
    app.on_events(vec![
        connection(0),
        Event::Tls(Box::new(TlsEvent {
            conn: 0,
            session: wsscope::model::SessionId::conn(0),
            ts: Timestamp::new(1_700_000_000, 0),
            version: Some("TLS 1.2"),
            cipher_suite: Some(format!("TLS_{evil}")),
            sni: Some(evil.into()),
            alpn: Some(evil.into()),
            alpn_offered: vec![evil.into()],
            client_random: Some("00".repeat(32)),
            reason: Some("unsupported"),
            detail: Some(evil.into()),
            ..Default::default()
        })),
    ]);
    press(&mut app, "<BTab>j");
    for (w, h) in [(120, 40), (80, 24)] {
        let buf = render(&app, w, h);
        for cell in buf.content() {
            for c in cell.symbol().chars() {
                let u = u32::from(c);
                assert!(
                    !(u < 0x20 || (0x7f..=0x9f).contains(&u) || (0x202a..=0x202e).contains(&u)),
                    "raw control U+{u:04X} reached the buffer"
                );
            }
        }
    }
    let s = screen(&app, 160, 50);
    assert!(s.contains("🔒 127.0.0.1") || s.contains("🔒 10.0.0.1"), "{s}");
    assert!(s.contains("not decrypted: unsupported (a␛[2Jb⟨U+202E⟩c␇)"), "{s}");
    assert!(s.contains("SNI              a␛[2Jb⟨U+202E⟩c␇"), "{s}");
}

// ------------------------------------------------ detail, hex, small terminals

/// Rows of the screen between the first line containing `from` and the
/// pane's bottom border, trimmed of the borders.
fn pane_rows(s: &str, from: &str) -> Vec<String> {
    s.lines()
        .skip_while(|l| !l.contains(from))
        .skip(1)
        .take_while(|l| !l.starts_with('┗') && !l.starts_with('└'))
        .map(|l| l.trim_matches(|c| c == '┃' || c == '│').trim().to_string())
        .collect()
}

/// chromium.pcap's 1 600-character text message (compressed on the wire),
/// selected, the detail focused.
fn chromium_long_message() -> App {
    let mut app = app("chromium.pcap");
    press(&mut app, "/^(abcdefgh){200}$<Enter>");
    let r = app.selected().copied().unwrap();
    assert_eq!((r.len, r.dir), (1600, Some(Dir::C2S)), "the 1 600-byte message");
    press(&mut app, "<Enter>");
    app
}

#[test]
fn long_text_wraps_and_scrolls_to_its_end() {
    let mut app = chromium_long_message();
    // Tall enough for all of it: the payload rows, joined, are the message.
    let s = screen(&app, 120, 120);
    let rows = pane_rows(&s, "Payload (inflated 1600 bytes)");
    let text: String = rows
        .iter()
        .take_while(|l| !l.is_empty())
        .map(String::as_str)
        .collect();
    assert_eq!(text, "abcdefgh".repeat(200), "{s}");
    // Rows are the pane's width: 118 columns less the indent.
    assert_eq!(rows[0].chars().count(), 114, "{s}");

    // At 120×40 it does not fit: the title says which lines are shown, and
    // G scrolls to the end, where the message's last row is.
    let s = screen(&app, 120, 40);
    assert!(s.contains("lines 1-"), "{s}");
    press(&mut app, "G");
    let s = screen(&app, 120, 40);
    let total = app.detail_scroll.get();
    assert!(total > 0);
    assert!(s.contains("Sec-WebSocket-Extensions"), "{s}");
    insta::assert_snapshot!("long_text_end", s);
    // k j move a line; g back to the top.
    press(&mut app, "k");
    let _ = screen(&app, 120, 40);
    assert_eq!(app.detail_scroll.get(), total - 1);
    press(&mut app, "g");
    let s = screen(&app, 120, 40);
    assert!(s.contains("WebSocket message · conn 2 · c2s"), "{s}");
    insta::assert_snapshot!("long_text_top", s);
}

/// A JSON payload longer than the pane: pretty-printed, all of it reachable.
#[test]
fn long_json_is_pretty_printed_and_scrolls() {
    let items: Vec<String> = (0..300)
        .map(|i| format!(r#"{{"id":{i},"name":"item-{i}"}}"#))
        .collect();
    let json = format!(r#"{{"items":[{}],"end":"the-last-key"}}"#, items.join(","));
    let mut app = App::new("json", Options::default());
    app.on_events(vec![connection(0), message(0, 1, Dir::S2C, json.as_bytes())]);
    press(&mut app, "<Enter>");
    let s = screen(&app, 100, 30);
    assert!(s.contains("(JSON, re-indented)"), "{s}");
    assert!(s.contains("\"id\": 0,"), "{s}");
    assert!(!s.contains("the-last-key"), "{s}");
    // PgDn pages, G goes to the end: the last key is there.
    press(&mut app, "<PgDn>");
    let _ = screen(&app, 100, 30);
    let page = usize::from(app.geometry.get().detail.height - 2);
    assert_eq!(app.detail_scroll.get(), page, "a page is the pane's height");
    press(&mut app, "G");
    let s = screen(&app, 100, 30);
    assert!(s.contains("\"end\": \"the-last-key\""), "{s}");
    assert!(s.contains("\"name\": \"item-299\""), "{s}");
}

/// A 1 MiB payload scrolls without drawing it all: each key and draw stays cheap.
#[test]
fn a_mebibyte_payload_scrolls_cheaply() {
    let big: Vec<u8> = (0..1u32 << 20).map(|i| b'a' + (i % 26) as u8).collect();
    let mut app = App::new(
        "big",
        Options {
            budget: Budget {
                max_each: 2 << 20,
                max_total: 8 << 20,
                output: 64 << 20,
                ..Budget::default()
            },
            ..Default::default()
        },
    );
    app.on_events(vec![connection(0), message(0, 1, Dir::S2C, &big)]);
    press(&mut app, "<Enter>");
    let t = std::time::Instant::now();
    let _ = screen(&app, 120, 40);
    for _ in 0..5 {
        press(&mut app, "<PgDn>");
        let _ = screen(&app, 120, 40);
    }
    press(&mut app, "G");
    let s = screen(&app, 120, 40);
    assert!(
        t.elapsed() < std::time::Duration::from_secs(5),
        "{:?}",
        t.elapsed()
    );
    // 2^20 characters in rows of 114 (9 199 rows): the last holds the last 4.
    assert!(s.contains("of 92"), "{s}");
    let tail: String = big[big.len() / 114 * 114..]
        .iter()
        .map(|&b| char::from(b))
        .collect();
    assert_eq!(tail, "stuv");
    assert!(
        s.lines()
            .any(|l| l.trim_matches(|c| c == '┃' || c == ' ') == tail),
        "{s}"
    );
}

#[test]
fn zoom_gives_the_detail_the_screen() {
    let mut app = chromium_long_message();
    press(&mut app, "<Esc>");
    assert_eq!(app.focus, wsscope::tui::app::Focus::Timeline);
    press(&mut app, "z");
    let s = screen(&app, 120, 30);
    assert!(!s.contains("Timeline"), "{s}");
    assert!(!s.contains("Connections"), "{s}");
    assert!(s.contains("z/Esc: back"), "{s}");
    assert!(s.contains("WebSocket message · conn 2 · c2s"), "{s}");
    // The header stays.
    assert!(s.lines().next().unwrap().contains("chromium.pcap"), "{s}");
    insta::assert_snapshot!("zoomed_detail", s);
    // Zoomed, the detail has the focus: j scrolls it.
    press(&mut app, "j");
    let _ = screen(&app, 120, 30);
    assert_eq!(app.detail_scroll.get(), 1);
    press(&mut app, "<Esc>");
    let s = screen(&app, 120, 30);
    assert!(s.contains("Timeline") && s.contains("Detail"), "{s}");
    assert_eq!(app.focus, wsscope::tui::app::Focus::Timeline);
    press(&mut app, "zz");
    assert!(app.zoom.is_none());
}

/// chromium.pcap's WebSocket connection: deflated text frames and a binary
/// message. Binary and compressed payloads are hex in the list, the frames
/// view and the swimlanes; text stays text.
#[test]
fn binary_and_deflated_payloads_show_as_hex() {
    let mut app = app("chromium.pcap");
    let s = screen(&app, 120, 40);
    assert!(s.contains("hello from chromium"), "{s}");
    assert!(
        s.contains("00 01 02 03 04 05 06 07"),
        "binary message as hex:\n{s}"
    );
    insta::assert_snapshot!("hex_in_list", s);

    // Frames: every data frame is deflated (RSV1): hex, never decoded.
    press(&mut app, "m");
    let s = screen(&app, 120, 40);
    assert!(
        s.contains("ca 48 cd c9 c9 57 48 2b"),
        "deflated text frame as hex:\n{s}"
    );
    assert!(
        s.contains("62 60 64 62 66 61 65 63"),
        "deflated binary frame as hex:\n{s}"
    );
    assert!(!s.contains("(deflated)"), "{s}");
    assert!(!s.contains('�'), "no mojibake:\n{s}");
    insta::assert_snapshot!("hex_in_frames", s);
    let tall = screen(&app, 120, 60);
    assert!(
        tall.contains("1000 normal \"chromium done\""),
        "close stays text:\n{tall}"
    );

    // Swimlanes, frames and messages.
    press(&mut app, "s");
    let s = screen(&app, 120, 40);
    assert!(s.contains("ca 48 cd c9"), "{s}");
    assert!(!s.contains('�'), "{s}");
    insta::assert_snapshot!("hex_in_swimlane_frames", s);
    press(&mut app, "m");
    let s = screen(&app, 120, 40);
    assert!(s.contains("hello from chromium"), "{s}");
    assert!(s.contains("binary 100 Z 00 01 02 03"), "{s}");
    insta::assert_snapshot!("hex_in_swimlanes", s);
}

/// A binary message whose bytes happen to be valid UTF-8 is still binary.
#[test]
fn hex_follows_the_opcode_not_the_bytes() {
    let mut app = App::new("ops", Options::default());
    let mut bin = message(0, 2, Dir::C2S, b"AB\x01");
    if let Event::Message(m) = &mut bin {
        m.opcode = 2;
        m.is_text = false;
    }
    app.on_events(vec![
        connection(0),
        message(0, 1, Dir::C2S, b"plain text"),
        bin,
        frame(0, 3, Dir::C2S, 1, b"text frame"),
        frame(0, 4, Dir::S2C, 2, b"binary frame"),
    ]);
    let s = screen(&app, 120, 20);
    assert!(s.contains("plain text"), "{s}");
    assert!(s.contains("41 42 01"), "{s}");
    press(&mut app, "m");
    let s = screen(&app, 120, 20);
    assert!(s.contains("text frame"), "{s}");
    assert!(s.contains("62 69 6e 61 72 79 20 66"), "{s}");
    assert!(!s.contains("binary frame"), "{s}");
}

#[test]
fn header_at_80_columns_keeps_the_violations() {
    let mut app = app("bad_server.pcap");
    let s = screen(&app, 80, 24);
    let header = s.lines().next().unwrap();
    let v = app.store.violations;
    assert!(v > 0);
    assert!(header.contains(&format!("{v} violations")), "{header}");
    assert!(header.contains("bad_server.pcap"), "{header}");
    assert!(header.contains("msgs"), "{header}");
    insta::assert_snapshot!("violations_80x24", s);
    // Narrower: the violations stay, the file name is shortened.
    let s = screen(&app, 40, 10);
    let header = s.lines().next().unwrap();
    assert!(header.contains(&format!("{v} violations")), "{header}");
    let _ = &mut app;
}

#[test]
fn tiny_terminal_shows_one_pane_at_a_time() {
    let mut app = app("py_basic.pcap");
    let s = screen(&app, 40, 10);
    let header = s.lines().next().unwrap();
    assert!(header.contains("0 violations"), "{s}");
    assert!(s.contains("Timeline"), "{s}");
    assert!(!s.contains("Detail") && !s.contains("Connections"), "{s}");
    assert!(s.contains("hello, wsscope"), "the rows' payloads:\n{s}");
    insta::assert_snapshot!("terminal_40x10", s);
    // Enter opens the detail full-screen; Esc goes back.
    press(&mut app, "j<Enter>");
    let s = screen(&app, 40, 10);
    assert!(s.contains("Detail") && !s.contains("Timeline"), "{s}");
    insta::assert_snapshot!("terminal_40x10_detail", s);
    press(&mut app, "<Esc>");
    assert!(screen(&app, 40, 10).contains("Timeline"));
    // Tab cycles the one pane shown.
    press(&mut app, "<Tab>");
    assert!(screen(&app, 40, 10).contains("Detail"));
    press(&mut app, "<Tab>");
    let s = screen(&app, 40, 10);
    assert!(s.contains("Connections") && !s.contains("Timeline"), "{s}");
    press(&mut app, "<Esc>");
    assert!(screen(&app, 40, 10).contains("Timeline"));
    // 80×22: still one pane; 80×24: three.
    assert!(!screen(&app, 80, 22).contains("Detail"));
    assert!(screen(&app, 80, 24).contains("Detail"));
}

#[test]
fn help_scrolls_when_cut() {
    let mut app = app("py_basic.pcap");
    press(&mut app, "?");
    let s = screen(&app, 80, 24);
    assert!(
        s.contains("j/k PgDn scroll · lines 1-"),
        "the help says it is cut:\n{s}"
    );
    assert!(!s.contains("Ctrl-C"), "{s}");
    press(&mut app, "G");
    let s = screen(&app, 80, 24);
    assert!(s.contains("q  Ctrl-C"), "{s}");
    assert!(s.contains("Flags: F fin"), "{s}");
    insta::assert_snapshot!("help_scrolled", s);
    press(&mut app, "g");
    assert!(screen(&app, 80, 24).contains("previous / next row"));
    press(&mut app, "<Esc>");
    assert!(!app.help);
    // Big enough for all of it: no scroll note.
    press(&mut app, "?");
    assert!(!screen(&app, 120, 60).contains("PgDn scroll"));
}

#[test]
fn space_pages_down_a_file() {
    let mut app = app("py_basic.pcap");
    let _ = screen(&app, 120, 40);
    let page = usize::from(app.geometry.get().timeline_rows.height);
    press(&mut app, "<Space>");
    assert_eq!(app.cursor, page);
    assert!(!app.follow && !app.paused);
    let s = screen(&app, 120, 40);
    assert!(!s.contains("following"), "{s}");
    // In the detail it pages the detail.
    press(&mut app, "<Enter><Space>");
    assert_eq!(app.cursor, page);
}

/// An app over any fixture (one without messages too: a rejected upgrade).
fn app_of_any(name: &str) -> App {
    let mut app = App::new(name, Options::default());
    for chunk in events(name).chunks(7) {
        app.on_feed(Feed::Events(chunk.to_vec()));
    }
    app.on_feed(Feed::Done(Ok(Default::default())));
    app
}

/// An upgrade answered 403 is not a WebSocket connection: not counted as
/// one, but listed (the user looking for why a socket failed finds it),
/// marked `rejected 403` in the connections pane, the timeline and the
/// detail — no `accept ?` waiting for a key that will never come.
#[test]
fn rejected_upgrade_is_listed_as_rejected_not_counted_as_websocket() {
    let mut app = app_of_any("rejected_403.pcap");
    assert!(app.store.ws_conns.is_empty(), "{:?}", app.store.ws_conns);
    assert_eq!(app.store.conn(0).and_then(|c| c.rejected), Some(403));
    press(&mut app, "<BTab>j");
    let tall = screen(&app, 120, 80);
    assert!(tall.contains("HTTP/1.1 403 Forbidden"), "{tall}");
    assert!(
        tall.contains("Accept           - none: the upgrade was rejected"),
        "{tall}"
    );
    let s = screen(&app, 120, 40);
    for want in [
        "0 ws / 1 tcp",
        "0 websocket · 1 tcp",
        "0 ⊘ 127.0.0.1:33850 → 127.0.0.1:19018 /forbidden  rejected 403",
        "GET /forbidden → rejected 403",
        "Upgrade          rejected 403 — no WebSocket",
    ] {
        assert!(s.contains(want), "missing {want:?} in\n{s}");
    }
    assert!(!s.contains("accept ?"), "{s}");
    assert!(!s.contains("1 ws /"), "{s}");
    insta::assert_snapshot!("rejected_upgrade", s);

    // Beside a WebSocket connection, it stays in the default list (not
    // only behind `a`), after the accepted one, and is still not counted.
    let mut app = App::new("mixed", Options::default());
    let mut evs = events("py_basic.pcap");
    evs.extend(events("rejected_403.pcap").into_iter().map(|e| renumbered(e, 1)));
    app.on_events(evs);
    assert_eq!(app.store.ws_conns, vec![0]);
    assert_eq!(app.store.listed, vec![0, 1]);
    let s = screen(&app, 120, 40);
    assert!(s.contains("1 ws / 2 tcp"), "{s}");
    assert!(s.contains("1 websocket · 2 tcp"), "{s}");
    assert!(s.contains("1 ⊘ 127.0.0.1:33850"), "{s}");
    assert!(s.contains("rejected 403"), "{s}");
}

/// An event of a capture's connection 0 as connection `id`'s (to put
/// several captures' connections in one app).
fn renumbered(ev: Event, id: ConnId) -> Event {
    match ev {
        Event::Connection(mut e) => {
            e.conn = id;
            Event::Connection(e)
        }
        Event::Tls(mut e) => {
            e.conn = id;
            Event::Tls(e)
        }
        Event::Handshake(mut e) => {
            e.conn = id;
            Event::Handshake(e)
        }
        Event::Http2(mut e) => {
            e.conn = id;
            Event::Http2(e)
        }
        Event::Finding(mut e) => {
            e.conn = id;
            Event::Finding(e)
        }
        Event::Frame(mut e) => {
            e.conn = id;
            Event::Frame(e)
        }
        Event::Message(mut e) => {
            e.conn = id;
            Event::Message(e)
        }
        Event::Gap(mut e) => {
            e.conn = id;
            Event::Gap(e)
        }
        Event::Violation(mut e) => {
            e.conn = id;
            Event::Violation(e)
        }
        Event::Diagnostic(mut e) => {
            e.conn = e.conn.map(|_| id);
            Event::Diagnostic(e)
        }
        Event::Close(mut e) => {
            e.conn = id;
            Event::Close(e)
        }
    }
}

/// The connection span the TUI shows is the connection's own (first to
/// last packet, as `wsscope conns` has it), not up to the end of the
/// capture: pcapng_multi's connection 0 lasted 25 ms and was summarised
/// 0.9 s later, when the capture ended. And every `close` record's `ts` is
/// its connection's last packet.
#[test]
fn connection_span_is_the_connections_own() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".pcap") || n.ends_with(".pcapng"))
        .collect();
    names.sort();
    for name in &names {
        let evs = events(name);
        let mut app = App::new(name.as_str(), Options::default());
        app.on_events(evs.clone());
        for e in &evs {
            let Event::Close(c) = e else { continue };
            assert_eq!(c.ts, c.last_ts, "{name} conn {}: close ts", c.conn);
            let held = app.store.conn(c.conn).unwrap();
            assert_eq!(
                (held.first_ts, held.last_ts),
                (c.first_ts, c.last_ts),
                "{name} conn {}: the TUI's span",
                c.conn
            );
        }
    }

    let evs = events("pcapng_multi.pcapng");
    let c = &summaries(&evs)[0];
    let capture_end = evs.iter().map(Event::ts).max().unwrap();
    assert!(
        capture_end.seconds_since(c.last_ts) > 0.5,
        "the capture went on after connection 0"
    );
    let mut app = app("pcapng_multi.pcapng");
    press(&mut app, "<BTab>j<Enter>");
    let s = screen(&app, 120, 40);
    let span = format!(
        "Span             {} – {} ({})",
        c.first_ts,
        c.last_ts,
        wsscope::tui::text::duration(c.last_ts.seconds_since(c.first_ts))
    );
    assert!(s.contains(&span), "missing {span:?} in\n{s}");
    assert!(s.contains("(25.3ms)"), "{s}");
}

/// `ping RTT N · MIN–MAX`: the pongs' round-trip times of `conn` (or all),
/// from the events, as the statistics view must count them (to the µs
/// the store keeps).
fn rtt_heading(evs: &[Event], conn: Option<ConnId>) -> String {
    let rtts: Vec<f64> = evs
        .iter()
        .filter_map(|e| match e {
            Event::Frame(f) if conn.is_none_or(|c| c == f.conn) => f.rtt,
            _ => None,
        })
        .map(|s| (s * 1e6).floor() / 1e6)
        .collect();
    let min = rtts.iter().copied().fold(f64::INFINITY, f64::min);
    let max = rtts.iter().copied().fold(0.0, f64::max);
    let d = wsscope::tui::text::duration;
    format!("ping RTT {} · {}–{}", rtts.len(), d(min), d(max))
}

#[test]
fn stats_view_follows_the_selected_connection() {
    let evs = events("pcapng_multi.pcapng");
    let ends = summaries(&evs);
    let msgs = |c: &ConnectionEndEvent| format!("msgs → {} ← {}", c.stats[0].messages, c.stats[1].messages);
    let mut app = app("pcapng_multi.pcapng");
    press(&mut app, "S");
    assert!(app.stats.open);
    let s = screen(&app, 80, 24);
    let all = ends.iter().fold([0, 0], |a, c| {
        [a[0] + c.stats[0].messages, a[1] + c.stats[1].messages]
    });
    for want in [
        "Statistics all connections · S closes".to_string(),
        format!("msgs → {} ← {}", all[0], all[1]),
        // Both connections closed 1000 both ways.
        "close 1000 normal ×4".into(),
        "msgs/s".into(),
        "bytes/s".into(),
        "message sizes".into(),
        rtt_heading(&evs, None),
    ] {
        assert!(s.contains(&want), "missing {want:?} in\n{s}");
    }
    assert!(!s.contains("Timeline"), "the view replaces the timeline:\n{s}");

    // The connections pane has the keys: the view follows its selection.
    press(&mut app, "j");
    let s = screen(&app, 80, 24);
    for want in [
        "Statistics conn 0".to_string(),
        msgs(&ends[0]),
        "close → 1000 normal  ← 1000 normal".into(),
        rtt_heading(&evs, Some(0)),
    ] {
        assert!(s.contains(&want), "missing {want:?} in\n{s}");
    }
    insta::assert_snapshot!("stats_conn0_80x24", s);
    press(&mut app, "j");
    let s = screen(&app, 80, 24);
    assert!(s.contains("Statistics conn 1"), "{s}");
    assert!(s.contains(&msgs(&ends[1])), "{s}");
    assert!(s.contains(&rtt_heading(&evs, Some(1))), "{s}");

    // S closes it: the timeline is back.
    press(&mut app, "S");
    assert!(screen(&app, 80, 24).contains("Timeline"));
}

/// The statistics are counted from the rows once: a second draw takes in
/// only rows added since, and the counts match the connection summaries.
#[test]
fn stats_are_counted_once_and_match_the_summaries() {
    let evs = events("pcapng_multi.pcapng");
    let (first, rest) = evs.split_at(evs.len() / 2);
    let mut app = App::new("pcapng_multi.pcapng", Options::default());
    app.on_events(first.to_vec());
    press(&mut app, "S");
    let before = app.stats().as_ref().map(|s| s.messages).unwrap();
    app.on_events(rest.to_vec());
    let after = app.stats().as_ref().map(|s| s.messages).unwrap();
    let summed = summaries(&evs).iter().fold([0, 0], |acc, c| {
        [acc[0] + c.stats[0].messages, acc[1] + c.stats[1].messages]
    });
    assert_eq!(after, summed);
    assert!(before[0] < after[0], "{before:?} then {after:?}");
    // Drawn again without new rows: the same numbers.
    screen(&app, 80, 24);
    assert_eq!(app.stats().as_ref().map(|s| s.messages), Some(summed));
}

fn summaries(evs: &[Event]) -> Vec<ConnectionEndEvent> {
    evs.iter()
        .filter_map(|e| match e {
            Event::Close(c) => Some((**c).clone()),
            _ => None,
        })
        .collect()
}

/// `o` in the connections pane: id → violations ↓ → messages ↓ → bytes ↓ →
/// start time → id; the title says which; the selection stays on its
/// connection; new connections are sorted in.
#[test]
fn connections_pane_sorts_with_o() {
    // 0, 1: pcapng_multi (10 and 14 messages, no violations, 9.4 and 3.9
    // kB); 2: bad_server (10 messages, 13 violations, 3.2 kB, earliest).
    let mut evs = events("pcapng_multi.pcapng");
    evs.extend(events("bad_server.pcap").into_iter().map(|e| renumbered(e, 2)));
    let mut app = App::new("three", Options::default());
    app.on_events(evs);
    app.on_feed(Feed::Done(Ok(Default::default())));
    press(&mut app, "<BTab>");
    let order = |app: &App| {
        let l = app.conn_list();
        (0..l.len()).filter_map(|i| l.get(i)).collect::<Vec<_>>()
    };
    assert_eq!(order(&app), [0, 1, 2]);
    press(&mut app, "jj"); // select conn 1
    assert_eq!(app.conn_sel, Some(1));
    let mut seen = Vec::new();
    for _ in 0..5 {
        press(&mut app, "o");
        seen.push((app.conn_sort.order.label(), order(&app)));
        assert_eq!(app.conn_sel, Some(1), "the selection stays on its connection");
        assert_eq!(app.conn_list().get(app.conn_pos() - 1), Some(1));
    }
    assert_eq!(
        seen,
        [
            ("violations ↓", vec![2, 0, 1]),
            ("messages ↓", vec![1, 0, 2]),
            ("bytes ↓", vec![0, 1, 2]),
            ("start time", vec![2, 0, 1]),
            ("id", vec![0, 1, 2]),
        ]
    );
    press(&mut app, "o");
    let s = screen(&app, 100, 30);
    assert!(
        s.contains("Connections 3 websocket · 3 tcp · by violations ↓ (o)"),
        "{s}"
    );
    let row = |id: &str| s.lines().position(|l| l.contains(&format!("┃  {id} "))).unwrap();
    assert!(row("2") < row("0") && row("0") < row("1"), "{s}");
    insta::assert_snapshot!("conns_by_violations", s);

    // A new connection arrives: sorted in (no violations: after 2).
    let mut more = events("py_basic.pcap")
        .into_iter()
        .map(|e| renumbered(e, 3))
        .collect::<Vec<_>>();
    more.truncate(3);
    app.on_events(more);
    assert_eq!(order(&app), [2, 0, 1, 3]);
}
