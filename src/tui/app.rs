//! The TUI's state and its reaction to events and keys — no terminal here.
//!
//! [`App::on_feed`] / [`App::on_events`] take what the capture thread sends,
//! [`App::on_key`] / [`App::on_mouse`] take input and return an [`Action`]
//! for the run loop (quit, write a file). Rendering is `impl Widget for &App`
//! in `ui.rs`. Tests drive an `App` with real events and key presses and
//! snapshot a `TestBackend`.

use super::fetch::Fetcher;
use super::keys::{self, Move};
use super::panes;
use super::payload::{Bytes, Payload, PayloadState};
use super::replay;
use super::store::{self, Budget, Kind, Record, Store, View, ViewSpec};
use super::theme::Theme;
use crate::event::{ConnId, Event};
use crate::select::{Selection, Unit};
use crate::source::SourceEnd;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventKind};
use ratatui::layout::Rect;
use regex::Regex;
use std::cell::Cell;

/// What the capture thread sends.
#[derive(Debug)]
pub enum Feed {
    /// A batch of events, in capture order.
    Events(Vec<Event>),
    /// A batch of events some of whose payloads the reader cut to a preview.
    Lean(super::lean::LeanBatch),
    Progress(Progress),
    /// The source ended (or failed).
    Done(Result<SourceEnd, String>),
}

/// How far reading has got.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Progress {
    pub bytes_read: u64,
    /// File size, when known.
    pub total_bytes: Option<u64>,
    pub packets: u64,
    /// Live: packets per second over the last second or so.
    pub pps: Option<f64>,
    pub dropped: Option<u64>,
}

/// What the run loop must do after a key.
#[derive(Debug, PartialEq)]
pub enum Action {
    None,
    Quit,
    /// Write `contents` to `path`, then call [`App::export_done`].
    Export(ExportJob),
}

