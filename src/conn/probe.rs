//! Which protocol a connection carries, judged from its first bytes — the
//! registry of protocol probes, in the manner of Retina's `ProbeResult`.
//!
//! Each entry answers [`Probe::Certain`], [`Probe::Unsure`] (needs more
//! bytes, or cannot tell) or [`Probe::NotForUs`]. Entries are asked in
//! order and the first certain one wins; TLS (`16 03 0x` from the client)
//! and the HTTP/2 connection preface join the front of the list with their
//! issues. When nobody is certain the HTTP/1 layer takes the connection:
//! it sniffs each direction itself and falls back to headerless WebSocket
//! detection ([`crate::ws::detect`]) or to ignoring the bytes, because that
//! decision is per direction and interleaved with HTTP parsing (one side
//! may speak HTTP while the other already sends frames, and the bytes held
//! while deciding belong to the HTTP parser).
//!
//! The same first bytes also tell client from server on connections picked
//! up without their SYN ([`PayloadClassifier`]).

use crate::http::handshake::{Looks, looks_like_request, looks_like_response};
use crate::model::Dir;
use crate::tcp::{Role, RoleClassifier};
use crate::tls::record;
use crate::ws::decoder::{Expect, RunVerdict, check_run};
use crate::ws::frame::parse_header;

/// A probe's answer about one direction's first bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Probe {
    Certain(Proto),
    Unsure,
    NotForUs,
}

/// The protocols a stack can start with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Proto {
    /// TLS (then HTTP/1.x inside it, as far as it can be decrypted).
    Tls,
    /// HTTP/1.x, upgrading to WebSocket or not; also hosts headerless
    /// WebSocket detection (see the module docs).
    Http1,
    /// HTTP/2 (the client's connection preface, or a server's first
    /// SETTINGS): WebSocket streams by extended CONNECT (RFC 8441).
    Http2,
}

/// What the user and the TCP layer know about a connection before its bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ProbeHints {
    /// `--ws-port`: the connection is WebSocket even without a handshake.
    pub force_ws: bool,
    /// The SYN or SYN+ACK was seen: both streams start at their beginning.
    pub stream_start_seen: bool,
}

type ProbeFn = fn(Dir, &[u8], &ProbeHints) -> Probe;

/// The registry, in order of precedence.
const PROBES: &[ProbeFn] = &[probe_tls, probe_h2, probe_http1];

/// What may follow TLS (its plaintext): the same, without TLS.
const PLAINTEXT_PROBES: &[ProbeFn] = &[probe_h2, probe_http1];

/// HTTP/2 by content: the client's connection preface (RFC 9113 §3.4), or
/// — a server speaking first, as it may with prior knowledge — a SETTINGS
/// frame on stream 0 whose length is a multiple of 6.
fn probe_h2(dir: Dir, first: &[u8], _: &ProbeHints) -> Probe {
    let preface = crate::h2::frame::PREFACE.as_slice();
    match dir {
        Dir::C2S if first.starts_with(preface) => Probe::Certain(Proto::Http2),
        Dir::C2S if !first.is_empty() && preface.starts_with(first) => Probe::Unsure,
        Dir::C2S => Probe::NotForUs,
        Dir::S2C => match first {
            [0, l1, l2, 4, 0, 0, 0, 0, 0, ..] if (usize::from(*l1) << 8 | usize::from(*l2)) % 6 == 0 => {
                Probe::Certain(Proto::Http2)
            }
            _ => Probe::NotForUs,
        },
    }
}

/// TLS by content, on any port: a ClientHello from the client, a
/// ServerHello from the server, or — picked up mid-connection — a run of
/// TLS 1.2/1.3 records (a plausible header followed by another, or ending
/// exactly where the captured bytes end).
fn probe_tls(dir: Dir, first: &[u8], _: &ProbeHints) -> Probe {
    let hello = match dir {
        Dir::C2S => record::looks_like_client_hello(first),
        Dir::S2C => record::looks_like_server_hello(first),
    };
    match hello {
        record::Looks::Yes => return Probe::Certain(Proto::Tls),
        record::Looks::NeedMore => return Probe::Unsure,
        record::Looks::No => {}
    }
    let record_run = first.len() > record::HEADER_LEN
        && matches!(first, [22 | 23, 3, 3, ..])
        && record::find_record_start(first, 0) == Some(0)
        && record::parse_header(first).is_ok_and(|h| {
            // The whole first record and the next header must be there.
            let next = record::HEADER_LEN.saturating_add(usize::from(h.len));
            first.len() == next || first.len() >= next.saturating_add(record::HEADER_LEN)
        });
    if record_run {
        Probe::Certain(Proto::Tls)
    } else {
        Probe::NotForUs
    }
}

