//! Link layers: find the network-layer bytes of a packet.
//!
//! Ethernet II (with 802.1Q / 802.1ad / QinQ tags) goes through etherparse;
//! Linux cooked SLL and SLL2 and BSD Null/Loop are stripped here with checked
//! reads (etherparse handles neither SLL2 nor Null), raw IP passes through.

use super::DecodeError;
use crate::source::LinkType;
use etherparse::{EtherType, LaxSlicedPacket, LinkSlice};

/// The network layer of a packet, before IP decoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Net<'a> {
    /// An IPv4 or IPv6 packet (version nibble decides).
    Ip(&'a [u8]),
}

const ETH_IPV4: u16 = 0x0800;
const ETH_IPV6: u16 = 0x86DD;
const ETH_VLAN: u16 = 0x8100;
const ETH_QINQ: u16 = 0x88A8;
const ETH_QINQ_OLD: u16 = 0x9100;

/// Returns the network-layer bytes, `Ok(None)` for non-IP payloads.
pub fn strip(link: LinkType, data: &[u8]) -> Result<Option<Net<'_>>, DecodeError> {
    match link {
        LinkType::ETHERNET => ethernet(data),
        LinkType::RAW | LinkType::RAW_ALT12 | LinkType::RAW_ALT14 | LinkType::IPV4 | LinkType::IPV6 => {
            Ok(Some(Net::Ip(data)))
        }
        LinkType::LINUX_SLL => {
            // 16 bytes: packet type, ARPHRD, addr len, 8 addr bytes, protocol.
            let proto = be16(data, 14).ok_or(DecodeError::LinkTruncated {
                needed: 16,
                got: data.len(),
            })?;
            Ok(ether_payload(proto, data.get(16..).unwrap_or_default()))
        }
        LinkType::LINUX_SLL2 => {
            // 20 bytes: protocol first, then reserved, ifindex, ARPHRD, type, addr len, 8 addr.
            let proto = be16(data, 0).ok_or(DecodeError::LinkTruncated {
                needed: 20,
                got: data.len(),
            })?;
            if data.len() < 20 {
                return Err(DecodeError::LinkTruncated {
                    needed: 20,
                    got: data.len(),
                });
            }
            Ok(ether_payload(proto, data.get(20..).unwrap_or_default()))
        }
        LinkType::NULL | LinkType::LOOP => {
            // 4-byte address family: host byte order for NULL (either order
            // in practice), network order for LOOP.
            let fam: [u8; 4] =
                data.get(..4)
                    .and_then(|f| f.try_into().ok())
                    .ok_or(DecodeError::LinkTruncated {
                        needed: 4,
                        got: data.len(),
                    })?;
            let le = u32::from_le_bytes(fam);
            let be = u32::from_be_bytes(fam);
            let family = if le < 256 { le } else { be };
            let rest = data.get(4..).unwrap_or_default();
            Ok(match family {
                // AF_INET everywhere; AF_INET6 is 24 (BSDs), 28 (FreeBSD), 30 (macOS), 10 (Linux).
                2 | 24 | 28 | 30 | 10 => Some(Net::Ip(rest)),
                _ => None,
            })
        }
        other => Err(DecodeError::UnsupportedLink(other.0)),
    }
}

fn be16(data: &[u8], at: usize) -> Option<u16> {
    let b = data.get(at..at.checked_add(2)?)?;
    Some(u16::from_be_bytes([*b.first()?, *b.get(1)?]))
}

/// Payload after an ethertype; VLAN tags after SLL are unwrapped too.
fn ether_payload(proto: u16, rest: &[u8]) -> Option<Net<'_>> {
    match proto {
        ETH_IPV4 | ETH_IPV6 => Some(Net::Ip(rest)),
        ETH_VLAN | ETH_QINQ | ETH_QINQ_OLD => {
            let inner = be16(rest, 2)?;
            ether_payload(inner, rest.get(4..)?)
        }
        _ => None,
    }
}

fn ethernet(data: &[u8]) -> Result<Option<Net<'_>>, DecodeError> {
    let sliced = LaxSlicedPacket::from_ethernet(data).map_err(|e| DecodeError::LinkTruncated {
        needed: e.required_len,
        got: e.len,
    })?;
    // After the Ethernet header and any VLAN tags, etherparse reports the
    // inner ether type and its payload; we take it from there ourselves so
    // that IP decoding (and its truncation accounting) is one code path.
    let payload = match sliced.link {
        Some(LinkSlice::Ethernet2(eth)) => {
            let mut ty = eth.ether_type();
            let mut rest = eth.payload_slice();
            // Walk VLAN tags (etherparse already validated up to 3; we walk
            // with checked reads so deeper stacks are handled too).
            while ty == EtherType(ETH_VLAN) || ty == EtherType(ETH_QINQ) || ty == EtherType(ETH_QINQ_OLD) {
                let Some(inner) = be16(rest, 2) else {
                    return Ok(None);
                };
                ty = EtherType(inner);
                rest = rest.get(4..).unwrap_or_default();
            }
            (ty, rest)
        }
        _ => return Ok(None),
    };
    Ok(match payload.0 {
        EtherType(ETH_IPV4) | EtherType(ETH_IPV6) => Some(Net::Ip(payload.1)),
        _ => None,
    })
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::unwrap_used)]
mod tests {
    use super::*;

    const IP: &[u8] = &[0x45, 0, 0, 20];

    #[test]
    fn ethernet_with_qinq() {
        let mut p = vec![0u8; 12];
        p.extend([0x88, 0xA8, 0, 1, 0x81, 0x00, 0, 2, 0x08, 0x00]);
        p.extend(IP);
        assert_eq!(strip(LinkType::ETHERNET, &p), Ok(Some(Net::Ip(IP))));
        let mut arp = vec![0u8; 12];
        arp.extend([0x08, 0x06, 1, 2]);
        assert_eq!(strip(LinkType::ETHERNET, &arp), Ok(None));
        assert!(matches!(
            strip(LinkType::ETHERNET, &[0; 5]),
            Err(DecodeError::LinkTruncated { .. })
        ));
    }

    #[test]
    fn cooked_and_null() {
        let mut sll = vec![0u8; 14];
        sll.extend([0x86, 0xDD]);
        sll.extend(IP);
        assert_eq!(strip(LinkType::LINUX_SLL, &sll), Ok(Some(Net::Ip(IP))));
        let mut sll2 = vec![0x08, 0x00];
        sll2.extend([0u8; 18]);
        sll2.extend(IP);
        assert_eq!(strip(LinkType::LINUX_SLL2, &sll2), Ok(Some(Net::Ip(IP))));
        assert!(strip(LinkType::LINUX_SLL2, &[8, 0, 1]).is_err());
        let mut null = 2u32.to_le_bytes().to_vec();
        null.extend(IP);
        assert_eq!(strip(LinkType::NULL, &null), Ok(Some(Net::Ip(IP))));
        let mut lo = 30u32.to_be_bytes().to_vec();
        lo.extend(IP);
        assert_eq!(strip(LinkType::LOOP, &lo), Ok(Some(Net::Ip(IP))));
        assert_eq!(strip(LinkType(147), IP), Err(DecodeError::UnsupportedLink(147)));
    }
}
