//! TCP header → [`Segment`](super::Segment), over etherparse's `TcpSlice`.

use super::{DecodeError, Decoded, Segment};
use etherparse::TcpSlice;
use std::net::{IpAddr, SocketAddr};

/// TCP flags as on the wire (FIN = 0x01 ... CWR = 0x80).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct TcpFlags(pub u8);

impl TcpFlags {
    pub const FIN: u8 = 0x01;
    pub const SYN: u8 = 0x02;
    pub const RST: u8 = 0x04;
    pub const PSH: u8 = 0x08;
    pub const ACK: u8 = 0x10;

    pub fn fin(self) -> bool {
        self.0 & Self::FIN != 0
    }
    pub fn syn(self) -> bool {
        self.0 & Self::SYN != 0
    }
    pub fn rst(self) -> bool {
        self.0 & Self::RST != 0
    }
    pub fn ack(self) -> bool {
        self.0 & Self::ACK != 0
    }
}

/// Builds a segment from an IP payload. `missing` is the number of IP
/// payload bytes the capture cut off; they all belong to the TCP payload
/// once the header itself was captured.
pub fn segment(src: IpAddr, dst: IpAddr, ip_payload: &[u8], missing: usize) -> Decoded<'_> {
    let tcp = match TcpSlice::from_slice(ip_payload) {
        Ok(t) => t,
        Err(e) => {
            let why = if missing > 0 {
                format!("{e} (cut by the snapshot length)")
            } else {
                e.to_string()
            };
            return Decoded::Malformed(DecodeError::BadTcp(why));
        }
    };
    let mut flags = 0u8;
    for (set, bit) in [
        (tcp.fin(), TcpFlags::FIN),
        (tcp.syn(), TcpFlags::SYN),
        (tcp.rst(), TcpFlags::RST),
        (tcp.psh(), TcpFlags::PSH),
        (tcp.ack(), TcpFlags::ACK),
        (tcp.urg(), 0x20),
        (tcp.ece(), 0x40),
        (tcp.cwr(), 0x80),
    ] {
        if set {
            flags |= bit;
        }
    }
    Decoded::Tcp(Segment {
        src: SocketAddr::new(src, tcp.source_port()),
        dst: SocketAddr::new(dst, tcp.destination_port()),
        seq: tcp.sequence_number(),
        ack: tcp.acknowledgment_number(),
        flags: TcpFlags(flags),
        window: tcp.window_size(),
        payload: tcp.payload(),
        // Bounded by the IP length field (u16), so it fits.
        missing: u32::try_from(missing).unwrap_or(u32::MAX),
    })
}
