//! Decryption secrets that came with the capture (pcapng Decryption Secrets
//! Blocks), kept as received: kind and bytes, in arrival order.
//!
//! TLS key logs (NSS format: `CLIENT_RANDOM …`, `CLIENT_TRAFFIC_SECRET_0 …`)
//! are also parsed as they arrive, so that the TLS layer looks secrets up by
//! client random ([`KeyStore::tls_secrets`]), next to those of the key log
//! files the user gave (`--keylog`). Past [`MAX_TOTAL_BYTES`] further blobs
//! are counted and dropped, not kept.

use crate::source::SecretsKind;
pub mod keylog;

use keylog::{KeyLog, ParseReport, Secrets};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// TLS 1.2 master secrets learnt from full handshakes in this capture, so
/// that a later connection resuming the session (by session id or ticket)
/// can be decrypted even when the key log has no line for it. Bounded.
#[derive(Debug, Default)]
struct SessionCache {
    by_id: HashMap<Vec<u8>, Vec<u8>>,
    by_ticket: HashMap<Vec<u8>, Vec<u8>>,
}

/// Sessions remembered at most (each a few hundred bytes).
const MAX_SESSIONS: usize = 16 * 1024;

/// Most secret bytes held for one analysis (a key log is kilobytes; this
/// only guards against a hostile or broken capture).
pub const MAX_TOTAL_BYTES: usize = 64 << 20;

/// One Decryption Secrets Block's payload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecretsBlob {
    pub kind: SecretsKind,
    pub data: Vec<u8>,
}

/// The secrets received so far.
#[derive(Clone, Debug)]
pub struct KeyStore {
    blobs: Vec<SecretsBlob>,
    total: usize,
    max_total: usize,
    dropped: u64,
    /// Key log files given by the user.
    files: Option<Arc<KeyLog>>,
    /// TLS key logs found inside the capture.
    dsb: KeyLog,
    dsb_report: ParseReport,
    /// Shared by every connection's TLS layer (they hold `&KeyStore`).
    sessions: Arc<Mutex<SessionCache>>,
    /// Lines appended to the key log files while capturing live.
    appended: KeyLog,
    appended_report: ParseReport,
    /// Bumped whenever secrets arrive: a TLS layer waiting for its key
    /// looks again only then.
    generation: u64,
}

impl Default for KeyStore {
    fn default() -> Self {
        KeyStore::with_limit(MAX_TOTAL_BYTES)
    }
}

impl KeyStore {
    /// A store holding at most `max_total` secret bytes.
    pub fn with_limit(max_total: usize) -> Self {
        KeyStore {
            blobs: Vec::new(),
            total: 0,
            max_total,
            dropped: 0,
            files: None,
            dsb: KeyLog::new(),
            dsb_report: ParseReport::default(),
            sessions: Arc::default(),
            appended: KeyLog::new(),
            appended_report: ParseReport::default(),
            generation: 0,
        }
    }

