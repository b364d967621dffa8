//! One direction of an HTTP/1.x connection, parsed incrementally.
//!
//! [`HttpStream`]: bytes are [`push`](HttpStream::push)ed in as they
//! arrive, and [`next_item`](HttpStream::next_item) pulls out complete
//! request or response heads. After a head the caller says how its body is
//! framed ([`HttpStream::skip_body`]); body bytes are skipped without being
//! buffered. Heads are capped at [`MAX_HEAD_BYTES`]: beyond that the stream
//! reports [`HttpItem::HeadTooLong`] once, keeps only the first
//! `MAX_HEAD_BYTES`, scans the rest for the end of the head without keeping
//! it, and then returns the head parsed from what was kept (see
//! [`super::cap`]). Memory is bounded; the connection's analysis goes on.

#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::arithmetic_side_effects
)]

use super::cap::{EndScan, Overflow, cut_request, cut_response};
use super::handshake::*;

/// Longest chunk-size / trailer line accepted in a chunked body.
const MAX_CHUNK_LINE: usize = 4096;

// ------------------------------------------------------------ body skipping

#[derive(Clone, Debug, PartialEq, Eq)]
enum Chunk {
    /// Reading the chunk-size line.
    Size,
    /// Inside chunk data, this many bytes left (plus its CRLF).
    Data(u64),
    /// The CRLF after chunk data (may be split).
    DataEnd,
    /// Trailer lines after the last chunk, until an empty line.
    Trailer,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Body {
    Length(u64),
    Chunked { state: Chunk, line: Vec<u8> },
    UntilClose,
}

/// Result of consuming body bytes.
enum BodyStep {
    /// Consumed this many bytes; the body goes on.
    More(usize),
    /// Consumed this many bytes; the body is complete.
    Done(usize),
    Error(String),
}

impl Body {
    fn new(f: BodyFraming) -> Option<Body> {
        match f {
            BodyFraming::None | BodyFraming::Length(0) => None,
            BodyFraming::Length(n) => Some(Body::Length(n)),
            BodyFraming::Chunked => Some(Body::Chunked {
                state: Chunk::Size,
                line: Vec::new(),
            }),
            BodyFraming::UntilClose => Some(Body::UntilClose),
        }
    }