/// HTTP/1: a request line from the client or a status line from the server.
fn probe_http1(dir: Dir, first: &[u8], _: &ProbeHints) -> Probe {
    let looks = match dir {
        Dir::C2S => looks_like_request(first),
        Dir::S2C => looks_like_response(first),
    };
    match looks {
        Looks::Yes => Probe::Certain(Proto::Http1),
        Looks::Maybe => Probe::Unsure,
        Looks::No => Probe::NotForUs,
    }
}

/// The protocol for a connection whose first bytes (in `dir`) are `first`.
pub fn choose(dir: Dir, first: &[u8], hints: &ProbeHints) -> Proto {
    choose_from(PROBES, dir, first, hints)
}

/// The protocol inside TLS, from the first plaintext bytes.
pub fn choose_plaintext(dir: Dir, first: &[u8], hints: &ProbeHints) -> Proto {
    choose_from(PLAINTEXT_PROBES, dir, first, hints)
}

fn choose_from(probes: &[ProbeFn], dir: Dir, first: &[u8], hints: &ProbeHints) -> Proto {
    probes
        .iter()
        .find_map(|p| match p(dir, first, hints) {
            Probe::Certain(proto) => Some(proto),
            Probe::Unsure | Probe::NotForUs => None,
        })
        .unwrap_or(Proto::Http1)
}

/// Tells client from server by the first payload: the sender of an HTTP
/// request line or of masked WebSocket frames is the client; the sender of
/// `HTTP/1.x NNN` or of unmasked frames is the server.
#[derive(Clone, Copy, Debug, Default)]
pub struct PayloadClassifier;

impl RoleClassifier for PayloadClassifier {
    fn classify(&self, payload: &[u8], _src_port: u16, _dst_port: u16) -> Option<Role> {
        if looks_like_request(payload) == Looks::Yes || payload.starts_with(crate::h2::frame::PREFACE) {
            return Some(Role::Client);
        }
        if looks_like_response(payload) == Looks::Yes {
            return Some(Role::Server);
        }
        if record::looks_like_client_hello(payload) == record::Looks::Yes {
            return Some(Role::Client);
        }
        if record::looks_like_server_hello(payload) == record::Looks::Yes {
            return Some(Role::Server);
        }
        let h = parse_header(payload).ok()?;
        let expect = Expect {
            masked: h.masked,
            rsv1: true,
        };
        match check_run(payload, expect) {
            RunVerdict::Accept { frames, exact } if frames >= 2 || exact => {
                Some(if h.masked { Role::Client } else { Role::Server })
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_heads_are_certain_anything_else_falls_back_to_http1() {
        let h = ProbeHints::default();
        assert_eq!(
            probe_http1(Dir::C2S, b"GET / HTTP/1.1\r\n", &h),
            Probe::Certain(Proto::Http1)
        );
        assert_eq!(
            probe_http1(Dir::S2C, b"HTTP/1.1 101 ", &h),
            Probe::Certain(Proto::Http1)
        );
        assert_eq!(probe_http1(Dir::C2S, b"\x81\x05hello", &h), Probe::NotForUs);
        assert_eq!(choose(Dir::C2S, b"\x81\x05hello", &h), Proto::Http1);
    }

    #[test]
    fn http2_by_its_preface_or_a_first_settings() {
        let h = ProbeHints::default();
        let mut first = crate::h2::frame::PREFACE.to_vec();
        first.extend_from_slice(&[0, 0, 6, 4, 0, 0, 0, 0, 0, 0, 8, 0, 0, 0, 1]);
        assert_eq!(choose(Dir::C2S, &first, &h), Proto::Http2);
        assert_eq!(choose_plaintext(Dir::C2S, &first, &h), Proto::Http2);
        assert_eq!(probe_h2(Dir::C2S, b"PRI * HT", &h), Probe::Unsure);
        assert_eq!(
            choose(Dir::S2C, &[0, 0, 6, 4, 0, 0, 0, 0, 0, 0, 8, 0, 0, 0, 1], &h),
            Proto::Http2
        );
        // A SETTINGS ACK from the server is not a first frame; neither is HTTP/1.
        assert_eq!(
            probe_h2(Dir::S2C, &[0, 0, 0, 4, 1, 0, 0, 0, 0], &h),
            Probe::NotForUs
        );
        assert_eq!(choose(Dir::C2S, b"GET / HTTP/1.1\r\n", &h), Proto::Http1);
    }
}
