//! Sinks: text timeline, JSON Lines, hexdump/raw/pcap export, the conns table.
pub mod conns;
pub mod export;
pub mod export_jsonl;
pub mod export_pcap;
pub mod hexdump;
pub mod jsonl;
pub mod text;
