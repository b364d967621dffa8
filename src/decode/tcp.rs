//! TCP header → [`Segment`](super::Segment), over etherparse's `TcpSlice`.

use super::{DecodeError, DecodeWarning, Decoded, Segment};
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
/// once the header itself was captured. `warning`: an IP header fault
/// already found; a TCP one is only added when there is none.
///
/// A data offset below 5 or beyond the captured segment leaves no way to
/// tell header from payload: the packet is dropped (`bad-tcp-header`).
/// Options whose lengths do not walk cleanly to the end of the header are a
/// warning only: the data offset still says where the payload starts.
pub fn segment(
    src: IpAddr,
    dst: IpAddr,
    ip_payload: &[u8],
    missing: usize,
    warning: Option<DecodeWarning>,
) -> Decoded<'_> {
    let tcp = match TcpSlice::from_slice(ip_payload) {
        Ok(t) => t,
        Err(e) => {
            let why = if missing > 0 {
                format!("{e} (cut by the snapshot length)")
            } else {
                format!("{e}; the packet is not used")
            };
            return Decoded::Malformed(DecodeError::BadTcp(why));
        }
    };
    let warning = warning.or_else(|| {
        bad_option(tcp.options()).map(|(kind, at)| DecodeWarning::TcpOptions {
            kind,
            at: at.saturating_add(20),
            header_len: tcp.header_len(),
        })
    });
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
        warning,
    })
}

/// The first option (kind, offset in the option bytes) whose length is
/// missing, below 2 or past the end of the options; `None` when the list
/// walks cleanly (to its end or to an End-of-Option-List). Only the
/// kind/length structure is checked (RFC 9293 §3.1): unknown kinds are
/// normal (MPTCP, TFO, experiments).
fn bad_option(opts: &[u8]) -> Option<(u8, usize)> {
    let mut at = 0usize;
    while let Some(&kind) = opts.get(at) {
        match kind {
            0 => return None,
            1 => at = at.saturating_add(1),
            _ => match opts.get(at.saturating_add(1)).map(|l| usize::from(*l)) {
                Some(len) if len >= 2 && at.saturating_add(len) <= opts.len() => {
                    at = at.saturating_add(len);
                }
                _ => return Some((kind, at)),
            },
        }
    }
    None
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    const A: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));

    /// A TCP header with `opts` (padded to 4 bytes) and `payload`.
    fn tcp(opts: &[u8], payload: &[u8]) -> Vec<u8> {
        let mut o = opts.to_vec();
        while o.len() % 4 != 0 {
            o.push(0);
        }
        let doff = ((20 + o.len()) / 4) as u8;
        let mut v = vec![
            0x04,
            0xd2,
            0,
            80,
            0,
            0,
            0,
            1,
            0,
            0,
            0,
            0,
            doff << 4,
            0x18,
            0xff,
            0xff,
            0,
            0,
            0,
            0,
        ];
        v.extend(o);
        v.extend(payload);
        v
    }

    fn seg(bytes: &[u8]) -> Decoded<'_> {
        segment(A, A, bytes, 0, None)
    }

    /// (payload, warning) of a segment that decodes.
    fn used(bytes: &[u8]) -> (Vec<u8>, Option<DecodeWarning>) {
        match seg(bytes) {
            Decoded::Tcp(s) => (s.payload.to_vec(), s.warning),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn good_options_walk_cleanly() {
        // MSS, SACK-permitted, timestamps, NOP, window scale, unknown kind 30 (MPTCP).
        let opts = [
            2, 4, 5, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7, 30, 4, 0, 0,
        ];
        assert_eq!(used(&tcp(&opts, b"hi")), (b"hi".to_vec(), None));
        // An End-of-Option-List stops the walk: what follows is padding.
        assert_eq!(used(&tcp(&[0, 0xff, 0xff], b"x")).1, None);
    }

    #[test]
    fn bad_option_length_is_a_warning_payload_kept() {
        // Timestamps claiming 40 bytes inside a 32-byte header.
        let (payload, warning) = used(&tcp(&[1, 1, 8, 40, 0, 0, 0, 0, 0, 0, 0, 0], b"data"));
        assert_eq!(payload, b"data");
        assert_eq!(
            warning,
            Some(DecodeWarning::TcpOptions {
                kind: 8,
                at: 22,
                header_len: 32
            })
        );
        assert_eq!(warning.unwrap().code(), crate::diag::BAD_TCP_HEADER);
        // A zero or one length would never advance: also bad.
        for len in [0u8, 1] {
            let w = used(&tcp(&[2, len, 0, 0], b"")).1;
            assert!(
                matches!(w, Some(DecodeWarning::TcpOptions { kind: 2, at: 20, .. })),
                "{w:?}"
            );
        }
        // A kind as the last option byte, its length not in the header.
        let w = used(&tcp(&[1, 1, 1, 5], b"")).1;
        assert!(
            matches!(w, Some(DecodeWarning::TcpOptions { kind: 5, at: 23, .. })),
            "{w:?}"
        );
        // An IP warning already found is kept (one warning per segment).
        let ip = DecodeWarning::IpLengthOverrun {
            field: "IPv4 total length",
            claimed: 9,
            captured: 8,
            wire: 8,
        };
        let bytes = tcp(&[2, 0, 0, 0], b"");
        let Decoded::Tcp(s) = segment(A, A, &bytes, 0, Some(ip)) else {
            panic!()
        };
        assert_eq!(s.warning, Some(ip));
    }

    #[test]
    fn data_offset_beyond_the_segment_drops_it() {
        let mut v = tcp(&[], b"");
        v[12] = 15 << 4; // 60-byte header in a 20-byte segment
        let r = seg(&v);
        let Decoded::Malformed(e) = r else { panic!("{r:?}") };
        assert_eq!(e.code(), crate::diag::BAD_TCP_HEADER);
        assert!(e.to_string().contains("not used"), "{e}");
        v[12] = 4 << 4; // below the 20-byte minimum
        assert!(matches!(seg(&v), Decoded::Malformed(DecodeError::BadTcp(_))));
    }
}
