//! Key bindings: one table that drives the help screen (`?`) and the hint bar,
//! so what is shown is what is handled.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// One documented binding.
#[derive(Clone, Copy, Debug)]
pub struct Binding {
    pub keys: &'static str,
    pub what: &'static str,
    /// Shown in the one-line hint bar (short label), if any.
    pub hint: Option<&'static str>,
}

const fn b(keys: &'static str, what: &'static str, hint: Option<&'static str>) -> Binding {
    Binding { keys, what, hint }
}

/// Every binding, grouped for the help screen.
pub const GROUPS: &[(&str, &[Binding])] = &[
    (
        "Move",
        &[
            b(
                "↑ ↓  k j",
                "previous / next row (detail focused: scroll a line)",
                None,
            ),
            b("PgUp PgDn", "one page up / down (also C-u C-d)", None),
            b("g G  Home End", "first / last row (G follows the tail)", None),
            b(
                "Space",
                "file: page down, as in less · live capture: pause / follow the tail",
                None,
            ),
            b(
                "Tab  S-Tab",
                "next / previous pane (small terminal: the one pane shown)",
                Some("pane"),
            ),
            b(
                "Enter",
                "connections: open its timeline · timeline: focus the detail",
                Some("detail"),
            ),
            b(
                "z",
                "zoom: the detail fills the screen (z or Esc: back)",
                Some("zoom"),
            ),
            b("Esc", "back / close prompt or popup", None),
            b(
                "mouse wheel",
                "scroll the pane under the pointer; click selects",
                None,
            ),
        ],
    ),
    (
        "View",
        &[
            b("m", "messages / frames", Some("msg/frm")),
            b("s", "list / swimlanes (client left, server right)", Some("swim")),
            b("t", "time: absolute / relative to start / delta", Some("time")),
            b(
                "x",
                "payload as text / hexdump (binary, deflated: always hex)",
                Some("hex"),
            ),
            b("a", "show all TCP connections / WebSocket only", None),
            b(
                "o",
                "connections order: id, violations, messages, bytes, start",
                None,
            ),
            b("S", "statistics: rates, sizes, ping RTT, close codes", None),
        ],
    ),
    (
        "Find",
        &[
            b("/", "search payload text (regex; smart case)", Some("search")),
            b("n N", "next / previous search hit", None),
            b("] [", "next / previous violation or gap", None),
            b(
                "F",
                "audit findings, high first (Enter: go to the evidence)",
                None,
            ),
            b(
                "f",
                "filter: conn:1 dir:s2c op:ping is:violation len>1k proto:ocpp method:M event:E latency>50ms REGEX",
                Some("filter"),
            ),
        ],
    ),
    (
        "Export",
        &[
            b(
                "e",
                "export this payload (.bin raw, else hexdump -C)",
                Some("export"),
            ),
            b("E", "export the selection (all rows shown)", None),
        ],
    ),
    (
        "Other",
        &[
            b("?", "this help (j k PgUp PgDn g G scroll it)", None),
            b("q  Ctrl-C", "quit", None),
        ],
    ),
];

/// The hint bar's entries: `(key, label)`.
pub fn hints() -> Vec<(&'static str, &'static str)> {
    // Help and quit first: they must survive a narrow terminal.
    let mut v = vec![("?", "help"), ("q", "quit")];
    for (_, group) in GROUPS {
        for bind in *group {
            if let Some(h) = bind.hint {
                let key = bind.keys.split_whitespace().next().unwrap_or(bind.keys);
                v.push((key, h));
            }
        }
    }
    v
}

/// A key without modifiers (Shift allowed, since it is how capitals are typed).
pub fn plain(key: &KeyEvent, c: char) -> bool {
    key.code == KeyCode::Char(c)
        && !key
            .modifiers
            .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT)
}

pub fn ctrl(key: &KeyEvent, c: char) -> bool {
    key.code == KeyCode::Char(c) && key.modifiers.contains(KeyModifiers::CONTROL)
}

/// Vertical movement common to every pane.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Move {
    Up(usize),
    Down(usize),
    PageUp,
    PageDown,
    Top,
    Bottom,
}

pub fn movement(key: &KeyEvent) -> Option<Move> {
    if key
        .modifiers
        .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT)
    {
        return match key.code {
            KeyCode::Char('d') => Some(Move::PageDown),
            KeyCode::Char('u') => Some(Move::PageUp),
            _ => None,
        };
    }
    Some(match key.code {
        KeyCode::Up | KeyCode::Char('k') => Move::Up(1),
        KeyCode::Down | KeyCode::Char('j') => Move::Down(1),
        KeyCode::PageUp => Move::PageUp,
        KeyCode::PageDown => Move::PageDown,
        KeyCode::Home | KeyCode::Char('g') => Move::Top,
        KeyCode::End | KeyCode::Char('G') => Move::Bottom,
        _ => return None,
    })
}

/// New position after a move in a list of `len` rows with `page` visible.
pub fn apply(m: Move, pos: usize, len: usize, page: usize) -> usize {
    let last = len.saturating_sub(1);
    let page = page.max(1);
    match m {
        Move::Up(n) => pos.saturating_sub(n),
        Move::Down(n) => pos.saturating_add(n).min(last),
        Move::PageUp => pos.saturating_sub(page),
        Move::PageDown => pos.saturating_add(page).min(last),
        Move::Top => 0,
        Move::Bottom => last,
    }
}
