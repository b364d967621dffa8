//! HTTP/2 frames (RFC 9113 §4, §6): the 9-byte header, the frame types and
//! flags, padding and priority fields stripped from a payload, SETTINGS
//! entries.
//!
//! Wire enums stay open ([`FrameType`] is a newtype): an unknown type is
//! shown by number and skipped, as RFC 9113 §4.1 tells receivers to do.
//! Nothing here indexes a slice: every length comes from the wire and is
//! checked before use.

/// What a client sends first (RFC 9113 §3.4), before its SETTINGS.
pub const PREFACE: &[u8; 24] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// Length of a frame header.
pub const HEADER_LEN: usize = 9;

/// The largest payload a peer may announce (2^24 - 1, RFC 9113 §4.2).
pub const MAX_FRAME_LEN: u32 = (1 << 24) - 1;

/// A frame type, kept open: unknown values are shown, not rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FrameType(pub u8);

impl FrameType {
    pub const DATA: FrameType = FrameType(0x0);
    pub const HEADERS: FrameType = FrameType(0x1);
    pub const PRIORITY: FrameType = FrameType(0x2);
    pub const RST_STREAM: FrameType = FrameType(0x3);
    pub const SETTINGS: FrameType = FrameType(0x4);
    pub const PUSH_PROMISE: FrameType = FrameType(0x5);
    pub const PING: FrameType = FrameType(0x6);
    pub const GOAWAY: FrameType = FrameType(0x7);
    pub const WINDOW_UPDATE: FrameType = FrameType(0x8);
    pub const CONTINUATION: FrameType = FrameType(0x9);

    pub fn name(self) -> &'static str {
        match self.0 {
            0x0 => "DATA",
            0x1 => "HEADERS",
            0x2 => "PRIORITY",
            0x3 => "RST_STREAM",
            0x4 => "SETTINGS",
            0x5 => "PUSH_PROMISE",
            0x6 => "PING",
            0x7 => "GOAWAY",
            0x8 => "WINDOW_UPDATE",
            0x9 => "CONTINUATION",
            _ => "unknown",
        }
    }

    /// A type RFC 9113 defines (others are extensions, skipped).
    pub fn is_known(self) -> bool {
        self.0 <= 0x9
    }
}

/// Frame flags (their meaning depends on the type).
pub mod flags {
    pub const END_STREAM: u8 = 0x1;
    /// SETTINGS and PING.
    pub const ACK: u8 = 0x1;
    pub const END_HEADERS: u8 = 0x4;
    pub const PADDED: u8 = 0x8;
    pub const PRIORITY: u8 = 0x20;
}

/// A frame header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameHeader {
    /// Payload length (24 bits).
    pub len: u32,
    pub kind: FrameType,
    pub flags: u8,
    /// Stream identifier (31 bits; the reserved bit is dropped).
    pub stream: u32,
}

impl FrameHeader {
    pub fn has(&self, flag: u8) -> bool {
        self.flags & flag != 0
    }
}

/// Parses a frame header from its 9 bytes.
pub fn parse_header(b: &[u8; HEADER_LEN]) -> FrameHeader {
    let [l0, l1, l2, kind, flags, s0, s1, s2, s3] = *b;
    FrameHeader {
        len: u32::from_be_bytes([0, l0, l1, l2]),
        kind: FrameType(kind),
        flags,
        stream: u32::from_be_bytes([s0 & 0x7f, s1, s2, s3]),
    }
}

/// Why a frame's payload cannot be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameError {
    /// PADDED, but the pad length is not less than what follows it.
    PaddingTooLong { pad: u8, len: u32 },
    /// Shorter than its fixed fields.
    TooShort { need: u32, len: u32 },
}

impl std::fmt::Display for FrameError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FrameError::PaddingTooLong { pad, len } => {
                write!(f, "pad length {pad} does not fit in a {len}-byte payload")
            }
            FrameError::TooShort { need, len } => {
                write!(
                    f,
                    "a {len}-byte payload, shorter than its {need} bytes of fixed fields"
                )
            }
        }
    }
}

