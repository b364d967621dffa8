//! RFC 6455 / RFC 7692 checks. Breaches are data ([`crate::event::ViolationEvent`]),
//! never errors: the frame is still decoded and shown.
//!
//! | rule id | RFC | meaning |
//! |---|---|---|
//! | `accept-mismatch` | 6455 §4.1, §4.2.2 | `Sec-WebSocket-Accept` missing or not base64(SHA-1(key + GUID)) |
//! | `client-frame-unmasked` | 6455 §5.1, §5.3 | a client→server frame without the MASK bit |
//! | `server-frame-masked` | 6455 §5.1 | a server→client frame with the MASK bit |
//! | `reserved-opcode` | 6455 §5.2 | opcode 0x3–0x7 or 0xB–0xF |
//! | `rsv-without-extension` | 6455 §5.2 | RSV1 without permessage-deflate negotiated, or RSV2/RSV3 (no extension defines them) |
//! | `deflate-rsv1-on-continuation` | 7692 §6.1 | RSV1 on a continuation frame (only the first frame of a message carries it) |
//! | `deflate-rsv1-on-control` | 7692 §6.1 | RSV1 on a control frame |
//! | `control-frame-too-long` | 6455 §5.5 | control frame payload longer than 125 bytes |
//! | `control-frame-fragmented` | 6455 §5.5 | control frame without FIN |
//! | `non-minimal-length` | 6455 §5.2 | payload length not in the shortest form (e.g. 5 in the 16-bit form) |
//! | `length-msb-set` | 6455 §5.2 | 64-bit length with the most significant bit set |
//! | `continuation-without-message` | 6455 §5.4 | continuation frame with no fragmented message in progress |
//! | `data-frame-inside-message` | 6455 §5.4 | text/binary frame while a fragmented message is unfinished |
//! | `invalid-close-code` | 6455 §7.4 | close code not allowed on the wire (<1000, 1004–1006, 1015–2999, ≥5000) |
//! | `close-payload-one-byte` | 6455 §5.5.1 | close frame with a 1-byte payload (a code needs two) |
//! | `invalid-utf8-text` | 6455 §5.6, §8.1 | text message that is not valid UTF-8 |
//! | `invalid-utf8-close-reason` | 6455 §5.5.1 | close reason that is not valid UTF-8 |
//! | `data-after-close` | 6455 §5.5.1 | a frame sent after the sender's own close frame |
//! | `missing-key` | 6455 §4.1, §4.2.1 | an upgrade request without `Sec-WebSocket-Key` |
//! | `duplicate-key-header` | 6455 §4.1, §11.3.1 | `Sec-WebSocket-Key` more than once in a request |
//! | `duplicate-protocol-header` | 6455 §4.1, §11.3.4 | `Sec-WebSocket-Protocol` more than once in a response (a request may repeat it) |
//! | `duplicate-accept-header` | 6455 §4.1, §11.3.3 | `Sec-WebSocket-Accept` more than once in a response |
//! | `no-websocket-headers` | 6455 §4.1, §4.2.1 | an `Upgrade: websocket` request with no `Sec-WebSocket-*` header at all |
//!
//! Close codes 1012–1014 are accepted: IANA registered them after RFC 6455.

#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::arithmetic_side_effects
)]

use super::frame::{FrameHeader, HeaderPrefix};
use crate::event::Dir;

