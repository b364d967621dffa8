//! Filtered [`View`]s over the store's records, and search.

use super::{Kind, Record, Store};
use crate::event::{ConnId, Dir};
use crate::select::{Selection, Unit};
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
        self.selection.dir.is_some()
            || !self.selection.opcodes.is_empty()
            || self.selection.grep.is_some()
            || self.hits.is_some()
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
            Kind::Frame | Kind::Message => {}
            // Context rows go with any filter on direction only.
            Kind::Handshake => return spec.selection.opcodes.is_empty() && spec.selection.grep.is_none(),
            Kind::Gap | Kind::Violation | Kind::Diagnostic => {
                return spec.selection.opcodes.is_empty()
                    && spec.selection.grep.is_none()
                    && (spec.selection.dir.is_none() || r.dir.is_none() || r.dir == spec.selection.dir);
            }
        }
        let dir = r.dir.unwrap_or(Dir::C2S);
        match &spec.hits {
            Some(hits) => {
                let sel = &spec.selection;
                hits.contains(i)
                    && (sel.conns.is_empty() || sel.conns.contains(&conn))
                    && sel.dir.is_none_or(|d| d == dir)
                    && (sel.opcodes.is_empty() || sel.opcodes.contains(&r.opcode))
            }
            None => spec.selection.matches(conn, dir, r.opcode, store.data(r)),
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