pub use super::export::ExportJob;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Focus {
    Conns,
    Timeline,
    Detail,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimelineLayout {
    List,
    Swimlanes,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeFormat {
    Absolute,
    Relative,
    Delta,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PromptKind {
    Search,
    Filter,
    ExportPayload,
    ExportSelection,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Prompt {
    pub kind: PromptKind,
    pub input: String,
}

/// Options injected by the caller (environment, budget).
#[derive(Clone, Copy, Debug, Default)]
pub struct Options {
    pub no_color: bool,
    pub live: bool,
    pub budget: Budget,
}

/// Where panes were drawn last (for page sizes and the mouse).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Geometry {
    pub conns: Rect,
    pub timeline: Rect,
    /// Rows of the timeline list area (inside the borders, below the column header).
    pub timeline_rows: Rect,
    pub detail: Rect,
}

/// The whole TUI state.
pub struct App {
    pub store: Store,
    pub view: View,
    pub source: String,
    pub live: bool,
    pub progress: Progress,
    pub loading: bool,
    pub end: Option<Result<SourceEnd, String>>,
    pub focus: Focus,
    /// Selected connection (`None`: all merged).
    pub conn_sel: Option<ConnId>,
    pub conns_offset: Cell<usize>,
    /// Cursor position in `view.rows`.
    pub cursor: usize,
    pub tl_offset: Cell<usize>,
    /// Keep the cursor on the newest row.
    pub follow: bool,
    /// Live: the view is frozen (new rows are indexed, not shown).
    pub paused: bool,
    /// Records indexed when the view was paused.
    pub paused_at: usize,
    pub layout: TimelineLayout,
    pub time_fmt: TimeFormat,
    pub hex: bool,
    pub show_all_tcp: bool,
    /// First row of the detail shown (clamped when drawn).
    pub detail_scroll: Cell<usize>,
    pub search: Option<(String, Regex)>,
    pub filter_text: String,
    pub prompt: Option<Prompt>,
    pub help: bool,
    /// Last status message and whether it is an error.
    pub status: Option<(String, bool)>,
    pub theme: Theme,
    pub geometry: Cell<Geometry>,
    /// Fetches payloads the store does not hold (none in tests that build
    /// an `App` from events).
    pub fetcher: Option<Fetcher>,
    /// A search or filter reading every whole payload in the background.
    pub job: Option<super::search::Job>,
    /// The hits of the last such job.
    pub hits: Option<super::search::RowHits>,
    /// Where indexed batches go back to the reader thread.
    pub recycle: Option<std::sync::mpsc::SyncSender<Vec<Event>>>,
    /// Zoomed (`z`): one pane full-screen; the focus before the zoom.
    pub zoom: Option<Focus>,
    /// The terminal is too small for three panes: only the focused one is
    /// shown (set when drawn).
    pub compact: Cell<bool>,
    /// First row of the help popup shown (clamped when drawn).
    pub help_scroll: Cell<usize>,
    /// The connections pane's order (`o`) and its sorted list.
    pub conn_sort: panes::conns::SortedConns,
    /// The statistics view (`S`): open or not, and what it computed.
    pub stats: panes::stats::StatsView,
    /// The findings view (`F`): open or not, its selection.
    pub findings: panes::findings::FindingsView,
}

impl App {
    pub fn new(source: impl Into<String>, opts: Options) -> App {
        let store = Store::new(opts.budget);
        App {
            store,
            view: View::new(ViewSpec::default()),
            source: source.into(),
            live: opts.live,
            progress: Progress::default(),
            loading: true,
            end: None,
            focus: Focus::Timeline,
            conn_sel: None,
            conns_offset: Cell::new(0),
            cursor: 0,
            tl_offset: Cell::new(0),
            follow: opts.live,
            paused: false,
            paused_at: 0,
            layout: TimelineLayout::List,
            time_fmt: TimeFormat::Absolute,
            hex: false,
            show_all_tcp: false,
            detail_scroll: Cell::new(0),
            search: None,
            filter_text: String::new(),
            prompt: None,
            help: false,
            status: None,
            theme: Theme::new(opts.no_color),
            geometry: Cell::new(Geometry::default()),
            fetcher: None,
            job: None,
            hits: None,
            recycle: None,
            zoom: None,
            compact: Cell::new(false),
            help_scroll: Cell::new(0),
            conn_sort: Default::default(),
            stats: Default::default(),
            findings: Default::default(),
        }
    }

    // ------------------------------------------------------------------ feed

    pub fn on_feed(&mut self, feed: Feed) {
        match feed {
            Feed::Events(batch) => self.on_events(batch),
            Feed::Lean(batch) => self.on_lean(batch),
            Feed::Progress(p) => self.progress = p,
            Feed::Done(end) => {
                self.loading = false;
                if let Ok(e) = &end {
                    if e.dropped.is_some() {
                        self.progress.dropped = e.dropped;
                    }
                    self.progress.packets = self.progress.packets.max(e.packets);
                }
                if let Err(e) = &end {
                    self.status = Some((format!("reading failed: {e}"), true));
                }
                self.end = Some(end);
            }
        }
    }

    /// Indexes a batch of events and shows the new rows.
    pub fn on_events(&mut self, batch: Vec<Event>) {
        self.on_lean(super::lean::LeanBatch {
            events: batch,
            cut: Vec::new(),
        });
    }

    /// Indexes a batch of events, some with their payload cut, and shows the new rows.
    pub fn on_lean(&mut self, batch: super::lean::LeanBatch) {
        let had_ws = !self.store.ws_conns.is_empty();
        self.count_external();
        let mut cut = batch.cut.into_iter().peekable();
        let mut events = batch.events;
        for (i, ev) in events.iter_mut().enumerate() {
            let whole = cut.next_if(|c| c.0 as usize == i).map(|c| c.1);
            self.store.add_cut(ev, whole);
        }
        // Back to the reader, which allocated the payloads: freed there
        // (cheap) rather than here (a lock on its allocator arena per
        // buffer), and the batch's room is reused.
        if let Some(back) = &self.recycle {
            let _ = back.try_send(events);
        }
        if self.store.not_held.since.is_some() {
            if let Some(f) = &self.fetcher {
                f.index().freeze();
            }
        }
        if let Some(f) = &self.fetcher {
            f.retry_misses();
        }
        self.map_pending_hits();
        // The first WebSocket connection changes what "all" means.
        if !had_ws && !self.store.ws_conns.is_empty() && !self.show_all_tcp {
            self.rebuild_view();
        }
        if !self.paused {
            self.view.extend(&self.store);
            if self.follow {
                self.cursor = self.view.len().saturating_sub(1);
            }
        }
        self.resort_conns_if_changed();
    }

    /// Records indexed but not yet in the (paused) view.
    pub fn pending(&self) -> usize {
        if self.paused {
            self.store.records.len().saturating_sub(self.paused_at)
        } else {
            0
        }
    }

    // ------------------------------------------------------------------ view

    fn spec(&self) -> ViewSpec {
        ViewSpec {
            conn: self.conn_sel,
            all_tcp: self.show_all_tcp,
            selection: self.view.spec.selection.clone(),
            hits: self.view.spec.hits.clone(),
        }
    }

    /// Rebuilds the view after its spec changed, keeping the cursor on the same record when it can.
    pub fn rebuild_view(&mut self) {
        self.rebuild_with(self.spec());
    }

    pub(crate) fn rebuild_with(&mut self, spec: ViewSpec) {
        let keep = self.selected_index();
        self.view = View::new(spec);
        self.view.extend(&self.store);
        self.cursor = match keep {
            _ if self.follow => self.view.len().saturating_sub(1),
            Some(idx) => self.view.position_of(idx),
            None => 0,
        };
        self.detail_scroll.set(0);
    }

    /// Record index under the cursor.
    pub fn selected_index(&self) -> Option<u32> {
        self.view.rows.get(self.cursor).copied()
    }

    pub fn selected(&self) -> Option<&Record> {
        self.selected_index()
            .and_then(|i| self.store.records.get(i as usize))
    }

    /// A row's payload as the panes may show it (see [`Payload`]): held
    /// whole in the store, fetched, being fetched (then the store's
    /// prefix), or not to be had (and why).
    pub fn payload(&self, r: &Record) -> Payload<'_> {
        let held = self.store.data(r);
        if r.has(store::flag::KEPT) {
            return Payload {
                bytes: Bytes::Borrowed(held),
                state: PayloadState::Complete,
            };
        }
        let partial = |why: String| Payload {
            bytes: Bytes::Borrowed(held),
            state: PayloadState::Partial(why),
        };
        let Some(fetcher) = &self.fetcher else {
            return partial(format!(
                "payload not kept (over the memory budget) — first {} of {} bytes shown — use wsscope export",
                held.len(),
                r.len
            ));
        };
        let Some(key) = self.store.payload_key(r) else {
            return partial(format!(
                "first {} of {} bytes shown: none of this message's frames is in the timeline, so it cannot be read again",
                held.len(),
                r.len
            ));
        };
        if let Some(b) = fetcher.get(&key) {
            return Payload {
                bytes: Bytes::Shared(b),
                state: PayloadState::Complete,
            };
        }
        if let Some(why) = fetcher.failure(&key) {
            return partial(format!(
                "first {} of {} bytes shown; cannot read the rest: {why}",
                held.len(),
                r.len
            ));
        }
        fetcher.request(key);
        Payload {
            bytes: Bytes::Borrowed(held),
            state: PayloadState::Loading,
        }
    }

    /// A row's whole payload now, reading the capture again on this thread
    /// if need be (exports must have every byte).
    pub fn payload_now(&self, r: &Record) -> Result<Bytes<'_>, String> {
        let p = self.payload(r);
        if p.is_complete() {
            return Ok(p.bytes);
        }
        if let PayloadState::Partial(why) = &p.state {
            if self.fetcher.is_none() || self.store.payload_key(r).is_none() {
                return Err(why.clone());
            }
        }
        let (Some(fetcher), Some(key)) = (&self.fetcher, self.store.payload_key(r)) else {
            return Err("payload not kept and cannot be read again".into());
        };
        fetcher.fetch_now(key).map(Bytes::Shared)
    }

    /// Lets payloads the store does not hold be fetched by re-reading the
    /// capture (`index` says where each packet is; `cfg` is the analysis').
    pub fn attach_replay(&mut self, index: replay::SharedIndex, cfg: crate::analyzer::AnalyzerConfig) {
        let cap = (self.store.budget.output / 8).max(16 << 20);
        self.fetcher = Some(Fetcher::spawn(index, cfg, cap));
        // What is not held can be read again: hold less.
        self.store.budget = self.store.budget.with_replay();
    }

    /// Takes fetched payloads; whether the screen must be redrawn.
    pub fn poll_fetches(&mut self) -> bool {
        let came = self.fetcher.as_ref().is_some_and(Fetcher::poll);
        if came {
            self.count_external();
        }
        came
    }

    /// Where each packet is (for fetching) and the payloads fetched are
    /// part of what the timeline holds: counted against its share.
    fn count_external(&mut self) {
        if let Some(f) = &self.fetcher {
            self.store.external = f.index().lock().heap_bytes() + f.cached_bytes();
        }
    }

    pub fn unit(&self) -> Unit {
        self.view.spec.unit()
    }

    // ------------------------------------------------------------ connections

    /// Connections listed in the connections pane (after the "all" row):
    /// every TCP connection with `a` or when no WebSocket was seen, else the
    /// WebSocket ones and the TLS ones that could not be decrypted.
    pub fn conn_list(&self) -> ConnList<'_> {
        let base = self.base_conn_list();
        self.conn_sort.list(base).unwrap_or(base)
    }

    /// [`App::conn_list`] by id, whatever the pane's order (`o`).
    pub fn base_conn_list(&self) -> ConnList<'_> {
        if self.show_all_tcp || self.store.ws_conns.is_empty() {
            ConnList::All(self.store.conns.len())
        } else {
            ConnList::Ws(&self.store.listed)
        }
    }

    /// Position of the selected connection in the pane (0 = all).
    pub fn conn_pos(&self) -> usize {
        match self.conn_sel {
            None => 0,
            Some(id) => self.conn_list().position(id).map_or(0, |p| p + 1),
        }
    }

    pub fn select_conn_pos(&mut self, pos: usize) {
        let sel = if pos == 0 {
            None
        } else {
            self.conn_list().get(pos - 1)
        };
        if sel != self.conn_sel {
            self.conn_sel = sel;
            self.follow = self.live && !self.paused;
            self.cursor = 0;
            let spec = self.spec();
            self.view = View::new(spec);
            self.view.extend(&self.store);
            if self.follow {
                self.cursor = self.view.len().saturating_sub(1);
            }
            self.tl_offset.set(0);
            self.detail_scroll.set(0);
        }
    }

    // ------------------------------------------------------------------ keys

    pub fn on_key(&mut self, key: KeyEvent) -> Action {
        if key.kind != KeyEventKind::Press {
            return Action::None;
        }
        if keys::ctrl(&key, 'c') {
            return Action::Quit;
        }
        if self.prompt.is_some() {
            return self.prompt_key(key);
        }
        if self.help {
            if matches!(
                key.code,
                KeyCode::Esc | KeyCode::Char('?') | KeyCode::Char('q') | KeyCode::Enter
            ) {
                self.help = false;
                self.help_scroll.set(0);
            } else if let Some(m) = keys::movement(&key) {
                self.scroll_help(m);
            }
            return Action::None;
        }
        if self.findings.open && panes::findings::on_key(self, &key) {
            return Action::None;
        }
        if key.code == KeyCode::Esc && self.cancel_job() {
            return Action::None;
        }
        let consumed = match self.focus {
            Focus::Conns => panes::conns::on_key(self, &key),
            Focus::Timeline => panes::timeline::on_key(self, &key),
            Focus::Detail => panes::detail::on_key(self, &key),
        };
        if consumed {
            return Action::None;
        }
        self.global_key(key)
    }

    fn global_key(&mut self, key: KeyEvent) -> Action {
        let p = |c| keys::plain(&key, c);
        match key.code {
            KeyCode::Tab => {
                self.focus = match self.focus {
                    Focus::Conns => Focus::Timeline,
                    Focus::Timeline => Focus::Detail,
                    Focus::Detail => Focus::Conns,
                };
            }
            KeyCode::BackTab => {
                self.focus = match self.focus {
                    Focus::Conns => Focus::Detail,
                    Focus::Timeline => Focus::Conns,
                    Focus::Detail => Focus::Timeline,
                };
            }
            KeyCode::Esc => {
                self.status = None;
                self.back();
            }
            _ if p('q') => return Action::Quit,
            _ if p('?') => self.help = true,
            _ if p('/') => self.open_prompt(PromptKind::Search),
            _ if p('f') => self.open_prompt(PromptKind::Filter),
            _ if p('e') => self.open_prompt(PromptKind::ExportPayload),
            _ if p('E') => self.open_prompt(PromptKind::ExportSelection),
            _ if p('n') => self.search_next(true),
            _ if p('N') => self.search_next(false),
            _ if p('m') => {
                let mut spec = self.spec();
                spec.selection.unit = match spec.selection.unit {
                    Unit::Messages => Unit::Frames,
                    Unit::Frames => Unit::Messages,
                };
                // Keep the cursor near the same moment: map frames ↔ messages via the record link.
                let keep = self.selected().map(|r| (r.kind, r.link));
                let before = self.selected_index();
                self.rebuild_with(spec);
                if let (Some((kind, link)), Some(before)) = (keep, before) {
                    let target = match kind {
                        Kind::Message if link != store::NONE => link,
                        _ => before,
                    };
                    if !self.follow {
                        self.cursor = self.view.position_of(target);
                    }
                }
                self.unit_changed();
            }
            _ if p('s') => {
                self.layout = match self.layout {
                    TimelineLayout::List => TimelineLayout::Swimlanes,
                    TimelineLayout::Swimlanes => TimelineLayout::List,
                }
            }
            _ if p('t') => {
                self.time_fmt = match self.time_fmt {
                    TimeFormat::Absolute => TimeFormat::Relative,
                    TimeFormat::Relative => TimeFormat::Delta,
                    TimeFormat::Delta => TimeFormat::Absolute,
                }
            }
            _ if p('x') => {
                self.hex = !self.hex;
                self.detail_scroll.set(0);
            }
            _ if p('a') => {
                self.show_all_tcp = !self.show_all_tcp;
                self.rebuild_view();
                self.resort_conns_if_changed();
            }
            // Live: pause / follow. A file: page down, as in less.
            _ if p(' ') && self.live => self.toggle_pause(),
            _ if p(' ') => self.move_cursor(Move::PageDown),
            _ if p('z') => self.toggle_zoom(),
            _ if p(']') => self.jump_problem(true),
            _ if p('[') => self.jump_problem(false),
            _ if p('S') => self.toggle_stats(),
            _ if p('F') => self.toggle_findings(),
            _ => {}
        }
        Action::None
    }

    pub fn toggle_pause(&mut self) {
        if self.paused || !self.follow {
            // Resume: show what arrived, follow the tail.
            self.paused = false;
            self.follow = true;
            self.view.extend(&self.store);
            self.cursor = self.view.len().saturating_sub(1);
        } else {
            self.paused = self.live;
            self.paused_at = self.store.records.len();
            self.follow = false;
        }
    }

    /// Moves the timeline cursor; any move but "to the end" stops following.
    pub fn move_cursor(&mut self, m: Move) {
        let page = usize::from(self.geometry.get().timeline_rows.height.max(1));
        let len = self.view.len();
        self.cursor = keys::apply(m, self.cursor, len, page);
        self.follow = m == Move::Bottom && (self.live || self.loading);
        self.detail_scroll.set(0);
    }

    fn open_prompt(&mut self, kind: PromptKind) {
        let input = match kind {
            PromptKind::Search => String::new(),
            PromptKind::Filter => self.filter_text.clone(),
            PromptKind::ExportPayload => match self.selected() {
                Some(r) if r.is_data() => {
                    let ext = if self.hex || !r.has(store::flag::TEXT) && r.kind == Kind::Message {
                        "txt"
                    } else {
                        "bin"
                    };
                    format!(
                        "wsscope-conn{}-{}.{ext}",
                        r.conn,
                        self.selected_index().unwrap_or(0)
                    )
                }
                _ => {
                    self.status = Some(("no payload on this row".into(), true));
                    return;
                }
            },
            PromptKind::ExportSelection => "wsscope-selection.txt".into(),
        };
        self.prompt = Some(Prompt { kind, input });
    }

    fn prompt_key(&mut self, key: KeyEvent) -> Action {
        let Some(prompt) = self.prompt.as_mut() else {
            return Action::None;
        };
        match key.code {
            KeyCode::Esc => self.prompt = None,
            KeyCode::Backspace => {
                prompt.input.pop();
            }
            KeyCode::Char('u') if keys::ctrl(&key, 'u') => prompt.input.clear(),
            KeyCode::Char('w') if keys::ctrl(&key, 'w') => {
                let trimmed = prompt.input.trim_end().len();
                prompt.input.truncate(trimmed);
                let cut = prompt.input.rfind(' ').map_or(0, |i| i + 1);
                prompt.input.truncate(cut);
            }
            KeyCode::Char(c) if !keys::ctrl(&key, c) => prompt.input.push(c),
            KeyCode::Enter => {
                let Some(Prompt { kind, input }) = self.prompt.take() else {
                    return Action::None;
                };
                return self.submit(kind, input);
            }
            _ => {}
        }
        Action::None
    }

    fn submit(&mut self, kind: PromptKind, input: String) -> Action {
        match kind {
            PromptKind::Search => {
                if input.is_empty() {
                    self.search = None;
                    self.status = None;
                    return Action::None;
                }
                match smart_case_regex(&input) {
                    Ok(re) if !self.payloads_all_held() => {
                        self.search = Some((input.clone(), re.clone()));
                        self.start_job(super::search::Purpose::Search, input, re, None);
                    }
                    Ok(re) => {
                        self.hits = None;
                        self.search = Some((input, re));
                        // The row under the cursor counts as the first candidate.
                        let n = self.view.len().max(1);
                        self.search_from((self.cursor + n - 1) % n, true);
                    }
                    Err(e) => self.status = Some((format!("bad regex: {e}"), true)),
                }
            }
            PromptKind::Filter => match parse_filter(&input) {
                Ok(sel) if sel.needs_payload() && !self.payloads_all_held() => {
                    self.filter_text = input.clone();
                    self.filter_in_background(input, sel);
                }
                Ok(mut sel) => {
                    sel.unit = self.unit();
                    self.filter_text = input;
                    let mut spec = self.spec();
                    spec.selection = sel;
                    spec.hits = None;
                    self.rebuild_with(spec);
                    self.status = Some((format!("{} rows match", self.view.len()), false));
                }
                Err(e) => self.status = Some((e, true)),
            },
            PromptKind::ExportPayload => return self.export_payload(input),
            PromptKind::ExportSelection => return self.export_selection(input),
        }
        Action::None
    }

    /// Jumps to the next (previous) search hit.
    pub fn search_next(&mut self, forward: bool) {
        let background = self.hits.as_ref().is_some_and(|h| {
            h.purpose == super::search::Purpose::Search
                && self.search.as_ref().is_some_and(|(t, _)| *t == h.text)
        });
        if background {
            self.jump_to_hit(forward, false, None);
        } else if self.job.is_some() {
            self.status = Some((
                "the search is still reading the capture — Esc cancels".into(),
                false,
            ));
        } else {
            self.search_from(self.cursor, forward);
        }
    }

    fn search_from(&mut self, from: usize, forward: bool) {
        let Some((text, re)) = &self.search else {
            self.status = Some(("no search: press / first".into(), true));
            return;
        };
        match store::search(&self.store, &self.view, re, from, forward) {
            Some(p) => {
                let at = self.cursor;
                let wrapped = if forward {
                    p < at || (p == at && from == at)
                } else {
                    p > at || (p == at && from == at)
                };
                self.cursor = p;
                self.follow = false;
                self.detail_scroll.set(0);
                self.status = Some((
                    format!(
                        "/{text}/  row {} of {}{}",
                        p + 1,
                        self.view.len(),
                        if wrapped { "  (wrapped)" } else { "" }
                    ),
                    false,
                ));
            }
            None => self.status = Some((format!("/{text}/ not found"), true)),
        }
    }
}

