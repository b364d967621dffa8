//! A minimal pcap (libpcap format) writer: used by live capture's `-w`,
//! `export --format pcap`, and the benchmark generator. It lives beside the
//! sources because a source (live `-w`) writes with it, and a source must not
//! depend on a sink module. Nanosecond magic, so timestamps survive exactly;
//! tshark, Wireshark and tcpdump all read it.

use crate::event::Timestamp;
use crate::source::{LinkType, Packet};
use std::io::{self, Write};

pub struct PcapWriter<W: Write> {
    w: W,
}

impl<W: Write> PcapWriter<W> {
    /// Writes the file header.
    pub fn new(mut w: W, link: LinkType, snaplen: u32) -> io::Result<Self> {
        w.write_all(&0xa1b2_3c4du32.to_le_bytes())?; // nanosecond magic
        w.write_all(&2u16.to_le_bytes())?;
        w.write_all(&4u16.to_le_bytes())?;
        w.write_all(&0i32.to_le_bytes())?;
        w.write_all(&0u32.to_le_bytes())?;
        w.write_all(&snaplen.to_le_bytes())?;
        w.write_all(&link.0.to_le_bytes())?;
        Ok(PcapWriter { w })
    }

    pub fn write_raw(&mut self, ts: Timestamp, data: &[u8], orig_len: u32) -> io::Result<()> {
        // pcap stores unsigned 32-bit seconds; earlier/later times are clamped.
        let secs = u32::try_from(ts.secs.max(0)).unwrap_or(u32::MAX);
        let caplen = u32::try_from(data.len()).unwrap_or(u32::MAX);
        let mut hdr = [0u8; 16];
        hdr[..4].copy_from_slice(&secs.to_le_bytes());
        hdr[4..8].copy_from_slice(&ts.nanos.to_le_bytes());
        hdr[8..12].copy_from_slice(&caplen.to_le_bytes());
        hdr[12..].copy_from_slice(&orig_len.max(caplen).to_le_bytes());
        self.w.write_all(&hdr)?;
        self.w.write_all(data)
    }

    pub fn write(&mut self, pkt: &Packet<'_>) -> io::Result<()> {
        self.write_raw(pkt.ts, pkt.data, pkt.orig_len)
    }

    pub fn flush(&mut self) -> io::Result<()> {
        self.w.flush()
    }
}
