//! Which key protects the next record: installing keys when the hellos are
//! in (TLS 1.3 handshake and application secrets, the TLS 1.2 key block —
//! also from a session resumed earlier in the capture), switching epochs
//! (`Finished`, `KeyUpdate`), waiting for keys that arrive late, and trying
//! the key log's secrets on a connection picked up mid-stream.
//!
//! These are methods of [`TlsLayer`]; the record loop is in [`super::layer`].

#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::arithmetic_side_effects
)]

use super::cipher::{tls12_decrypter, tls13_decrypter};
use super::layer::{Epoch, TlsLayer, Undecryptable};
use super::schedule::{tls12_key_block, tls13_next_secret};
use super::suites::{Suite, TlsVersion, suite, suite_name};
use crate::diag;
use crate::keys::keylog::Secrets;
use crate::model::{Dir, Stamp};
use crate::stream::LayerCx;

/// Mid-stream TLS 1.3: records per direction tried against the key log's
/// application secrets, secrets tried, and sequence numbers tried for each.
const TRIAL_RECORDS: u32 = 2;
const TRIAL_SECRETS: usize = 256;
const TRIAL_SEQ_WINDOW: u64 = 32;

/// A secret to try mid-stream: this direction's, the other direction's,
/// the suite when known, and where it came from.
type TrialCandidate = (Vec<u8>, Option<Vec<u8>>, Option<&'static Suite>, &'static str);

/// Sequence numbers tried in the next epoch after a lost Finished/KeyUpdate.
const EPOCH_SEQ_WINDOW: u64 = 64;

impl TlsLayer {
    /// Bytes a protected record carries beyond its plaintext, at least.
    pub(super) fn record_overhead(&self) -> u64 {
        let Some(s) = self.suite else { return 0 };
        match (s.version, s.bulk.is_aead()) {
            // Tag and inner content type.
            (TlsVersion::Tls13, _) => 17,
            // Explicit nonce (GCM only) and tag.
            (TlsVersion::Tls12, true) if s.bulk == super::suites::Bulk::ChaCha20Poly1305 => 16,
            (TlsVersion::Tls12, true) => 24,
            // IV, MAC and at least one padding byte.
            (TlsVersion::Tls12, false) => 17u64.saturating_add(s.mac.output_len() as u64),
        }
    }

