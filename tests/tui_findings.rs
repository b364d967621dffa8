//! The security audit in the timeline: captures read exactly as the TUI
//! reads them ([`wsscope::tui::load_file`]: the reader thread with the
//! audit in front of the store), then driven by key presses and drawn to a
//! `TestBackend`. `F` lists the findings (high first), Enter goes to the
//! evidence's row, the connections pane marks connections with findings and
//! the connection's detail lists them.

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::style::Color;
use std::path::PathBuf;
use wsscope::audit::{AuditConfig, AuditStage};
use wsscope::event::*;
use wsscope::source::file::FileSource;
use wsscope::tui::app::{App, Options};

fn fixture(name: &str) -> PathBuf {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name);
    assert!(p.is_file(), "missing fixture {}", p.display());
    p
}

fn app(name: &str) -> App {
    wsscope::tui::load_file(&fixture(name), Default::default(), Options::default()).unwrap()
}

/// The findings `wsscope audit` and `dump` see: the audit in front of the
/// events, finished at the end of input.
fn audited(name: &str) -> Vec<FindingEvent> {
    let mut src = FileSource::open(&fixture(name)).unwrap();
    let mut stage = AuditStage::new(Vec::new(), AuditConfig::default());
    wsscope::pipeline::analyze(&mut src, Default::default(), &mut stage).unwrap();
    stage.finish().unwrap();
    stage
        .into_inner()
        .into_iter()
        .filter_map(|e| match e {
            Event::Finding(f) => Some(*f),
            _ => None,
        })
        .collect()
}

fn render(app: &App, w: u16, h: u16) -> Buffer {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| f.render_widget(app, f.area())).unwrap();
    t.backend().buffer().clone()
}

fn screen(app: &App, w: u16, h: u16) -> String {
    wsscope::tui::buffer_text(&render(app, w, h))
}

/// Presses keys: plain characters, `\n` Enter, `\x1b` Esc, `\t` BackTab.
fn press(app: &mut App, keys: &str) {
    for c in keys.chars() {
        let k = match c {
            '\n' => KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE),
            '\x1b' => KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE),
            '\t' => KeyEvent::new(KeyCode::BackTab, KeyModifiers::SHIFT),
            c if c.is_uppercase() => KeyEvent::new(KeyCode::Char(c), KeyModifiers::SHIFT),
            c => KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE),
        };
        app.on_key(k);
    }
}

/// (severity, rule, conn) of the findings in the view's order.
fn listed(app: &App) -> Vec<(Severity, &'static str, ConnId)> {
    let f = &app.store.findings;
    (0..f.len())
        .filter_map(|i| f.sorted(i))
        .map(|f| (f.severity, f.rule, f.conn))
        .collect()
}

/// The screen line that holds `needle`.
fn line_with<'a>(s: &'a str, needle: &str) -> &'a str {
    s.lines()
        .find(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("no line with {needle:?} in\n{s}"))
}

/// The selected timeline row: its connection and packets.
fn selected(app: &App) -> (u32, (u64, u64)) {
    let r = app.selected().expect("a row is selected");
    (r.conn, r.packets().expect("the row has packets"))
}

#[test]
fn every_finding_reaches_the_store_in_order() {
    for name in ["audit/origin.pcap", "audit/masking.pcap", "py_basic.pcap"] {
        let app = app(name);
        let want = audited(name);
        assert!(!want.is_empty(), "{name}");
        assert_eq!(app.store.findings.list, want, "{name}");
        assert_eq!(app.store.findings.not_held, 0);
    }
}

