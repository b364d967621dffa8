//! The NSS key log format (`SSLKEYLOGFILE`): secrets by client random.
//!
//! Each line is `LABEL <client_random: 64 hex> <secret: hex>`; `#` starts a
//! comment line; blank lines and CRLF line ends are fine. The labels we use:
//!
//! | label | field | length |
//! |---|---|---|
//! | `CLIENT_RANDOM` | [`Secrets::master_secret`] (TLS 1.2) | 48 |
//! | `CLIENT_HANDSHAKE_TRAFFIC_SECRET` | [`Secrets::client_handshake`] | 32 or 48 |
//! | `SERVER_HANDSHAKE_TRAFFIC_SECRET` | [`Secrets::server_handshake`] | 32 or 48 |
//! | `CLIENT_TRAFFIC_SECRET_0` | [`Secrets::client_traffic_0`] | 32 or 48 |
//! | `SERVER_TRAFFIC_SECRET_0` | [`Secrets::server_traffic_0`] | 32 or 48 |
//! | `CLIENT_EARLY_TRAFFIC_SECRET` | [`Secrets::client_early`] | 32 or 48 |
//! | `EXPORTER_SECRET` | [`Secrets::exporter`] | 32 or 48 |
//! | `EARLY_EXPORTER_SECRET` | [`Secrets::early_exporter`] | 32 or 48 |
//!
//! Other labels (OpenSSL's `CLIENT_TRAFFIC_SECRET_1`…, the old `RSA` lines)
//! are counted and skipped: later traffic secrets are derived from the
//! `_0` ones on KeyUpdate, never read from the log. Lines that are not
//! three fields of the right shape are counted as malformed and the first
//! is remembered with its line number, so the caller can report it once.
//! A later line for the same client random and label replaces the earlier.
//!
//! [`KeyLog::parse`] takes a whole file or the chunk appended since the
//! last call (live capture re-reads a growing file): it consumes complete
//! lines only and returns how many bytes it used, so the caller keeps the
//! unfinished last line for next time. [`KeyLog::parse_complete`] also takes
//! a last line without `\n` (a whole file, a pcapng Decryption Secrets
//! Block). A line longer than [`MAX_LINE`] is malformed and skipped up to its
//! `\n` even across calls, so a garbage file cannot make the caller hold an
//! unbounded partial line. At most [`MAX_ENTRIES`] client randoms are kept.

#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::arithmetic_side_effects
)]

use rustc_hash::FxHashMap;
use std::collections::hash_map::Entry;

/// Longest line we accept. A real line is at most ~200 bytes
/// (`CLIENT_HANDSHAKE_TRAFFIC_SECRET`, 64 + 96 hex digits).
pub const MAX_LINE: usize = 1024;

/// Most client randoms one key log holds; lines for further ones are counted
/// in [`ParseReport::dropped`]. A browser session writes hundreds.
pub const MAX_ENTRIES: usize = 1 << 20;

/// The secrets logged for one client random (one TLS connection).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Secrets {
    /// `CLIENT_RANDOM`: the TLS 1.2 master secret (48 bytes).
    pub master_secret: Option<Vec<u8>>,
    /// `CLIENT_HANDSHAKE_TRAFFIC_SECRET`
    pub client_handshake: Option<Vec<u8>>,
    /// `SERVER_HANDSHAKE_TRAFFIC_SECRET`
    pub server_handshake: Option<Vec<u8>>,
    /// `CLIENT_TRAFFIC_SECRET_0`
    pub client_traffic_0: Option<Vec<u8>>,
    /// `SERVER_TRAFFIC_SECRET_0`
    pub server_traffic_0: Option<Vec<u8>>,
    /// `CLIENT_EARLY_TRAFFIC_SECRET`
    pub client_early: Option<Vec<u8>>,
    /// `EXPORTER_SECRET`
    pub exporter: Option<Vec<u8>>,
    /// `EARLY_EXPORTER_SECRET`
    pub early_exporter: Option<Vec<u8>>,
}

