//! Heads over the size cap ([`MAX_HEAD_BYTES`]): memory stays bounded, the
//! analysis goes on.
//!
//! A head that has not ended within the cap keeps its first
//! `MAX_HEAD_BYTES` (the request or status line and the headers that fit);
//! every later byte is only scanned for the end of the head ([`EndScan`],
//! which carries a terminator split across chunks) and counted. Once the
//! end is found, the kept part is parsed as a head of its complete lines
//! ([`cut_request`], [`cut_response`]): a header cut by the cap is dropped,
//! never guessed at. The connection then goes on as after any head, so the
//! frames after a `101` are still decoded.

#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::arithmetic_side_effects
)]

use super::handshake::{
    HeadError, MAX_HEAD_BYTES, RequestHead, ResponseHead, request_head_from, response_head_from,
};

/// Where a scan stands in the bytes that can end a head: the same two
/// terminators [`super::handshake::head_end`] looks for, `CRLF CRLF` and a
/// bare `LF LF`. Only the last three bytes matter, so the state is all a
/// scan needs to carry from one chunk to the next.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum EndScan {
    /// Inside a line.
    #[default]
    Mid,
    Cr,
    CrLf,
    Lf,
    CrLfCr,
}

impl EndScan {
    /// Feeds `bytes`: the index just past the end of the head if it ends
    /// among them, else `None` (and the state carries on).
    pub fn find(&mut self, bytes: &[u8]) -> Option<usize> {
        let mut i = 0usize;
        loop {
            if *self == EndScan::Mid {
                // Only CR or LF can move the scan on: jump to the next one.
                i = i.saturating_add(memchr::memchr2(b'\r', b'\n', bytes.get(i..)?)?);
            }
            let b = *bytes.get(i)?;
            i = i.saturating_add(1);
            *self = match (*self, b) {
                (EndScan::CrLf | EndScan::Lf | EndScan::CrLfCr, b'\n') => {
                    *self = EndScan::Mid;
                    return Some(i);
                }
                (EndScan::Cr, b'\n') => EndScan::CrLf,
                (_, b'\n') => EndScan::Lf,
                (EndScan::CrLf, b'\r') => EndScan::CrLfCr,
                (_, b'\r') => EndScan::Cr,
                _ => EndScan::Mid,
            };
        }
    }
}

/// A head past the cap, being scanned for its end.
#[derive(Debug)]
pub struct Overflow {
    /// Leading bytes of the stream's buffer that are the kept part of the
    /// head (at most [`MAX_HEAD_BYTES`]).
    pub kept: usize,
    /// Bytes of the head after the kept part: scanned and counted, not kept.
    pub skipped: u64,
    pub scan: EndScan,
    /// The end was found: the buffer after `kept` is what follows the head.
    pub ended: bool,
    /// [`super::HttpItem::HeadTooLong`] was returned for this head.
    pub reported: bool,
}

/// The complete lines of a cut head, closed with an empty line, so that the
/// ordinary grammar parses them, and how many kept bytes they are; `None`
/// if not even the first line is whole.
fn closed(kept: &[u8]) -> Option<(Vec<u8>, usize)> {
    let last_lf = memchr::memrchr(b'\n', kept)?;
    let lines = kept.get(..=last_lf)?;
    let mut head = Vec::with_capacity(lines.len().saturating_add(2));
    head.extend_from_slice(lines);
    // Close in the style of the last line: the grammar's terminators are
    // CRLF CRLF and LF LF.
    if lines.ends_with(b"\r\n") {
        head.extend_from_slice(b"\r\n");
    } else {
        head.push(b'\n');
    }
    Some((head, lines.len()))
}

fn first_line_too_long() -> HeadError {
    HeadError::Malformed(format!(
        "the first line of the head is longer than the {MAX_HEAD_BYTES}-byte limit"
    ))
}

/// The request head of which `kept` is the start and `head_len` the whole
/// length (`kept` included, terminator included).
pub fn cut_request(kept: &[u8], head_len: usize) -> Result<RequestHead, HeadError> {
    let (head, parsed) = closed(kept).ok_or_else(first_line_too_long)?;
    let mut h = request_head_from(&head, head.len())?;
    h.not_kept = head_len.saturating_sub(parsed) as u64;
    h.head_len = head_len;
    Ok(h)
}

/// The response head of which `kept` is the start; see [`cut_request`].
pub fn cut_response(kept: &[u8], head_len: usize) -> Result<ResponseHead, HeadError> {
    let (head, parsed) = closed(kept).ok_or_else(first_line_too_long)?;
    let mut h = response_head_from(&head, head.len())?;
    h.not_kept = head_len.saturating_sub(parsed) as u64;
    h.head_len = head_len;
    Ok(h)
}

#[cfg(test)]
#[allow(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::arithmetic_side_effects
)]
mod tests {
    use super::*;
    use crate::http::handshake::head_end;

    /// The scan agrees with `head_end` on every split of every input.
    #[test]
    fn scan_matches_head_end_across_any_split() {
        let inputs: &[&[u8]] = &[
            b"a: b\r\n\r\nrest",
            b"a\n\nrest",
            b"a\r\n\nrest",
            b"a\n\r\nb\r\n\r\n",
            b"a\r\r\n\r\n",
            b"a\r\n\r\r\n\r\n",
            b"no end\r\n",
            b"\r\n\r",
        ];
        for inp in inputs {
            let want = head_end(inp);
            for cut in 0..=inp.len() {
                let mut s = EndScan::default();
                let got = match s.find(&inp[..cut]) {
                    Some(p) => Some(p),
                    None => s.find(&inp[cut..]).map(|p| p + cut),
                };
                assert_eq!(got, want, "{inp:?} cut {cut}");
            }
        }
    }

    #[test]
    fn cut_heads_keep_their_complete_lines() {
        let kept = b"GET /chat HTTP/1.1\r\nUpgrade: websocket\r\nX-Pad: aaaa\r\nX-Half: bb";
        let h = cut_request(kept, 100_000).unwrap();
        assert_eq!((h.method.as_str(), h.target.as_str()), ("GET", "/chat"));
        assert!(h.is_websocket_upgrade());
        assert_eq!(h.headers.get("x-pad"), Some("aaaa"));
        // The header cut by the cap is not guessed at.
        assert_eq!(h.headers.get("x-half"), None);
        assert_eq!(h.head_len, 100_000);
        assert_eq!(h.not_kept, 100_000 - (kept.len() as u64 - 10));
        // Bare-LF heads are closed the same way.
        let h = cut_response(b"HTTP/1.1 101 Switching\nUpgrade: websocket\nX: y", 70_000).unwrap();
        assert_eq!(h.status, 101);
        assert_eq!(h.headers.get("upgrade"), Some("websocket"));
        assert!(matches!(
            cut_request(b"GET /aaaaaaaa", 70_000),
            Err(HeadError::Malformed(_))
        ));
        assert!(matches!(
            cut_request(b"\x81\x05hello\r\n", 70_000),
            Err(HeadError::Malformed(_))
        ));
    }
}
