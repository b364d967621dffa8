//! Filtered [`View`]s over the store's records, and search.

use super::{Kind, Record, Store, flag};
use crate::event::ConnId;
use crate::select::{Row, RowKind, Selection, Unit};
use crate::tui::search::RowSet;
use regex::Regex;
use std::sync::Arc;

/// Which rows a view shows.
#[derive(Clone, Debug, Default)]
pub struct ViewSpec {
    /// One connection, or all merged.
    pub conn: Option<ConnId>,
    /// Show rows of non-WebSocket connections too (only matters when merged).
    pub all_tcp: bool,
    /// The `f` filter; its `unit` picks messages or frames.
    pub selection: Selection,
    /// The rows whose whole payload matched the filter's regex, when a
    /// background job read them ([`crate::tui::search`]): then the regex is
    /// not tested on the store's previews.
    pub hits: Option<Arc<RowSet>>,
}

impl ViewSpec {
    pub fn unit(&self) -> Unit {
        self.selection.unit
    }

    /// Whether the filter narrows beyond connection and unit.
    pub fn narrowed(&self) -> bool {
        !self.selection.is_empty() || self.hits.is_some()
    }
}

/// The rows of the timeline under a [`ViewSpec`]: record indices, ascending.
/// Extended incrementally as records arrive.
#[derive(Clone, Debug, Default)]
pub struct View {
    pub spec: ViewSpec,
    pub rows: Vec<u32>,
    scanned: usize,
}

impl View {
    pub fn new(spec: ViewSpec) -> View {
        View {
            spec,
            rows: Vec::new(),
            scanned: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Takes in records added since the last call; returns how many rows were added.
    pub fn extend(&mut self, store: &Store) -> usize {
        let before = self.rows.len();
        let start = self.scanned;
        for (i, r) in store.records.iter().enumerate().skip(start) {
            if self.admits(store, i as u32, r) {
                self.rows.push(i as u32);
            }
        }
        self.scanned = store.records.len();
        self.rows.len() - before
    }

    fn admits(&self, store: &Store, i: u32, r: &Record) -> bool {
        let spec = &self.spec;
        let conn = ConnId::from(r.conn);
        match spec.conn {
            Some(c) if r.conn == u32::MAX || c != conn => return false,
            Some(_) => {}
            None => {
                if !spec.all_tcp
                    && r.conn != u32::MAX
                    && !matches!(r.kind, Kind::Diagnostic)
                    && store.conn(conn).is_some_and(|c| !c.is_ws())
                    && !store.ws_conns.is_empty()
                {
                    return false;
                }
            }
        }
        let unit = spec.unit();
        match r.kind {
            Kind::Message if unit != Unit::Messages => return false,
            Kind::Frame if unit == Unit::Messages && !r.is_control() => return false,
            _ => {}
        }
        let sel = &spec.selection;
        if !sel.matches_row_meta(&select_row(store, r)) {
            return false;
        }
        if !sel.needs_payload() {
            return true;
        }
        match &spec.hits {
            // A background job read every whole payload.
            Some(hits) => hits.contains(i),
            None => sel.matches_payload(store.data(r)),
        }
    }

    /// Position of record `idx` in this view, or of the nearest row before it.
    pub fn position_of(&self, idx: u32) -> usize {
        match self.rows.binary_search(&idx) {
            Ok(p) => p,
            Err(p) => p.saturating_sub(1),
        }
    }
}

/// A record as the selection language sees it ([`crate::select::Row`]):
/// one rule for the timeline's filter, `dump` and `export`.
pub fn select_row<'a>(store: &'a Store, r: &Record) -> Row<'a> {
    let conn = (r.conn != u32::MAX).then(|| ConnId::from(r.conn));
    let kind = match r.kind {
        Kind::Frame => RowKind::Frame,
        Kind::Message => RowKind::Message,
        Kind::Gap => RowKind::Gap,
        Kind::Violation => RowKind::Violation,
        Kind::Handshake => RowKind::Handshake,
        Kind::Diagnostic => RowKind::Diagnostic,
    };
    // A handshake is both directions' (its row sits on the request's side).
    let dir = if r.kind == Kind::Handshake { None } else { r.dir };
    let mut row = Row::bare(kind, conn, dir);
    row.stream = store.stream_of(r);
    match r.kind {
        Kind::Frame | Kind::Message => {
            row.opcode = Some(r.opcode);
            row.len = Some(r.len);
            row.payload = Some(store.data(r));
            row.compressed = if r.kind == Kind::Frame {
                r.rsv & 4 != 0
            } else {
                r.has(flag::COMPRESSED)
            };
            row.truncated = r.has(flag::TRUNCATED);
            row.decoded = store.app(r).map(|a| &*a.decoded);
        }
        Kind::Violation | Kind::Diagnostic => row.rule = store.note(r).map(|n| n.code),
        Kind::Gap | Kind::Handshake => {}
    }
    row
}

/// Searchable text of a row: its kept payload (lossy UTF-8), or its note.
pub fn row_text<'a>(store: &'a Store, r: &Record) -> std::borrow::Cow<'a, str> {
    match r.kind {
        Kind::Frame | Kind::Message => String::from_utf8_lossy(store.data(r)),
        Kind::Violation | Kind::Diagnostic => store.note(r).map_or(std::borrow::Cow::Borrowed(""), |n| {
            std::borrow::Cow::Owned(format!("{} {}", n.code, n.detail))
        }),
        Kind::Handshake => store
            .conn(ConnId::from(r.conn))
            .and_then(|c| c.handshake.as_deref())
            .map_or(std::borrow::Cow::Borrowed(""), |h| {
                std::borrow::Cow::Borrowed(h.path())
            }),
        Kind::Gap => std::borrow::Cow::Borrowed(""),
    }
}

/// Next (or previous) view position after `from` whose text matches, wrapping around.
pub fn search(store: &Store, view: &View, re: &Regex, from: usize, forward: bool) -> Option<usize> {
    let n = view.rows.len();
    if n == 0 {
        return None;
    }
    (1..=n)
        .map(|k| {
            if forward {
                (from + k) % n
            } else {
                (from + n - (k % n)) % n
            }
        })
        .find(|&p| {
            view.rows
                .get(p)
                .and_then(|&i| store.records.get(i as usize))
                .is_some_and(|r| re.is_match(&row_text(store, r)))
        })
}