/// The connections pane's list.
#[derive(Clone, Copy, Debug)]
pub enum ConnList<'a> {
    /// Every TCP connection, ids `0..n`.
    All(usize),
    /// WebSocket connections (and TLS ones not decrypted) only.
    Ws(&'a [ConnId]),
    /// One of those lists in another order (`o`, [`panes::conns::ConnOrder`]):
    /// the ids in order, and each id's position (`u32::MAX`: not listed).
    Sorted { ids: &'a [ConnId], pos: &'a [u32] },
}

impl ConnList<'_> {
    pub fn len(&self) -> usize {
        match self {
            ConnList::All(n) => *n,
            ConnList::Ws(v) => v.len(),
            ConnList::Sorted { ids, .. } => ids.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn get(&self, i: usize) -> Option<ConnId> {
        match self {
            ConnList::All(n) => (i < *n).then_some(i as ConnId),
            ConnList::Ws(v) => v.get(i).copied(),
            ConnList::Sorted { ids, .. } => ids.get(i).copied(),
        }
    }

    pub fn position(&self, id: ConnId) -> Option<usize> {
        match self {
            ConnList::All(n) => usize::try_from(id).ok().filter(|&i| i < *n),
            ConnList::Ws(v) => v.binary_search(&id).ok(),
            ConnList::Sorted { pos, .. } => usize::try_from(id)
                .ok()
                .and_then(|i| pos.get(i))
                .filter(|&&p| p != u32::MAX)
                .map(|&p| p as usize),
        }
    }
}

/// `.bin` / `.raw` / `.dat` paths get raw bytes; anything else a `hexdump -C`.
pub fn is_raw_path(p: &std::path::Path) -> bool {
    p.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| matches!(e.to_ascii_lowercase().as_str(), "bin" | "raw" | "dat"))
}

/// A regex that ignores case unless the pattern has a capital letter.
pub fn smart_case_regex(pat: &str) -> Result<Regex, regex::Error> {
    crate::select::smart_case_regex(pat)
}

/// Parses the `f` filter: the selection language of `wsscope export
/// --select` ([`crate::select::parse_expr`]), so both always agree.
pub fn parse_filter(input: &str) -> Result<Selection, String> {
    crate::select::parse_expr(input)
}