    /// Changes whenever new secrets arrive.
    /// Heap bytes held: capture secrets, parsed key logs (the user's files
    /// are shared with the configuration and counted once, here) and
    /// remembered TLS 1.2 sessions (bounded by [`MAX_SESSIONS`]).
    pub fn heap_bytes(&self) -> usize {
        let logs = self
            .files
            .as_ref()
            .map_or(0, |l| l.heap_bytes())
            .saturating_add(self.dsb.heap_bytes())
            .saturating_add(self.appended.heap_bytes());
        let sessions = self.sessions.lock().map_or(0, |c| {
            c.by_id
                .iter()
                .chain(c.by_ticket.iter())
                .map(|(k, v)| k.capacity().saturating_add(v.capacity()).saturating_add(64))
                .sum::<usize>()
        });
        self.total.saturating_add(logs).saturating_add(sessions)
    }

    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Key log lines appended to a `--keylog` file since it was read (live
    /// capture: browsers write a line just after each handshake). Complete
    /// lines only; returns the bytes consumed (keep the rest for later).
    pub fn add_keylog_lines(&mut self, text: &[u8]) -> usize {
        let used = self.appended.parse(text, &mut self.appended_report);
        if used > 0 {
            self.generation = self.generation.wrapping_add(1);
        }
        used
    }

    /// A TLS 1.2 session whose master secret is known: remember it under
    /// its session id and/or ticket for later resumptions.
    pub fn remember_session(&self, session_id: &[u8], ticket: Option<&[u8]>, master_secret: &[u8]) {
        let Ok(mut c) = self.sessions.lock() else { return };
        if c.by_id.len().saturating_add(c.by_ticket.len()) >= MAX_SESSIONS {
            return;
        }
        if !session_id.is_empty() {
            c.by_id.insert(session_id.to_vec(), master_secret.to_vec());
        }
        if let Some(t) = ticket.filter(|t| !t.is_empty()) {
            c.by_ticket.insert(t.to_vec(), master_secret.to_vec());
        }
    }

    /// The master secret of an earlier session this one resumes: by the
    /// session id the server echoed, else by the ticket the client offered.
    pub fn resumed_master(&self, session_id: &[u8], ticket: Option<&[u8]>) -> Option<Vec<u8>> {
        let c = self.sessions.lock().ok()?;
        (!session_id.is_empty())
            .then(|| c.by_id.get(session_id))
            .flatten()
            .or_else(|| ticket.and_then(|t| c.by_ticket.get(t)))
            .cloned()
    }

    /// The key log files the user gave.
    pub fn set_keylog(&mut self, log: Option<Arc<KeyLog>>) {
        self.files = log;
    }

    /// A connection's TLS secrets by its ClientHello random, and where they
    /// came from (`keylog`: a file; `dsb`: the capture itself).
    pub fn tls_secrets(&self, client_random: &[u8; 32]) -> Option<(&Secrets, &'static str)> {
        if let Some(s) = self.files.as_deref().and_then(|f| f.get(client_random)) {
            return Some((s, "keylog"));
        }
        if let Some(s) = self.appended.get(client_random) {
            return Some((s, "keylog"));
        }
        self.dsb.get(client_random).map(|s| (s, "dsb"))
    }

    /// Every known set of TLS secrets (for trial decryption mid-stream).
    pub fn tls_all(&self) -> impl Iterator<Item = (&[u8; 32], &Secrets, &'static str)> {
        let files = self
            .files
            .as_deref()
            .into_iter()
            .flat_map(|f| f.app_secrets())
            .map(|(r, s)| (r, s, "keylog"));
        files
            .chain(self.appended.app_secrets().map(|(r, s)| (r, s, "keylog")))
            .chain(self.dsb.app_secrets().map(|(r, s)| (r, s, "dsb")))
    }

    /// How the key logs inside the capture parsed.
    pub fn dsb_report(&self) -> &ParseReport {
        &self.dsb_report
    }

    /// Keeps a copy of `data`, unless that would pass the byte limit (then
    /// it is counted in [`dropped`](Self::dropped)). Returns whether it was kept.
    pub fn add(&mut self, kind: SecretsKind, data: &[u8]) -> bool {
        match self.total.checked_add(data.len()) {
            Some(total) if total <= self.max_total => {
                self.total = total;
                if kind == SecretsKind::TLS_KEY_LOG {
                    self.generation = self.generation.wrapping_add(1);
                    let used = self.dsb.parse(data, &mut self.dsb_report);
                    if used < data.len() {
                        // A block ends its last line.
                        let mut tail = data.get(used..).unwrap_or_default().to_vec();
                        tail.push(b'\n');
                        self.dsb.parse(&tail, &mut self.dsb_report);
                    }
                }
                self.blobs.push(SecretsBlob {
                    kind,
                    data: data.to_vec(),
                });
                true
            }
            _ => {
                self.dropped = self.dropped.saturating_add(1);
                false
            }
        }
    }

    /// Every kept blob, in arrival order.
    pub fn blobs(&self) -> &[SecretsBlob] {
        &self.blobs
    }

    /// The kept blobs of one kind, in arrival order.
    pub fn of_kind(&self, kind: SecretsKind) -> impl Iterator<Item = &[u8]> {
        self.blobs
            .iter()
            .filter(move |b| b.kind == kind)
            .map(|b| b.data.as_slice())
    }

    /// Bytes held.
    pub fn total_bytes(&self) -> usize {
        self.total
    }

    /// Blobs dropped because the store was full.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    pub fn is_empty(&self) -> bool {
        self.blobs.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_blobs_in_order_up_to_the_limit() {
        let mut ks = KeyStore::with_limit(10);
        assert!(ks.add(SecretsKind::TLS_KEY_LOG, b"abcdef"));
        assert!(ks.add(SecretsKind::WIREGUARD_KEY_LOG, b"wg"));
        assert!(!ks.add(SecretsKind::TLS_KEY_LOG, b"too long"));
        assert!(ks.add(SecretsKind::TLS_KEY_LOG, b"xy"));
        assert_eq!(ks.total_bytes(), 10);
        assert_eq!(ks.dropped(), 1);
        let tls: Vec<&[u8]> = ks.of_kind(SecretsKind::TLS_KEY_LOG).collect();
        assert_eq!(tls, [&b"abcdef"[..], b"xy"]);
        assert_eq!(ks.blobs().len(), 3);
        assert_eq!(ks.blobs()[1].kind.name(), "wireguard-key-log");
        assert_eq!(SecretsKind(0x1234).name(), "secrets-0x00001234");
    }
}