pub const ACCEPT_MISMATCH: &str = "accept-mismatch";
pub const CLIENT_FRAME_UNMASKED: &str = "client-frame-unmasked";
pub const SERVER_FRAME_MASKED: &str = "server-frame-masked";
pub const RESERVED_OPCODE: &str = "reserved-opcode";
pub const RSV_WITHOUT_EXTENSION: &str = "rsv-without-extension";
pub const DEFLATE_RSV1_ON_CONTINUATION: &str = "deflate-rsv1-on-continuation";
pub const DEFLATE_RSV1_ON_CONTROL: &str = "deflate-rsv1-on-control";
pub const CONTROL_FRAME_TOO_LONG: &str = "control-frame-too-long";
pub const CONTROL_FRAME_FRAGMENTED: &str = "control-frame-fragmented";
pub const NON_MINIMAL_LENGTH: &str = "non-minimal-length";
pub const LENGTH_MSB_SET: &str = "length-msb-set";
pub const CONTINUATION_WITHOUT_MESSAGE: &str = "continuation-without-message";
pub const DATA_FRAME_INSIDE_MESSAGE: &str = "data-frame-inside-message";
pub const INVALID_CLOSE_CODE: &str = "invalid-close-code";
pub const CLOSE_PAYLOAD_ONE_BYTE: &str = "close-payload-one-byte";
pub const INVALID_UTF8_TEXT: &str = "invalid-utf8-text";
pub const INVALID_UTF8_CLOSE_REASON: &str = "invalid-utf8-close-reason";
pub const DATA_AFTER_CLOSE: &str = "data-after-close";
pub const MISSING_KEY: &str = "missing-key";
pub const DUPLICATE_KEY_HEADER: &str = "duplicate-key-header";
pub const DUPLICATE_PROTOCOL_HEADER: &str = "duplicate-protocol-header";
pub const DUPLICATE_ACCEPT_HEADER: &str = "duplicate-accept-header";
pub const NO_WEBSOCKET_HEADERS: &str = "no-websocket-headers";

/// Every rule id, for documentation and tests.
pub const ALL: &[&str] = &[
    ACCEPT_MISMATCH,
    CLIENT_FRAME_UNMASKED,
    SERVER_FRAME_MASKED,
    RESERVED_OPCODE,
    RSV_WITHOUT_EXTENSION,
    DEFLATE_RSV1_ON_CONTINUATION,
    DEFLATE_RSV1_ON_CONTROL,
    CONTROL_FRAME_TOO_LONG,
    CONTROL_FRAME_FRAGMENTED,
    NON_MINIMAL_LENGTH,
    LENGTH_MSB_SET,
    CONTINUATION_WITHOUT_MESSAGE,
    DATA_FRAME_INSIDE_MESSAGE,
    INVALID_CLOSE_CODE,
    CLOSE_PAYLOAD_ONE_BYTE,
    INVALID_UTF8_TEXT,
    INVALID_UTF8_CLOSE_REASON,
    DATA_AFTER_CLOSE,
    MISSING_KEY,
    DUPLICATE_KEY_HEADER,
    DUPLICATE_PROTOCOL_HEADER,
    DUPLICATE_ACCEPT_HEADER,
    NO_WEBSOCKET_HEADERS,
];

/// A breached rule: (id, detail).
pub type Breach = (&'static str, String);

/// Header-level checks of a frame sent in `dir`; `deflate`: permessage-deflate
/// negotiated (or assumed).
pub fn check_header(h: &FrameHeader, dir: Dir, deflate: bool, out: &mut Vec<Breach>) {
    check_fields(h, dir, deflate, true, true, out);
}

/// The checks the captured bytes of a header cut by the end of the stream
/// allow: byte 0 (FIN, RSV, opcode) always, the MASK bit once byte 1 is
/// there, the length rules once the whole length is.
pub fn check_header_prefix(p: &HeaderPrefix, dir: Dir, deflate: bool, out: &mut Vec<Breach>) {
    check_fields(&p.header, dir, deflate, p.mask_known, p.len_known, out);
}

fn check_fields(
    h: &FrameHeader,
    dir: Dir,
    deflate: bool,
    mask_known: bool,
    len_known: bool,
    out: &mut Vec<Breach>,
) {
    match (dir, h.masked) {
        _ if !mask_known => {}
        (Dir::C2S, false) => out.push((CLIENT_FRAME_UNMASKED, "client frame without the MASK bit".into())),
        (Dir::S2C, true) => out.push((SERVER_FRAME_MASKED, "server frame with the MASK bit set".into())),
        _ => {}
    }
    let op = h.opcode;
    if !op.is_defined() {
        out.push((RESERVED_OPCODE, format!("reserved opcode 0x{:x}", op.0)));
    }
    let control = op.is_control();
    if h.rsv & 3 != 0 {
        out.push((
            RSV_WITHOUT_EXTENSION,
            format!("RSV2/RSV3 set (rsv={:03b}); no extension defines them", h.rsv),
        ));
    }
    if h.rsv1() {
        if !deflate {
            out.push((
                RSV_WITHOUT_EXTENSION,
                "RSV1 set but no extension was negotiated".into(),
            ));
        } else if control {
            out.push((DEFLATE_RSV1_ON_CONTROL, format!("RSV1 set on a {} frame", op)));
        } else if op.0 == 0 {
            out.push((
                DEFLATE_RSV1_ON_CONTINUATION,
                "RSV1 set on a continuation frame".into(),
            ));
        }
    }
    if len_known && control && h.payload_len > 125 {
        out.push((
            CONTROL_FRAME_TOO_LONG,
            format!("{} frame with {} payload bytes (max 125)", op, h.payload_len),
        ));
    }
    if control && !h.fin {
        out.push((CONTROL_FRAME_FRAGMENTED, format!("{} frame without FIN", op)));
    }
    if !len_known {
        return;
    }
    if h.non_minimal_length() {
        out.push((
            NON_MINIMAL_LENGTH,
            format!("length {} encoded in the {}-bit form", h.payload_len, h.len_bits),
        ));
    }
    if h.length_msb_set() {
        out.push((
            LENGTH_MSB_SET,
            format!("64-bit length 0x{:016x} has its top bit set", h.payload_len),
        ));
    }
}

/// May `code` appear in a close frame (RFC 6455 §7.4.1, §7.4.2, IANA registry)?
pub fn close_code_allowed(code: u16) -> bool {
    matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999)
}