    /// A record that did not authenticate where expected: the record that
    /// would have switched keys (`Finished`, `KeyUpdate`) or some records
    /// may have been lost in a gap. Tries the next sequence numbers under
    /// the current key, then the next epoch's key; on success the direction
    /// moves there. Bounded work.
    pub(super) fn recover_epoch(
        &mut self,
        dir: Dir,
        header: &[u8; 5],
        body: &[u8],
    ) -> Option<super::cipher::Plain> {
        let s = self.suite?;
        let d = &mut self.dirs[dir];
        if let Some(dec) = d.decrypter.as_ref() {
            for q in d.seq..d.seq.saturating_add(EPOCH_SEQ_WINDOW) {
                if let Ok(p) = dec.decrypt(q, header, body) {
                    d.seq = q.saturating_add(1);
                    return Some(p);
                }
            }
        }
        if s.version != TlsVersion::Tls13 {
            return None;
        }
        let (next, epoch) = match d.epoch {
            Some(Epoch::Handshake) => (d.app_secret.clone()?, Epoch::Application(0)),
            Some(Epoch::Application(n)) => (
                tls13_next_secret(s, d.secret.as_deref()?).ok()?,
                Epoch::Application(n.saturating_add(1)),
            ),
            None => return None,
        };
        let dec = tls13_decrypter(s, &next).ok()?;
        let q = (0..EPOCH_SEQ_WINDOW).find(|q| dec.decrypt(*q, header, body).is_ok())?;
        let plain = dec.decrypt(q, header, body).ok()?;
        if matches!(epoch, Epoch::Application(n) if n > 0) && d.epoch != Some(Epoch::Handshake) {
            d.key_updates = d.key_updates.saturating_add(1);
        }
        if d.epoch == Some(Epoch::Handshake) {
            d.app_secret = None;
        }
        d.decrypter = Some(dec);
        d.secret = Some(next);
        d.epoch = Some(epoch);
        d.seq = q.saturating_add(1);
        Some(plain)
    }
    /// Looks the connection's secrets up by client random.
    fn secrets<'k>(&mut self, cx: &LayerCx<'k>) -> Option<&'k Secrets> {
        let random = self.client_hello.as_ref()?.random;
        let (secrets, source) = cx.keys.tls_secrets(&random)?;
        self.key_source = Some(source);
        Some(secrets)
    }

    /// The ServerHello is in: install what the key log allows.
    pub(super) fn keys_ready(&mut self, cx: &mut LayerCx<'_>) {
        let Some(sh) = self.server_hello.as_ref() else {
            return;
        };
        let Some(s) = suite(sh.cipher_suite) else {
            self.failure = Some(Undecryptable::Unsupported(format!(
                "cipher suite {} is not supported",
                suite_name(sh.cipher_suite)
            )));
            return;
        };
        let negotiated = sh.version();
        let expected = match s.version {
            TlsVersion::Tls13 => 0x0304,
            TlsVersion::Tls12 => 0x0303,
        };
        if negotiated != expected {
            // TLS 1.0/1.1 (another PRF, chained CBC IVs), or a suite that does
            // not belong to the version negotiated.
            self.failure = Some(Undecryptable::Unsupported(format!(
                "{} with {} is not supported",
                self.version_name().unwrap_or("this TLS version"),
                s.name
            )));
            return;
        }
        self.suite = Some(s);
        let server_random = sh.random;
        let etm = sh.encrypt_then_mac;
        let server_session = sh.session_id.clone();
        if s.version == TlsVersion::Tls12 {
            let logged = self.secrets(cx).and_then(|x| x.master_secret.clone());
            let master = match logged {
                Some(m) => Some(m),
                None => {
                    // Resumed from a full handshake earlier in this capture?
                    let ticket = self
                        .client_hello
                        .as_ref()
                        .and_then(|c| c.session_ticket.as_deref());
                    let m = cx.keys.resumed_master(&server_session, ticket);
                    if m.is_some() {
                        self.key_source = Some("keylog");
                        self.key_detail =
                            Some("resumed: master secret of an earlier connection in this capture".into());
                    }
                    m
                }
            };
            let Some(ms) = master else {
                self.key_source = None;
                self.awaiting = Some(cx.keys.generation());
                return;
            };
            cx.keys.remember_session(&server_session, None, &ms);
            let Some(client_random) = self.client_hello.as_ref().map(|c| c.random) else {
                return;
            };
            let keys = match tls12_key_block(s, &ms, &client_random, &server_random) {
                Ok(k) => k,
                Err(_) => {
                    self.failure = Some(Undecryptable::BadKey);
                    return;
                }
            };
            self.master = Some(ms);
            for (dir, k) in [(Dir::C2S, &keys.client), (Dir::S2C, &keys.server)] {
                match tls12_decrypter(s, k, etm) {
                    Ok(dec) => self.dirs[dir].pending = Some(dec),
                    Err(_) => self.failure = Some(Undecryptable::BadKey),
                }
            }
            return;
        }
        let Some(secrets) = self.secrets(cx) else {
            self.awaiting = Some(cx.keys.generation());
            return;
        };
        match s.version {
            TlsVersion::Tls13 => {
                let (Some(c), Some(sv)) = (&secrets.client_handshake, &secrets.server_handshake) else {
                    self.awaiting = Some(cx.keys.generation());
                    return;
                };
                for (dir, hs, app) in [
                    (Dir::C2S, c, &secrets.client_traffic_0),
                    (Dir::S2C, sv, &secrets.server_traffic_0),
                ] {
                    let d = &mut self.dirs[dir];
                    match tls13_decrypter(s, hs) {
                        Ok(dec) => {
                            d.decrypter = Some(dec);
                            d.secret = Some(hs.clone());
                            d.app_secret = app.clone();
                            d.epoch = Some(Epoch::Handshake);
                            d.seq = 0;
                        }
                        Err(_) => self.failure = Some(Undecryptable::BadKey),
                    }
                }
            }
            // Handled above.
            TlsVersion::Tls12 => {}
        }
    }

    pub(super) fn switch_to_app(&mut self, dir: Dir, at: Stamp, cx: &mut LayerCx<'_>) {
        let Some(s) = self.suite else { return };
        let d = &mut self.dirs[dir];
        let Some(secret) = d.app_secret.take() else {
            // Handshake keys were known but not the application ones.
            d.decrypter = None;
            d.epoch = Some(Epoch::Application(0));
            if self.failure.is_none() {
                self.failure = Some(Undecryptable::NoKey);
                cx.diagnostic(
                    at,
                    Some(dir),
                    diag::TLS_UNDECRYPTABLE,
                    "the key log has handshake secrets but no application traffic secret for this connection"
                        .into(),
                );
            }
            return;
        };
        match tls13_decrypter(s, &secret) {
            Ok(dec) => {
                d.decrypter = Some(dec);
                d.secret = Some(secret);
                d.epoch = Some(Epoch::Application(0));
                d.seq = 0;
            }
            Err(_) => d.decrypter = None,
        }
    }

    pub(super) fn key_update(&mut self, dir: Dir, at: Stamp, cx: &mut LayerCx<'_>) {
        let Some(s) = self.suite else { return };
        let d = &mut self.dirs[dir];
        let Some(Epoch::Application(n)) = d.epoch else {
            return;
        };
        let next = d.secret.as_deref().map(|sec| tls13_next_secret(s, sec));
        match next {
            Some(Ok(next)) => match tls13_decrypter(s, &next) {
                Ok(dec) => {
                    d.decrypter = Some(dec);
                    d.secret = Some(next);
                    d.epoch = Some(Epoch::Application(n.saturating_add(1)));
                    d.seq = 0;
                    d.key_updates = d.key_updates.saturating_add(1);
                }
                Err(_) => d.decrypter = None,
            },
            _ => {
                cx.diagnostic(
                    at,
                    Some(dir),
                    diag::TLS_UNDECRYPTABLE,
                    "KeyUpdate without a current secret".into(),
                );
            }
        }
    }

    /// Secrets arrived since the key was found missing? Then install them
    /// and replay the held records in their order.
    pub(super) fn retry_keys(&mut self, cx: &mut LayerCx<'_>) {
        if self.awaiting == Some(cx.keys.generation()) || self.awaiting.is_none() {
            return;
        }
        self.awaiting = None;
        self.keys_ready(cx);
        if self.awaiting.is_some() {
            return;
        }
        let held = std::mem::take(&mut self.held);
        self.held_bytes = 0;
        for r in held {
            self.process_record(r.dir, r.h, r.header, &r.body, r.start, r.packets, r.at, cx);
        }
    }

    /// No key will come (budget, end of input): the held records are
    /// undecryptable.
    pub(super) fn give_up_waiting(&mut self, at: Stamp, cx: &mut LayerCx<'_>) {
        self.awaiting = None;
        if self.failure.is_none() {
            self.failure = Some(Undecryptable::NoKey);
        }
        for r in std::mem::take(&mut self.held) {
            let d = &mut self.dirs[r.dir];
            d.undecrypted = d.undecrypted.saturating_add(1);
        }
        self.held_bytes = 0;
        self.announce(at, cx);
    }

    /// Can a mid-stream trial still succeed?
    pub(super) fn trial_left(&self, cx: &LayerCx<'_>) -> bool {
        self.dirs.iter().any(|(_, d)| d.decrypter.is_none())
            && self.trial_tries.iter().any(|(_, n)| *n < TRIAL_RECORDS)
            && cx.keys.tls_all().next().is_some()
    }

    /// Mid-stream TLS 1.3 (no handshake captured): tries the key log's
    /// application traffic secrets on this record over a small window of
    /// sequence numbers; on success this direction decrypts from there, and
    /// the paired secret is tried on the other one. Bounded work.
    pub(super) fn trial(&mut self, dir: Dir, header: &[u8; 5], body: &[u8], cx: &mut LayerCx<'_>) {
        if self.trial_tries[dir] >= TRIAL_RECORDS {
            return;
        }
        self.trial_tries[dir] = self.trial_tries[dir].saturating_add(1);
        let candidates: Vec<TrialCandidate> = match &self.trial_pair {
            Some((secret, suite)) => vec![(secret.clone(), None, Some(*suite), "trial")],
            None => cx
                .keys
                .tls_all()
                .take(TRIAL_SECRETS)
                .filter_map(|(_, sec, _)| {
                    let (mine, other) = match dir {
                        Dir::C2S => (&sec.client_traffic_0, &sec.server_traffic_0),
                        Dir::S2C => (&sec.server_traffic_0, &sec.client_traffic_0),
                    };
                    Some((mine.clone()?, other.clone(), None, "trial"))
                })
                .collect(),
        };
        for (secret, other, known, source) in candidates {
            let suites: Vec<&'static Suite> = match known {
                Some(s) => vec![s],
                // The secret's length is its hash's: SHA-256 or SHA-384 suites.
                None => [0x1301u16, 0x1303, 0x1302]
                    .into_iter()
                    .filter_map(suite)
                    .filter(|s| s.hash.output_len() == secret.len())
                    .collect(),
            };
            for s in suites {
                let Ok(dec) = tls13_decrypter(s, &secret) else {
                    continue;
                };
                let Some(seq) = (0..TRIAL_SEQ_WINDOW).find(|q| dec.decrypt(*q, header, body).is_ok()) else {
                    continue;
                };
                let d = &mut self.dirs[dir];
                d.decrypter = Some(dec);
                d.secret = Some(secret);
                d.epoch = Some(Epoch::Application(0));
                d.protected = true;
                d.seq = seq;
                self.suite = Some(s);
                if let Some(o) = other {
                    self.trial_pair = Some((o, s));
                }
                if self.key_source.is_none() {
                    self.key_source = Some(source);
                    self.key_detail = Some(format!("decrypted by trial, sequence offset {seq} ({dir})"));
                }
                return;
            }
        }
    }
}
