//! `]` / `[`: the timeline cursor to the next / previous problem — a
//! violation or a gap row — of the current view, wrapping around, with a
//! status line saying which (`violation 3 of 12`), or why there is none to
//! go to (the filter hides them, they are on other connections…).
//!
//! It walks the view's rows on each key press (one pass over a `u32` per
//! row, a few milliseconds for a million): nothing is kept that the view's
//! rebuilds would have to keep up to date.

use super::app::App;
use super::store::Kind;

/// A row kind `]` stops at, and its word in the status line.
fn problem(kind: Kind) -> Option<&'static str> {
    match kind {
        Kind::Violation => Some("violation"),
        Kind::Gap => Some("gap"),
        _ => None,
    }
}

impl App {
    /// The kind of the row at view position `p`, if it is a problem.
    fn problem_at(&self, p: usize) -> Option<Kind> {
        let &i = self.view.rows.get(p)?;
        let r = self.store.records.get(i as usize)?;
        problem(r.kind).map(|_| r.kind)
    }

    /// Moves the timeline cursor to the next (`forward`) or previous
    /// violation or gap of the view, wrapping around; says which in the
    /// status line.
    pub fn jump_problem(&mut self, forward: bool) {
        let n = self.view.len();
        let from = self.cursor.min(n.saturating_sub(1));
        let target = (1..=n)
            .map(|k| {
                if forward {
                    (from + k) % n
                } else {
                    (from + n - k % n) % n
                }
            })
            .find(|&p| self.problem_at(p).is_some());
        let Some(p) = target else {
            self.status = Some((self.why_no_problem(), false));
            return;
        };
        let Some(kind) = self.problem_at(p) else { return };
        // Its number among the view's rows of its kind, and how many there are.
        let (mut nth, mut total) = (0, 0);
        for q in 0..n {
            if self.problem_at(q) == Some(kind) {
                total += 1;
                if q <= p {
                    nth += 1;
                }
            }
        }
        let wrapped = if forward { p <= from } else { p >= from };
        let mut msg = format!("{} {nth} of {total}", problem(kind).unwrap_or("problem"));
        if kind == Kind::Violation
            && let Some(note) = self.view.rows.get(p).and_then(|&i| {
                let r = self.store.records.get(i as usize)?;
                self.store.note(r)
            })
        {
            msg.push_str(&format!(" · {}", note.code));
        }
        if wrapped {
            msg.push_str("  (wrapped)");
        }
        if self.view.spec.selection.dir.is_some() {
            msg.push_str("  (the filter shows one direction)");
        }
        self.cursor = p;
        self.follow = false;
        self.detail_scroll.set(0);
        self.status = Some((msg, false));
    }

    /// Why the view has no violation or gap row to jump to.
    fn why_no_problem(&self) -> String {
        let s = &self.store;
        let sel = &self.view.spec.selection;
        if s.violations + s.gaps == 0 {
            return "no violations or gaps".into();
        }
        if !sel.opcodes.is_empty() || sel.grep.is_some() {
            return "no violations or gaps in this view: the filter hides them (f to change it)".into();
        }
        if sel.dir.is_some() {
            return "no violations or gaps in this view's direction (f to change the filter)".into();
        }
        if let Some(c) = self.conn_sel.and_then(|id| s.conn(id)) {
            return format!(
                "no violations or gaps on connection {} ({} violations, {} gaps in the capture)",
                c.id, s.violations, s.gaps
            );
        }
        if s.not_held.violations + s.not_held.gaps > 0 && !self.show_all_tcp {
            return "no violations or gaps held (past the memory budget), or on other TCP connections (a shows them)"
                .into();
        }
        if s.not_held.violations + s.not_held.gaps > 0 {
            return "no violations or gaps held: they came past the memory budget".into();
        }
        "no violations or gaps in this view (a shows every TCP connection's)".into()
    }
}

#[cfg(test)]
mod tests {
    use super::super::app::{App, Options};
    use crate::event::*;
    use std::net::SocketAddr;

    fn ts(n: i64) -> Timestamp {
        Timestamp::new(1_700_000_000 + n, 0)
    }

