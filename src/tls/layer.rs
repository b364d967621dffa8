//! The TLS layer of a connection: records in, plaintext out — inserted
//! between TCP and HTTP/1.1 on the seam ([`crate::stream`]), so nothing above
//! knows the bytes were encrypted.
//!
//! Per direction, TCP's chunks are cut into records (header, then a bounded
//! body). Cleartext handshake records feed the handshake reassembler: the
//! ClientHello and ServerHello give the facts (version, suite, SNI, ALPN,
//! randoms) and, with the key log, the keys:
//! - **TLS 1.3**: the handshake traffic secrets decrypt each side's records
//!   after the ServerHello; a side's `Finished` switches it to its
//!   application traffic secret; a `KeyUpdate` to the next secret, derived
//!   here (key logs only hold generation 0).
//! - **TLS 1.2**: the master secret (`CLIENT_RANDOM`) and both randoms give
//!   the key block; a side's `ChangeCipherSpec` turns its decryption on.
//!
//! Application data goes up as [`StreamInput::Data`] at plaintext offsets,
//! with the packets that carried the record and the stamp of the packet that
//! completed it. A TCP gap loses the records it touches: the layer above is
//! told of a gap of at least the plaintext it could account for, and the
//! layer resumes at the next record — right after the lost one when its
//! header was seen, else found by scanning for a plausible header that then
//! authenticates under one of the next few sequence numbers.
//!
//! Keys — installing them, switching epochs, waiting for late ones, trial
//! decryption mid-stream — are in [`super::keying`].
//!
//! Without keys the layer still reports what the cleartext handshake shows
//! (a `tls` event with `decrypted: false` and why), and invents nothing from
//! ciphertext: no bytes reach the layer above.

#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::arithmetic_side_effects
)]

use super::cipher::{DecryptError, Plain, RecordDecrypter};
use super::hello::{
    ClientHello, HandshakeMessage, HandshakeReassembler, HandshakeType, ServerHello, parse_client_hello,
    parse_encrypted_extensions, parse_new_session_ticket, parse_server_hello,
};
use super::record::{ContentType, HEADER_LEN, RecordHeader, find_record_start, parse_header};
use super::suites::{Suite, TlsVersion, suite_name};
use crate::diag;
use crate::event::{Event, GapReason, TlsEvent, TlsSummary};
use crate::model::{Dir, PacketSpan, PerDir, Stamp};
use crate::stream::{ByteLayer, GapLen, LayerCx, SessionSummary, SpanLog, StreamInput};

/// Largest handshake message reassembled (certificate chains).
const MAX_HANDSHAKE_MESSAGE: usize = 256 * 1024;
/// Sequence numbers tried past the expected one when resynchronising after
/// a gap that swallowed record boundaries (each try is one AEAD check).
const RESYNC_SEQ_WINDOW: u64 = 64;
/// Bytes scanned for the next record header after such a gap.
const MAX_RESYNC_SCAN: usize = 64 * 1024;
/// Records held, per direction, while no key is known yet (a pcapng
/// Decryption Secrets Block further on, a live key log not yet written).
const MAX_HELD_BYTES: usize = 1 << 20;
/// Failed records in a row after which recovery stops trying other keys.
const MAX_RECOVERY_FAILURES: u32 = 4;

/// TLS 1.3 key epochs of one direction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Epoch {
    /// TLS 1.3 handshake traffic keys.
    Handshake,
    /// Application traffic keys of this generation (KeyUpdates so far).
    Application(u64),
}

/// Why the records of a connection could not be decrypted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Undecryptable {
    NoKey,
    BadKey,
    Unsupported(String),
    NoHandshake,
}

impl Undecryptable {
    pub(super) fn reason(&self) -> &'static str {
        match self {
            Undecryptable::NoKey => "no-key",
            Undecryptable::BadKey => "bad-key",
            Undecryptable::Unsupported(_) => "unsupported",
            Undecryptable::NoHandshake => "no-handshake",
        }
    }
}