impl Secrets {
    /// Takes every secret `other` has, keeping ours where it has none.
    fn absorb(&mut self, other: Secrets) {
        let Secrets {
            master_secret,
            client_handshake,
            server_handshake,
            client_traffic_0,
            server_traffic_0,
            client_early,
            exporter,
            early_exporter,
        } = other;
        for (mine, theirs) in [
            (&mut self.master_secret, master_secret),
            (&mut self.client_handshake, client_handshake),
            (&mut self.server_handshake, server_handshake),
            (&mut self.client_traffic_0, client_traffic_0),
            (&mut self.server_traffic_0, server_traffic_0),
            (&mut self.client_early, client_early),
            (&mut self.exporter, exporter),
            (&mut self.early_exporter, early_exporter),
        ] {
            if theirs.is_some() {
                *mine = theirs;
            }
        }
    }

    fn heap_bytes(&self) -> usize {
        [
            &self.master_secret,
            &self.client_handshake,
            &self.server_handshake,
            &self.client_traffic_0,
            &self.server_traffic_0,
            &self.client_early,
            &self.exporter,
            &self.early_exporter,
        ]
        .iter()
        .map(|s| s.as_ref().map_or(0, Vec::capacity))
        .fold(0, usize::saturating_add)
    }
}

/// What parsing saw, accumulated over calls.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ParseReport {
    /// Lines consumed, including comments and blank lines (so that
    /// `first_malformed` line numbers continue across appended chunks).
    pub lines: u64,
    /// Lines whose secret was stored.
    pub used: u64,
    /// Well-formed lines with a label we do not use.
    pub unknown_label: u64,
    /// Lines that are not a key log line.
    pub malformed: u64,
    /// The first malformed line: 1-based line number and why.
    pub first_malformed: Option<(u64, String)>,
    /// Well-formed lines dropped because [`MAX_ENTRIES`] client randoms are
    /// already held.
    pub dropped: u64,
}

impl ParseReport {
    fn malformed(&mut self, why: impl FnOnce() -> String) {
        self.malformed = self.malformed.saturating_add(1);
        if self.first_malformed.is_none() {
            self.first_malformed = Some((self.lines, why()));
        }
    }
}

/// Secrets by client random.
#[derive(Clone, Debug, Default)]
pub struct KeyLog {
    entries: FxHashMap<[u8; 32], Secrets>,
    /// Inside an over-long line: skip up to the next `\n`.
    skipping: bool,
}

/// The labels we store, and which field each fills.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Label {
    ClientRandom,
    ClientHandshake,
    ServerHandshake,
    ClientTraffic0,
    ServerTraffic0,
    ClientEarly,
    Exporter,
    EarlyExporter,
}

impl Label {
    fn parse(s: &[u8]) -> Option<Label> {
        Some(match s {
            b"CLIENT_RANDOM" => Label::ClientRandom,
            b"CLIENT_HANDSHAKE_TRAFFIC_SECRET" => Label::ClientHandshake,
            b"SERVER_HANDSHAKE_TRAFFIC_SECRET" => Label::ServerHandshake,
            b"CLIENT_TRAFFIC_SECRET_0" => Label::ClientTraffic0,
            b"SERVER_TRAFFIC_SECRET_0" => Label::ServerTraffic0,
            b"CLIENT_EARLY_TRAFFIC_SECRET" => Label::ClientEarly,
            b"EXPORTER_SECRET" => Label::Exporter,
            b"EARLY_EXPORTER_SECRET" => Label::EarlyExporter,
            _ => return None,
        })
    }

    fn secret_len_ok(self, len: usize) -> bool {
        match self {
            Label::ClientRandom => len == 48,
            _ => len == 32 || len == 48,
        }
    }

    fn slot(self, s: &mut Secrets) -> &mut Option<Vec<u8>> {
        match self {
            Label::ClientRandom => &mut s.master_secret,
            Label::ClientHandshake => &mut s.client_handshake,
            Label::ServerHandshake => &mut s.server_handshake,
            Label::ClientTraffic0 => &mut s.client_traffic_0,
            Label::ServerTraffic0 => &mut s.server_traffic_0,
            Label::ClientEarly => &mut s.client_early,
            Label::Exporter => &mut s.exporter,
            Label::EarlyExporter => &mut s.early_exporter,
        }
    }
}

