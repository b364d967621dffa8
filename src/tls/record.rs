//! TLS record headers (RFC 8446 §5.1, RFC 5246 §6.2.1): parsing, the
//! connection probe's sniffing and resynchronisation after a gap.
//!
//! A record is a 5-byte header — content type, legacy version, payload
//! length — and the payload. [`parse_header`] checks the header against what
//! any TLS stream can carry (content types 20..=24, version 3.x, at most
//! [`MAX_RECORD_PAYLOAD`] bytes) and reports errors as soon as the bytes
//! present show them, so garbage is rejected after one byte, not five.
//! [`parse_record`] splits a complete record off a buffer. After a TCP gap
//! the record boundaries are lost: [`find_record_start`] looks for the next
//! offset where a plausible header starts and, when the buffer reaches that
//! far, where the header after it is plausible too.
//!
//! [`looks_like_client_hello`] / [`looks_like_server_hello`] answer the
//! connection probe: TLS is recognised by content (a handshake record
//! carrying a ClientHello), not by port.
//!
//! Nothing here decrypts or judges payloads; `super::hello` reads the
//! cleartext handshake.

#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::arithmetic_side_effects
)]

use std::fmt;

use super::reader::Reader;

/// A record's content type, kept open (rusticata style): unknown values are
/// kept and shown, never mapped to a catch-all.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ContentType(pub u8);

impl ContentType {
    pub const CHANGE_CIPHER_SPEC: ContentType = ContentType(20);
    pub const ALERT: ContentType = ContentType(21);
    pub const HANDSHAKE: ContentType = ContentType(22);
    pub const APPLICATION_DATA: ContentType = ContentType(23);
    pub const HEARTBEAT: ContentType = ContentType(24);

    /// The registered name (`handshake`, …), or `None` for other values.
    pub fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            20 => "change_cipher_spec",
            21 => "alert",
            22 => "handshake",
            23 => "application_data",
            24 => "heartbeat",
            _ => return None,
        })
    }

    /// One of the five types a TLS 1.0–1.3 record may carry.
    pub fn is_known(self) -> bool {
        (20..=24).contains(&self.0)
    }
}

impl fmt::Display for ContentType {
    /// The name, or `unknown-0x..`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => f.write_str(n),
            None => write!(f, "unknown-0x{:02x}", self.0),
        }
    }
}

/// A checked record header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecordHeader {
    pub content_type: ContentType,
    /// `legacy_record_version`: 0x0301 in many first ClientHellos, 0x0303
    /// for everything in TLS 1.2 and 1.3.
    pub version: u16,
    /// Payload length (at most [`MAX_RECORD_PAYLOAD`]).
    pub len: u16,
}

impl RecordHeader {
    /// Header plus payload. At most `5 + 18432`: no overflow.
    pub fn total_len(&self) -> usize {
        HEADER_LEN.saturating_add(usize::from(self.len))
    }
}

/// Bytes in a record header.
pub const HEADER_LEN: usize = 5;

/// Max record payload: 2^14 + 2048 (TLS 1.2 ciphertext bound; TLS 1.3's
/// 2^14 + 256 is smaller).
pub const MAX_RECORD_PAYLOAD: usize = 16384 + 2048;

/// Why a header was not accepted.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordError {
    /// Fewer than [`HEADER_LEN`] bytes (or, from [`parse_record`], fewer than
    /// the whole record) and nothing wrong so far: need more bytes.
    Short,
    /// The content type is not one of 20..=24.
    BadContentType(u8),
    /// The version is not 0x0300..=0x0304.
    BadVersion(u16),
    /// The length is above [`MAX_RECORD_PAYLOAD`].
    TooLong(u16),
}

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecordError::Short => f.write_str("record header incomplete"),
            RecordError::BadContentType(t) => write!(f, "bad record content type {t}"),
            RecordError::BadVersion(v) => write!(f, "bad record version 0x{v:04x}"),
            RecordError::TooLong(n) => {
                write!(f, "record length {n} above {MAX_RECORD_PAYLOAD}")
            }
        }
    }
}

