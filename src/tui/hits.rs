//! The app's side of background search and filter ([`super::search`]):
//! starting a job when the store does not hold every payload whole,
//! showing its progress, mapping its hits to rows, and walking them.

use super::app::App;
use super::search::{Hits, Job, Pending, Poll, Purpose, RowHits, RowSet, Split, Walk};
use super::store::{self, Kind, ViewSpec};
use crate::event::ConnId;
use crate::select::Selection;
use regex::Regex;
use std::sync::Arc;

impl App {
    /// Whether search and filter can run in memory: every payload is held
    /// whole (or nothing can be read again anyway).
    pub fn payloads_all_held(&self) -> bool {
        self.fetcher.is_none() || (self.store.dropped_payloads == 0 && self.store.not_held.rows() == 0)
    }

    /// Starts a background job for `re` (replacing a running one).
    pub fn start_job(&mut self, purpose: Purpose, text: String, re: Regex, filter: Option<Selection>) {
        self.cancel_job();
        if self.fetcher.is_none() {
            return;
        }
        let mut matcher = filter.clone().unwrap_or_else(|| Selection {
            grep: Some(re.clone()),
            ..Selection::default()
        });
        matcher.unit = self.unit();
        let split = self.split_search();
        let Some(fetcher) = &self.fetcher else { return };
        match Job::start_with(
            purpose,
            text,
            re,
            matcher,
            fetcher.index(),
            fetcher.config().clone(),
            split,
        ) {
            Ok(mut job) => {
                job.filter = filter;
                self.status = Some((job_line(&job, 0.0), false));
                self.job = Some(job);
            }
            Err(e) => self.status = Some((format!("cannot search: {e}"), true)),
        }
    }

    /// Whether a job may read the capture in two halves at once (see
    /// [`Split`]): the capture loaded whole from a file, every packet
    /// indexed, and nothing that made connections depend on each other —
    /// no connection evicted, no hole skipped at the total out-of-order cap,
    /// no row past the budget. Else one reading, exact whatever happened.
    fn split_search(&self) -> Option<Split> {
        let f = self.fetcher.as_ref()?;
        if self.loading || self.live || f.index().frozen() || self.store.not_held.rows() > 0 {
            return None;
        }
        let evicted = self
            .store
            .conns
            .iter()
            .any(|c| c.end == Some(crate::event::TcpEnd::Evicted));
        let capped = self
            .store
            .records
            .iter()
            .any(|r| r.kind == Kind::Gap && r.len_bits == crate::event::GapReason::BufferCap as u8);
        if evicted || capped || std::thread::available_parallelism().map_or(1, |n| n.get()) < 2 {
            return None;
        }
        let conn_of = f.index().lock().conn_of_all();
        Some(Split {
            conn_of: Arc::new(conn_of),
        })
    }

    /// Stops a running job; whether there was one.
    pub fn cancel_job(&mut self) -> bool {
        match self.job.take() {
            Some(job) => {
                job.cancel();
                let what = match job.purpose {
                    Purpose::Search => "search",
                    Purpose::Filter => "filter",
                };
                self.status = Some((format!("{what} /{}/ cancelled", job.text), false));
                true
            }
            None => false,
        }
    }

    /// Looks at the running job: progress, or its end. Whether the screen
    /// must be redrawn.
    pub fn poll_job(&mut self) -> bool {
        let Some(job) = &self.job else { return false };
        match job.poll() {
            Poll::Running(f) => {
                let line = job_line(job, f);
                let changed = self.status.as_ref().is_none_or(|(s, _)| *s != line);
                self.status = Some((line, false));
                changed
            }
            Poll::Done(result) => {
                let Some(job) = self.job.take() else { return true };
                match result {
                    Ok(hits) => self.job_done(job, hits),
                    Err(e) => self.status = Some((format!("search failed: {e}"), true)),
                }
                true
            }
        }
    }

    /// Waits for the running job and takes its result (tests).
    #[cfg(test)]
    pub fn finish_job(&mut self) {
        if let Some(job) = self.job.take() {
            match job.wait() {
                Ok(hits) => self.job_done(job, hits),
                Err(e) => self.status = Some((format!("search failed: {e}"), true)),
            }
        }
    }

