//! IPv4 (with options) and IPv6 (with extension headers) through etherparse,
//! IP fragment reassembly, and GTP-U decapsulation (mobile-core captures
//! carry their TCP inside UDP/2152 tunnels).

use super::link::Net;
use super::{DecodeError, Decoded};
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
    Complete,
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
    fn add(&mut self, key: FragKey, ts: Timestamp, offset: usize, more: bool, data: &[u8]) -> FragResult {
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
        FragResult::Complete
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

/// Decodes an IP packet down to TCP.
pub fn decode_ip<'a>(net: Net<'a>, ts: Timestamp, defrag: &'a mut Defragmenter) -> Decoded<'a> {
    decode_ip_depth(net, ts, defrag, 0)
}

fn decode_ip_depth<'a>(net: Net<'a>, ts: Timestamp, defrag: &'a mut Defragmenter, depth: u8) -> Decoded<'a> {
    let Net::Ip(bytes) = net;
    let (ip, _ext_err) = match LaxIpSlice::from_slice(bytes) {
        Ok(v) => v,
        Err(e) => return Decoded::Malformed(DecodeError::BadIp(e.to_string())),
    };
    let (src, dst) = (ip.source_addr(), ip.destination_addr());
    let payload = ip.payload();
    // Payload bytes the header declares but the capture cut off.
    let declared_total = match &ip {
        LaxIpSlice::Ipv4(v4) => usize::from(v4.header().total_len()),
        LaxIpSlice::Ipv6(v6) => usize::from(v6.header().payload_length()).saturating_add(40),
    };
    // `incomplete` means the length field promised more than was captured
    // (a zero length field, as TSO captures show, declares nothing missing).
    let missing = if payload.incomplete {
        declared_total.saturating_sub(bytes.len())
    } else {
        0
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
        return match defrag.add(key, ts, offset, more, payload.payload) {
            FragResult::Held => Decoded::FragmentHeld,
            FragResult::Dropped(why) => Decoded::Malformed(DecodeError::Fragment(why)),
            FragResult::Complete => {
                let Defragmenter { done, .. } = defrag;
                transport(proto, src, dst, done, 0, ts, None, depth)
            }
        };
    }
    transport(proto, src, dst, payload.payload, missing, ts, Some(defrag), depth)
}

#[allow(clippy::too_many_arguments)]
fn transport<'a>(
    proto: IpNumber,
    src: IpAddr,
    dst: IpAddr,
    payload: &'a [u8],
    missing: usize,
    ts: Timestamp,
    defrag: Option<&'a mut Defragmenter>,
    depth: u8,
) -> Decoded<'a> {
    match proto {
        IpNumber::TCP => super::tcp::segment(src, dst, payload, missing),
        IpNumber::UDP => match (gtp_u_inner(payload), defrag) {
            (Some(inner), Some(defrag)) if depth < MAX_TUNNEL_DEPTH => {
                decode_ip_depth(Net::Ip(inner), ts, defrag, depth.saturating_add(1))
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
        let Decoded::Tcp(seg) = decode_ip(Net::Ip(&pkt), Timestamp::default(), &mut d) else {
            panic!()
        };
        assert_eq!(seg.payload, b"hello world");
        assert_eq!(seg.missing, 0);
        assert_eq!(seg.src.port(), 1234);
        let mut d = Defragmenter::default();
        let cut = &pkt[..pkt.len() - 4];
        let Decoded::Tcp(seg) = decode_ip(Net::Ip(cut), Timestamp::default(), &mut d) else {
            panic!()
        };
        assert_eq!(seg.payload, b"hello w");
        assert_eq!(seg.missing, 4);
        // Cut inside the TCP header: reported, not garbage.
        let mut d = Defragmenter::default();
        let r = decode_ip(Net::Ip(&pkt[..30]), Timestamp::default(), &mut d);
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
            decode_ip(Net::Ip(&b), Timestamp::default(), &mut d),
            Decoded::FragmentHeld
        );
        let Decoded::Tcp(seg) = decode_ip(Net::Ip(&a), Timestamp::default(), &mut d) else {
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
        let Decoded::Tcp(seg) = decode_ip(Net::Ip(&outer), Timestamp::default(), &mut d) else {
            panic!()
        };
        assert_eq!(seg.payload, b"GET / HTTP/1.1\r\n");
    }

    #[test]
    fn garbage_is_malformed_not_panic() {
        let mut d = Defragmenter::default();
        for len in 0..64 {
            let junk: Vec<u8> = (0..len).map(|i| (i * 37 + 0x45) as u8).collect();
            let _ = decode_ip(Net::Ip(&junk), Timestamp::default(), &mut d);
        }
    }
}