impl std::error::Error for RecordError {}

/// The header at the start of `b`. Content type 20..=24, version major 3
/// (0x0300..=0x0304), length at most [`MAX_RECORD_PAYLOAD`]. A field is
/// judged as soon as its bytes are present: `[0x47]` is already
/// `BadContentType`, `[0x17, 0x03]` is `Short`.
pub fn parse_header(b: &[u8]) -> Result<RecordHeader, RecordError> {
    let mut r = Reader::new(b);
    let content_type = ContentType(r.u8().ok_or(RecordError::Short)?);
    if !content_type.is_known() {
        return Err(RecordError::BadContentType(content_type.0));
    }
    match r.u8() {
        None => return Err(RecordError::Short),
        Some(3) => {}
        Some(major) => {
            // Judge the major version before the minor byte arrives.
            let minor = b.get(2).copied().unwrap_or(0);
            return Err(RecordError::BadVersion(u16::from_be_bytes([major, minor])));
        }
    }
    let minor = r.u8().ok_or(RecordError::Short)?;
    let version = u16::from_be_bytes([3, minor]);
    if minor > 4 {
        return Err(RecordError::BadVersion(version));
    }
    let len = r.u16().ok_or(RecordError::Short)?;
    // The length is a u16 compared in usize: no overflow.
    if usize::from(len) > MAX_RECORD_PAYLOAD {
        return Err(RecordError::TooLong(len));
    }
    Ok(RecordHeader {
        content_type,
        version,
        len,
    })
}

/// A complete record borrowed from a buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Record<'a> {
    pub header: RecordHeader,
    pub payload: &'a [u8],
}

/// The record at the start of `b` and the bytes after it. `Short` until the
/// whole record (header and payload) is present.
pub fn parse_record(b: &[u8]) -> Result<(Record<'_>, &[u8]), RecordError> {
    let header = parse_header(b)?;
    let mut r = Reader::new(b);
    r.take(HEADER_LEN).ok_or(RecordError::Short)?;
    // `len` was checked against MAX_RECORD_PAYLOAD; `take` checks it
    // against the bytes present.
    let payload = r.take(usize::from(header.len)).ok_or(RecordError::Short)?;
    Ok((Record { header, payload }, r.rest()))
}

/// The probe's answer: is this the start of a TLS stream?
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Looks {
    Yes,
    No,
    /// Consistent so far; more bytes decide.
    NeedMore,
}

/// Smallest ClientHello / ServerHello body: version (2), random (32),
/// session id length (1), suites (2 + 2 or 2), compression (1 + 1 or 1).
const MIN_CLIENT_HELLO: u32 = 2 + 32 + 1 + 2 + 2 + 1 + 1;
const MIN_SERVER_HELLO: u32 = 2 + 32 + 1 + 2 + 1;

/// Bytes [`looks_like_client_hello`] wants before answering `Yes` (fewer
/// when the first record is shorter): the record header, the handshake
/// header and the hello's `legacy_version`.
pub const HELLO_SNIFF_LEN: usize = HEADER_LEN + 4 + 2;

/// Does `b` look like the start of a TLS stream from a client? That is a
/// handshake record (`16 03 00..=04`, 1..=[`MAX_RECORD_PAYLOAD`] bytes)
/// whose payload starts a ClientHello (type 1) of plausible length with a
/// `legacy_version` of 3.x. Fields that lie beyond a (tiny) first record are
/// not judged. `NeedMore` while `b` is a consistent prefix; `Yes`/`No` never
/// change as more bytes arrive.
pub fn looks_like_client_hello(b: &[u8]) -> Looks {
    looks_like_hello(b, 1, MIN_CLIENT_HELLO)
}