    fn job_done(&mut self, mut job: Job, hits: Hits) {
        let filter = job.filter.take();
        let mut found = RowHits {
            purpose: job.purpose,
            unit: job.unit,
            text: job.text,
            re: job.re,
            rows: Arc::new(RowSet::default()),
            pending: Pending::new(hits),
            out_of_step: 0,
            walk: Walk::default(),
        };
        let mut rows = RowSet::default();
        self.map_hits(&mut found, &mut rows);
        // Rows without a payload (violations, diagnostics, handshakes) are
        // searched as in memory: their text is all here.
        for (i, r) in self.store.records.iter().enumerate() {
            if !matches!(r.kind, Kind::Frame | Kind::Message)
                && found.purpose == Purpose::Search
                && found.re.is_match(&store::row_text(&self.store, r))
            {
                rows.insert(i as u32);
            }
        }
        found.rows = Arc::new(rows);
        let secs = job.started.elapsed().as_secs_f64();
        if found.out_of_step > 0 {
            self.status = Some((
                format!(
                    "{} hits did not match their rows: the capture file changed since it was opened? reopen it",
                    found.out_of_step
                ),
                true,
            ));
        }
        match found.purpose {
            Purpose::Search => {
                self.hits = Some(found);
                self.jump_to_hit(true, true, Some(secs));
            }
            Purpose::Filter => {
                let rows = found.rows.clone();
                self.hits = Some(found);
                let mut spec: ViewSpec = self.view.spec.clone();
                if let Some(mut sel) = filter {
                    sel.unit = spec.selection.unit;
                    spec.selection = sel;
                }
                spec.hits = Some(rows);
                self.rebuild_with(spec);
                if self.status.as_ref().is_none_or(|s| !s.1) {
                    self.status = Some((
                        format!(
                            "{} rows match (every payload read whole, {secs:.1} s)",
                            self.view.len()
                        ),
                        false,
                    ));
                }
            }
        }
    }

    /// Maps hits to rows (those indexed so far); the rest stay pending.
    /// A connection's frames and messages are held as rows in the order
    /// the analysis produced them (a prefix of them, past the memory
    /// budget), so its n-th frame event is its n-th frame row: one walk
    /// over the rows indexed since the last call, counting per connection.
    fn map_hits(&self, found: &mut RowHits, rows: &mut RowSet) {
        let st = &self.store;
        let mut out_of_step = 0;
        let walk = &mut found.walk;
        let pending = &mut found.pending;
        for (i, r) in st.records.iter().enumerate().skip(walk.next_record) {
            if pending.is_empty() {
                break;
            }
            let kind = match r.kind {
                Kind::Frame => 0,
                Kind::Message => 1,
                _ => continue,
            };
            let Ok(c) = usize::try_from(r.conn) else { continue };
            if walk.counts.len() <= c {
                walk.counts.resize(c + 1, [0; 2]);
            }
            let Some(n) = walk.counts.get_mut(c).and_then(|k| k.get_mut(kind)) else {
                continue;
            };
            let key = (ConnId::from(r.conn), *n);
            *n += 1;
            if kind == 0 {
                if let Some(offset) = pending.frames.remove(&key) {
                    if offset == r.offset {
                        rows.insert(i as u32);
                    } else {
                        out_of_step += 1;
                    }
                }
            } else if pending.messages.remove(&key) {
                rows.insert(i as u32);
            }
        }
        walk.next_record = st.records.len();
        found.out_of_step += out_of_step;
    }

    /// New rows arrived: hits waiting for them become rows.
    pub fn map_pending_hits(&mut self) {
        let Some(mut found) = self.hits.take() else { return };
        if !found.pending.is_empty() {
            let mut rows = (*found.rows).clone();
            self.map_hits(&mut found, &mut rows);
            found.rows = Arc::new(rows);
            if found.purpose == Purpose::Filter && self.view.spec.hits.is_some() {
                self.view.spec.hits = Some(found.rows.clone());
            }
        }
        self.hits = Some(found);
    }

