//! Community ID v1 (<https://github.com/corelight/community-id-spec>): the
//! flow hash Zeek, Suricata, Arkime, Elastic and Security Onion all write,
//! so a WebSocket connection here can be found there by one string compare.
//!
//! Only TCP (protocol 6) and the default seed 0: every connection this tool
//! reports is TCP, and a non-default seed exists to keep separate networks
//! apart, which a capture file does not need. The hash is over
//! `seed (u16 BE) ‖ ip1 ‖ ip2 ‖ proto (u8) ‖ 0 (u8) ‖ port1 (u16 BE) ‖ port2 (u16 BE)`,
//! with the smaller endpoint first, so both directions of a flow (and
//! whichever side we took for the client) give the same id.

use base64::Engine;
use sha1::{Digest, Sha1};
use std::net::{IpAddr, SocketAddr};

/// IANA protocol number of TCP.
const PROTO_TCP: u8 = 6;

/// The Community ID v1 of the TCP flow between `client` and `server`
/// (seed 0): `1:` and the base64 (standard alphabet, padded) SHA-1.
pub fn community_id(client: SocketAddr, server: SocketAddr) -> String {
    seeded(0, client, server)
}

/// [`community_id`] with `seed` (only the spec's seeded test vectors use it).
fn seeded(seed: u16, client: SocketAddr, server: SocketAddr) -> String {
    let (a, b) = (endpoint(client), endpoint(server));
    // The spec orders by address, then by port; an IPv4 flow never meets an
    // IPv6 one here (both ends come from one IP header), but `endpoint`
    // keeps them comparable anyway (4 bytes against 16 compare bytewise).
    let ((ip1, p1), (ip2, p2)) = if a <= b { (a, b) } else { (b, a) };
    let mut h = Sha1::new();
    h.update(seed.to_be_bytes());
    h.update(&ip1);
    h.update(&ip2);
    h.update([PROTO_TCP, 0]);
    h.update(p1.to_be_bytes());
    h.update(p2.to_be_bytes());
    let digest = h.finalize();
    format!("1:{}", base64::engine::general_purpose::STANDARD.encode(digest))
}

/// An endpoint as the spec hashes it: the address in network byte order
/// (4 bytes for IPv4, 16 for IPv6) and the port.
fn endpoint(a: SocketAddr) -> (Vec<u8>, u16) {
    let ip = match a.ip() {
        IpAddr::V4(v4) => v4.octets().to_vec(),
        // An IPv4-mapped IPv6 address stays IPv6 on the wire: hashed as 16 bytes.
        IpAddr::V6(v6) => v6.octets().to_vec(),
    };
    (ip, a.port())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sa(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    /// The spec's published TCP vectors (baseline/baseline_deflt.json and
    /// the test vectors Zeek's and other implementations share), in both
    /// directions: the id is the flow's, not the direction's.
    #[test]
    fn published_tcp_vectors() {
        let cases = [
            ("1.2.3.4:1122", "5.6.7.8:3344", "1:wCb3OG7yAFWelaUydu0D+125CLM="),
            (
                "128.232.110.120:34855",
                "66.35.250.204:80",
                "1:LQU9qZlK+B5F3KDmev6m5PMibrg=",
            ),
            (
                "[2001:470:e5bf:dead:4957:2174:e82c:4887]:63943",
                "[2607:f8b0:400c:c03::1a]:25",
                "1:/qFaeAR+gFe1KYjMzVDsMv+wgU4=",
            ),
        ];
        for (a, b, want) in cases {
            assert_eq!(community_id(sa(a), sa(b)), want, "{a} -> {b}");
            assert_eq!(community_id(sa(b), sa(a)), want, "{b} -> {a}");
        }
    }

    /// The seed is hashed first, big-endian (the spec's seed-1 vector).
    #[test]
    fn published_seeded_vector() {
        let (a, b) = (sa("1.2.3.4:1122"), sa("5.6.7.8:3344"));
        assert_eq!(seeded(1, a, b), "1:HhA1B+6CoLbiKPEs5nhNYN4XWfk=");
        assert_eq!(seeded(1, b, a), "1:HhA1B+6CoLbiKPEs5nhNYN4XWfk=");
    }

    /// Same address on both ends: the ports decide the order.
    #[test]
    fn equal_addresses_order_by_port() {
        let (a, b) = (sa("10.0.0.1:80"), sa("10.0.0.1:40000"));
        assert_eq!(community_id(a, b), community_id(b, a));
        assert_ne!(community_id(a, b), community_id(a, sa("10.0.0.1:40001")));
    }
}