/// Does `b` start with a handshake record whose first message is a
/// ServerHello (type 2)? The same checks as [`looks_like_client_hello`];
/// for telling the server from the client mid-stream.
pub fn looks_like_server_hello(b: &[u8]) -> Looks {
    looks_like_hello(b, 2, MIN_SERVER_HELLO)
}

fn looks_like_hello(b: &[u8], msg_type: u8, min_body: u32) -> Looks {
    let header = match parse_header(b) {
        Ok(h) => h,
        Err(RecordError::Short) => {
            // Content type and version bytes present so far are fine; a
            // handshake record is still required.
            return match b.first() {
                Some(&t) if t != ContentType::HANDSHAKE.0 => Looks::No,
                _ => Looks::NeedMore,
            };
        }
        Err(_) => return Looks::No,
    };
    if header.content_type != ContentType::HANDSHAKE || header.len == 0 {
        return Looks::No;
    }
    // Only the bytes inside this record are judged: a hello split into
    // several records continues in the next one, after another header.
    let payload_end = header.total_len();
    let visible = b.get(HEADER_LEN..payload_end.min(b.len())).unwrap_or(&[]);
    let mut r = Reader::new(visible);
    let in_record = usize::from(header.len);
    // Each step: the field is judged if present; if the record ends before
    // it, the answer is what was seen so far; if the buffer ends, wait.
    let need = |have: usize| {
        if in_record <= have {
            Looks::Yes
        } else {
            Looks::NeedMore
        }
    };
    match r.u8() {
        Some(t) if t == msg_type => {}
        Some(_) => return Looks::No,
        None => return need(0),
    }
    match r.u24() {
        Some(len) if len < min_body => return Looks::No,
        Some(_) => {}
        // The length field may straddle the record end (a 2-byte first record).
        None => return need(r.used().saturating_add(r.left())),
    }
    match r.u8() {
        Some(3) => {}
        Some(_) => return Looks::No,
        None => return need(r.used()),
    }
    match r.u8() {
        Some(minor) if minor <= 4 => Looks::Yes,
        Some(_) => Looks::No,
        None => need(r.used()),
    }
}

/// Is `b[i..]` a plausible record header for resynchronisation? Stricter
/// than [`parse_header`]: version 0x0301..=0x0304 (no SSL 3.0). `None` when
/// the header is cut short by the end of `b` but consistent so far.
fn plausible_at(b: &[u8], i: usize) -> Option<Result<RecordHeader, ()>> {
    let at = b.get(i..)?;
    match parse_header(at) {
        Ok(h) if h.version >= 0x0301 => Some(Ok(h)),
        Ok(_) => Some(Err(())),
        Err(RecordError::Short) => {
            // Cut short but consistent so far, unless the minor version byte
            // is already there and says SSL 3.0.
            if at.get(2) == Some(&0) {
                Some(Err(()))
            } else {
                None
            }
        }
        Err(_) => Some(Err(())),
    }
}

/// The first offset `i >= from` where a plausible record header starts:
/// content type 20..=24, version 0x0301..=0x0304, length at most
/// [`MAX_RECORD_PAYLOAD`], and — when `b` reaches that far — the record
/// either ends exactly at `b.len()` or is followed by another plausible
/// header (or a prefix of one, at the end of `b`).
///
/// The header at `i` must be complete: `None` means none was found in
/// `b[from..]`, but one may still begin in the last `HEADER_LEN - 1` bytes,
/// so a caller resynchronising should keep those and retry with more data.
/// Random bytes pass with a probability of about 1e-6 per offset, two
/// chained headers about 1e-12.
pub fn find_record_start(b: &[u8], from: usize) -> Option<usize> {
    let last = b.len().checked_sub(HEADER_LEN)?;
    (from..=last).find(|&i| {
        let Some(Ok(h)) = plausible_at(b, i) else {
            return false;
        };
        // i <= b.len() - 5 and total_len <= 5 + 18432: no overflow.
        let next = i.saturating_add(h.total_len());
        match next.cmp(&b.len()) {
            std::cmp::Ordering::Greater | std::cmp::Ordering::Equal => true,
            // A next header cut short (`None`) is accepted as far as it goes.
            std::cmp::Ordering::Less => !matches!(plausible_at(b, next), Some(Err(()))),
        }
    })
}