    fn violation(n: i64, rule: &'static str) -> Event {
        Event::Violation(ViolationEvent {
            conn: 0,
            session: SessionId::conn(0),
            ts: ts(n),
            dir: Some(Dir::S2C),
            rule,
            detail: String::new(),
            frame_offset: None,
            packet: 1,
        })
    }

    fn gap(n: i64) -> Event {
        Event::Gap(GapEvent {
            conn: 0,
            ts: ts(n),
            dir: Dir::C2S,
            offset: n as u64 * 100,
            bytes: 10,
            reason: GapReason::Lost,
            frame_offset: None,
            packet: 1,
        })
    }

    fn frame(n: i64) -> Event {
        Event::Frame(FrameEvent {
            conn: 0,
            session: SessionId::conn(0),
            packets: PacketSpan {
                first: n as u64,
                last: n as u64,
            },
            ts: ts(n),
            dir: Dir::S2C,
            fin: true,
            rsv: 0,
            opcode: 9,
            masked: false,
            mask_key: None,
            len: 0,
            len_bits: 7,
            header_len: 2,
            offset: n as u64 * 100 + 50,
            payload: Vec::new(),
            truncated: false,
            close_code: None,
            close_reason: None,
            rtt: None,
            header_captured: None,
            header_bytes: None,
        })
    }

    fn app(events: Vec<Event>) -> App {
        let a: SocketAddr = "10.0.0.1:5000".parse().unwrap();
        let b: SocketAddr = "10.0.0.2:80".parse().unwrap();
        let mut all = vec![Event::Connection(ConnectionEvent {
            conn: 0,
            ts: ts(0),
            client: a,
            server: b,
            syn_seen: true,
            role_basis: RoleBasis::Syn,
            packet: 1,
        })];
        all.extend(events);
        let mut app = App::new("t", Options::default());
        app.on_events(all);
        app
    }

    fn status(app: &App) -> &str {
        app.status.as_ref().map_or("", |s| s.0.as_str())
    }

    #[test]
    fn brackets_visit_violations_and_gaps_in_order_and_wrap() {
        // Rows: ping, violation, ping, gap, violation, ping.
        let mut app = app(vec![
            frame(1),
            violation(2, "a"),
            frame(3),
            gap(4),
            violation(5, "b"),
            frame(6),
        ]);
        app.cursor = 0;
        let kinds = |app: &App| app.selected().map(|r| r.kind);
        app.jump_problem(true);
        assert_eq!(app.cursor, 1);
        assert_eq!(status(&app), "violation 1 of 2 · a");
        app.jump_problem(true);
        assert_eq!((app.cursor, status(&app)), (3, "gap 1 of 1"));
        app.jump_problem(true);
        assert_eq!((app.cursor, status(&app)), (4, "violation 2 of 2 · b"));
        app.jump_problem(true);
        assert_eq!((app.cursor, status(&app)), (1, "violation 1 of 2 · a  (wrapped)"));
        app.jump_problem(false);
        assert_eq!((app.cursor, status(&app)), (4, "violation 2 of 2 · b  (wrapped)"));
        app.jump_problem(false);
        assert_eq!(kinds(&app), Some(super::Kind::Gap));
        assert!(!app.follow);
    }

    #[test]
    fn without_problems_the_cursor_stays_and_the_status_says_so() {
        let mut app = app(vec![frame(1), frame(2)]);
        app.cursor = 1;
        app.jump_problem(true);
        assert_eq!((app.cursor, status(&app)), (1, "no violations or gaps"));

        // A filter on opcodes hides violation rows: said so.
        let mut app = app_with_filter();
        app.jump_problem(true);
        assert!(status(&app).contains("the filter hides them"), "{}", status(&app));
        app.jump_problem(false);
        assert!(status(&app).contains("the filter hides them"), "{}", status(&app));
    }

    fn app_with_filter() -> App {
        let mut app = app(vec![frame(1), violation(2, "a")]);
        let mut spec = app.view.spec.clone();
        spec.selection.opcodes.push(9);
        app.view = super::super::store::View::new(spec);
        app.view.extend(&app.store);
        app
    }
}
