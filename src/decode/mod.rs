//! Link → IP → TCP decoding, over `etherparse`'s lax slicers (the strict ones
//! reject snaplen-truncated packets, which an analyzer must still read).
//!
//! [`Decoder::decode`] turns a [`Packet`] into a [`Decoded`]: a zero-copy TCP
//! [`Segment`] on the hot path, or a reason the packet carries no TCP. IP
//! fragments are held by a bounded defragmenter until complete. A segment
//! whose payload was cut by the snapshot length says how many payload bytes
//! are `missing`, so reassembly can turn them into a gap rather than garbage.
//!
//! Length fields are checked against the capture record, never trusted over
//! it: a header claiming more bytes than the record says the packet had is
//! a bad header ([`DecodeWarning`]), and the captured bytes are used. Only
//! bytes the record itself says were not captured (`orig_len > caplen`) can
//! become a snaplen gap; an IPv4 length shorter than the captured bytes is
//! link padding and is trimmed silently.

#![deny(clippy::indexing_slicing, clippy::unwrap_used)]

pub mod ip;
pub mod link;
pub mod tcp;

use crate::diag;
use crate::source::Packet;
use std::net::SocketAddr;

pub use ip::{DefragConfig, Defragmenter};
pub use tcp::TcpFlags;

/// A TCP segment, borrowed from its packet (or from the defragmenter).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Segment<'a> {
    pub src: SocketAddr,
    pub dst: SocketAddr,
    pub seq: u32,
    pub ack: u32,
    pub flags: TcpFlags,
    pub window: u16,
    /// The captured payload.
    pub payload: &'a [u8],
    /// Payload bytes the IP header declares but the capture did not keep:
    /// never more than the record itself says were not captured
    /// (`orig_len - caplen`), so a lying length field cannot invent a gap.
    pub missing: u32,
    /// Something wrong in the headers that did not stop the segment from
    /// being used (a length field claiming more than the packet held, TCP
    /// options running past the header). The analyzer reports it like
    /// [`Decoded::Malformed`], with the same codes.
    pub warning: Option<DecodeWarning>,
}

/// A header fault in a packet that is still used: reported, not dropped.
///
/// The rule is *trust the captured record*: the capture file says how long
/// the packet was on the wire (`orig_len`) and how much of it was kept
/// (`caplen`). A header that claims more than that is wrong, not cut.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeWarning {
    /// The IP length field (`field`: IPv4 total length or IPv6 payload
    /// length, expressed here as the whole datagram) claims `claimed` bytes
    /// but the packet had at most `wire` from its IP header on (`captured`
    /// of them captured). The captured bytes are the datagram; only
    /// `wire - captured` bytes count as missing.
    IpLengthOverrun {
        field: &'static str,
        claimed: usize,
        captured: usize,
        wire: usize,
    },
    /// The TCP option of `kind` at byte `at` of the header has a length
    /// under 2 or running past the `header_len`-byte header: the options are
    /// ignored (wsscope reads none it needs), the payload is used.
    TcpOptions { kind: u8, at: usize, header_len: usize },
}

impl std::fmt::Display for DecodeWarning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            DecodeWarning::IpLengthOverrun {
                field,
                claimed,
                captured,
                wire,
            } if wire == captured => write!(
                f,
                "bad IP header: the {field} claims a {claimed}-byte datagram, but the packet was \
                 captured whole with {captured} bytes from the IP header on; the header is wrong, \
                 the {captured} captured bytes are used (nothing counted as missing)"
            ),
            DecodeWarning::IpLengthOverrun {
                field,
                claimed,
                captured,
                wire,
            } => write!(
                f,
                "bad IP header: the {field} claims a {claimed}-byte datagram, but the packet had only \
                 {wire} bytes on the wire from the IP header on ({captured} captured); the header is \
                 wrong, only the {} bytes the capture says it cut count as missing",
                wire.saturating_sub(captured)
            ),
            DecodeWarning::TcpOptions { kind, at, header_len } => write!(
                f,
                "bad TCP header: option kind {kind} at header byte {at} has a length below 2 or past \
                 the end of the {header_len}-byte header; the options are ignored, the payload is used"
            ),
        }
    }
}

impl DecodeWarning {
    /// Stable kebab-case code for diagnostics (the same as the malformed
    /// packet's: the header is bad either way).
    pub fn code(&self) -> &'static str {
        match self {
            DecodeWarning::IpLengthOverrun { .. } => diag::BAD_IP_HEADER,
            DecodeWarning::TcpOptions { .. } => diag::BAD_TCP_HEADER,
        }
    }
}