#[cfg(test)]
#[allow(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::arithmetic_side_effects
)]
mod tests {
    use super::*;
    use crate::tls::hello::testdata;

    #[test]
    fn content_type_names() {
        assert_eq!(ContentType::HANDSHAKE.name(), Some("handshake"));
        assert_eq!(ContentType(23).to_string(), "application_data");
        assert_eq!(ContentType(25).name(), None);
        assert_eq!(ContentType(0x47).to_string(), "unknown-0x47");
    }

    #[test]
    fn header_fields() {
        let h = parse_header(&[0x16, 0x03, 0x01, 0x00, 0xc3, 0x01]).unwrap();
        assert_eq!(
            h,
            RecordHeader {
                content_type: ContentType::HANDSHAKE,
                version: 0x0301,
                len: 0xc3
            }
        );
        assert_eq!(h.total_len(), 0xc8);
        let h = parse_header(&[0x17, 0x03, 0x03, 0x48, 0x00]).unwrap();
        assert_eq!(h.len as usize, MAX_RECORD_PAYLOAD);
        // SSL 3.0 and TLS 1.3's number are accepted.
        assert!(parse_header(&[0x15, 0x03, 0x00, 0x00, 0x02]).is_ok());
        assert!(parse_header(&[0x14, 0x03, 0x04, 0x00, 0x01]).is_ok());
        // Zero-length records are headers like any other.
        assert!(parse_header(&[0x17, 0x03, 0x03, 0x00, 0x00]).is_ok());
    }

    #[test]
    fn header_errors_as_soon_as_visible() {
        assert_eq!(parse_header(&[]), Err(RecordError::Short));
        assert_eq!(parse_header(b"G"), Err(RecordError::BadContentType(b'G')));
        assert_eq!(parse_header(&[0x13]), Err(RecordError::BadContentType(0x13)));
        assert_eq!(parse_header(&[0x19]), Err(RecordError::BadContentType(0x19)));
        assert_eq!(parse_header(&[0x16]), Err(RecordError::Short));
        assert_eq!(parse_header(&[0x16, 0x02]), Err(RecordError::BadVersion(0x0200)));
        assert_eq!(
            parse_header(&[0x16, 0x04, 0x01]),
            Err(RecordError::BadVersion(0x0401))
        );
        assert_eq!(parse_header(&[0x16, 0x03]), Err(RecordError::Short));
        assert_eq!(
            parse_header(&[0x16, 0x03, 0x05]),
            Err(RecordError::BadVersion(0x0305))
        );
        assert_eq!(parse_header(&[0x16, 0x03, 0x03, 0x48]), Err(RecordError::Short));
        assert_eq!(
            parse_header(&[0x17, 0x03, 0x03, 0x48, 0x01]),
            Err(RecordError::TooLong(0x4801))
        );
        assert_eq!(
            parse_header(&[0x17, 0x03, 0x03, 0xff, 0xff]),
            Err(RecordError::TooLong(0xffff))
        );
    }

    #[test]
    fn records_split_off_a_buffer() {
        let flight = testdata::flight("tls12_full", 1); // ServerHello .. ServerHelloDone
        let mut rest = &flight[..];
        let mut seen = Vec::new();
        while !rest.is_empty() {
            let (rec, tail) = parse_record(rest).unwrap();
            assert_eq!(rec.payload.len(), rec.header.len as usize);
            seen.push((rec.header.content_type, rec.header.len, rec.payload[0]));
            rest = tail;
        }
        // OpenSSL sends one handshake message per record.
        let types: Vec<u8> = seen.iter().map(|s| s.2).collect();
        assert_eq!(types, [2, 11, 12, 14]);
        assert!(seen.iter().all(|s| s.0 == ContentType::HANDSHAKE));

        // Every strict prefix is Short, never an error or a record.
        let (first, _) = parse_record(&flight).unwrap();
        for n in 0..first.header.total_len() {
            assert_eq!(parse_record(&flight[..n]), Err(RecordError::Short), "prefix {n}");
        }
    }