impl KeyLog {
    pub fn new() -> Self {
        KeyLog::default()
    }

    /// Parses key log text: a whole file or the chunk appended since the
    /// last call. Complete lines only; a last line without `\n` is left for
    /// the next call (unless it is already longer than [`MAX_LINE`]).
    /// Returns the bytes consumed.
    pub fn parse(&mut self, text: &[u8], report: &mut ParseReport) -> usize {
        let mut consumed = 0;
        let mut rest = text;
        while let Some(nl) = memchr::memchr(b'\n', rest) {
            let (line, after) = rest.split_at(nl);
            if std::mem::take(&mut self.skipping) {
                // The tail of an over-long line, already counted.
            } else {
                self.line(line, report);
            }
            rest = after.get(1..).unwrap_or_default();
            consumed = text.len().saturating_sub(rest.len());
        }
        if rest.len() > MAX_LINE {
            if !self.skipping {
                report.lines = report.lines.saturating_add(1);
                report.malformed(|| format!("line longer than {MAX_LINE} bytes"));
                self.skipping = true;
            }
            consumed = text.len();
        }
        consumed
    }

    /// Parses key log text to its end: like [`parse`](Self::parse), but a
    /// last line without `\n` is parsed too. For whole files and pcapng
    /// Decryption Secrets Blocks.
    pub fn parse_complete(&mut self, text: &[u8], report: &mut ParseReport) {
        let consumed = self.parse(text, report);
        if let Some(last) = text.get(consumed..).filter(|l| !l.is_empty()) {
            // (The unterminated tail of an over-long line was counted already.)
            if !self.skipping {
                self.line(last, report);
            }
        }
        self.skipping = false;
    }

    /// One line, without its `\n`.
    fn line(&mut self, line: &[u8], report: &mut ParseReport) {
        report.lines = report.lines.saturating_add(1);
        if line.len() > MAX_LINE {
            return report.malformed(|| format!("line longer than {MAX_LINE} bytes"));
        }
        let line = line.trim_ascii();
        if line.is_empty() || line.starts_with(b"#") {
            return;
        }
        let mut fields = line.split(u8::is_ascii_whitespace).filter(|f| !f.is_empty());
        let (Some(label), Some(random), Some(secret), None) =
            (fields.next(), fields.next(), fields.next(), fields.next())
        else {
            let n = line
                .split(u8::is_ascii_whitespace)
                .filter(|f| !f.is_empty())
                .count();
            return report
                .malformed(|| format!("expected 3 fields (label, client random, secret), found {n}"));
        };
        if !label
            .iter()
            .all(|&c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == b'_')
        {
            return report.malformed(|| format!("not a key log label: {:?}", String::from_utf8_lossy(label)));
        }
        let Some(label_kind) = Label::parse(label) else {
            report.unknown_label = report.unknown_label.saturating_add(1);
            return;
        };
        let mut client_random = [0u8; 32];
        if random.len() != 64 || hex::decode_to_slice(random, &mut client_random).is_err() {
            return report.malformed(|| "client random is not 64 hex digits".to_owned());
        }
        let Ok(secret) = hex::decode(secret) else {
            return report.malformed(|| "secret is not hex".to_owned());
        };
        if !label_kind.secret_len_ok(secret.len()) {
            let label = String::from_utf8_lossy(label).into_owned();
            let len = secret.len();
            return report.malformed(move || format!("{label} secret of {len} bytes"));
        }
        let full = self.entries.len() >= MAX_ENTRIES;
        let entry = match self.entries.entry(client_random) {
            Entry::Occupied(e) => e.into_mut(),
            Entry::Vacant(_) if full => {
                report.dropped = report.dropped.saturating_add(1);
                return;
            }
            Entry::Vacant(e) => e.insert(Secrets::default()),
        };
        *label_kind.slot(entry) = Some(secret);
        report.used = report.used.saturating_add(1);
    }

