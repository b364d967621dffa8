//! The security audit's findings ([`crate::audit`]): few, kept whole in
//! arrival order, with an index by severity (high first, then time) for
//! the findings view, and per connection a count and the highest severity
//! (the badge in the connections pane) — in a map beside the connections,
//! so connections without findings (most) pay nothing.

use super::Store;
use super::conn::str_heap;
use crate::event::{ConnId, FindingEvent, Severity};
use std::cmp::Reverse;
use std::collections::BTreeMap;
use std::mem::size_of;

/// Bytes counted per entry of the per-connection map (the entry and its
/// share of a B-tree node).
const CONN_ENTRY: usize = 2 * size_of::<(ConnId, (u32, Severity))>();

/// The findings indexed so far.
#[derive(Debug, Default)]
pub struct Findings {
    /// In arrival order (as the audit made them).
    pub list: Vec<FindingEvent>,
    /// Positions in `list`, by severity (high first), then time, then arrival.
    pub by_severity: Vec<u32>,
    /// Findings not kept: the store's share was spent (the per-connection
    /// counts still have them).
    pub not_held: u64,
    /// Per connection with findings: how many, and the highest severity.
    per_conn: BTreeMap<ConnId, (u32, Severity)>,
    heap: usize,
}

impl Findings {
    pub fn len(&self) -> usize {
        self.list.len()
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// Connection `id`'s findings: how many (held or not), and the
    /// highest severity among them.
    pub fn of(&self, id: ConnId) -> Option<(u32, Severity)> {
        self.per_conn.get(&id).copied()
    }

    /// The `n`th finding in the view's order (severity, then time).
    pub fn sorted(&self, n: usize) -> Option<&FindingEvent> {
        let i = *self.by_severity.get(n)?;
        self.list.get(i as usize)
    }

    /// The findings of connection `id`, in the view's order.
    pub fn of_conn(&self, id: ConnId) -> impl Iterator<Item = &FindingEvent> {
        self.by_severity
            .iter()
            .filter_map(|&i| self.list.get(i as usize))
            .filter(move |f| f.conn == id)
    }

    /// Findings per severity, indexed by `Severity as usize`.
    pub fn tally(&self) -> [u64; 4] {
        let mut n = [0u64; 4];
        for f in &self.list {
            if let Some(c) = n.get_mut(f.severity as usize) {
                *c += 1;
            }
        }
        n
    }

    /// Bytes held.
    pub fn held(&self) -> usize {
        self.list.capacity() * size_of::<FindingEvent>()
            + self.by_severity.capacity() * size_of::<u32>()
            + self.heap
            + self.per_conn.len() * CONN_ENTRY
    }

    fn cost(f: &FindingEvent) -> usize {
        size_of::<FindingEvent>()
            + size_of::<u32>()
            + f.packets.capacity() * size_of::<u64>()
            + str_heap(&f.evidence)
            + str_heap(&f.detail)
    }

    fn key(f: &FindingEvent) -> (Reverse<Severity>, crate::event::Timestamp) {
        (Reverse(f.severity), f.ts)
    }

    fn push(&mut self, f: FindingEvent) {
        let Ok(i) = u32::try_from(self.list.len()) else {
            self.not_held += 1;
            return;
        };
        self.heap += Self::cost(&f) - size_of::<FindingEvent>() - size_of::<u32>();
        // After every finding that sorts before it or equal (stable).
        let key = Self::key(&f);
        let list = &self.list;
        let at = self
            .by_severity
            .partition_point(|&j| list.get(j as usize).is_some_and(|g| Self::key(g) <= key));
        self.by_severity.insert(at, i);
        self.list.push(f);
    }
}

impl Store {
    /// Keeps a finding (while the share allows) and counts it on its
    /// connection, with the highest severity seen there.
    pub(super) fn add_finding(&mut self, f: &mut FindingEvent) {
        let e = self.findings.per_conn.entry(f.conn).or_insert((0, f.severity));
        e.0 = e.0.saturating_add(1);
        e.1 = e.1.max(f.severity);
        if Findings::cost(f) > self.room() {
            self.findings.not_held += 1;
            return;
        }
        self.findings.push(std::mem::replace(
            f,
            FindingEvent {
                conn: f.conn,
                session: f.session,
                ts: f.ts,
                rule: f.rule,
                severity: f.severity,
                packets: Vec::new(),
                evidence: String::new(),
                detail: String::new(),
            },
        ));
    }
}
