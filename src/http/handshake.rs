//! HTTP/1.x heads: the grammar (nom 8), header access, body framing rules,
//! and sniffing whether bytes look like a request or a response at all.
//! [`super::stream`] runs them over one direction of a connection.
//!
//! The grammar is lenient in the ways real traffic needs: lower-case names,
//! no space after the colon (`Upgrade:websocket`), bare `\n` line ends,
//! obsolete line folding, repeated headers (all kept, in order).

#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::arithmetic_side_effects
)]

use memchr::memmem;
use nom::IResult;
use nom::Parser;
use nom::branch::alt;
use nom::bytes::streaming::{tag, take_while, take_while_m_n, take_while1};

/// Largest request/response head we buffer while waiting for its end.
pub const MAX_HEAD_BYTES: usize = 64 * 1024;

/// Header fields in wire order; names compare case-insensitively.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Headers(pub Vec<(String, String)>);

impl Headers {
    /// The first value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every value of `name`, in order.
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// All values of `name` joined with `", "` (RFC 9110 §5.3), `None` if absent.
    pub fn joined(&self, name: &str) -> Option<String> {
        let v: Vec<&str> = self.get_all(name).collect();
        if v.is_empty() { None } else { Some(v.join(", ")) }
    }

    /// The comma-separated tokens of every `name` header, trimmed.
    pub fn tokens<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.get_all(name)
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .filter(|t| !t.is_empty())
    }

    /// Whether a `name` header lists `token` (case-insensitive), e.g.
    /// `Connection: keep-alive, Upgrade` has token `upgrade`.
    pub fn has_token(&self, name: &str, token: &str) -> bool {
        self.tokens(name).any(|t| t.eq_ignore_ascii_case(token))
    }
}

/// A parsed request head.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestHead {
    pub method: String,
    pub target: String,
    /// `(major, minor)` of `HTTP/major.minor`.
    pub version: (u8, u8),
    pub headers: Headers,
    /// Bytes the head occupied, terminator included.
    pub head_len: usize,
    /// Bytes of the head past [`MAX_HEAD_BYTES`] that were skipped, not
    /// parsed (0 for a head within the cap): headers there are unknown.
    pub not_kept: u64,
}

/// A parsed response head.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResponseHead {
    pub version: (u8, u8),
    pub status: u16,
    pub reason: String,
    pub headers: Headers,
    pub head_len: usize,
    /// As [`RequestHead::not_kept`].
    pub not_kept: u64,
}

/// How the body after a head is delimited (RFC 9112 §6.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyFraming {
    None,
    Length(u64),
    Chunked,
    /// The body runs to the end of the connection.
    UntilClose,
}

impl RequestHead {
    /// `Upgrade: websocket` (token list, case-insensitive).
    pub fn is_websocket_upgrade(&self) -> bool {
        self.headers.has_token("upgrade", "websocket")
    }

    /// Requests have a body only with `Transfer-Encoding` or `Content-Length`.
    pub fn body_framing(&self) -> BodyFraming {
        if is_chunked(&self.headers) {
            BodyFraming::Chunked
        } else {
            match content_length(&self.headers) {
                Some(0) | None => BodyFraming::None,
                Some(n) => BodyFraming::Length(n),
            }
        }
    }
}

impl ResponseHead {
    /// 1xx other than 101: an interim answer, the final one follows.
    pub fn is_interim(&self) -> bool {
        (100..200).contains(&self.status) && self.status != 101
    }

    /// Body framing of a response to a request with `request_method`.
    pub fn body_framing(&self, request_method: Option<&str>) -> BodyFraming {
        let head = request_method.is_some_and(|m| m.eq_ignore_ascii_case("HEAD"));
        if head || (100..200).contains(&self.status) || self.status == 204 || self.status == 304 {
            return BodyFraming::None;
        }
        if is_chunked(&self.headers) {
            return BodyFraming::Chunked;
        }
        match content_length(&self.headers) {
            Some(0) => BodyFraming::None,
            Some(n) => BodyFraming::Length(n),
            None => BodyFraming::UntilClose,
        }
    }
}

fn is_chunked(h: &Headers) -> bool {
    h.tokens("transfer-encoding")
        .last()
        .is_some_and(|t| t.eq_ignore_ascii_case("chunked"))
}

fn content_length(h: &Headers) -> Option<u64> {
    h.get("content-length").and_then(|v| v.trim().parse().ok())
}