    /// Moves the cursor to the next (previous) hit in the view, wrapping;
    /// `inclusive`: the row under the cursor counts.
    pub fn jump_to_hit(&mut self, forward: bool, inclusive: bool, took: Option<f64>) {
        let Some(found) = &self.hits else { return };
        let in_view: Vec<usize> = found
            .rows
            .iter()
            .filter_map(|row| self.view.rows.binary_search(&row).ok())
            .collect();
        let total = in_view.len();
        let text = found.text.clone();
        let took = took.map_or(String::new(), |s| {
            format!(", every payload read whole in {s:.1} s")
        });
        if total == 0 {
            self.status = Some((format!("/{text}/ not found{took}"), true));
            return;
        }
        let at = self.cursor;
        let pick = if forward {
            let i = in_view.partition_point(|&p| if inclusive { p < at } else { p <= at });
            in_view
                .get(i)
                .map(|&p| (p, false))
                .or(in_view.first().map(|&p| (p, true)))
        } else {
            let i = in_view.partition_point(|&p| if inclusive { p <= at } else { p < at });
            i.checked_sub(1)
                .and_then(|i| in_view.get(i))
                .map(|&p| (p, false))
                .or(in_view.last().map(|&p| (p, true)))
        };
        let Some((p, wrapped)) = pick else { return };
        let nth = in_view.partition_point(|&q| q < p) + 1;
        self.cursor = p;
        self.follow = false;
        self.detail_scroll.set(0);
        self.status = Some((
            format!(
                "/{text}/  match {nth} of {total}  row {} of {}{}{took}",
                p + 1,
                self.view.len(),
                if wrapped { "  (wrapped)" } else { "" }
            ),
            false,
        ));
    }

    /// A filter with a payload regex over payloads not all held: the
    /// view is empty until the job has read every payload.
    pub fn filter_in_background(&mut self, text: String, mut sel: Selection) {
        let Some(re) = sel.grep.clone() else { return };
        sel.unit = self.unit();
        let mut spec = self.view.spec.clone();
        spec.selection = sel.clone();
        spec.hits = Some(Arc::new(RowSet::default()));
        self.rebuild_with(spec);
        self.start_job(Purpose::Filter, text, re, Some(sel));
    }

    /// `m` changed messages ↔ frames: hits of the other unit do not say
    /// which rows of this one match; read again.
    pub fn unit_changed(&mut self) {
        let unit = self.unit();
        let Some(found) = &self.hits else { return };
        if found.unit == unit {
            return;
        }
        let (purpose, text, re) = (found.purpose, found.text.clone(), found.re.clone());
        match purpose {
            Purpose::Filter if self.view.spec.hits.is_some() => {
                let sel = self.view.spec.selection.clone();
                self.filter_in_background(text, sel);
            }
            Purpose::Filter => {}
            Purpose::Search => self.start_job(Purpose::Search, text, re, None),
        }
    }
}

fn job_line(job: &Job, fraction: f64) -> String {
    let what = match job.purpose {
        Purpose::Search => "searching",
        Purpose::Filter => "filtering by",
    };
    // In steps of 5 %: each change redraws the screen, and the search
    // threads want the cores (a terminal redrawing at every 1 % slowed a
    // 0.6 s search to 1 s).
    let pct = ((fraction * 20.0).floor() * 5.0).clamp(0.0, 100.0);
    format!(
        "{what} /{}/ in every whole payload… {pct:.0}% — Esc cancels",
        job.text
    )
}

#[cfg(test)]
mod tests {
    use super::super::{Options, open_file};
    use super::*;
    use crate::analyzer::AnalyzerConfig;
    use crate::event::Event;
    use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    use std::path::Path;