    #[test]
    fn tls13_server_flight_records() {
        // ServerHello, the compatibility ChangeCipherSpec, then encrypted
        // records disguised as application data.
        let flight = testdata::flight("tls13_full", 1);
        let mut rest = &flight[..];
        let mut types = Vec::new();
        while !rest.is_empty() {
            let (rec, tail) = parse_record(rest).unwrap();
            assert_eq!(rec.header.version, 0x0303);
            types.push(rec.header.content_type);
            rest = tail;
        }
        assert_eq!(types[0], ContentType::HANDSHAKE);
        assert_eq!(types[1], ContentType::CHANGE_CIPHER_SPEC);
        assert!(types[2..].iter().all(|t| *t == ContentType::APPLICATION_DATA));
        assert!(types.len() > 2);
    }

    #[test]
    fn client_hello_probe() {
        for name in ["tls12_full", "tls12_resumed", "tls13_full"] {
            let ch = testdata::flight(name, 0);
            assert_eq!(looks_like_client_hello(&ch), Looks::Yes, "{name}");
            assert_eq!(looks_like_server_hello(&ch), Looks::No, "{name}");
            let sh = testdata::flight(name, 1);
            assert_eq!(looks_like_server_hello(&sh), Looks::Yes, "{name}");
            assert_eq!(looks_like_client_hello(&sh), Looks::No, "{name}");
            // Prefixes: NeedMore until the hello's version, then Yes.
            for n in 0..ch.len() {
                let want = if n < HELLO_SNIFF_LEN {
                    Looks::NeedMore
                } else {
                    Looks::Yes
                };
                assert_eq!(looks_like_client_hello(&ch[..n]), want, "{name} prefix {n}");
            }
        }
        // Other protocols and garbage.
        assert_eq!(looks_like_client_hello(b"GET / HTTP/1.1\r\n"), Looks::No);
        assert_eq!(looks_like_client_hello(b"PRI * HTTP/2.0\r\n"), Looks::No);
        assert_eq!(looks_like_client_hello(&[0x81, 0x85]), Looks::No);
        assert_eq!(looks_like_client_hello(&[]), Looks::NeedMore);
        assert_eq!(looks_like_client_hello(&[0x16, 0x03]), Looks::NeedMore);
        // Application data from the client: TLS, but not a hello.
        assert_eq!(looks_like_client_hello(&[0x17, 0x03, 0x03, 0, 5]), Looks::No);
        assert_eq!(looks_like_client_hello(&[0x17]), Looks::No);
        // A handshake record whose message is not a ClientHello.
        let mut not_hello = testdata::flight("tls12_full", 0);
        not_hello[5] = 0x10;
        assert_eq!(looks_like_client_hello(&not_hello), Looks::No);
        // Impossible hello length, bad hello version, empty record.
        assert_eq!(
            looks_like_client_hello(&[0x16, 3, 1, 0, 8, 1, 0, 0, 4, 3, 3]),
            Looks::No
        );
        assert_eq!(
            looks_like_client_hello(&[0x16, 3, 1, 0, 0x40, 1, 0, 0, 0x3c, 0x16, 3]),
            Looks::No
        );
        assert_eq!(looks_like_client_hello(&[0x16, 3, 1, 0, 0, 1]), Looks::No);
    }