/// Why a head could not be parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum HeadError {
    /// No end of head within [`MAX_HEAD_BYTES`].
    TooLong,
    /// Not an HTTP head; the text says where it went wrong.
    Malformed(String),
}

impl std::fmt::Display for HeadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HeadError::TooLong => write!(f, "HTTP head longer than {MAX_HEAD_BYTES} bytes"),
            HeadError::Malformed(s) => write!(f, "malformed HTTP head: {s}"),
        }
    }
}

// ---------------------------------------------------------------- grammar

type Res<'a, T> = IResult<&'a [u8], T>;

fn is_tchar(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&c)
}

fn is_sp(c: u8) -> bool {
    c == b' ' || c == b'\t'
}

fn line_end(i: &[u8]) -> Res<'_, &[u8]> {
    alt((tag(&b"\r\n"[..]), tag(&b"\n"[..]))).parse(i)
}

fn digit(i: &[u8]) -> Res<'_, u8> {
    let (i, d) = take_while_m_n(1, 1, |c: u8| c.is_ascii_digit()).parse(i)?;
    Ok((i, d.first().map_or(0, |c| c.wrapping_sub(b'0'))))
}

fn http_version(i: &[u8]) -> Res<'_, (u8, u8)> {
    let (i, _) = tag(&b"HTTP/"[..]).parse(i)?;
    let (i, major) = digit(i)?;
    let (i, _) = tag(&b"."[..]).parse(i)?;
    let (i, minor) = digit(i)?;
    Ok((i, (major, minor)))
}

/// (method, target, version)
type RequestLine<'a> = (&'a [u8], &'a [u8], (u8, u8));

fn request_line(i: &[u8]) -> Res<'_, RequestLine<'_>> {
    let (i, method) = take_while1(is_tchar).parse(i)?;
    let (i, _) = take_while1(is_sp).parse(i)?;
    let (i, target) = take_while1(|c: u8| !c.is_ascii_whitespace()).parse(i)?;
    let (i, _) = take_while1(is_sp).parse(i)?;
    let (i, version) = http_version(i)?;
    let (i, _) = take_while(is_sp).parse(i)?;
    let (i, _) = line_end(i)?;
    Ok((i, (method, target, version)))
}

fn status_line(i: &[u8]) -> Res<'_, ((u8, u8), u16, &[u8])> {
    let (i, version) = http_version(i)?;
    let (i, _) = take_while1(is_sp).parse(i)?;
    let (i, code) = take_while_m_n(3, 3, |c: u8| c.is_ascii_digit()).parse(i)?;
    let (i, _) = take_while(is_sp).parse(i)?;
    let (i, reason) = take_while(|c: u8| c != b'\r' && c != b'\n').parse(i)?;
    let (i, _) = line_end(i)?;
    let status = code.iter().fold(0u16, |acc, d| {
        acc.wrapping_mul(10).wrapping_add(u16::from(d.wrapping_sub(b'0')))
    });
    Ok((i, (version, status, reason)))
}

/// One header field, or `None` for the empty line ending the head; a line
/// starting with SP/HT is an obsolete fold (`Some((b"", value))`).
#[allow(clippy::type_complexity)]
fn header_line(i: &[u8]) -> Res<'_, Option<(&[u8], &[u8])>> {
    if let Ok((rest, _)) = line_end(i) {
        return Ok((rest, None));
    }
    let (i, fold) = take_while(is_sp).parse(i)?;
    let (i, name) = if fold.is_empty() {
        let (i, name) = take_while1(is_tchar).parse(i)?;
        let (i, _) = take_while(is_sp).parse(i)?; // tolerate "Name :"
        let (i, _) = tag(&b":"[..]).parse(i)?;
        (i, name)
    } else {
        (i, &b""[..])
    };
    let (i, _) = take_while(is_sp).parse(i)?;
    let (i, value) = take_while(|c: u8| c != b'\r' && c != b'\n').parse(i)?;
    let (i, _) = line_end(i)?;
    Ok((i, Some((name, value.trim_ascii_end()))))
}

fn headers(mut i: &[u8]) -> Res<'_, Headers> {
    let mut out: Vec<(String, String)> = Vec::new();
    loop {
        let (rest, line) = header_line(i)?;
        i = rest;
        match line {
            None => return Ok((i, Headers(out))),
            Some((b"", value)) => {
                // Obsolete line folding (RFC 9112 §5.2): join with one space.
                if let Some((_, v)) = out.last_mut() {
                    v.push(' ');
                    v.push_str(&String::from_utf8_lossy(value));
                }
            }
            Some((name, value)) => out.push((
                String::from_utf8_lossy(name).into_owned(),
                String::from_utf8_lossy(value).into_owned(),
            )),
        }
    }
}

