//! IPv4 (with options) and IPv6 (with extension headers) through etherparse,
//! IP fragment reassembly, and GTP-U decapsulation (mobile-core captures
//! carry their TCP inside UDP/2152 tunnels).

use super::link::Net;
use super::{DecodeError, DecodeWarning, Decoded};
use crate::event::Timestamp;
use etherparse::{IpNumber, Ipv6ExtensionSlice, LaxIpSlice};
use std::collections::HashMap;
use std::net::IpAddr;

/// UDP port of GTP-U.
const GTP_U_PORT: u16 = 2152;
/// Tunnels inside tunnels: stop unwrapping after this many.
const MAX_TUNNEL_DEPTH: u8 = 3;

/// Limits of the defragmenter.
#[derive(Clone, Copy, Debug)]
pub struct DefragConfig {
    /// Datagrams being reassembled at once.
    pub max_datagrams: usize,
    /// Bytes held across all datagrams.
    pub max_bytes: usize,
    /// Seconds (capture time) before an incomplete datagram is dropped.
    pub timeout_secs: i64,
}

impl Default for DefragConfig {
    fn default() -> Self {
        DefragConfig {
            max_datagrams: 4096,
            max_bytes: 32 << 20,
            timeout_secs: 30,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct FragKey {
    src: IpAddr,
    dst: IpAddr,
    id: u32,
    proto: u8,
}

#[derive(Debug, Default)]
struct Datagram {
    first_ts: Timestamp,
    /// (offset, bytes), in arrival order.
    pieces: Vec<(usize, Vec<u8>)>,
    /// Known once the last fragment (MF = 0) arrived.
    total: Option<usize>,
    held: usize,
    /// A fragment's header fault, reported on the reassembled segment.
    warning: Option<DecodeWarning>,
}

/// Reassembles IPv4/IPv6 fragments, bounded in datagrams, bytes and time.
#[derive(Debug)]
pub struct Defragmenter {
    cfg: DefragConfig,
    pending: HashMap<FragKey, Datagram>,
    held: usize,
    /// The last completed datagram's payload; segments borrow from it.
    done: Vec<u8>,
    /// Datagrams completed / dropped, for the summary.
    pub reassembled: u64,
    pub dropped: u64,
}

impl Default for Defragmenter {
    fn default() -> Self {
        Self::new(DefragConfig::default())
    }
}

enum FragResult {
    Held,
    /// The datagram is in `done`; a fragment's header fault, if any.
    Complete(Option<DecodeWarning>),
    Dropped(String),
}

impl Defragmenter {
    pub fn new(cfg: DefragConfig) -> Self {
        Defragmenter {
            cfg,
            pending: HashMap::new(),
            held: 0,
            done: Vec::new(),
            reassembled: 0,
            dropped: 0,
        }
    }

    /// Adds a fragment; on completion the payload is in `self.done`.
    #[allow(clippy::too_many_arguments)]
    fn add(
        &mut self,
        key: FragKey,
        ts: Timestamp,
        offset: usize,
        more: bool,
        data: &[u8],
        warning: Option<DecodeWarning>,
    ) -> FragResult {
        self.expire(ts);
        let end = match offset.checked_add(data.len()) {
            // An IP datagram cannot exceed 65535 bytes of payload (jumbograms aside).
            Some(end) if end <= 65_535 + 8 => end,
            _ => {
                self.dropped = self.dropped.saturating_add(1);
                return FragResult::Dropped(format!("fragment at offset {offset} exceeds the IP size limit"));
            }
        };
        if !self.pending.contains_key(&key)
            && (self.pending.len() >= self.cfg.max_datagrams
                || self.held.saturating_add(data.len()) > self.cfg.max_bytes)
        {
            self.dropped = self.dropped.saturating_add(1);
            return FragResult::Dropped(format!(
                "too many fragments pending ({} datagrams, {} bytes); fragment dropped",
                self.pending.len(),
                self.held
            ));
        }
        let dg = self.pending.entry(key).or_insert_with(|| Datagram {
            first_ts: ts,
            ..Default::default()
        });
        dg.pieces.push((offset, data.to_vec()));
        dg.warning = dg.warning.or(warning);
        dg.held = dg.held.saturating_add(data.len());
        self.held = self.held.saturating_add(data.len());
        if !more {
            dg.total = Some(end);
        }
        let Some(total) = dg.total else {
            return FragResult::Held;
        };
        // Complete when the pieces cover 0..total. First arrival wins on overlap.
        let mut ranges: Vec<(usize, usize)> = dg
            .pieces
            .iter()
            .map(|(o, d)| (*o, o.saturating_add(d.len())))
            .collect();
        ranges.sort_unstable();
        let mut covered = 0usize;
        for (s, e) in ranges {
            if s > covered {
                return FragResult::Held;
            }
            covered = covered.max(e);
        }
        if covered < total {
            return FragResult::Held;
        }
        let Some(dg) = self.pending.remove(&key) else {
            return FragResult::Held;
        };
        self.held = self.held.saturating_sub(dg.held);
        self.done.clear();
        self.done.resize(total, 0);
        let mut filled = vec![false; total];
        for (o, d) in &dg.pieces {
            for (i, b) in d.iter().enumerate() {
                let at = o.saturating_add(i);
                if let (Some(slot), Some(f)) = (self.done.get_mut(at), filled.get_mut(at))
                    && !*f
                {
                    *slot = *b;
                    *f = true;
                }
            }
        }
        self.reassembled = self.reassembled.saturating_add(1);
        FragResult::Complete(dg.warning)
    }

    fn expire(&mut self, now: Timestamp) {
        if self.pending.is_empty() {
            return;
        }
        let timeout = self.cfg.timeout_secs;
        let before = self.pending.len();
        let mut freed = 0usize;
        self.pending.retain(|_, dg| {
            let keep = now.secs.saturating_sub(dg.first_ts.secs) <= timeout;
            if !keep {
                freed = freed.saturating_add(dg.held);
            }
            keep
        });
        self.held = self.held.saturating_sub(freed);
        self.dropped = self.dropped.saturating_add((before - self.pending.len()) as u64);
    }

    /// Datagrams still incomplete (reported at the end of input).
    pub fn incomplete(&self) -> usize {
        self.pending.len()
    }
}

/// Decodes an IP packet down to TCP. `cut`: bytes of this packet the
/// capture record says were not captured (`orig_len - caplen`); the most a
/// length field may declare missing.
pub fn decode_ip<'a>(net: Net<'a>, ts: Timestamp, defrag: &'a mut Defragmenter, cut: usize) -> Decoded<'a> {
    decode_ip_depth(net, ts, defrag, cut, 0)
}

fn decode_ip_depth<'a>(
    net: Net<'a>,
    ts: Timestamp,
    defrag: &'a mut Defragmenter,
    cut: usize,
    depth: u8,
) -> Decoded<'a> {
    let Net::Ip(bytes) = net;
    let (ip, _ext_err) = match LaxIpSlice::from_slice(bytes) {
        Ok(v) => v,
        Err(e) => return Decoded::Malformed(DecodeError::BadIp(e.to_string())),
    };
    let (src, dst) = (ip.source_addr(), ip.destination_addr());
    let payload = ip.payload();
    let (field, declared_total) = match &ip {
        LaxIpSlice::Ipv4(v4) => {
            let h = v4.header();
            let total = usize::from(h.total_len());
            let header_len = h.slice().len();
            // Zero is what TSO/GSO captures show (the NIC fills it in):
            // it declares nothing, the captured bytes are the datagram.
            // Anything else below the header's own length is impossible,
            // and trimming by it is undefined: the packet is dropped.
            if total != 0 && total < header_len {
                return Decoded::Malformed(DecodeError::BadIp(format!(
                    "IPv4 total length {total} is shorter than its own {header_len}-byte header"
                )));
            }
            ("IPv4 total length", total)
        }
        LaxIpSlice::Ipv6(v6) => (
            "IPv6 payload length",
            usize::from(v6.header().payload_length()).saturating_add(40),
        ),
    };
    // `incomplete`: the length field promised more than was captured (a
    // zero length field declares nothing missing). Trust the record: only
    // the bytes it says were not captured can be missing; a claim beyond
    // them is a bad header and the captured bytes are used.
    let (missing, warning) = if payload.incomplete {
        let short = declared_total.saturating_sub(bytes.len());
        if short <= cut {
            (short, None)
        } else {
            let warning = DecodeWarning::IpLengthOverrun {
                field,
                claimed: declared_total,
                captured: bytes.len(),
                wire: bytes.len().saturating_add(cut),
            };
            (cut, Some(warning))
        }
    } else {
        (0, None)
    };
    let proto = payload.ip_number;
    if payload.fragmented {
        let frag = match &ip {
            LaxIpSlice::Ipv4(v4) => {
                let h = v4.header();
                Some((
                    u32::from(h.identification()),
                    usize::from(h.fragments_offset().value()) * 8,
                    h.more_fragments(),
                ))
            }
            LaxIpSlice::Ipv6(v6) => v6.extensions().clone().into_iter().find_map(|ext| match ext {
                Ipv6ExtensionSlice::Fragment(f) => Some((
                    f.identification(),
                    usize::from(f.fragment_offset().value()) * 8,
                    f.more_fragments(),
                )),
                _ => None,
            }),
        };
        let Some((id, offset, more)) = frag else {
            return Decoded::Malformed(DecodeError::Fragment("fragment header not found".into()));
        };
        if missing > 0 {
            return Decoded::Malformed(DecodeError::Fragment(format!(
                "fragment cut by the snapshot length ({missing} bytes missing); datagram cannot be reassembled"
            )));
        }
        let key = FragKey {
            src,
            dst,
            id,
            proto: proto.0,
        };
        // A fragment whose length field lied is used as captured (the same
        // rule as a whole datagram); its warning rides on the reassembly.
        return match defrag.add(key, ts, offset, more, payload.payload, warning) {
            FragResult::Held => Decoded::FragmentHeld,
            FragResult::Dropped(why) => Decoded::Malformed(DecodeError::Fragment(why)),
            FragResult::Complete(warning) => {
                let Defragmenter { done, .. } = defrag;
                transport(proto, src, dst, done, 0, warning, ts, None, depth)
            }
        };
    }
    transport(
        proto,
        src,
        dst,
        payload.payload,
        missing,
        warning,
        ts,
        Some(defrag),
        depth,
    )
}

#[allow(clippy::too_many_arguments)]
fn transport<'a>(
    proto: IpNumber,
    src: IpAddr,
    dst: IpAddr,
    payload: &'a [u8],
    missing: usize,
    warning: Option<DecodeWarning>,
    ts: Timestamp,
    defrag: Option<&'a mut Defragmenter>,
    depth: u8,
) -> Decoded<'a> {
    match proto {
        IpNumber::TCP => super::tcp::segment(src, dst, payload, missing, warning),
        // The tunnelled packet ends where the outer one does: what the outer
        // is missing is the most the inner may claim missing. (An outer
        // header fault is not carried in: the inner packet is judged alone.)
        IpNumber::UDP => match (gtp_u_inner(payload), defrag) {
            (Some(inner), Some(defrag)) if depth < MAX_TUNNEL_DEPTH => {
                decode_ip_depth(Net::Ip(inner), ts, defrag, missing, depth.saturating_add(1))
            }
            _ => Decoded::NotTcp,
        },
        _ => Decoded::NotTcp,
    }
}

