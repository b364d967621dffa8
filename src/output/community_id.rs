//! Placeholder replaced by the zeek branch's implementation at merge.
use std::net::SocketAddr;

pub fn community_id(client: SocketAddr, server: SocketAddr) -> String {
    format!("{client}-{server}")
}