/// Length of the head at the start of `buf` (terminator included), found
/// with `memmem` before any parsing; `None` if the end is not in `buf` yet.
pub fn head_end(buf: &[u8]) -> Option<usize> {
    let crlf = memmem::find(buf, b"\r\n\r\n").and_then(|p| p.checked_add(4));
    // Bare-LF heads are rare; only look for them in the part before a CRLF end.
    let limit = crlf.unwrap_or(buf.len());
    let lf = memmem::find(buf.get(..limit).unwrap_or(buf), b"\n\n").and_then(|p| p.checked_add(2));
    match (crlf, lf) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

fn malformed(what: &str, buf: &[u8]) -> HeadError {
    let shown: String = String::from_utf8_lossy(buf.get(..buf.len().min(40)).unwrap_or(buf)).into_owned();
    HeadError::Malformed(format!("{what} in {shown:?}"))
}

/// The complete head at the start of `buf` and its length; `Ok(None)` while
/// incomplete; an error once it exceeds the size cap.
fn complete_head(buf: &[u8]) -> Result<Option<(&[u8], usize)>, HeadError> {
    let Some(end) = head_end(buf) else {
        return if buf.len() > MAX_HEAD_BYTES {
            Err(HeadError::TooLong)
        } else {
            Ok(None)
        };
    };
    if end > MAX_HEAD_BYTES {
        return Err(HeadError::TooLong);
    }
    Ok(Some((buf.get(..end).unwrap_or(buf), end)))
}

/// Parse a request head at the start of `buf`. `Ok(None)`: incomplete.
pub fn parse_request_head(buf: &[u8]) -> Result<Option<RequestHead>, HeadError> {
    let Some((head, end)) = complete_head(buf)? else {
        return Ok(None);
    };
    request_head_from(head, end).map(Some)
}

/// Parse `head`, a complete request head of `end` bytes, whatever its size
/// (the cap is the caller's business: see [`super::cap`]).
pub(super) fn request_head_from(head: &[u8], end: usize) -> Result<RequestHead, HeadError> {
    let parsed = request_line(head).and_then(|(i, rl)| headers(i).map(|(i, h)| (i, rl, h)));
    match parsed {
        Ok((_, (method, target, version), headers)) => Ok(RequestHead {
            method: String::from_utf8_lossy(method).into_owned(),
            target: String::from_utf8_lossy(target).into_owned(),
            version,
            headers,
            head_len: end,
            not_kept: 0,
        }),
        Err(_) => Err(malformed("bad request head", head)),
    }
}

/// Parse a response head at the start of `buf`. `Ok(None)`: incomplete.
pub fn parse_response_head(buf: &[u8]) -> Result<Option<ResponseHead>, HeadError> {
    let Some((head, end)) = complete_head(buf)? else {
        return Ok(None);
    };
    response_head_from(head, end).map(Some)
}

/// As [`request_head_from`], for a response head.
pub(super) fn response_head_from(head: &[u8], end: usize) -> Result<ResponseHead, HeadError> {
    let parsed = status_line(head).and_then(|(i, sl)| headers(i).map(|(i, h)| (i, sl, h)));
    match parsed {
        Ok((_, (version, status, reason), headers)) => Ok(ResponseHead {
            version,
            status,
            reason: String::from_utf8_lossy(reason).into_owned(),
            headers,
            head_len: end,
            not_kept: 0,
        }),
        Err(_) => Err(malformed("bad response head", head)),
    }
}

/// Whether `prefix` can be the start of a request line: `Yes`, `No`, or
/// `Maybe` (too short to say).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Looks {
    Yes,
    No,
    Maybe,
}

/// Does `buf` start like an HTTP request (`TOKEN SP target SP HTTP/`)?
pub fn looks_like_request(buf: &[u8]) -> Looks {
    match request_line(buf.get(..buf.len().min(8192)).unwrap_or(buf)) {
        Ok(_) => Looks::Yes,
        Err(nom::Err::Incomplete(_)) => {
            if buf.len() >= 8192 {
                Looks::No
            } else {
                // A method is short and upper-case in practice; a binary frame is not.
                let method_len = buf.iter().take_while(|c| is_tchar(**c)).count();
                if method_len > 20 || buf.first().is_some_and(|c| !c.is_ascii_uppercase()) {
                    Looks::No
                } else {
                    Looks::Maybe
                }
            }
        }
        Err(_) => Looks::No,
    }
}