    #[test]
    fn hello_split_across_tiny_records() {
        // A ClientHello whose first record carries only the type byte and
        // part of the length: judged as far as the record goes.
        let b = [0x16, 3, 1, 0, 2, 1, 0, 0x16, 3, 1, 0, 0x40];
        assert_eq!(looks_like_client_hello(&b), Looks::Yes);
        assert_eq!(looks_like_client_hello(&b[..6]), Looks::NeedMore);
        assert_eq!(looks_like_client_hello(&b[..7]), Looks::Yes);
        assert_eq!(looks_like_client_hello(&[0x16, 3, 1, 0, 1, 1]), Looks::Yes);
        assert_eq!(looks_like_client_hello(&[0x16, 3, 1, 0, 1, 2]), Looks::No);
    }

    /// A deterministic byte soup without a plausible header at any offset.
    fn garbage(n: usize) -> Vec<u8> {
        let mut x: u32 = 0x1234_5678;
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                // Keep clear of 0x14..=0x18 so no header can start here.
                let b = (x >> 24) as u8;
                if (0x14..=0x18).contains(&b) { b ^ 0x40 } else { b }
            })
            .collect()
    }

    #[test]
    fn find_record_start_after_garbage() {
        let records = testdata::flight("tls13_full", 1);
        let junk = garbage(300);
        assert_eq!(find_record_start(&junk, 0), None);

        let mut b = junk.clone();
        b.extend_from_slice(&records);
        assert_eq!(find_record_start(&b, 0), Some(junk.len()));
        // Starting inside the first record skips to the second.
        let first = parse_header(&records).unwrap().total_len();
        assert_eq!(find_record_start(&b, junk.len() + 1), Some(junk.len() + first));
        // `from` past the end.
        assert_eq!(find_record_start(&b, b.len() + 10), None);
        assert_eq!(find_record_start(&[], 0), None);
        // A lone header whose record runs past the buffer.
        assert_eq!(find_record_start(&[0x17, 3, 3, 1, 0, 9, 9], 0), Some(0));
        // A record ending exactly at the end of the buffer.
        assert_eq!(find_record_start(&[0x17, 3, 3, 0, 2, 9, 9], 0), Some(0));
        // A record followed by a partial header that fits, and one that does not.
        assert_eq!(find_record_start(&[0x17, 3, 3, 0, 1, 9, 0x17, 3], 0), Some(0));
        assert_eq!(find_record_start(&[0x17, 3, 3, 0, 1, 9, 0x17, 4], 0), None);
        // A complete header cut at the end: not found, keep the tail.
        assert_eq!(find_record_start(&[9, 9, 0x17, 3, 3, 0], 0), None);
    }

    #[test]
    fn find_record_start_rejects_lone_lookalikes() {
        // A header-shaped run inside ciphertext, whose "next header" is junk.
        let mut b = garbage(64);
        b[10..15].copy_from_slice(&[0x17, 0x03, 0x03, 0x00, 0x04]);
        assert_eq!(find_record_start(&b, 0), None);
        // SSL 3.0 numbers and TLS 1.3+ future versions are not resync points.
        let mut b = garbage(64);
        b[10..15].copy_from_slice(&[0x17, 0x03, 0x00, 0x00, 0x04]);
        b[19..24].copy_from_slice(&[0x17, 0x03, 0x00, 0x00, 0x04]);
        assert_eq!(find_record_start(&b, 0), None);
        // ... while TLS 1.2 records chain.
        b[12] = 3;
        b[21] = 3;
        assert_eq!(find_record_start(&b, 0), Some(10));
    }

    #[test]
    fn find_record_start_in_real_streams() {
        for name in ["tls12_full", "tls12_resumed", "tls13_full"] {
            for dir in 0..2 {
                let s = testdata::direction(name, dir);
                // Every record boundary is found from just after the previous.
                let mut at = 0;
                let mut rest = &s[..];
                while !rest.is_empty() {
                    assert_eq!(find_record_start(&s, at), Some(at), "{name}/{dir}");
                    let (rec, tail) = parse_record(rest).unwrap();
                    at += rec.header.total_len();
                    rest = tail;
                }
            }
        }
    }
}