/// What a close code means (RFC 6455 §7.4.1 and the IANA registry), in a
/// few words.
pub fn close_code_name(code: u16) -> &'static str {
    match code {
        1000 => "normal",
        1001 => "going away",
        1002 => "protocol error",
        1003 => "unsupported data",
        1005 => "no status",
        1006 => "abnormal",
        1007 => "invalid payload",
        1008 => "policy violation",
        1009 => "too big",
        1010 => "missing extension",
        1011 => "internal error",
        1012 => "service restart",
        1013 => "try again later",
        1014 => "bad gateway",
        1015 => "TLS handshake",
        3000..=3999 => "registered",
        4000..=4999 => "private",
        _ => "invalid code",
    }
}

/// A close frame's payload, decoded.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClosePayload {
    pub code: Option<u16>,
    /// Reason as lossy UTF-8.
    pub reason: Option<String>,
}

/// Decode a close payload and check it. `truncated`: the payload was not
/// captured whole (then the reason's UTF-8 is not judged).
pub fn parse_close(payload: &[u8], truncated: bool, out: &mut Vec<Breach>) -> ClosePayload {
    match payload {
        [] => ClosePayload::default(),
        [b] => {
            if !truncated {
                out.push((
                    CLOSE_PAYLOAD_ONE_BYTE,
                    format!("close payload is one byte (0x{b:02x})"),
                ));
            }
            ClosePayload::default()
        }
        [hi, lo, reason @ ..] => {
            let code = u16::from_be_bytes([*hi, *lo]);
            if !close_code_allowed(code) {
                out.push((INVALID_CLOSE_CODE, format!("close code {code} may not be sent")));
            }
            let reason = if reason.is_empty() {
                None
            } else {
                if let Err(e) = simdutf8::compat::from_utf8(reason) {
                    if !(truncated && e.error_len().is_none()) {
                        out.push((
                            INVALID_UTF8_CLOSE_REASON,
                            format!("close reason is not valid UTF-8 at byte {}", e.valid_up_to()),
                        ));
                    }
                }
                Some(String::from_utf8_lossy(reason).into_owned())
            };
            ClosePayload {
                code: Some(code),
                reason,
            }
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
    use crate::ws::frame::{LenForm, encode_header, parse_header};

    fn ids(b: &[u8], dir: Dir, deflate: bool) -> Vec<&'static str> {
        let h = parse_header(b).unwrap();
        let mut v = Vec::new();
        check_header(&h, dir, deflate, &mut v);
        v.into_iter().map(|(id, _)| id).collect()
    }

    #[test]
    fn header_rules() {
        assert!(ids(&[0x81, 0x80, 1, 2, 3, 4], Dir::C2S, false).is_empty());
        assert!(ids(&[0x81, 0x00], Dir::S2C, false).is_empty());
        assert_eq!(ids(&[0x81, 0x00], Dir::C2S, false), [CLIENT_FRAME_UNMASKED]);
        assert_eq!(
            ids(&[0x81, 0x80, 1, 2, 3, 4], Dir::S2C, false),
            [SERVER_FRAME_MASKED]
        );
        assert_eq!(ids(&[0x83, 0x00], Dir::S2C, false), [RESERVED_OPCODE]);
        assert_eq!(ids(&[0xC1, 0x00], Dir::S2C, false), [RSV_WITHOUT_EXTENSION]);
        assert!(ids(&[0xC1, 0x00], Dir::S2C, true).is_empty());
        assert_eq!(ids(&[0xA1, 0x00], Dir::S2C, true), [RSV_WITHOUT_EXTENSION]);
        assert_eq!(ids(&[0xC0, 0x00], Dir::S2C, true), [DEFLATE_RSV1_ON_CONTINUATION]);
        assert_eq!(ids(&[0xC9, 0x00], Dir::S2C, true), [DEFLATE_RSV1_ON_CONTROL]);
        assert_eq!(ids(&[0x09, 0x00], Dir::S2C, false), [CONTROL_FRAME_FRAGMENTED]);
        assert_eq!(
            ids(&[0x89, 0x7E, 0, 200], Dir::S2C, false),
            [CONTROL_FRAME_TOO_LONG]
        );
        assert_eq!(ids(&[0x82, 0x7E, 0, 5], Dir::S2C, false), [NON_MINIMAL_LENGTH]);
        let liar = encode_header(true, 0, 2, None, 1 << 63, LenForm::Minimal);
        assert_eq!(ids(&liar, Dir::S2C, false), [LENGTH_MSB_SET]);
    }

    #[test]
    fn header_prefix_rules_judge_only_what_was_captured() {
        let ids = |b: &[u8], dir: Dir| {
            let p = crate::ws::frame::parse_header_prefix(b).unwrap();
            let mut v = Vec::new();
            check_header_prefix(&p, dir, false, &mut v);
            v.into_iter().map(|(id, _)| id).collect::<Vec<_>>()
        };
        // Autobahn 4.1.5: FIN, reserved opcode 7; the MASK bit is unknown.
        assert_eq!(ids(&[0x87], Dir::C2S), [RESERVED_OPCODE]);
        assert_eq!(ids(&[0x09], Dir::S2C), [CONTROL_FRAME_FRAGMENTED]);
        assert_eq!(ids(&[0xB1], Dir::S2C), [RSV_WITHOUT_EXTENSION]);
        assert!(ids(&[0x81], Dir::C2S).is_empty());
        // Byte 1 there: the MASK bit is judged; an unknown length is not.
        assert_eq!(ids(&[0x81, 0x7E, 0x01], Dir::C2S), [CLIENT_FRAME_UNMASKED]);
        assert!(ids(&[0x82, 0xFE, 0x00], Dir::C2S).is_empty());
        assert_eq!(ids(&[0x82, 0xFE, 0x00, 0x05, 1], Dir::C2S), [NON_MINIMAL_LENGTH]);
    }

    #[test]
    fn close_rules() {
        let mut v = Vec::new();
        let c = parse_close(&[0x03, 0xE8, b'b', b'y', b'e'], false, &mut v);
        assert_eq!((c.code, c.reason.as_deref()), (Some(1000), Some("bye")));
        assert!(v.is_empty());
        parse_close(&[0x03], false, &mut v);
        assert_eq!(v.pop().unwrap().0, CLOSE_PAYLOAD_ONE_BYTE);
        for bad in [0u16, 999, 1004, 1005, 1006, 1015, 2999, 5000] {
            parse_close(&bad.to_be_bytes(), false, &mut v);
            assert_eq!(v.pop().unwrap().0, INVALID_CLOSE_CODE, "{bad}");
        }
        for good in [1000u16, 1001, 1011, 1012, 1014, 3000, 4999] {
            parse_close(&good.to_be_bytes(), false, &mut v);
            assert!(v.is_empty(), "{good}");
        }
        parse_close(&[0x03, 0xE8, 0xff], false, &mut v);
        assert_eq!(v.pop().unwrap().0, INVALID_UTF8_CLOSE_REASON);
    }
}