/// The data or header block fragment of a DATA, HEADERS or PUSH_PROMISE
/// payload: padding (and HEADERS' priority fields, PUSH_PROMISE's promised
/// stream) taken off. Other types are returned whole.
pub fn content<'a>(h: &FrameHeader, payload: &'a [u8]) -> Result<&'a [u8], FrameError> {
    let len = h.len;
    let padded = matches!(
        h.kind,
        FrameType::DATA | FrameType::HEADERS | FrameType::PUSH_PROMISE
    ) && h.has(flags::PADDED);
    let (pad, rest) = match (padded, payload.split_first()) {
        (true, Some((&pad, rest))) => (usize::from(pad), rest),
        (true, None) => return Err(FrameError::TooShort { need: 1, len }),
        (false, _) => (0, payload),
    };
    let fixed = match h.kind {
        FrameType::HEADERS if h.has(flags::PRIORITY) => 5,
        FrameType::PUSH_PROMISE => 4,
        _ => 0,
    };
    // Pad length counts against what follows the pad byte (§6.1).
    let body_len = rest.len().checked_sub(pad).ok_or(FrameError::PaddingTooLong {
        pad: u8::try_from(pad).unwrap_or(u8::MAX),
        len,
    })?;
    let body = rest.get(..body_len).unwrap_or_default();
    body.get(fixed..).ok_or(FrameError::TooShort {
        need: u32::try_from(fixed + usize::from(padded)).unwrap_or(u32::MAX),
        len,
    })
}

/// SETTINGS identifiers wsscope acts on (RFC 9113 §6.5.2, RFC 8441 §3).
pub mod setting {
    pub const HEADER_TABLE_SIZE: u16 = 0x1;
    pub const ENABLE_PUSH: u16 = 0x2;
    pub const MAX_CONCURRENT_STREAMS: u16 = 0x3;
    pub const INITIAL_WINDOW_SIZE: u16 = 0x4;
    pub const MAX_FRAME_SIZE: u16 = 0x5;
    pub const MAX_HEADER_LIST_SIZE: u16 = 0x6;
    /// RFC 8441: the server accepts extended CONNECT (`:protocol`).
    pub const ENABLE_CONNECT_PROTOCOL: u16 = 0x8;

    pub fn name(id: u16) -> Option<&'static str> {
        Some(match id {
            HEADER_TABLE_SIZE => "HEADER_TABLE_SIZE",
            ENABLE_PUSH => "ENABLE_PUSH",
            MAX_CONCURRENT_STREAMS => "MAX_CONCURRENT_STREAMS",
            INITIAL_WINDOW_SIZE => "INITIAL_WINDOW_SIZE",
            MAX_FRAME_SIZE => "MAX_FRAME_SIZE",
            MAX_HEADER_LIST_SIZE => "MAX_HEADER_LIST_SIZE",
            ENABLE_CONNECT_PROTOCOL => "ENABLE_CONNECT_PROTOCOL",
            _ => return None,
        })
    }
}

/// The (identifier, value) entries of a SETTINGS payload; `None` when its
/// length is not a multiple of 6 (a FRAME_SIZE_ERROR, §6.5).
pub fn settings(payload: &[u8]) -> Option<Vec<(u16, u32)>> {
    if payload.len() % 6 != 0 {
        return None;
    }
    Some(
        payload
            .chunks_exact(6)
            .map(|c| {
                let [a, b, v0, v1, v2, v3] = <[u8; 6]>::try_from(c).unwrap_or([0; 6]);
                (u16::from_be_bytes([a, b]), u32::from_be_bytes([v0, v1, v2, v3]))
            })
            .collect(),
    )
}

/// A frame's bytes: what tests, fuzz targets and tools write (wsscope
/// itself only reads frames). `payload` must fit in 24 bits.
pub fn encode(kind: FrameType, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let len = u32::try_from(payload.len())
        .unwrap_or(MAX_FRAME_LEN)
        .min(MAX_FRAME_LEN);
    let mut v = Vec::with_capacity(HEADER_LEN + payload.len());
    v.extend_from_slice(&len.to_be_bytes()[1..]);
    v.push(kind.0);
    v.push(flags);
    v.extend_from_slice(&(stream & 0x7fff_ffff).to_be_bytes());
    v.extend_from_slice(payload);
    v
}

