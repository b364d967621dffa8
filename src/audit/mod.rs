//! `wsscope audit`: security findings in WebSocket traffic ([`catalog`]
//! lists the rules). The [`Auditor`] reads the event stream the analysis
//! makes — handshakes, frames, messages, violations, TLS, closes — and
//! adds `finding` events to it; [`AuditStage`] puts it in front of any
//! sink, so `dump` writes findings among the other records and `audit`
//! reports them (text, JSON Lines, SARIF). It keeps a little state per
//! session (masking keys, an unanswered violation, secrets seen), freed
//! when the session's `close` record passes, and per server resource (the
//! Origins it accepted), bounded.

pub mod catalog;
mod rules;
pub mod secrets;

use crate::event::{Event, EventSink, Severity};
pub use rules::Auditor;

/// What the audit looks for and how it shows what it found.
#[derive(Clone, Debug)]
pub struct AuditConfig {
    /// Look at all (`dump --no-audit` turns it off: the audit costs a
    /// third more time on a one-thread JSON Lines dump of plaintext JSON
    /// traffic, where every message is searched for secrets).
    pub enabled: bool,
    /// Show secrets whole in evidence (`--show-secrets`); else their
    /// first characters and length.
    pub show_secrets: bool,
    /// `decompression-bomb`: inflated/wire ratio at least this...
    pub bomb_ratio: f64,
    /// ... and an inflated size of at least this many bytes.
    pub bomb_min_bytes: u64,
    /// `oversized-message`: messages larger than this (Python websockets'
    /// default `max_size`, 1 MiB).
    pub oversized_bytes: u64,
}

impl Default for AuditConfig {
    fn default() -> Self {
        AuditConfig {
            enabled: true,
            show_secrets: false,
            bomb_ratio: 100.0,
            bomb_min_bytes: 1 << 20,
            oversized_bytes: 1 << 20,
        }
    }
}

/// A sink behind an [`Auditor`]: every event goes on to `inner`, each
/// followed by the findings it completed; the findings only the whole
/// input shows (a server's Origins) come before `inner` finishes.
pub struct AuditStage<S> {
    inner: S,
    /// `None`: auditing is off, events only pass.
    auditor: Option<Auditor>,
    found: Vec<Event>,
}

impl<S: EventSink> AuditStage<S> {
    pub fn new(inner: S, cfg: AuditConfig) -> Self {
        AuditStage {
            inner,
            auditor: cfg.enabled.then(|| Auditor::new(cfg)),
            found: Vec::new(),
        }
    }

    pub fn inner(&self) -> &S {
        &self.inner
    }

    pub fn inner_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    pub fn into_inner(self) -> S {
        self.inner
    }

    fn pass_found(&mut self) {
        for f in self.found.drain(..) {
            self.inner.event(f);
        }
    }
}

impl<S: EventSink> EventSink for AuditStage<S> {
    fn event(&mut self, ev: Event) {
        if let Some(a) = &mut self.auditor {
            a.observe(&ev, &mut self.found);
        }
        self.inner.event(ev);
        self.pass_found();
    }

    fn event_ref(&mut self, ev: &Event) {
        if let Some(a) = &mut self.auditor {
            a.observe(ev, &mut self.found);
        }
        self.inner.event_ref(ev);
        self.pass_found();
    }

    fn reads_only(&self) -> bool {
        self.inner.reads_only()
    }

    fn finish(&mut self) -> std::io::Result<()> {
        if let Some(a) = &mut self.auditor {
            a.finish(&mut self.found);
        }
        self.pass_found();
        self.inner.finish()
    }
}

/// Findings counted by severity, for the exit status of `--fail-on`.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Tally {
    pub by_severity: [u64; 4],
}

impl Tally {
    pub fn add(&mut self, s: Severity) {
        if let Some(n) = self.by_severity.get_mut(s as usize) {
            *n += 1;
        }
    }

    /// Findings at `at_least` or above.
    pub fn at_least(&self, at_least: Severity) -> u64 {
        self.by_severity.iter().skip(at_least as usize).sum()
    }
}