/// One direction's record layer.
#[derive(Debug, Default)]
pub(super) struct TlsDir {
    /// Bytes of an incomplete record (header included), starting at `buf_start`.
    pub(super) buf: Vec<u8>,
    pub(super) buf_start: u64,
    /// TCP stream offset of the next byte expected.
    pub(super) next: u64,
    /// Stamp of the chunk that brought the latest bytes.
    pub(super) at: Stamp,
    pub(super) spans: SpanLog,
    /// Bytes still to skip: the rest of a record whose start a gap swallowed.
    pub(super) skip: u64,
    /// A gap swallowed record boundaries: the next header must be found.
    pub(super) lost_sync: bool,
    /// Plaintext bytes known lost, to report before the next plaintext.
    pub(super) lost_plain: u64,
    pub(super) lost_at: Option<(Stamp, GapReason)>,
    pub(super) handshake: Option<HandshakeReassembler>,
    pub(super) decrypter: Option<Box<dyn RecordDecrypter>>,
    /// TLS 1.2: the decrypter a ChangeCipherSpec will turn on.
    pub(super) pending: Option<Box<dyn RecordDecrypter>>,
    /// TLS 1.3: the current traffic secret (for the next KeyUpdate).
    pub(super) secret: Option<Vec<u8>>,
    /// TLS 1.3: the application traffic secret to switch to after Finished.
    pub(super) app_secret: Option<Vec<u8>>,
    pub(super) epoch: Option<Epoch>,
    /// Records of this direction are protected from here on (TLS 1.3: after
    /// the ServerHello; TLS 1.2: after this side's ChangeCipherSpec),
    /// whether or not a key is known.
    pub(super) protected: bool,
    pub(super) seq: u64,
    /// Offset in the plaintext stream handed up.
    pub(super) plain: u64,
    pub(super) records: u64,
    pub(super) undecrypted: u64,
    pub(super) key_updates: u64,
    pub(super) decrypted_any: bool,
    /// Records in a row that did not authenticate (recovery stops trying
    /// after a few: a wrong key must not cost a search per record).
    pub(super) fail_streak: u32,
}

/// A protected record waiting for its key.
#[derive(Debug)]
pub(super) struct HeldRecord {
    pub(super) dir: Dir,
    pub(super) h: RecordHeader,
    pub(super) header: [u8; HEADER_LEN],
    pub(super) body: Vec<u8>,
    pub(super) start: u64,
    pub(super) packets: PacketSpan,
    pub(super) at: Stamp,
}

/// The TLS layer of one connection; owns the layer above it.
pub struct TlsLayer {
    pub(super) upper: Box<dyn ByteLayer>,
    pub(super) dirs: PerDir<TlsDir>,
    pub(super) client_hello: Option<ClientHello>,
    pub(super) server_hello: Option<ServerHello>,
    pub(super) suite: Option<&'static Suite>,
    pub(super) alpn: Option<String>,
    /// The `tls` event went out (it precedes anything decrypted).
    pub(super) announced: bool,
    /// Why not decrypted, once known.
    pub(super) failure: Option<Undecryptable>,
    /// Where the key came from.
    pub(super) key_source: Option<&'static str>,
    /// TLS 1.2: this connection's master secret (to remember its session).
    pub(super) master: Option<Vec<u8>>,
    /// How the keys were found, when not simply by client random.
    pub(super) key_detail: Option<String>,
    /// Mid-stream TLS 1.3: records tried per direction, and the secret of
    /// the other direction once one direction's secret authenticated.
    pub(super) trial_tries: PerDir<u32>,
    pub(super) trial_pair: Option<(Vec<u8>, &'static Suite)>,
    /// No key yet, as of this key store generation: protected records are
    /// held (bounded) until secrets arrive — a Decryption Secrets Block
    /// further on in the file, a key log line written after the handshake.
    pub(super) awaiting: Option<u64>,
    pub(super) held: std::collections::VecDeque<HeldRecord>,
    pub(super) held_bytes: usize,
    /// Bound on `held_bytes` ([`MAX_HELD_BYTES`] unless a fuzz target shrinks it).
    held_budget: usize,
    pub(super) first_at: Option<Stamp>,
}

impl std::fmt::Debug for TlsLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsLayer")
            .field("suite", &self.suite.map(|s| s.name))
            .field("announced", &self.announced)
            .field("failure", &self.failure)
            .finish_non_exhaustive()
    }
}

