//! RFC 6455 §4.1 header rules of the upgrade heads: which `Sec-WebSocket-*`
//! headers a request and its answer must carry, and which only once. Like
//! the frame rules ([`crate::ws::rules`], where the ids live), breaches are
//! data: the handshake is still reported and the session still decoded.

#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::arithmetic_side_effects
)]

use super::Headers;
use crate::ws::rules::{self, Breach};

/// Header rules of an upgrade request (RFC 6455 §4.1): a key, once. A
/// request without any `Sec-WebSocket-*` header is reported as that alone
/// (it lacks the key as a consequence). `whole`: every header of the head
/// was parsed — past the head cap a missing header may just be unseen, so
/// only what was seen twice is judged.
pub fn request_breaches(h: &Headers, whole: bool) -> Vec<Breach> {
    let mut out = Vec::new();
    let ws_headers =
        h.0.iter()
            .filter(|(n, _)| {
                n.get(..14)
                    .is_some_and(|p| p.eq_ignore_ascii_case("sec-websocket-"))
            })
            .count();
    let keys = h.get_all("sec-websocket-key").count();
    if whole && ws_headers == 0 {
        out.push((
            rules::NO_WEBSOCKET_HEADERS,
            "Upgrade: websocket request without any Sec-WebSocket-* header".into(),
        ));
    } else if whole && keys == 0 {
        out.push((
            rules::MISSING_KEY,
            "upgrade request without Sec-WebSocket-Key".into(),
        ));
    }
    if keys > 1 {
        out.push((
            rules::DUPLICATE_KEY_HEADER,
            format!("Sec-WebSocket-Key appears {keys} times in the request"),
        ));
    }
    out
}

/// Header rules of the answer: at most one `Sec-WebSocket-Protocol` (the
/// server selects one; a request may list several) and one
/// `Sec-WebSocket-Accept`.
pub fn response_breaches(h: &Headers) -> Vec<Breach> {
    let mut out = Vec::new();
    let protocols = h.get_all("sec-websocket-protocol").count();
    if protocols > 1 {
        out.push((
            rules::DUPLICATE_PROTOCOL_HEADER,
            format!("Sec-WebSocket-Protocol appears {protocols} times in the response"),
        ));
    }
    let accepts = h.get_all("sec-websocket-accept").count();
    if accepts > 1 {
        out.push((
            rules::DUPLICATE_ACCEPT_HEADER,
            format!("Sec-WebSocket-Accept appears {accepts} times in the response"),
        ));
    }
    out
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::unwrap_used)]
mod tests {
    use super::*;

    fn h(lines: &[(&str, &str)]) -> Headers {
        Headers(
            lines
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
        )
    }

    fn ids(b: Vec<Breach>) -> Vec<&'static str> {
        b.into_iter().map(|(id, _)| id).collect()
    }

    #[test]
    fn request_rules() {
        let ok = h(&[
            ("Upgrade", "websocket"),
            ("Sec-WebSocket-Key", "k"),
            ("Sec-WebSocket-Version", "13"),
        ]);
        assert!(request_breaches(&ok, true).is_empty());
        let no_key = h(&[("Upgrade", "websocket"), ("sec-websocket-version", "13")]);
        assert_eq!(ids(request_breaches(&no_key, true)), [rules::MISSING_KEY]);
        let none = h(&[("Upgrade", "websocket"), ("Connection", "Upgrade")]);
        assert_eq!(ids(request_breaches(&none, true)), [rules::NO_WEBSOCKET_HEADERS]);
        let twice = h(&[("Sec-WebSocket-Key", "a"), ("SEC-WEBSOCKET-KEY", "b")]);
        assert_eq!(ids(request_breaches(&twice, true)), [rules::DUPLICATE_KEY_HEADER]);
        // Several offered subprotocol lines are legal in a request.
        let protos = h(&[
            ("Sec-WebSocket-Key", "a"),
            ("Sec-WebSocket-Protocol", "a"),
            ("Sec-WebSocket-Protocol", "b"),
        ]);
        assert!(request_breaches(&protos, true).is_empty());
        // Past the head cap an absent key may just be unseen; twice is twice.
        assert!(request_breaches(&none, false).is_empty());
        assert_eq!(
            ids(request_breaches(&twice, false)),
            [rules::DUPLICATE_KEY_HEADER]
        );
    }

    #[test]
    fn response_rules() {
        let ok = h(&[("Sec-WebSocket-Accept", "x"), ("Sec-WebSocket-Protocol", "chat")]);
        assert!(response_breaches(&ok).is_empty());
        let both = h(&[
            ("Sec-WebSocket-Accept", "x"),
            ("Sec-WebSocket-Protocol", "chat"),
            ("sec-websocket-protocol", "v2"),
            ("Sec-WebSocket-Accept", "x"),
        ]);
        assert_eq!(
            ids(response_breaches(&both)),
            [rules::DUPLICATE_PROTOCOL_HEADER, rules::DUPLICATE_ACCEPT_HEADER]
        );
    }
}
