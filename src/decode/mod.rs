//! Link → IP → TCP decoding, over `etherparse`'s lax slicers (the strict ones
//! reject snaplen-truncated packets, which an analyzer must still read).
//!
//! [`Decoder::decode`] turns a [`Packet`] into a [`Decoded`]: a zero-copy TCP
//! [`Segment`] on the hot path, or a reason the packet carries no TCP. IP
//! fragments are held by a bounded defragmenter until complete. A segment
//! whose payload was cut by the snapshot length says how many payload bytes
//! are `missing`, so reassembly can turn them into a gap rather than garbage.

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
    /// Payload bytes the IP header declares but the capture did not keep.
    pub missing: u32,
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
        ip::decode_ip(net, pkt.ts, &mut self.defrag)
    }
}