impl TlsLayer {
    pub fn new(upper: Box<dyn ByteLayer>) -> Self {
        TlsLayer {
            upper,
            dirs: PerDir::default(),
            client_hello: None,
            server_hello: None,
            suite: None,
            alpn: None,
            announced: false,
            failure: None,
            key_source: None,
            master: None,
            key_detail: None,
            trial_tries: PerDir::default(),
            trial_pair: None,
            awaiting: None,
            held: std::collections::VecDeque::new(),
            held_bytes: 0,
            held_budget: MAX_HELD_BYTES,
            first_at: None,
        }
    }

    /// Holds at most `bytes` of records while waiting for keys, instead of
    /// 1 MiB: lets the fuzz target reach the give-up path with small inputs.
    pub fn with_held_budget(mut self, bytes: usize) -> Self {
        self.held_budget = bytes;
        self
    }

    pub(super) fn tls13(&self) -> bool {
        self.suite.is_some_and(|s| s.version == TlsVersion::Tls13)
    }

    pub(super) fn version_name(&self) -> Option<&'static str> {
        if self.server_hello.is_none() && self.key_source == Some("trial") {
            // Only TLS 1.3 secrets are tried.
            return Some("TLS 1.3");
        }
        let sh = self.server_hello.as_ref()?;
        Some(match sh.version() {
            0x0304 => "TLS 1.3",
            0x0303 => "TLS 1.2",
            0x0302 => "TLS 1.1",
            0x0301 => "TLS 1.0",
            _ => "SSL 3.0",
        })
    }

    /// The negotiated suite's name (or the one a mid-stream trial found).
    pub(super) fn suite_label(&self) -> Option<String> {
        match &self.server_hello {
            Some(sh) => Some(suite_name(sh.cipher_suite).into_owned()),
            None => self.suite.map(|s| s.name.to_string()),
        }
    }

    fn resumed(&self) -> bool {
        match (&self.client_hello, &self.server_hello) {
            (Some(ch), Some(sh)) if sh.version() == 0x0304 => sh.psk_selected,
            (Some(ch), Some(sh)) => !sh.session_id.is_empty() && sh.session_id == ch.session_id,
            _ => false,
        }
    }

    /// The `tls` event, once, before anything decrypted goes up.
    pub(super) fn announce(&mut self, at: Stamp, cx: &mut LayerCx<'_>) {
        if self.announced {
            return;
        }
        self.announced = true;
        let decrypted = self.failure.is_none() && self.key_source.is_some();
        let failure = if decrypted {
            None
        } else {
            Some(self.failure.clone().unwrap_or(if self.client_hello.is_some() {
                Undecryptable::NoKey
            } else {
                Undecryptable::NoHandshake
            }))
        };
        let ch = self.client_hello.as_ref();
        let ev = TlsEvent {
            conn: cx.id.conn,
            session: cx.id,
            ts: self.first_at.unwrap_or(at).ts,
            packet: self.first_at.unwrap_or(at).packet,
            version: self.version_name(),
            cipher_suite: self.suite_label(),
            sni: ch.and_then(|c| c.sni.clone()),
            alpn: self
                .alpn
                .clone()
                .or_else(|| self.server_hello.as_ref().and_then(|s| s.alpn.clone())),
            alpn_offered: ch.map(|c| c.alpn.clone()).unwrap_or_default(),
            client_random: ch.map(|c| hex::encode(c.random)),
            resumed: self.resumed(),
            extended_master_secret: self.server_hello.as_ref().map(|sh| sh.extended_master_secret),
            decrypted,
            reason: failure.as_ref().map(Undecryptable::reason),
            decrypted_by: if decrypted { self.key_source } else { None },
            detail: match &failure {
                Some(Undecryptable::Unsupported(what)) => Some(what.clone()),
                Some(_) => None,
                None => self.key_detail.clone(),
            },
        };
        cx.event(Event::Tls(Box::new(ev)));
    }

    fn handshake_messages(&mut self, dir: Dir, bytes: &[u8], at: Stamp, cx: &mut LayerCx<'_>) {
        let mut out = Vec::new();
        self.dirs[dir]
            .handshake
            .get_or_insert_with(|| HandshakeReassembler::new(MAX_HANDSHAKE_MESSAGE))
            .push(bytes, &mut out);
        for m in out {
            match m {
                Ok(m) => self.handshake_message(dir, m, at, cx),
                Err(e) => cx.diagnostic(
                    at,
                    Some(dir),
                    diag::TLS_MALFORMED,
                    format!("TLS handshake: {e:?}"),
                ),
            }
        }
    }

    fn handshake_message(&mut self, dir: Dir, m: HandshakeMessage, at: Stamp, cx: &mut LayerCx<'_>) {
        match (dir, m.typ) {
            (Dir::C2S, HandshakeType::CLIENT_HELLO) => match parse_client_hello(&m.body) {
                // A second ClientHello (after a HelloRetryRequest) replaces the first.
                Ok(ch) => self.client_hello = Some(ch),
                Err(e) => cx.diagnostic(at, Some(dir), diag::TLS_MALFORMED, format!("ClientHello: {e:?}")),
            },
            (Dir::S2C, HandshakeType::SERVER_HELLO) => match parse_server_hello(&m.body) {
                Ok(sh) if sh.hello_retry_request => {}
                Ok(sh) => {
                    if sh.version() == 0x0304 {
                        // Everything after the ServerHello is protected.
                        self.dirs[Dir::C2S].protected = true;
                        self.dirs[Dir::S2C].protected = true;
                    }
                    self.server_hello = Some(sh);
                    self.keys_ready(cx);
                }
                Err(e) => cx.diagnostic(at, Some(dir), diag::TLS_MALFORMED, format!("ServerHello: {e:?}")),
            },
            (Dir::S2C, HandshakeType::NEW_SESSION_TICKET) if !self.tls13() => {
                // TLS 1.2: a ticket a later connection may resume with.
                if let (Ok(t), Some(ms)) = (parse_new_session_ticket(&m.body, false), &self.master) {
                    cx.keys.remember_session(&[], Some(&t.ticket), ms);
                }
            }
            (Dir::S2C, HandshakeType::ENCRYPTED_EXTENSIONS) => {
                if let Ok(alpn) = parse_encrypted_extensions(&m.body) {
                    self.alpn = alpn.or(self.alpn.take());
                }
            }
            (_, HandshakeType::FINISHED) if self.tls13() => {
                // This side now protects its records with application keys.
                self.switch_to_app(dir, at, cx);
            }
            (_, HandshakeType::KEY_UPDATE) if self.tls13() => self.key_update(dir, at, cx),
            _ => {}
        }
    }

    /// One complete record of `dir`, whose bytes are `[start, start + 5 + len)`.
    fn record(
        &mut self,
        dir: Dir,
        h: RecordHeader,
        header: [u8; 5],
        body: &[u8],
        start: u64,
        cx: &mut LayerCx<'_>,
    ) {
        let at = self.dirs[dir].at;
        let end = start
            .saturating_add(HEADER_LEN as u64)
            .saturating_add(u64::from(h.len));
        let packets = self.dirs[dir]
            .spans
            .span(start, end)
            .unwrap_or(PacketSpan::one(at.packet));
        self.dirs[dir].spans.forget_before(end);
        self.dirs[dir].records = self.dirs[dir].records.saturating_add(1);
        let protected = self.dirs[dir].protected
            || h.content_type == ContentType::APPLICATION_DATA
            || h.content_type == ContentType::CHANGE_CIPHER_SPEC;
        if protected && self.awaiting.is_some() {
            self.retry_keys(cx);
        }
        if protected && self.awaiting.is_some() {
            if h.content_type == ContentType::CHANGE_CIPHER_SPEC
                && self.server_hello.as_ref().is_some_and(|s| s.version() < 0x0304)
            {
                self.dirs[dir].protected = true;
            }
            let cost = body.len().saturating_add(HEADER_LEN);
            if self.held_bytes.saturating_add(cost) <= self.held_budget {
                self.held_bytes = self.held_bytes.saturating_add(cost);
                self.held.push_back(HeldRecord {
                    dir,
                    h,
                    header,
                    body: body.to_vec(),
                    start,
                    packets,
                    at,
                });
                return;
            }
            // The budget ran out before the key came: give up waiting.
            self.give_up_waiting(at, cx);
        }
        self.process_record(dir, h, header, body, start, packets, at, cx);
    }

    /// One record, with the packets that carried it and its stamp.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn process_record(
        &mut self,
        dir: Dir,
        h: RecordHeader,
        header: [u8; HEADER_LEN],
        body: &[u8],
        start: u64,
        packets: PacketSpan,
        at: Stamp,
        cx: &mut LayerCx<'_>,
    ) {
        let encrypted = self.dirs[dir].protected || h.content_type == ContentType::APPLICATION_DATA;
        if h.content_type == ContentType::CHANGE_CIPHER_SPEC {
            // TLS 1.2: this side's next records are protected. TLS 1.3
            // sends it for middlebox compatibility only (also around a
            // HelloRetryRequest, before any ServerHello).
            let tls12 = self.server_hello.as_ref().is_some_and(|s| s.version() < 0x0304);
            if tls12 {
                let d = &mut self.dirs[dir];
                d.protected = true;
                if let Some(p) = d.pending.take() {
                    d.decrypter = Some(p);
                    d.seq = 0;
                    d.epoch = Some(Epoch::Application(0));
                }
            }
            return;
        }
        if !encrypted {
            match h.content_type {
                ContentType::HANDSHAKE => self.handshake_messages(dir, body, at, cx),
                ContentType::ALERT => {}
                _ => {}
            }
            return;
        }
        if self.dirs[dir].decrypter.is_none() && self.client_hello.is_none() {
            self.trial(dir, &header, body, cx);
        }
        let Some(dec) = self.dirs[dir].decrypter.as_ref() else {
            self.dirs[dir].undecrypted = self.dirs[dir].undecrypted.saturating_add(1);
            if self.client_hello.is_none() && self.trial_left(cx) {
                // Mid-stream: the other direction may still find its key.
                return;
            }
            if self.failure.is_none() && self.key_source.is_none() {
                self.failure = Some(if self.client_hello.is_some() {
                    Undecryptable::NoKey
                } else {
                    Undecryptable::NoHandshake
                });
            }
            self.announce(at, cx);
            return;
        };
        let seq = self.dirs[dir].seq;
        let result = dec.decrypt(seq, &header, body);
        self.dirs[dir].seq = seq.saturating_add(1);
        match result {
            Ok(plain) => {
                self.dirs[dir].decrypted_any = true;
                self.dirs[dir].fail_streak = 0;
                self.plaintext(dir, plain, packets, at, cx);
            }
            Err(e) => {
                // A lost Finished or KeyUpdate (or lost records) moved the
                // peer on: try the next epoch's key and the next sequence
                // numbers before calling the record undecryptable.
                let d = &self.dirs[dir];
                let worth = d.decrypted_any && d.fail_streak < MAX_RECOVERY_FAILURES;
                if worth && let Some(plain) = self.recover_epoch(dir, &header, body) {
                    self.dirs[dir].fail_streak = 0;
                    self.dirs[dir].decrypted_any = true;
                    self.plaintext(dir, plain, packets, at, cx);
                    return;
                }
                let d = &mut self.dirs[dir];
                d.fail_streak = d.fail_streak.saturating_add(1);
                d.undecrypted = d.undecrypted.saturating_add(1);
                let decrypted_any = d.decrypted_any;
                if !decrypted_any && self.failure.is_none() {
                    self.failure = Some(match e {
                        DecryptError::Unsupported => Undecryptable::Unsupported("record protection".into()),
                        _ => Undecryptable::BadKey,
                    });
                }
                self.announce(at, cx);
                if decrypted_any {
                    cx.diagnostic(
                        at,
                        Some(dir),
                        diag::TLS_UNDECRYPTABLE,
                        format!(
                            "a {}-byte record at {dir} offset {start} did not authenticate ({e:?})",
                            h.len
                        ),
                    );
                }
            }
        }
    }

    fn plaintext(&mut self, dir: Dir, plain: Plain, packets: PacketSpan, at: Stamp, cx: &mut LayerCx<'_>) {
        match ContentType(plain.content_type) {
            ContentType::APPLICATION_DATA => {
                self.announce(at, cx);
                self.up_data(dir, &plain.data, packets, at, cx);
            }
            ContentType::HANDSHAKE => self.handshake_messages(dir, &plain.data, at, cx),
            _ => {}
        }
    }

    /// Plaintext for the layer above (after any gap it must hear of first).
    fn up_data(&mut self, dir: Dir, bytes: &[u8], packets: PacketSpan, at: Stamp, cx: &mut LayerCx<'_>) {
        if bytes.is_empty() {
            return;
        }
        self.flush_lost(dir, cx);
        let d = &mut self.dirs[dir];
        let offset = d.plain;
        d.plain = d.plain.saturating_add(bytes.len() as u64);
        self.upper.input(
            StreamInput::Data {
                dir,
                offset,
                bytes,
                packets,
                at,
                starts_write: true,
            },
            cx,
        );
    }

    fn flush_lost(&mut self, dir: Dir, cx: &mut LayerCx<'_>) {
        let d = &mut self.dirs[dir];
        let Some((at, reason)) = d.lost_at.take() else {
            return;
        };
        let len = d.lost_plain.max(1);
        d.lost_plain = 0;
        let offset = d.plain;
        d.plain = d.plain.saturating_add(len);
        if !self.announced {
            // Nothing went up yet: the layer above has not started.
            return;
        }
        self.upper.input(
            StreamInput::Gap {
                dir,
                offset,
                len: GapLen::AtLeast(len),
                reason,
                at,
            },
            cx,
        );
    }

    /// Cuts `dir`'s buffered bytes into records.
    fn drain(&mut self, dir: Dir, cx: &mut LayerCx<'_>) {
        loop {
            if self.dirs[dir].lost_sync && !self.resync(dir) {
                return;
            }
            // Records are read in place with a cursor and the consumed bytes
            // dropped once (not one `split_off` copy of the rest per record).
            // Processing a record never touches this buffer.
            let buf = std::mem::take(&mut self.dirs[dir].buf);
            let mut pos = 0usize;
            let mut lost = None;
            while let Some(rest) = buf.get(pos..) {
                let h = match parse_header(rest) {
                    Ok(h) => h,
                    Err(super::record::RecordError::Short) => break,
                    Err(e) => {
                        lost = Some(e);
                        break;
                    }
                };
                let total = HEADER_LEN.saturating_add(usize::from(h.len));
                let Some(rec) = rest.get(..total) else { break };
                let start = self.dirs[dir].buf_start;
                self.dirs[dir].buf_start = start.saturating_add(total as u64);
                pos = pos.saturating_add(total);
                let mut header = [0u8; HEADER_LEN];
                header.copy_from_slice(rec.get(..HEADER_LEN).unwrap_or(&[0; HEADER_LEN]));
                let body = rec.get(HEADER_LEN..).unwrap_or_default();
                self.record(dir, h, header, body, start, cx);
            }
            let mut buf = buf;
            buf.drain(..pos.min(buf.len()));
            let d = &mut self.dirs[dir];
            d.buf = buf;
            let Some(e) = lost else { return };
            // Not a record where one must start: lost sync.
            cx.diagnostic(
                d.at,
                Some(dir),
                diag::TLS_RESYNC,
                format!(
                    "no TLS record header at {dir} offset {} ({e:?}); looking for the next one",
                    d.buf_start
                ),
            );
            d.lost_sync = true;
        }
    }

    /// After a gap that swallowed record boundaries: finds the next record
    /// that authenticates under one of the next few sequence numbers (or,
    /// before any key, the next plausible header). Returns whether `buf` now
    /// starts at a record.
    fn resync(&mut self, dir: Dir) -> bool {
        let mut from = 0usize;
        loop {
            let d = &mut self.dirs[dir];
            let Some(k) = find_record_start(&d.buf, from) else {
                break;
            };
            let Ok(h) = parse_header(d.buf.get(k..).unwrap_or_default()) else {
                from = k.saturating_add(1);
                continue;
            };
            let total = HEADER_LEN.saturating_add(usize::from(h.len));
            let Some(rec) = d.buf.get(k..k.saturating_add(total)) else {
                // The candidate is not complete yet: wait for more, keeping
                // only it (every earlier candidate failed), so the buffer
                // stays within one scan window plus one record.
                d.buf.drain(..k);
                d.buf_start = d.buf_start.saturating_add(k as u64);
                return false;
            };
            let mut header = [0u8; HEADER_LEN];
            header.copy_from_slice(rec.get(..HEADER_LEN).unwrap_or(&[0; HEADER_LEN]));
            let body = rec.get(HEADER_LEN..).unwrap_or_default().to_vec();
            let ok = match d.decrypter.as_ref() {
                None => true,
                Some(dec) => {
                    let found = (0..RESYNC_SEQ_WINDOW)
                        .map(|i| d.seq.saturating_add(i))
                        .find(|s| dec.decrypt(*s, &header, &body).is_ok());
                    match found {
                        Some(s) => {
                            d.seq = s;
                            true
                        }
                        // The gap may have swallowed a Finished or KeyUpdate:
                        // the next epoch's key (the record is then decrypted
                        // again, at the sequence number found).
                        None => match self.recover_epoch(dir, &header, &body) {
                            Some(_) => {
                                let d = &mut self.dirs[dir];
                                d.seq = d.seq.saturating_sub(1);
                                true
                            }
                            None => false,
                        },
                    }
                }
            };
            let d = &mut self.dirs[dir];
            if ok {
                d.buf.drain(..k);
                d.buf_start = d.buf_start.saturating_add(k as u64);
                d.lost_sync = false;
                return true;
            }
            from = k.saturating_add(1);
        }
        // Nothing yet: keep only a bounded tail for the next try.
        let d = &mut self.dirs[dir];
        if d.buf.len() > MAX_RESYNC_SCAN {
            let cut = d.buf.len().saturating_sub(HEADER_LEN);
            d.buf.drain(..cut);
            d.buf_start = d.buf_start.saturating_add(cut as u64);
        }
        false
    }

    fn on_data(
        &mut self,
        dir: Dir,
        offset: u64,
        bytes: &[u8],
        packets: PacketSpan,
        at: Stamp,
        cx: &mut LayerCx<'_>,
    ) {
        self.first_at.get_or_insert(at);
        if self.awaiting.is_some() {
            self.retry_keys(cx);
        }
        let d = &mut self.dirs[dir];
        d.at = at;
        d.spans.record(offset, bytes.len(), packets);
        let mut bytes = bytes;
        let mut offset = offset;
        if d.skip > 0 {
            let n = usize::try_from(d.skip).unwrap_or(usize::MAX).min(bytes.len());
            d.skip = d.skip.saturating_sub(n as u64);
            bytes = bytes.get(n..).unwrap_or_default();
            offset = offset.saturating_add(n as u64);
        }
        if d.buf.is_empty() {
            d.buf_start = offset;
        }
        d.buf.extend_from_slice(bytes);
        d.next = offset.saturating_add(bytes.len() as u64);
        self.drain(dir, cx);
        if !self.announced && self.dirs[dir].buf.len() > MAX_HELD_BYTES {
            // Bounded: a record that never completes is not held forever.
            let d = &mut self.dirs[dir];
            d.buf.clear();
            d.lost_sync = true;
        }
    }

    fn on_gap(&mut self, dir: Dir, len: u64, reason: GapReason, at: Stamp) {
        let overhead = self.record_overhead();
        let d = &mut self.dirs[dir];
        d.at = at;
        // Plaintext the gap certainly cost: a record whose header was seen.
        let mut lost_plain = 0u64;
        if let Ok(h) = parse_header(&d.buf) {
            let total = (HEADER_LEN as u64).saturating_add(u64::from(h.len));
            let have = d.buf.len() as u64;
            let remaining = total.saturating_sub(have);
            // A lower bound: the record minus its protection overhead.
            lost_plain = u64::from(h.len).saturating_sub(overhead);
            d.records = d.records.saturating_add(1);
            d.undecrypted = d.undecrypted.saturating_add(1);
            // The record's sequence number is used up.
            d.seq = d.seq.saturating_add(1);
            d.buf.clear();
            if len < remaining {
                d.skip = remaining.saturating_sub(len);
            } else if len > remaining {
                d.lost_sync = true;
            }
        } else if d.skip > 0 {
            if len <= d.skip {
                d.skip = d.skip.saturating_sub(len);
            } else {
                d.skip = 0;
                d.lost_sync = true;
            }
        } else {
            d.buf.clear();
            d.lost_sync = true;
        }
        d.buf_start = d.next.saturating_add(len);
        d.next = d.buf_start;
        if let Some(hs) = d.handshake.as_mut() {
            hs.reset();
        }
        d.lost_plain = d.lost_plain.saturating_add(lost_plain);
        d.lost_at = Some((at, reason));
    }
}