#[test]
fn origin_findings_listed_high_first_and_enter_goes_to_the_evidence() {
    let mut app = app("audit/origin.pcap");
    use Severity::*;
    assert_eq!(
        listed(&app),
        vec![
            (High, "origin-not-enforced", 0),
            (Medium, "origin-mismatch-accepted", 0),
            (Medium, "origin-mismatch-accepted", 2),
        ]
    );
    // The end-of-input finding came, after the connections' own.
    assert_eq!(
        app.store.findings.list.last().map(|f| f.rule),
        Some("origin-not-enforced")
    );

    press(&mut app, "F");
    assert!(app.findings.open);
    let s = screen(&app, 140, 40);
    insta::assert_snapshot!("findings_origin", s);
    let high = s
        .find("high     origin-not-enforced")
        .expect("the high finding listed");
    let medium = s
        .find("medium   origin-mismatch-accepted #0")
        .expect("a medium finding listed");
    let medium2 = s
        .find("medium   origin-mismatch-accepted #2")
        .expect("the other medium");
    assert!(high < medium && medium < medium2, "{s}");
    // The selected finding's detail: the rule's title, explanation, reference and fix.
    assert!(s.contains("The server does not check Origin"), "{s}");
    assert!(s.contains("reference  RFC 6455 §10.2"), "{s}");
    assert!(
        s.contains("fix        Accept an upgrade only when its Origin"),
        "{s}"
    );
    // Severity colours: high red, medium yellow.
    let buf = render(&app, 140, 40);
    let at = |needle: &str| {
        let y = s.lines().position(|l| l.contains(needle)).unwrap();
        let l = s.lines().nth(y).unwrap();
        // Columns, not bytes: every character here is one column wide.
        let x = l[..l.find(needle).unwrap()].chars().count();
        (x as u16, y as u16)
    };
    assert_eq!(buf[at("high     origin-not")].fg, Color::Red);
    assert_eq!(buf[at("medium   origin-mismatch-accepted #2")].fg, Color::Yellow);

    // Enter on the high one: its first packet (4) is the handshake's.
    press(&mut app, "\n");
    assert!(!app.findings.open);
    let (conn, (a, b)) = selected(&app);
    assert_eq!(conn, 0);
    assert!(a <= 4 && 4 <= b, "packets {a}-{b}");
    assert_eq!(app.selected().unwrap().kind, wsscope::tui::store::Kind::Handshake);
    let status = app.status.as_ref().unwrap().0.clone();
    assert_eq!(status, "high origin-not-enforced on #0 · packet 4");

    // The third (medium, connection 2, packets 32 and 34).
    press(&mut app, "Fjj\n");
    let (conn, (a, b)) = selected(&app);
    assert_eq!(conn, 2);
    assert!(a <= 32 && 32 <= b, "packets {a}-{b}");
    // The row is on screen, selected.
    let s = screen(&app, 140, 40);
    assert!(s.contains("Origin: null") || s.contains("GET /chat"), "{s}");

    // Esc, F and q close the view without moving the cursor.
    let cursor = app.cursor;
    for k in ["F\x1b", "FF", "Fq"] {
        press(&mut app, k);
        assert!(!app.findings.open, "{k:?}");
        assert_eq!(app.cursor, cursor);
    }
}

#[test]
fn enter_shows_the_findings_connection_when_another_is_selected() {
    let mut app = app("audit/origin.pcap");
    // Connections pane, connection 1 (no finding there).
    press(&mut app, "\tjj");
    assert_eq!(app.conn_sel, Some(1));
    press(&mut app, "F\n");
    assert_eq!(app.conn_sel, Some(0));
    let (conn, (a, b)) = selected(&app);
    assert_eq!(conn, 0);
    assert!(a <= 4 && 4 <= b);
}

#[test]
fn badges_mark_the_connections_with_findings() {
    let app = app("audit/origin.pcap");
    assert_eq!(
        (0..5).map(|id| app.store.findings.of(id)).collect::<Vec<_>>(),
        vec![
            Some((2, Severity::High)),
            None,
            Some((1, Severity::Medium)),
            None,
            None,
        ]
    );
    let s = screen(&app, 160, 40);
    let buf = render(&app, 160, 40);
    let c0 = line_with(&s, ":40748 →");
    let c1 = line_with(&s, ":40756 →");
    let c2 = line_with(&s, ":40766 →");
    assert!(c0.contains("  !H  "), "{c0}");
    assert!(!c1.contains('!'), "{c1}");
    assert!(c2.contains("  !M  "), "{c2}");
    assert!(
        s.contains("all connections merged") && s.contains("! 3 findings (F)"),
        "{s}"
    );
    let y = s.lines().position(|l| l.contains(":40748 →")).unwrap();
    let x = c0[..c0.find("!H").unwrap()].chars().count();
    assert_eq!(buf[(x as u16, y as u16)].fg, Color::Red);

    let app = self::app("audit/masking.pcap");
    let s = screen(&app, 160, 40);
    for (port, mark) in [(":60246 →", Some("!M")), (":60248 →", None)] {
        let Some(l) = s.lines().find(|l| l.contains(port)) else {
            continue;
        };
        match mark {
            Some(m) => assert!(l.contains(m), "{l}"),
            None => assert!(!l.contains('!'), "{l}"),
        }
    }
    let marked = s.lines().filter(|l| l.contains("  !M  ")).count();
    assert_eq!(marked, 3, "{s}");
}

