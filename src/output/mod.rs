//! Sinks: text timeline, JSON Lines, hexdump/raw/pcap export, the conns table.
pub mod conns;
pub mod jsonl;
pub mod pcap;
pub mod text;