impl ByteLayer for TlsLayer {
    fn input(&mut self, item: StreamInput<'_>, cx: &mut LayerCx<'_>) {
        match item {
            StreamInput::Data {
                dir,
                offset,
                bytes,
                packets,
                at,
                ..
            } => self.on_data(dir, offset, bytes, packets, at, cx),
            StreamInput::Gap {
                dir, len, reason, at, ..
            } => self.on_gap(dir, len.bytes(), reason, at),
            StreamInput::End { dir, rst, at } => {
                if self.announced {
                    self.flush_lost(dir, cx);
                    self.upper.input(StreamInput::End { dir, rst, at }, cx);
                }
            }
        }
    }

    fn finish(&mut self, at: Stamp, cx: &mut LayerCx<'_>) -> SessionSummary {
        if self.awaiting.is_some() {
            self.retry_keys(cx);
        }
        if self.awaiting.is_some() {
            self.give_up_waiting(at, cx);
        }
        self.announce(at, cx);
        let mut s = self.upper.finish(at, cx);
        let decrypted = self.failure.is_none() && self.key_source.is_some();
        s.tls = Some(TlsSummary {
            version: self.version_name(),
            cipher_suite: self.suite_label(),
            sni: self.client_hello.as_ref().and_then(|c| c.sni.clone()),
            decrypted,
            records: self.dirs.as_ref().map(|_, d| d.records),
            records_undecrypted: self.dirs.as_ref().map(|_, d| d.undecrypted),
            key_updates: self.dirs.as_ref().map(|_, d| d.key_updates),
        });
        s
    }

    /// The plaintext frame in progress: a gap in the records cuts into it.
    fn frame_in_progress(&self, dir: Dir) -> Option<u64> {
        self.upper.frame_in_progress(dir)
    }

    fn heap_bytes(&self) -> usize {
        let mine: usize = self
            .dirs
            .iter()
            .map(|(_, d)| {
                d.buf
                    .capacity()
                    .saturating_add(d.spans.heap_bytes())
                    .saturating_add(d.handshake.as_ref().map_or(0, HandshakeReassembler::pending))
            })
            .fold(0, usize::saturating_add);
        mine.saturating_add(self.held_bytes)
            .saturating_add(self.upper.heap_bytes())
    }
}