/// Does `buf` start like an HTTP response (`HTTP/d.d ddd`)?
pub fn looks_like_response(buf: &[u8]) -> Looks {
    let r: Res<'_, _> = (
        http_version,
        take_while1(is_sp),
        take_while_m_n(3, 3, |c: u8| c.is_ascii_digit()),
    )
        .parse(buf);
    match r {
        Ok(_) => Looks::Yes,
        Err(nom::Err::Incomplete(_)) => Looks::Maybe,
        Err(_) => Looks::No,
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
    fn request_head() {
        let h = parse_request_head(REQ).unwrap().unwrap();
        assert_eq!(h.method, "GET");
        assert_eq!(h.target, "/chat");
        assert_eq!(h.version, (1, 1));
        assert_eq!(h.head_len, REQ.len());
        assert!(h.is_websocket_upgrade());
        assert!(h.headers.has_token("connection", "upgrade"));
        assert!(h.headers.has_token("Connection", "KEEP-ALIVE"));
        assert_eq!(
            h.headers.get("sec-websocket-key"),
            Some("dGhlIHNhbXBsZSBub25jZQ==")
        );
    }

    #[test]
    fn response_head() {
        let h = parse_response_head(RESP).unwrap().unwrap();
        assert_eq!(h.status, 101);
        assert_eq!(h.reason, "Switching Protocols");
        assert_eq!(
            h.headers.get("SEC-WEBSOCKET-ACCEPT"),
            Some("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
        );
    }

    #[test]
    fn odd_forms() {
        let raw =
            b"GET / HTTP/1.1\nhost:a\nupgrade:websocket\nconnection:upgrade\nWebSocket-Location: ws://x/\n\
X-Folded: one\n  two\n\n";
        let h = parse_request_head(raw).unwrap().unwrap();
        assert!(h.is_websocket_upgrade());
        assert_eq!(h.headers.get("Host"), Some("a"));
        assert_eq!(h.headers.get("websocket-location"), Some("ws://x/"));
        assert_eq!(h.headers.get("x-folded"), Some("one two"));
    }

    #[test]
    fn repeated_headers_kept() {
        let raw = b"HTTP/1.1 101 OK\r\nSec-WebSocket-Extensions: a\r\nsec-websocket-extensions: b\r\n\r\n";
        let h = parse_response_head(raw).unwrap().unwrap();
        assert_eq!(
            h.headers.joined("Sec-WebSocket-Extensions").as_deref(),
            Some("a, b")
        );
        assert_eq!(h.headers.0.len(), 2);
    }

    #[test]
    fn status_line_without_reason() {
        let h = parse_response_head(b"HTTP/1.1 101\r\n\r\n").unwrap().unwrap();
        assert_eq!(h.status, 101);
        assert_eq!(h.reason, "");
    }

    #[test]
    fn malformed_and_too_long() {
        assert!(matches!(
            parse_request_head(b"\x81\x05hello\r\n\r\n"),
            Err(HeadError::Malformed(_))
        ));
        let mut big = b"GET / HTTP/1.1\r\nX: ".to_vec();
        big.resize(MAX_HEAD_BYTES + 10, b'a');
        assert_eq!(parse_request_head(&big), Err(HeadError::TooLong));
    }

    #[test]
    fn head_response_has_no_body() {
        let h = parse_response_head(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n")
            .unwrap()
            .unwrap();
        assert_eq!(h.body_framing(Some("HEAD")), BodyFraming::None);
        assert_eq!(h.body_framing(Some("GET")), BodyFraming::Length(100));
        let h = parse_response_head(b"HTTP/1.0 200 OK\r\n\r\n").unwrap().unwrap();
        assert_eq!(h.body_framing(Some("GET")), BodyFraming::UntilClose);
    }

    #[test]
    fn looks_like() {
        assert_eq!(looks_like_request(b"GET / HTTP/1.1\r\n"), Looks::Yes);
        assert_eq!(looks_like_request(b"GE"), Looks::Maybe);
        assert_eq!(looks_like_request(b"\x81\x05"), Looks::No);
        assert_eq!(looks_like_response(b"HTTP/1.1 101 "), Looks::Yes);
        assert_eq!(looks_like_response(b"HTT"), Looks::Maybe);
        assert_eq!(looks_like_response(b"\x81\x05hello"), Looks::No);
    }
}