    /// The secrets logged for this client random.
    pub fn get(&self, client_random: &[u8; 32]) -> Option<&Secrets> {
        self.entries.get(client_random)
    }

    /// Client randoms held.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Entries with a TLS 1.3 application traffic secret (client, server or
    /// both), with their client random — for trial decryption of TLS 1.3
    /// connections whose handshake was not captured. In no particular order.
    pub fn app_secrets(&self) -> impl Iterator<Item = (&[u8; 32], &Secrets)> {
        self.entries
            .iter()
            .filter(|(_, s)| s.client_traffic_0.is_some() || s.server_traffic_0.is_some())
    }

    /// Every entry, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8; 32], &Secrets)> {
        self.entries.iter()
    }

    /// Merges another log (e.g. pcapng Decryption Secrets Blocks parsed
    /// separately): its secrets replace ours where both have one. Past
    /// [`MAX_ENTRIES`], new client randoms are dropped.
    pub fn merge(&mut self, other: KeyLog) {
        for (random, secrets) in other.entries {
            let full = self.entries.len() >= MAX_ENTRIES;
            match self.entries.entry(random) {
                Entry::Occupied(mut mine) => mine.get_mut().absorb(secrets),
                Entry::Vacant(_) if full => {}
                Entry::Vacant(e) => {
                    e.insert(secrets);
                }
            }
        }
    }

    /// Approximate heap held, for the memory ledger.
    pub fn heap_bytes(&self) -> usize {
        let table = self
            .entries
            .capacity()
            .saturating_mul(std::mem::size_of::<([u8; 32], Secrets)>().saturating_add(1));
        self.entries
            .values()
            .map(Secrets::heap_bytes)
            .fold(table, usize::saturating_add)
    }
}

#[cfg(test)]
#[allow(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::arithmetic_side_effects
)]
mod tests {
    use super::*;

    fn random(b: u8) -> [u8; 32] {
        [b; 32]
    }

    fn hexs(b: u8, n: usize) -> String {
        hex::encode(vec![b; n])
    }

    fn line(label: &str, r: u8, s: u8, n: usize) -> String {
        format!("{label} {} {}\n", hexs(r, 32), hexs(s, n))
    }

    #[test]
    fn every_label() {
        let mut text = String::from("# SSL/TLS secrets log file, generated by NSS\n\n");
        text += &line("CLIENT_RANDOM", 1, 0x10, 48);
        for (i, l) in [
            "CLIENT_HANDSHAKE_TRAFFIC_SECRET",
            "SERVER_HANDSHAKE_TRAFFIC_SECRET",
            "CLIENT_TRAFFIC_SECRET_0",
            "SERVER_TRAFFIC_SECRET_0",
            "CLIENT_EARLY_TRAFFIC_SECRET",
            "EXPORTER_SECRET",
            "EARLY_EXPORTER_SECRET",
        ]
        .iter()
        .enumerate()
        {
            text += &line(l, 2, 0x20 + i as u8, if i % 2 == 0 { 32 } else { 48 });
        }
        let mut log = KeyLog::new();
        let mut report = ParseReport::default();
        assert_eq!(log.parse(text.as_bytes(), &mut report), text.len());
        assert_eq!(
            report,
            ParseReport {
                lines: 10,
                used: 8,
                ..Default::default()
            }
        );
        assert_eq!(log.len(), 2);
        assert_eq!(
            log.get(&random(1)),
            Some(&Secrets {
                master_secret: Some(vec![0x10; 48]),
                ..Default::default()
            })
        );
        let s = log.get(&random(2)).unwrap();
        assert_eq!(
            s,
            &Secrets {
                master_secret: None,
                client_handshake: Some(vec![0x20; 32]),
                server_handshake: Some(vec![0x21; 48]),
                client_traffic_0: Some(vec![0x22; 32]),
                server_traffic_0: Some(vec![0x23; 48]),
                client_early: Some(vec![0x24; 32]),
                exporter: Some(vec![0x25; 48]),
                early_exporter: Some(vec![0x26; 32]),
            }
        );
        let apps: Vec<_> = log.app_secrets().map(|(r, _)| *r).collect();
        assert_eq!(apps, vec![random(2)]);
        assert!(log.get(&random(3)).is_none());
    }