/// If `udp` is a GTP-U G-PDU on port 2152, the tunnelled IP packet.
fn gtp_u_inner(udp: &[u8]) -> Option<&[u8]> {
    let sport = u16::from_be_bytes([*udp.first()?, *udp.get(1)?]);
    let dport = u16::from_be_bytes([*udp.get(2)?, *udp.get(3)?]);
    if sport != GTP_U_PORT && dport != GTP_U_PORT {
        return None;
    }
    let gtp = udp.get(8..)?;
    let flags = *gtp.first()?;
    // Version 1, protocol type GTP, message type 255 (G-PDU).
    if flags >> 5 != 1 || flags & 0x10 == 0 || *gtp.get(1)? != 0xFF {
        return None;
    }
    let mut at = 8usize;
    if flags & 0x07 != 0 {
        // Sequence number, N-PDU number and next-extension type follow.
        let mut next_ext = *gtp.get(11)?;
        at = 12;
        while next_ext != 0 {
            // Extension length is in 4-byte units, including its own length
            // and next-type bytes; a zero length would loop forever.
            let units = usize::from(*gtp.get(at)?);
            if units == 0 {
                return None;
            }
            let len = units.checked_mul(4)?;
            next_ext = *gtp.get(at.checked_add(len)?.checked_sub(1)?)?;
            at = at.checked_add(len)?;
        }
    }
    let inner = gtp.get(at..)?;
    matches!(inner.first().map(|b| b >> 4), Some(4 | 6)).then_some(inner)
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::unwrap_used)]
mod tests {
    use super::*;
    use etherparse::PacketBuilder;