    fn fixture(name: &str) -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures").join(name)
    }

    /// The app over `name`, loaded whole, holding no payload whole (as a
    /// capture far over the memory budget would).
    fn loaded_lean(name: &str) -> App {
        let (mut app, reader) =
            open_file(&fixture(name), AnalyzerConfig::default(), Options::default()).unwrap();
        app.store.budget.max_total = 0;
        super::super::load_all(&mut app, &reader);
        assert!(app.store.dropped_payloads > 0);
        assert!(!app.payloads_all_held());
        app
    }

    fn keys(app: &mut App, s: &str) {
        for c in s.chars() {
            let code = match c {
                '\n' => KeyCode::Enter,
                c => KeyCode::Char(c),
            };
            app.on_key(KeyEvent::new(code, KeyModifiers::NONE));
        }
    }

    fn events(name: &str) -> Vec<Event> {
        let mut src = crate::source::file::FileSource::open(&fixture(name)).unwrap();
        let mut ev = Vec::new();
        crate::pipeline::analyze(&mut src, AnalyzerConfig::default(), &mut ev).unwrap();
        ev
    }

    /// The messages (and control frames) whose whole payload matches:
    /// what `wsscope export --grep` selects, plus the control frames the
    /// messages view lists as rows.
    fn expected(name: &str, re: &str) -> usize {
        let re = Regex::new(re).unwrap();
        let m = |b: &[u8]| re.is_match(&String::from_utf8_lossy(b));
        events(name)
            .iter()
            .filter(|e| match e {
                Event::Message(x) => m(&x.data),
                Event::Frame(f) => f.opcode >= 8 && m(&f.payload),
                _ => false,
            })
            .count()
    }

    fn hits_in_view(app: &App) -> usize {
        let h = app.hits.as_ref().unwrap();
        h.rows
            .iter()
            .filter(|r| app.view.rows.binary_search(r).is_ok())
            .count()
    }

    /// The text messages' 126 `t`s lie past the 40-byte previews: only a
    /// search over whole payloads finds them, and it finds them all.
    #[test]
    fn search_reads_whole_payloads() {
        let mut app = loaded_lean("sizes.pcap");
        let want = expected("sizes.pcap", "t{100}");
        assert_eq!(want, 2);
        keys(&mut app, "/t{100}\n");
        assert!(app.job.is_some(), "a background job runs");
        app.finish_job();
        assert_eq!(hits_in_view(&app), want);
        let first = app.selected().copied().unwrap();
        assert_eq!(first.opcode, 1);
        let status = &app.status.as_ref().unwrap().0;
        assert!(status.contains("match 1 of 2"), "{status}");
        // n walks the hits without reading again, and wraps.
        keys(&mut app, "n");
        assert!(app.job.is_none());
        assert!(app.status.as_ref().unwrap().0.contains("match 2 of 2"));
        keys(&mut app, "n");
        assert!(app.status.as_ref().unwrap().0.contains("match 1 of 2"));
    }

    #[test]
    fn filter_reads_whole_payloads() {
        let mut app = loaded_lean("deflate_takeover.pcap");
        // A word deep inside inflated messages (context takeover: they
        // cannot be inflated on their own).
        let want = expected("deflate_takeover.pcap", "(?i)lazy dog");
        assert!(want > 2, "{want}");
        keys(&mut app, "flazy dog\n");
        app.finish_job();
        assert_eq!(app.view.len(), want, "{:?}", app.status);
        assert!(app.view.spec.hits.is_some());
    }

    /// Read in two halves at once (even and odd connections), a search
    /// finds exactly the rows one reading finds.
    #[test]
    fn split_search_finds_what_one_reading_finds() {
        for name in ["pcapng_multi.pcapng", "chromium.pcap"] {
            let want = expected(name, ".");
            let mut rows = Vec::new();
            for split in [true, false] {
                let mut app = loaded_lean(name);
                assert!(app.split_search().is_some(), "{name}: a clean load splits");
                if !split {
                    // One reading: as after a load that evicted connections.
                    let f = app.fetcher.as_ref().unwrap();
                    f.index().freeze();
                    assert!(app.split_search().is_none());
                }
                keys(&mut app, "/.\n");
                app.finish_job();
                let h = app.hits.as_ref().unwrap();
                assert_eq!(h.out_of_step, 0, "{name}");
                // Payload rows only (`.` also matches handshakes' paths).
                let payload_hits = h
                    .rows
                    .iter()
                    .filter(|r| app.view.rows.binary_search(r).is_ok())
                    .filter(|&r| {
                        matches!(
                            app.store.records[r as usize].kind,
                            store::Kind::Frame | store::Kind::Message
                        )
                    })
                    .count();
                assert_eq!(payload_hits, want, "{name} split={split}");
                rows.push(h.rows.iter().collect::<Vec<_>>());
            }
            assert_eq!(rows[0], rows[1], "{name}");
        }
    }

    #[test]
    fn esc_cancels_a_running_search() {
        let mut app = loaded_lean("sizes.pcap");
        keys(&mut app, "/t{100}\n");
        assert!(app.job.is_some());
        app.on_key(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE));
        assert!(app.job.is_none());
        assert!(app.status.as_ref().unwrap().0.contains("cancelled"));
    }

    /// A payload the store cut to its preview comes whole from the capture.
    #[test]
    fn payload_fetched_whole() {
        let app = loaded_lean("sizes.pcap");
        let big = events("sizes.pcap")
            .into_iter()
            .find_map(|e| match e {
                Event::Message(m) if m.data.len() == 1 << 20 => Some(m.data),
                _ => None,
            })
            .unwrap();
        let row = app
            .store
            .records
            .iter()
            .find(|r| r.kind == store::Kind::Message && r.len == 1 << 20)
            .copied()
            .unwrap();
        assert!(!row.has(store::flag::KEPT));
        let got = app.payload_now(&row).unwrap();
        assert_eq!(&got[..], &big[..]);
        // Now in the cache: the panes see it whole.
        assert!(app.payload(&row).is_complete());
    }
}