    #[test]
    fn crlf_whitespace_case_and_replacement() {
        let text = format!(
            "CLIENT_RANDOM {} {}\r\n  CLIENT_RANDOM\t{}   {}  \r\n",
            hexs(0xAB, 32).to_uppercase(),
            hexs(1, 48),
            hexs(0xab, 32),
            hexs(2, 48)
        );
        let mut log = KeyLog::new();
        let mut report = ParseReport::default();
        assert_eq!(log.parse(text.as_bytes(), &mut report), text.len());
        assert_eq!((report.used, report.malformed), (2, 0));
        assert_eq!(log.len(), 1);
        assert_eq!(log.get(&random(0xab)).unwrap().master_secret, Some(vec![2; 48]));
    }

    #[test]
    fn unknown_labels_are_counted_and_skipped() {
        let text = line("CLIENT_TRAFFIC_SECRET_1", 1, 1, 32)
            + &line("SERVER_TRAFFIC_SECRET_7", 1, 1, 48)
            + "RSA 0011223344556677 0303aabb\n";
        let mut log = KeyLog::new();
        let mut report = ParseReport::default();
        log.parse(text.as_bytes(), &mut report);
        assert_eq!(
            (report.lines, report.unknown_label, report.malformed, report.used),
            (3, 3, 0, 0)
        );
        assert!(log.is_empty());
    }

    #[test]
    fn malformed_lines_are_counted_and_the_first_remembered() {
        let good = line("CLIENT_RANDOM", 9, 9, 48);
        let cases = [
            format!("CLIENT_RANDOM {}\n", hexs(1, 32)), // 2 fields
            format!("CLIENT_RANDOM {} {} extra\n", hexs(1, 32), hexs(1, 48)), // 4 fields
            format!("CLIENT_RANDOM {} {}\n", hexs(1, 31), hexs(1, 48)), // short random
            format!("CLIENT_RANDOM {}zz {}\n", hexs(1, 31), hexs(1, 48)), // bad hex random
            format!("CLIENT_RANDOM {} {}x\n", hexs(1, 32), hexs(1, 48)), // bad hex secret
            format!("CLIENT_RANDOM {} {}\n", hexs(1, 32), hexs(1, 32)), // 1.2 secret of 32
            format!("CLIENT_TRAFFIC_SECRET_0 {} {}\n", hexs(1, 32), hexs(1, 40)), // odd length
            format!("hello {} {}\n", hexs(1, 32), hexs(1, 48)), // not a label
        ];
        let mut text = good.clone();
        for c in &cases {
            text += c;
        }
        text += &good;
        let mut log = KeyLog::new();
        let mut report = ParseReport::default();
        assert_eq!(log.parse(text.as_bytes(), &mut report), text.len());
        assert_eq!(report.lines, 10);
        assert_eq!(report.used, 2);
        assert_eq!(report.malformed, cases.len() as u64);
        assert_eq!(report.unknown_label, 0);
        let (n, why) = report.first_malformed.clone().unwrap();
        assert_eq!(n, 2);
        assert!(why.contains("3 fields"), "{why}");
        assert_eq!(log.len(), 1);
        assert!(log.get(&random(1)).is_none());
    }