/// A 4-byte big-endian field at the start of a payload (RST_STREAM's and
/// GOAWAY's error code, WINDOW_UPDATE's increment).
pub fn u32_at(payload: &[u8], at: usize) -> Option<u32> {
    let b = payload.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes(<[u8; 4]>::try_from(b).ok()?))
}

/// An error code's name (RFC 9113 §7).
pub fn error_name(code: u32) -> &'static str {
    match code {
        0x0 => "NO_ERROR",
        0x1 => "PROTOCOL_ERROR",
        0x2 => "INTERNAL_ERROR",
        0x3 => "FLOW_CONTROL_ERROR",
        0x4 => "SETTINGS_TIMEOUT",
        0x5 => "STREAM_CLOSED",
        0x6 => "FRAME_SIZE_ERROR",
        0x7 => "REFUSED_STREAM",
        0x8 => "CANCEL",
        0x9 => "COMPRESSION_ERROR",
        0xa => "CONNECT_ERROR",
        0xb => "ENHANCE_YOUR_CALM",
        0xc => "INADEQUATE_SECURITY",
        0xd => "HTTP_1_1_REQUIRED",
        _ => "unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_fields_and_the_reserved_bit() {
        // RFC 9113 §4.1: a HEADERS frame of 13 bytes, END_HEADERS, stream 1,
        // with the reserved bit set (ignored).
        let h = parse_header(&[0, 0, 13, 1, 4, 0x80, 0, 0, 1]);
        assert_eq!(
            h,
            FrameHeader {
                len: 13,
                kind: FrameType::HEADERS,
                flags: flags::END_HEADERS,
                stream: 1
            }
        );
        assert_eq!(
            parse_header(&[0xff, 0xff, 0xff, 0xee, 0, 0, 0, 0, 0]).len,
            MAX_FRAME_LEN
        );
        assert_eq!(FrameType(0xee).name(), "unknown");
    }

    #[test]
    fn padding_and_priority_are_taken_off() {
        let h = |kind, flags, len| FrameHeader {
            len,
            kind,
            flags,
            stream: 1,
        };
        // DATA, padded: pad length 2, "abc", two pad bytes.
        let p = [2, b'a', b'b', b'c', 0, 0];
        assert_eq!(
            content(&h(FrameType::DATA, flags::PADDED, 6), &p),
            Ok(&b"abc"[..])
        );
        // HEADERS, padded and with priority: pad 1, 5 priority bytes, block, pad.
        let p = [1, 0, 0, 0, 3, 15, 0x82, 0x86, 0];
        assert_eq!(
            content(&h(FrameType::HEADERS, flags::PADDED | flags::PRIORITY, 9), &p),
            Ok(&[0x82, 0x86][..])
        );
        // A pad length as long as the rest: an error, not a panic.
        let p = [5, b'a', b'b'];
        assert!(matches!(
            content(&h(FrameType::DATA, flags::PADDED, 3), &p),
            Err(FrameError::PaddingTooLong { pad: 5, .. })
        ));
        assert!(content(&h(FrameType::DATA, flags::PADDED, 0), &[]).is_err());
        assert!(content(&h(FrameType::HEADERS, flags::PRIORITY, 3), &[0, 0, 0]).is_err());
        // Other types whole; unpadded DATA whole.
        assert_eq!(content(&h(FrameType::DATA, 0, 2), b"hi"), Ok(&b"hi"[..]));
        assert_eq!(
            content(&h(FrameType::PING, flags::PADDED, 2), b"hi"),
            Ok(&b"hi"[..])
        );
    }

    #[test]
    fn settings_entries() {
        let p = [0, 8, 0, 0, 0, 1, 0, 4, 0, 1, 0, 0];
        assert_eq!(settings(&p), Some(vec![(8, 1), (4, 65536)]));
        assert_eq!(settings(&p[..5]), None);
        assert_eq!(settings(&[]), Some(vec![]));
        assert_eq!(setting::name(8), Some("ENABLE_CONNECT_PROTOCOL"));
        assert_eq!(u32_at(&[0, 0, 0, 8], 0), Some(8));
        assert_eq!(u32_at(&[0, 0, 8], 0), None);
        assert_eq!(error_name(8), "CANCEL");
    }
}