    fn consume(&mut self, buf: &[u8]) -> BodyStep {
        match self {
            Body::UntilClose => BodyStep::More(buf.len()),
            Body::Length(left) => {
                // `take` fits in usize: it is at most buf.len().
                let take = usize::try_from(*left).unwrap_or(usize::MAX).min(buf.len());
                *left = left.saturating_sub(take as u64);
                if *left == 0 {
                    BodyStep::Done(take)
                } else {
                    BodyStep::More(take)
                }
            }
            Body::Chunked { state, line } => {
                let mut pos = 0usize;
                loop {
                    let Some(rest) = buf.get(pos..) else {
                        return BodyStep::More(buf.len());
                    };
                    if rest.is_empty() {
                        return BodyStep::More(pos);
                    }
                    match state {
                        Chunk::Data(left) => {
                            let take = usize::try_from(*left).unwrap_or(usize::MAX).min(rest.len());
                            *left = left.saturating_sub(take as u64);
                            pos = pos.saturating_add(take);
                            if *left == 0 {
                                *state = Chunk::DataEnd;
                                line.clear();
                            }
                        }
                        Chunk::Size | Chunk::DataEnd | Chunk::Trailer => {
                            let nl = memchr::memchr(b'\n', rest);
                            let take = nl.map_or(rest.len(), |p| p.saturating_add(1));
                            line.extend_from_slice(rest.get(..take).unwrap_or(rest));
                            pos = pos.saturating_add(take);
                            if line.len() > MAX_CHUNK_LINE {
                                return BodyStep::Error("chunk line too long".into());
                            }
                            if nl.is_none() {
                                continue;
                            }
                            let text = String::from_utf8_lossy(line.trim_ascii()).into_owned();
                            line.clear();
                            match state {
                                Chunk::DataEnd => *state = Chunk::Size,
                                Chunk::Trailer => {
                                    if text.is_empty() {
                                        return BodyStep::Done(pos);
                                    }
                                }
                                _ => {
                                    let hexpart = text.split(';').next().unwrap_or("").trim();
                                    match u64::from_str_radix(hexpart, 16) {
                                        Ok(0) => *state = Chunk::Trailer,
                                        Ok(n) => *state = Chunk::Data(n),
                                        Err(_) => {
                                            return BodyStep::Error(format!("bad chunk size {hexpart:?}"));
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

// ------------------------------------------------------------ the stream

/// Which heads a [`HttpStream`] expects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    Request,
    Response,
}

/// What [`HttpStream::next`] found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HttpItem {
    Request(RequestHead),
    Response(ResponseHead),
    /// Need more bytes.
    NeedMore,
    /// The head being read passed [`MAX_HEAD_BYTES`] (returned once per
    /// head). Its end is still looked for; the head follows, parsed from its
    /// first `MAX_HEAD_BYTES` (`not_kept` says how much was skipped).
    HeadTooLong,
    /// The stream is not (or no longer) parseable HTTP; the buffered bytes
    /// stay available through [`HttpStream::take_buffered`].
    Error(HeadError),
}

/// One direction of an HTTP/1.x connection.
#[derive(Debug)]
pub struct HttpStream {
    side: Side,
    buf: Vec<u8>,
    body: Option<Body>,
    /// A head past the cap being scanned for its end.
    overflow: Option<Box<Overflow>>,
    /// Bytes consumed so far (heads, also the skipped part of a head over
    /// the cap, and bodies).
    consumed: u64,
}

impl HttpStream {
    pub fn new(side: Side) -> Self {
        HttpStream {
            side,
            buf: Vec::new(),
            body: None,
            overflow: None,
            consumed: 0,
        }
    }

    /// Add stream bytes. Body bytes, and the bytes of a head past the cap,
    /// are skipped without buffering.
    pub fn push(&mut self, mut bytes: &[u8]) {
        if let Some(ov) = self.overflow.as_mut()
            && !ov.ended
        {
            let skip = match ov.scan.find(bytes) {
                Some(end) => {
                    ov.ended = true;
                    end
                }
                None => bytes.len(),
            };
            ov.skipped = ov.skipped.saturating_add(skip as u64);
            self.consumed = self.consumed.saturating_add(skip as u64);
            bytes = bytes.get(skip..).unwrap_or_default();
        }
        if self.buf.is_empty() {
            while let Some(body) = self.body.as_mut() {
                if bytes.is_empty() {
                    return;
                }
                match body.consume(bytes) {
                    BodyStep::More(n) => {
                        self.consumed = self.consumed.saturating_add(n as u64);
                        bytes = bytes.get(n..).unwrap_or_default();
                    }
                    BodyStep::Done(n) => {
                        self.consumed = self.consumed.saturating_add(n as u64);
                        bytes = bytes.get(n..).unwrap_or_default();
                        self.body = None;
                    }
                    // Keep the bytes; next() reports the error.
                    BodyStep::Error(_) => break,
                }
            }
        }
        self.buf.extend_from_slice(bytes);
    }

    /// Bytes consumed as heads or bodies so far.
    pub fn consumed(&self) -> u64 {
        self.consumed
    }

    /// Bytes buffered and not yet parsed.
    pub fn buffered(&self) -> &[u8] {
        &self.buf
    }

    /// Take the unparsed bytes (e.g. the start of the WebSocket stream after
    /// an upgrade).
    pub fn take_buffered(&mut self) -> Vec<u8> {
        // A head over the cap being scanned is taken with its kept part.
        self.overflow = None;
        std::mem::take(&mut self.buf)
    }

    /// After a head, skip a body framed as `f`.
    pub fn skip_body(&mut self, f: BodyFraming) {
        self.body = Body::new(f);
    }

    /// Is a body being skipped that runs until the connection closes?
    pub fn in_body_until_close(&self) -> bool {
        matches!(self.body, Some(Body::UntilClose))
    }

    /// The next head, skipping body bytes in the buffer first.
    pub fn next_item(&mut self) -> HttpItem {
        while let Some(body) = self.body.as_mut() {
            if self.buf.is_empty() {
                return HttpItem::NeedMore;
            }
            match body.consume(&self.buf) {
                BodyStep::More(n) => {
                    self.consumed = self.consumed.saturating_add(n as u64);
                    self.buf.drain(..n.min(self.buf.len()));
                }
                BodyStep::Done(n) => {
                    self.consumed = self.consumed.saturating_add(n as u64);
                    self.buf.drain(..n.min(self.buf.len()));
                    self.body = None;
                }
                BodyStep::Error(e) => {
                    self.body = None;
                    return HttpItem::Error(HeadError::Malformed(e));
                }
            }
        }
        if self.overflow.is_some() {
            return self.overflowing();
        }
        if self.buf.is_empty() {
            return HttpItem::NeedMore;
        }
        let item = match self.side {
            Side::Request => parse_request_head(&self.buf).map(|o| o.map(HttpItem::Request)),
            Side::Response => parse_response_head(&self.buf).map(|o| o.map(HttpItem::Response)),
        };
        match item {
            Ok(Some(item)) => {
                let len = match &item {
                    HttpItem::Request(h) => h.head_len,
                    HttpItem::Response(h) => h.head_len,
                    _ => 0,
                };
                self.consumed = self.consumed.saturating_add(len as u64);
                self.buf.drain(..len.min(self.buf.len()));
                item
            }
            Ok(None) => HttpItem::NeedMore,
            Err(HeadError::TooLong) => {
                self.start_overflow();
                self.overflowing()
            }
            Err(e) => HttpItem::Error(e),
        }
    }

    /// The buffered head has no end within the cap (or ends past it): keep
    /// its first [`MAX_HEAD_BYTES`], scan and drop the rest.
    fn start_overflow(&mut self) {
        let kept = MAX_HEAD_BYTES.min(self.buf.len());
        let rest = self.buf.split_off(kept);
        // No terminator ends within the kept bytes (the cap would not have
        // been hit), but one may straddle the cut: its last three bytes
        // seed the scan.
        let mut scan = EndScan::default();
        let _ = scan.find(self.buf.get(kept.saturating_sub(3)..).unwrap_or_default());
        let mut ov = Box::new(Overflow {
            kept,
            skipped: 0,
            scan,
            ended: false,
            reported: false,
        });
        let skip = match ov.scan.find(&rest) {
            Some(end) => {
                ov.ended = true;
                end
            }
            None => rest.len(),
        };
        ov.skipped = skip as u64;
        self.consumed = self.consumed.saturating_add(skip as u64);
        self.buf.extend_from_slice(rest.get(skip..).unwrap_or_default());
        self.overflow = Some(ov);
    }

    /// The next item of a head over the cap: the report, then nothing until
    /// its end, then the head parsed from the kept part.
    fn overflowing(&mut self) -> HttpItem {
        let Some(ov) = self.overflow.as_mut() else {
            return HttpItem::NeedMore;
        };
        if !ov.reported {
            ov.reported = true;
            return HttpItem::HeadTooLong;
        }
        if !ov.ended {
            return HttpItem::NeedMore;
        }
        let kept = ov.kept.min(self.buf.len());
        let head_len = usize::try_from(ov.skipped)
            .unwrap_or(usize::MAX)
            .saturating_add(kept);
        self.overflow = None;
        let head = self.buf.get(..kept).unwrap_or_default();
        let item = match self.side {
            Side::Request => cut_request(head, head_len).map(HttpItem::Request),
            Side::Response => cut_response(head, head_len).map(HttpItem::Response),
        };
        match item {
            Ok(item) => {
                self.consumed = self.consumed.saturating_add(kept as u64);
                self.buf.drain(..kept);
                item
            }
            // The kept bytes stay for `take_buffered`, as with any error.
            Err(e) => HttpItem::Error(e),
        }
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

    const REQ: &[u8] = b"GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\n\
Connection: keep-alive, Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
Origin: http://example.com\r\nSec-WebSocket-Version: 13\r\n\r\n";
    const RESP: &[u8] = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";

    #[test]
    fn split_at_every_byte_boundary() {
        for data in [REQ, RESP] {
            for cut in 0..=data.len() {
                let side = if data == REQ {
                    Side::Request
                } else {
                    Side::Response
                };
                let mut s = HttpStream::new(side);
                s.push(&data[..cut]);
                let first = s.next_item();
                if cut < data.len() {
                    assert_eq!(first, HttpItem::NeedMore, "cut {cut}");
                    s.push(&data[cut..]);
                    let second = s.next_item();
                    assert!(
                        matches!(second, HttpItem::Request(_) | HttpItem::Response(_)),
                        "cut {cut}"
                    );
                } else {
                    assert!(matches!(first, HttpItem::Request(_) | HttpItem::Response(_)));
                }
                assert_eq!(s.consumed(), data.len() as u64);
                assert!(s.buffered().is_empty());
            }
        }
    }

    #[test]
    fn pipelined_requests_with_bodies_skipped() {
        let mut c = HttpStream::new(Side::Request);
        let mut data = b"POST /a HTTP/1.1\r\nContent-Length: 5\r\n\r\nhelloGET /b HTTP/1.1\r\n\r\n".to_vec();
        data.extend_from_slice(REQ);
        data.extend_from_slice(b"\x81\x85");
        // feed in 3-byte chunks
        let mut heads = Vec::new();
        for ch in data.chunks(3) {
            c.push(ch);
            loop {
                match c.next_item() {
                    HttpItem::Request(h) => {
                        c.skip_body(h.body_framing());
                        heads.push(h);
                        if heads.len() == 3 {
                            break;
                        }
                    }
                    HttpItem::NeedMore => break,
                    other => panic!("{other:?}"),
                }
            }
            if heads.len() == 3 {
                break;
            }
        }
        let targets: Vec<&str> = heads.iter().map(|h| h.target.as_str()).collect();
        assert_eq!(targets, ["/a", "/b", "/chat"]);
    }

    /// An upgrade request with `n` filler headers between its first headers
    /// and its key, then two frame bytes.
    fn huge_request(n: usize) -> Vec<u8> {
        let mut v = b"GET /big HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n".to_vec();
        for i in 0..n {
            v.extend_from_slice(format!("X-Filler-{i}: {i}\r\n").as_bytes());
        }
        v.extend_from_slice(b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n\x81\x80");
        v
    }

    #[test]
    fn head_over_the_cap_is_skipped_to_its_end_not_kept() {
        let data = huge_request(50_000);
        let head_len = data.len() - 2;
        assert!(head_len > 10 * MAX_HEAD_BYTES);
        // Chunk sizes that put the terminator across chunk boundaries.
        for chunk in [1000, 1447, head_len - 1, head_len - 3, data.len()] {
            let mut s = HttpStream::new(Side::Request);
            let (mut pushed, mut reports, mut heads) = (0u64, 0, Vec::new());
            for part in data.chunks(chunk) {
                s.push(part);
                pushed += part.len() as u64;
                loop {
                    let item = s.next_item();
                    assert_eq!(s.consumed() + s.buffered().len() as u64, pushed, "chunk {chunk}");
                    match item {
                        HttpItem::HeadTooLong => reports += 1,
                        HttpItem::Request(h) => heads.push(h),
                        HttpItem::NeedMore => break,
                        other => panic!("chunk {chunk}: {other:?}"),
                    }
                }
                // Bounded: the kept part plus (at most) one chunk.
                assert!(s.buffered().len() <= MAX_HEAD_BYTES + chunk, "chunk {chunk}");
            }
            assert_eq!(reports, 1, "chunk {chunk}");
            assert_eq!(heads.len(), 1, "chunk {chunk}");
            let h = &heads[0];
            assert!(h.is_websocket_upgrade());
            assert_eq!(h.headers.get("x-filler-0"), Some("0"));
            // The key came after the cap: not seen, not invented.
            assert_eq!(h.headers.get("sec-websocket-key"), None);
            assert_eq!(h.head_len, head_len);
            assert!(h.not_kept > (head_len - MAX_HEAD_BYTES) as u64);
            assert_eq!(s.take_buffered(), b"\x81\x80", "chunk {chunk}");
        }
    }

    #[test]
    fn a_head_ending_just_past_the_cap() {
        // The terminator straddles the cap: CR LF CR | LF.
        let mut data = b"GET / HTTP/1.1\r\nX: ".to_vec();
        data.resize(MAX_HEAD_BYTES - 3, b'a');
        data.extend_from_slice(b"\r\n\r\nGET /next HTTP/1.1\r\n\r\n");
        let mut s = HttpStream::new(Side::Request);
        s.push(&data[..MAX_HEAD_BYTES]);
        assert_eq!(s.next_item(), HttpItem::NeedMore);
        s.push(&data[MAX_HEAD_BYTES..MAX_HEAD_BYTES + 1]);
        assert_eq!(s.next_item(), HttpItem::HeadTooLong);
        let HttpItem::Request(h) = s.next_item() else {
            panic!()
        };
        assert_eq!((h.target.as_str(), h.head_len), ("/", MAX_HEAD_BYTES + 1));
        // The header line ended within the cap: it is whole, and kept.
        assert_eq!(h.headers.get("x").map(str::len), Some(MAX_HEAD_BYTES - 3 - 19));
        s.push(&data[MAX_HEAD_BYTES + 1..]);
        let HttpItem::Request(h) = s.next_item() else {
            panic!()
        };
        assert_eq!((h.target.as_str(), h.not_kept), ("/next", 0));
        assert_eq!(s.consumed(), data.len() as u64);
    }

    #[test]
    fn chunked_response_skipped() {
        let mut s = HttpStream::new(Side::Response);
        let data = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\nhello\r\n10\r\n0123456789abcdef\r\n0\r\nTrailer: t\r\n\r\nHTTP/1.1 101 Switching Protocols\r\n\r\n\x81\x00";
        for cut in 0..data.len() {
            let mut s2 = HttpStream::new(Side::Response);
            let mut statuses = Vec::new();
            for part in [&data[..cut], &data[cut..]] {
                s2.push(part);
                loop {
                    match s2.next_item() {
                        HttpItem::Response(h) => {
                            s2.skip_body(h.body_framing(Some("GET")));
                            statuses.push(h.status);
                            if h.status == 101 {
                                break;
                            }
                        }
                        HttpItem::NeedMore => break,
                        other => panic!("cut {cut}: {other:?}"),
                    }
                }
                if statuses.last() == Some(&101) {
                    break;
                }
            }
            assert_eq!(statuses, [200, 101], "cut {cut}");
            // The frame bytes after the 101 head are left over (possibly still unpushed).
            if cut < data.len() - 2 {
                assert_eq!(s2.take_buffered(), b"\x81\x00", "cut {cut}");
            }
        }
        s.push(data);
        assert!(matches!(s.next_item(), HttpItem::Response(_)));
    }
}