/// What a packet turned out to be.
#[derive(Debug, PartialEq, Eq)]
pub enum Decoded<'a> {
    Tcp(Segment<'a>),
    /// Not TCP (ARP, UDP, ICMP, unknown ethertype...): skipped silently.
    NotTcp,
    /// An IP fragment held until its datagram is complete.
    FragmentHeld,
    /// Could not be decoded; the reason is shown to the user.
    Malformed(DecodeError),
}

/// Why a packet could not be decoded. Kept small and specific.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeError {
    /// The link type is not one we understand.
    UnsupportedLink(u32),
    /// The link-layer header is cut short.
    LinkTruncated { needed: usize, got: usize },
    /// The IP header is invalid or cut short.
    BadIp(String),
    /// The TCP header is invalid or cut short (snaplen smaller than the header).
    BadTcp(String),
    /// A fragment was dropped: reassembly limits hit or inconsistent fragments.
    Fragment(String),
}

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DecodeError::UnsupportedLink(l) => write!(f, "unsupported link type {l}"),
            DecodeError::LinkTruncated { needed, got } => {
                write!(f, "link header truncated: needed {needed} bytes, captured {got}")
            }
            DecodeError::BadIp(s) => write!(f, "bad IP header: {s}"),
            DecodeError::BadTcp(s) => write!(f, "bad TCP header: {s}"),
            DecodeError::Fragment(s) => write!(f, "IP fragment: {s}"),
        }
    }
}

impl DecodeError {
    /// Stable kebab-case code for diagnostics.
    pub fn code(&self) -> &'static str {
        match self {
            DecodeError::UnsupportedLink(_) => diag::UNSUPPORTED_LINK_TYPE,
            DecodeError::LinkTruncated { .. } => diag::LINK_TRUNCATED,
            DecodeError::BadIp(_) => diag::BAD_IP_HEADER,
            DecodeError::BadTcp(_) => diag::BAD_TCP_HEADER,
            DecodeError::Fragment(_) => diag::IP_FRAGMENT_DROPPED,
        }
    }
}

/// Stateful decoder: owns the IP defragmenter.
#[derive(Default)]
pub struct Decoder {
    pub defrag: Defragmenter,
}

impl Decoder {
    pub fn new(defrag: DefragConfig) -> Self {
        Decoder {
            defrag: Defragmenter::new(defrag),
        }
    }

    /// Decodes one packet. The result borrows from the packet or, for a
    /// datagram just completed from fragments, from the defragmenter.
    pub fn decode<'a>(&'a mut self, pkt: &Packet<'a>) -> Decoded<'a> {
        let net = match link::strip(pkt.link, pkt.data) {
            Ok(Some(net)) => net,
            Ok(None) => return Decoded::NotTcp,
            Err(e) => return Decoded::Malformed(e),
        };
        // What the record says was not captured: the only bytes a header
        // may declare missing (see [`DecodeWarning`]).
        let cut = usize::try_from(pkt.orig_len)
            .unwrap_or(usize::MAX)
            .saturating_sub(pkt.data.len());
        ip::decode_ip(net, pkt.ts, &mut self.defrag, cut)
    }
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::event::Timestamp;
    use crate::source::LinkType;

    fn raw_tcp(payload: &[u8]) -> Vec<u8> {
        let b = etherparse::PacketBuilder::ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64).tcp(1234, 80, 1000, 65535);
        let mut v = Vec::new();
        b.write(&mut v, payload).unwrap();
        v
    }

    /// (missing, warning) of a raw-IP record that decodes to TCP.
    fn decode(data: &[u8], orig_len: u32) -> Option<(u32, Option<DecodeWarning>)> {
        let mut d = Decoder::default();
        let pkt = Packet {
            index: 7,
            ts: Timestamp::default(),
            link: LinkType::RAW,
            data,
            orig_len,
            at: 0,
        };
        match d.decode(&pkt) {
            Decoded::Tcp(s) => Some((s.missing, s.warning)),
            _ => None,
        }
    }

    #[test]
    fn the_record_decides_what_is_missing() {
        let mut pkt = raw_tcp(b"0123456789");
        pkt[2..4].copy_from_slice(&20_000u16.to_be_bytes());
        let len = pkt.len() as u32;
        // Captured whole (caplen == orig_len): no gap, a warning.
        let (missing, warning) = decode(&pkt, len).unwrap();
        assert_eq!(missing, 0);
        assert!(
            matches!(warning, Some(DecodeWarning::IpLengthOverrun { wire: 50, .. })),
            "{warning:?}"
        );
        // The record says 100 bytes were cut: 100 are missing, the claim is still a lie.
        let (missing, warning) = decode(&pkt, len + 100).unwrap();
        assert_eq!(missing, 100);
        assert!(warning.is_some());
        // An orig_len below caplen is nonsense: treated as captured whole.
        assert_eq!(decode(&pkt, 10).unwrap().0, 0);
    }
}