    fn tcp_ipv4(payload: &[u8]) -> Vec<u8> {
        let b = PacketBuilder::ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64)
            .tcp(1234, 80, 1000, 65535)
            .psh()
            .ack(7);
        let mut v = Vec::new();
        b.write(&mut v, payload).unwrap();
        v
    }

    #[test]
    fn ipv4_tcp_and_snaplen_missing() {
        let pkt = tcp_ipv4(b"hello world");
        let mut d = Defragmenter::default();
        let Decoded::Tcp(seg) = decode_ip(Net::Ip(&pkt), Timestamp::default(), &mut d, 0) else {
            panic!()
        };
        assert_eq!(seg.payload, b"hello world");
        assert_eq!(seg.missing, 0);
        assert_eq!(seg.src.port(), 1234);
        let mut d = Defragmenter::default();
        let cut = &pkt[..pkt.len() - 4];
        let Decoded::Tcp(seg) = decode_ip(Net::Ip(cut), Timestamp::default(), &mut d, 4) else {
            panic!()
        };
        assert_eq!(seg.payload, b"hello w");
        assert_eq!(seg.missing, 4);
        // Cut inside the TCP header: reported, not garbage.
        let mut d = Defragmenter::default();
        let r = decode_ip(Net::Ip(&pkt[..30]), Timestamp::default(), &mut d, pkt.len() - 30);
        assert!(matches!(r, Decoded::Malformed(DecodeError::BadTcp(_))), "{r:?}");
    }

    #[test]
    fn ipv4_fragments_reassemble_in_any_order() {
        let full = tcp_ipv4(&[7u8; 100]);
        let hdr = &full[..20];
        let body = &full[20..]; // TCP header + payload = 120 bytes
        let frag = |off: usize, more: bool, data: &[u8]| {
            let mut h = hdr.to_vec();
            let total = (20 + data.len()) as u16;
            h[2..4].copy_from_slice(&total.to_be_bytes());
            let fo = ((off / 8) as u16) | if more { 0x2000 } else { 0 };
            h[6..8].copy_from_slice(&fo.to_be_bytes());
            h[4..6].copy_from_slice(&42u16.to_be_bytes());
            h.extend_from_slice(data);
            h
        };
        let a = frag(0, true, &body[..64]);
        let b = frag(64, false, &body[64..]);
        let mut d = Defragmenter::default();
        assert_eq!(
            decode_ip(Net::Ip(&b), Timestamp::default(), &mut d, 0),
            Decoded::FragmentHeld
        );
        let Decoded::Tcp(seg) = decode_ip(Net::Ip(&a), Timestamp::default(), &mut d, 0) else {
            panic!()
        };
        assert_eq!(seg.payload, &[7u8; 100][..]);
        assert_eq!(d.reassembled, 1);
        assert_eq!(d.incomplete(), 0);
    }

    #[test]
    fn gtp_u_is_unwrapped() {
        let inner = tcp_ipv4(b"GET / HTTP/1.1\r\n");
        let mut gtp = vec![0x30, 0xFF];
        gtp.extend((inner.len() as u16).to_be_bytes());
        gtp.extend([0, 0, 0, 1]);
        gtp.extend(&inner);
        let b = PacketBuilder::ipv4([1, 1, 1, 1], [2, 2, 2, 2], 64).udp(2152, 2152);
        let mut outer = Vec::new();
        b.write(&mut outer, &gtp).unwrap();
        let mut d = Defragmenter::default();
        let Decoded::Tcp(seg) = decode_ip(Net::Ip(&outer), Timestamp::default(), &mut d, 0) else {
            panic!()
        };
        assert_eq!(seg.payload, b"GET / HTTP/1.1\r\n");
    }

    fn set_total(pkt: &mut [u8], total: u16) {
        pkt[2..4].copy_from_slice(&total.to_be_bytes());
    }

    #[test]
    fn length_beyond_a_whole_record_is_a_bad_header_not_a_gap() {
        // The forged packet of issue 11: 62 bytes captured whole, total length 20 000.
        let mut pkt = tcp_ipv4(b"hello world");
        set_total(&mut pkt, 20_000);
        let mut d = Defragmenter::default();
        let Decoded::Tcp(seg) = decode_ip(Net::Ip(&pkt), Timestamp::default(), &mut d, 0) else {
            panic!()
        };
        assert_eq!(seg.payload, b"hello world");
        assert_eq!(seg.missing, 0);
        let w = seg.warning.unwrap();
        assert_eq!(
            w,
            DecodeWarning::IpLengthOverrun {
                field: "IPv4 total length",
                claimed: 20_000,
                captured: 51,
                wire: 51
            }
        );
        assert_eq!(w.code(), crate::diag::BAD_IP_HEADER);
        assert!(w.to_string().contains("captured whole"), "{w}");
    }

    #[test]
    fn missing_is_bounded_by_what_the_record_says_was_cut() {
        let pkt = tcp_ipv4(&[9u8; 100]);
        let cut = &pkt[..pkt.len() - 30];
        let mut d = Defragmenter::default();
        // The record says exactly 30 bytes were not captured: an honest header.
        let Decoded::Tcp(seg) = decode_ip(Net::Ip(cut), Timestamp::default(), &mut d, 30) else {
            panic!()
        };
        assert_eq!((seg.payload.len(), seg.missing, seg.warning), (70, 30, None));
        // The record's wire length also counts a 4-byte Ethernet FCS: still honest.
        let Decoded::Tcp(seg) = decode_ip(Net::Ip(cut), Timestamp::default(), &mut d, 34) else {
            panic!()
        };
        assert_eq!((seg.missing, seg.warning), (30, None));
        // Only 10 bytes were not captured, the header claims 30 more: a lie;
        // 10 bytes are missing, not 30.
        let Decoded::Tcp(seg) = decode_ip(Net::Ip(cut), Timestamp::default(), &mut d, 10) else {
            panic!()
        };
        assert_eq!(seg.missing, 10);
        assert!(matches!(
            seg.warning,
            Some(DecodeWarning::IpLengthOverrun {
                claimed: 140,
                captured: 110,
                wire: 120,
                ..
            })
        ));
    }

    #[test]
    fn shorter_lengths_trim_padding_zero_is_tso_below_header_is_malformed() {
        let mut pkt = tcp_ipv4(b"");
        pkt.extend([0u8; 6]); // Ethernet minimum-frame padding
        let mut d = Defragmenter::default();
        let Decoded::Tcp(seg) = decode_ip(Net::Ip(&pkt), Timestamp::default(), &mut d, 0) else {
            panic!()
        };
        assert_eq!((seg.payload, seg.missing, seg.warning), (&b""[..], 0, None));
        // TSO: total length 0, the captured bytes are the datagram.
        let mut tso = tcp_ipv4(b"offloaded");
        set_total(&mut tso, 0);
        let Decoded::Tcp(seg) = decode_ip(Net::Ip(&tso), Timestamp::default(), &mut d, 0) else {
            panic!()
        };
        assert_eq!((seg.payload, seg.warning), (&b"offloaded"[..], None));
        // 1..20: shorter than the header itself.
        let mut bad = tcp_ipv4(b"x");
        set_total(&mut bad, 12);
        let r = decode_ip(Net::Ip(&bad), Timestamp::default(), &mut d, 0);
        assert!(
            matches!(&r, Decoded::Malformed(DecodeError::BadIp(s)) if s.contains("shorter")),
            "{r:?}"
        );
    }

    #[test]
    fn ipv6_payload_length_beyond_a_whole_record() {
        let b = PacketBuilder::ipv6([1; 16], [2; 16], 64).tcp(1, 2, 3, 4);
        let mut pkt = Vec::new();
        b.write(&mut pkt, b"six").unwrap();
        pkt[4..6].copy_from_slice(&9000u16.to_be_bytes());
        let mut d = Defragmenter::default();
        let Decoded::Tcp(seg) = decode_ip(Net::Ip(&pkt), Timestamp::default(), &mut d, 0) else {
            panic!()
        };
        assert_eq!((seg.payload, seg.missing), (&b"six"[..], 0));
        assert!(matches!(
            seg.warning,
            Some(DecodeWarning::IpLengthOverrun {
                field: "IPv6 payload length",
                claimed: 9040,
                ..
            })
        ));
    }

    #[test]
    fn a_fragment_with_a_lying_length_reassembles_with_the_warning() {
        let full = tcp_ipv4(&[7u8; 100]);
        let (hdr, body) = (&full[..20], &full[20..]);
        let frag = |off: usize, more: bool, data: &[u8], total: u16| {
            let mut h = hdr.to_vec();
            h[2..4].copy_from_slice(&total.to_be_bytes());
            let fo = ((off / 8) as u16) | if more { 0x2000 } else { 0 };
            h[6..8].copy_from_slice(&fo.to_be_bytes());
            h.extend_from_slice(data);
            h
        };
        // The first fragment (held) lies; the second completes the datagram.
        let a = frag(0, true, &body[..64], 4000);
        let b = frag(64, false, &body[64..], 20 + 56);
        let mut d = Defragmenter::default();
        assert_eq!(
            decode_ip(Net::Ip(&a), Timestamp::default(), &mut d, 0),
            Decoded::FragmentHeld
        );
        let Decoded::Tcp(seg) = decode_ip(Net::Ip(&b), Timestamp::default(), &mut d, 0) else {
            panic!()
        };
        assert_eq!(seg.payload, &[7u8; 100][..]);
        assert!(matches!(
            seg.warning,
            Some(DecodeWarning::IpLengthOverrun { claimed: 4000, .. })
        ));
    }

    #[test]
    fn garbage_is_malformed_not_panic() {
        let mut d = Defragmenter::default();
        for len in 0..64 {
            let junk: Vec<u8> = (0..len).map(|i| (i * 37 + 0x45) as u8).collect();
            let _ = decode_ip(Net::Ip(&junk), Timestamp::default(), &mut d, 0);
        }
    }
}
