//! `Sec-WebSocket-Accept` = base64(SHA-1(key + GUID)) (RFC 6455 §4.2.2).
//!
//! RFC 6455 §1.3's example: key `dGhlIHNhbXBsZSBub25jZQ==` gives
//! `s3pPLMBiTxaQ9kYGzzhZRbK+xOo=` (note `kYG`).

use base64::Engine as _;
use sha1::{Digest, Sha1};

/// The GUID every WebSocket server appends to the client's key.
pub const WS_GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// The `Sec-WebSocket-Accept` value a server must answer to `key`.
///
/// ```
/// assert_eq!(
///     wsscope::http::accept_for_key("dGhlIHNhbXBsZSBub25jZQ=="),
///     "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
/// );
/// ```
pub fn accept_for_key(key: &str) -> String {
    let mut h = Sha1::new();
    h.update(key.trim().as_bytes());
    h.update(WS_GUID.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(h.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc6455_vector() {
        assert_eq!(
            accept_for_key("dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }

    #[test]
    fn other_key_differs() {
        assert_ne!(
            accept_for_key("x3JJHMbDL1EzLkh9GBhXDw=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
        // RFC 6455 §1.3 example is the same vector; this one from §1.2 / MDN:
        assert_eq!(
            accept_for_key("x3JJHMbDL1EzLkh9GBhXDw=="),
            "HSmrc0sMlYUkAGmm5OPpG2HaGWk="
        );
    }
}