    #[test]
    fn partial_last_line_waits_for_the_next_chunk() {
        let a = line("CLIENT_RANDOM", 1, 1, 48);
        let b = line("CLIENT_RANDOM", 2, 2, 48);
        let all = a.clone() + &b;
        let mut log = KeyLog::new();
        let mut report = ParseReport::default();
        // Feed in every split, keeping what was not consumed, as a live reader does.
        for split in 0..=all.len() {
            let mut log2 = KeyLog::new();
            let mut rep2 = ParseReport::default();
            let mut pending = all.as_bytes()[..split].to_vec();
            let used = log2.parse(&pending, &mut rep2);
            pending.drain(..used);
            pending.extend_from_slice(&all.as_bytes()[split..]);
            let used = log2.parse(&pending, &mut rep2);
            assert_eq!(used, pending.len(), "split {split}");
            assert_eq!(
                (rep2.lines, rep2.used, rep2.malformed),
                (2, 2, 0),
                "split {split}"
            );
            assert_eq!(log2.len(), 2);
        }
        // A last line without '\n' is left for later…
        let text = a.clone() + b.trim_end();
        assert_eq!(log.parse(text.as_bytes(), &mut report), a.len());
        assert_eq!(log.len(), 1);
        // …unless the caller says the text is complete.
        let mut log3 = KeyLog::new();
        let mut rep3 = ParseReport::default();
        log3.parse_complete(text.as_bytes(), &mut rep3);
        assert_eq!((log3.len(), rep3.lines, rep3.used), (2, 2, 2));
    }

    #[test]
    fn line_numbers_continue_across_chunks() {
        let mut log = KeyLog::new();
        let mut report = ParseReport::default();
        log.parse(b"# one\n# two\n", &mut report);
        log.parse(b"\nbroken line\n", &mut report);
        assert_eq!(report.first_malformed.as_ref().map(|m| m.0), Some(4));
    }

    #[test]
    fn over_long_lines_are_skipped_even_across_chunks() {
        let mut log = KeyLog::new();
        let mut report = ParseReport::default();
        let junk = vec![b'A'; MAX_LINE + 10];
        assert_eq!(log.parse(&junk, &mut report), junk.len());
        assert_eq!(log.parse(&junk, &mut report), junk.len());
        let tail = format!("AAAA\n{}", line("CLIENT_RANDOM", 5, 5, 48));
        assert_eq!(log.parse(tail.as_bytes(), &mut report), tail.len());
        assert_eq!((report.lines, report.malformed, report.used), (2, 1, 1));
        assert!(report.first_malformed.unwrap().1.contains("longer"));
        assert!(log.get(&random(5)).is_some());
        // The end of a complete text inside an over-long line is not a line.
        let mut log = KeyLog::new();
        let mut report = ParseReport::default();
        log.parse(&junk, &mut report);
        log.parse_complete(b"AAA", &mut report);
        assert_eq!((report.lines, report.malformed), (1, 1));
        log.parse_complete(line("CLIENT_RANDOM", 5, 5, 48).trim_end().as_bytes(), &mut report);
        assert_eq!((report.lines, report.used), (2, 1));
    }

    #[test]
    fn merge_fills_and_replaces() {
        let mut a = KeyLog::new();
        let mut b = KeyLog::new();
        let mut r = ParseReport::default();
        a.parse(
            (line("CLIENT_RANDOM", 1, 1, 48) + &line("CLIENT_TRAFFIC_SECRET_0", 2, 1, 32)).as_bytes(),
            &mut r,
        );
        b.parse(
            (line("CLIENT_RANDOM", 1, 9, 48) + &line("SERVER_TRAFFIC_SECRET_0", 2, 2, 32)).as_bytes(),
            &mut r,
        );
        b.parse(line("CLIENT_RANDOM", 3, 3, 48).as_bytes(), &mut r);
        a.merge(b);
        assert_eq!(a.len(), 3);
        assert_eq!(a.get(&random(1)).unwrap().master_secret, Some(vec![9; 48]));
        let two = a.get(&random(2)).unwrap();
        assert_eq!(
            (two.client_traffic_0.clone(), two.server_traffic_0.clone()),
            (Some(vec![1; 32]), Some(vec![2; 32]))
        );
        assert!(a.heap_bytes() > 3 * 48);
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        let mut log = KeyLog::new();
        let mut report = ParseReport::default();
        let mut seed = 0x1234_5678_u32;
        let alphabet = b"CLIENT_RANDOM 0123456789abcdefxyz\r\n\t#\xff";
        let text: Vec<u8> = (0..20_000)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 17;
                seed ^= seed << 5;
                alphabet[seed as usize % alphabet.len()]
            })
            .collect();
        let used = log.parse(&text, &mut report);
        assert!(used <= text.len());
        log.parse_complete(&text[used..], &mut report);
    }
}