#[test]
fn masking_findings_and_the_evidence_rows() {
    let mut app = app("audit/masking.pcap");
    use Severity::*;
    let got = listed(&app);
    assert_eq!(
        got,
        vec![
            (Medium, "weak-masking", 0),
            (Medium, "weak-masking", 1),
            (Medium, "weak-masking", 2),
            (Low, "origin-not-enforced", 0),
        ]
    );
    let s = {
        press(&mut app, "F");
        screen(&app, 140, 40)
    };
    assert!(s.contains("3 medium 1 low"), "{s}");
    assert!(s.contains("key 11223344 used 25 times"), "{s}");
    assert!(s.contains("Predictable client masking keys"), "{s}");
    press(&mut app, "\x1b");
    // Each weak-masking finding's first packet is a client frame's: its
    // row in the timeline (messages, as the timeline starts).
    for (n, (conn, first)) in [(0u32, 8u64), (1, 68), (2, 128)].into_iter().enumerate() {
        // The view opens on the finding selected last: back to the top.
        press(&mut app, "Fg");
        press(&mut app, &"j".repeat(n));
        press(&mut app, "\n");
        let r = *app.selected().unwrap();
        let (a, b) = r.packets().unwrap();
        assert_eq!(r.conn, conn);
        assert!(a <= first && first <= b, "finding {n}: packets {a}-{b}");
        assert_eq!(r.dir, Some(Dir::C2S));
        // Scrolled into view, selected.
        let s = screen(&app, 120, 40);
        let rows = usize::from(app.geometry.get().timeline_rows.height);
        let top = app.tl_offset.get();
        assert!(
            top <= app.cursor && app.cursor < top + rows,
            "{top} {} {rows}",
            app.cursor
        );
        assert!(n == 0 || top > 0, "finding {n}: the timeline scrolled\n{s}");
    }
    // In the frames view, the frame itself.
    press(&mut app, "mFg\n");
    let r = *app.selected().unwrap();
    assert_eq!(r.kind, wsscope::tui::store::Kind::Frame);
    assert_eq!((r.conn, r.packets()), (0, Some((8, 8))));
}

#[test]
fn the_connection_detail_lists_its_findings() {
    let mut app = app("audit/origin.pcap");
    press(&mut app, "\tj");
    assert_eq!(app.conn_sel, Some(0));
    let s = screen(&app, 160, 100);
    assert!(
        s.contains("Findings         2 (highest high) · F lists them all"),
        "{s}"
    );
    let high = line_with(&s, "origin-not-enforced: 127.0.0.1:19300/chat");
    let medium = line_with(&s, "origin-mismatch-accepted: Origin:");
    assert!(high.contains("  high  ") && medium.contains("  medium  "), "{s}");
    assert!(s.find(high) < s.find(medium));
}

#[test]
fn a_well_behaved_capture_has_low_findings_at_most() {
    let mut app = app("py_basic.pcap");
    assert!(
        app.store
            .findings
            .list
            .iter()
            .all(|f| f.severity <= Severity::Low),
        "{:?}",
        app.store.findings.list
    );
    let s = screen(&app, 160, 40);
    assert!(!s.contains("!H") && !s.contains("!M"), "{s}");
    press(&mut app, "F");
    let s = screen(&app, 160, 40);
    assert!(!s.contains("high ") && !s.contains("medium "), "{s}");
}

#[test]
fn without_findings_the_view_says_so() {
    let mut app = App::new("empty", Options::default());
    app.loading = false;
    press(&mut app, "F");
    assert!(app.findings.open);
    let s = screen(&app, 100, 30);
    assert!(
        s.contains("no findings: the audit's rules found nothing in this capture"),
        "{s}"
    );
    // Enter with nothing to go to closes it.
    press(&mut app, "\n");
    assert!(!app.findings.open);
}

#[test]
fn help_and_readme_document_f() {
    let mut app = App::new("empty", Options::default());
    press(&mut app, "?");
    let s = screen(&app, 120, 60);
    assert!(
        s.contains("F              audit findings, high first (Enter: go to the evidence)"),
        "{s}"
    );
    let readme =
        std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    assert!(readme.contains("| `F` |"), "README's key table");
}

#[test]
fn the_view_fits_small_terminals() {
    let mut app = app("audit/origin.pcap");
    press(&mut app, "F");
    let s = screen(&app, 60, 24);
    assert!(
        s.contains("Findings") && s.contains("high     origin-not-enforced"),
        "{s}"
    );
    let s = screen(&app, 40, 10);
    assert!(s.contains("Findings"), "{s}");
    // Selection moves and clamps at the ends.
    press(&mut app, "jjjjj");
    assert_eq!(app.findings.cursor, 2);
    press(&mut app, "k");
    assert_eq!(app.findings.cursor, 1);
    let s = screen(&app, 120, 40);
    assert!(
        s.contains("An upgrade from another site's Origin was accepted"),
        "{s}"
    );
}
