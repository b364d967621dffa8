//! Minimal capture writers. [`PcapWriter`] (libpcap format) is used by
//! live capture's `-w`, `export --format pcap`, and the benchmark
//! generator; [`PcapngWriter`] by `export --format pcap` when the file must
//! carry TLS keys (a Decryption Secrets Block). They live beside the sources
//! because a source (live `-w`) writes with them, and a source must not
//! depend on a sink module. Both keep nanosecond timestamps exactly;
//! tshark, Wireshark and tcpdump read them.

use crate::event::Timestamp;
use crate::source::{LinkType, Packet, SecretsKind};
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

/// A minimal pcapng writer: one section, one interface (nanosecond
/// timestamps), Decryption Secrets Blocks before the first packet, then
/// Enhanced Packet Blocks. Little-endian, as Wireshark writes on x86.
///
/// The block order is the one `editcap --inject-secrets` writes: Section
/// Header, Decryption Secrets, Interface Description, packets — so a reader
/// knows the keys before the first packet it decodes.
pub struct PcapngWriter<W: Write> {
    w: W,
}

/// pcapng block types.
const SHB: u32 = 0x0A0D_0D0A;
const IDB: u32 = 0x0000_0001;
const EPB: u32 = 0x0000_0006;
const DSB: u32 = 0x0000_000A;

/// Option codes.
const OPT_ENDOFOPT: u16 = 0;
const SHB_USERAPPL: u16 = 4;
const IF_TSRESOL: u16 = 9;

/// Bytes of padding after `len` bytes, to a 32-bit boundary.
fn pad4(len: usize) -> usize {
    (4 - len % 4) % 4
}

/// One option (code, length, value, padding).
fn option(out: &mut Vec<u8>, code: u16, value: &[u8]) {
    out.extend_from_slice(&code.to_le_bytes());
    out.extend_from_slice(&u16::try_from(value.len()).unwrap_or(u16::MAX).to_le_bytes());
    out.extend_from_slice(value);
    out.extend(std::iter::repeat_n(0u8, pad4(value.len())));
}

impl<W: Write> PcapngWriter<W> {
    /// Writes the section header, one Decryption Secrets Block per entry of
    /// `secrets` (in order), and the interface description of `link`.
    pub fn new(mut w: W, link: LinkType, snaplen: u32, secrets: &[(SecretsKind, &[u8])]) -> io::Result<Self> {
        // Section Header Block: byte-order magic, version 1.0, section length unknown.
        let mut body = Vec::with_capacity(64);
        body.extend_from_slice(&0x1A2B_3C4Du32.to_le_bytes());
        body.extend_from_slice(&1u16.to_le_bytes());
        body.extend_from_slice(&0u16.to_le_bytes());
        body.extend_from_slice(&(-1i64).to_le_bytes());
        option(
            &mut body,
            SHB_USERAPPL,
            concat!("wsscope ", env!("CARGO_PKG_VERSION")).as_bytes(),
        );
        option(&mut body, OPT_ENDOFOPT, &[]);
        block(&mut w, SHB, &body)?;
        for (kind, data) in secrets {
            write_dsb(&mut w, *kind, data)?;
        }
        // Interface Description Block: link type, snaplen, if_tsresol = 10^-9.
        let mut body = Vec::with_capacity(24);
        body.extend_from_slice(&u16::try_from(link.0).unwrap_or(u16::MAX).to_le_bytes());
        body.extend_from_slice(&0u16.to_le_bytes());
        body.extend_from_slice(&snaplen.to_le_bytes());
        option(&mut body, IF_TSRESOL, &[9]);
        option(&mut body, OPT_ENDOFOPT, &[]);
        block(&mut w, IDB, &body)?;
        Ok(PcapngWriter { w })
    }

    /// The writer (the file or buffer written to).
    pub fn into_inner(self) -> W {
        self.w
    }

    /// A Decryption Secrets Block here, between packets (pcapng allows it
    /// anywhere; readers apply it to the packets that follow, and wsscope to
    /// every record still waiting for its key).
    pub fn write_secrets(&mut self, kind: SecretsKind, data: &[u8]) -> io::Result<()> {
        write_dsb(&mut self.w, kind, data)
    }

    pub fn write_raw(&mut self, ts: Timestamp, data: &[u8], orig_len: u32) -> io::Result<()> {
        // Nanoseconds since the epoch; earlier times are clamped to it.
        let secs = u64::try_from(ts.secs.max(0)).unwrap_or(0);
        let t = secs
            .saturating_mul(1_000_000_000)
            .saturating_add(u64::from(ts.nanos));
        let caplen = u32::try_from(data.len()).unwrap_or(u32::MAX);
        let mut hdr = [0u8; 20];
        hdr[..4].copy_from_slice(&0u32.to_le_bytes()); // interface 0
        hdr[4..8].copy_from_slice(&((t >> 32) as u32).to_le_bytes());
        hdr[8..12].copy_from_slice(&(t as u32).to_le_bytes());
        hdr[12..16].copy_from_slice(&caplen.to_le_bytes());
        hdr[16..].copy_from_slice(&orig_len.max(caplen).to_le_bytes());
        let pad = pad4(data.len());
        let total = u32::try_from(12 + hdr.len() + data.len() + pad).unwrap_or(u32::MAX);
        self.w.write_all(&EPB.to_le_bytes())?;
        self.w.write_all(&total.to_le_bytes())?;
        self.w.write_all(&hdr)?;
        self.w.write_all(data)?;
        self.w.write_all(&[0u8; 3][..pad])?;
        self.w.write_all(&total.to_le_bytes())
    }

    pub fn write(&mut self, pkt: &Packet<'_>) -> io::Result<()> {
        self.write_raw(pkt.ts, pkt.data, pkt.orig_len)
    }

    pub fn flush(&mut self) -> io::Result<()> {
        self.w.flush()
    }
}

/// A whole block: type, total length, body (already padded), total length.
fn block(w: &mut impl Write, kind: u32, body: &[u8]) -> io::Result<()> {
    let total = u32::try_from(body.len() + 12).unwrap_or(u32::MAX);
    w.write_all(&kind.to_le_bytes())?;
    w.write_all(&total.to_le_bytes())?;
    w.write_all(body)?;
    w.write_all(&total.to_le_bytes())
}

/// One Decryption Secrets Block: secrets type, length, data padded to 4.
fn write_dsb<W: Write>(w: &mut W, kind: SecretsKind, data: &[u8]) -> io::Result<()> {
    let mut body = Vec::with_capacity(data.len().saturating_add(12));
    body.extend_from_slice(&kind.0.to_le_bytes());
    body.extend_from_slice(&u32::try_from(data.len()).unwrap_or(u32::MAX).to_le_bytes());
    body.extend_from_slice(data);
    body.extend(std::iter::repeat_n(0u8, pad4(data.len())));
    block(w, DSB, &body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::file::FileSource;
    use crate::source::{PacketSource, SourceItem};
    use std::ops::ControlFlow;

    /// What our own reader sees in a written pcapng: secrets first, then
    /// the packets with their exact times and lengths.
    #[test]
    fn pcapng_round_trips_through_the_reader() {
        let mut buf = Vec::new();
        let keys: &[u8] = b"CLIENT_RANDOM 00 11\n"; // not padded: 20 bytes
        let odd: &[u8] = b"abc"; // padded to 4
        let mut w = PcapngWriter::new(
            &mut buf,
            LinkType::ETHERNET,
            262_144,
            &[
                (SecretsKind::TLS_KEY_LOG, keys),
                (SecretsKind::WIREGUARD_KEY_LOG, odd),
            ],
        )
        .unwrap();
        let t1 = Timestamp::new(1_795_963_129, 123_456_789);
        let t2 = Timestamp::new(1_795_963_130, 1);
        w.write_raw(t1, &[1, 2, 3, 4, 5], 60).unwrap();
        w.write_raw(t2, &[9; 8], 8).unwrap();
        w.flush().unwrap();
        assert_eq!(buf.len() % 4, 0);
        let mut src = FileSource::from_reader("mem".into(), Box::new(std::io::Cursor::new(buf))).unwrap();
        let mut seen = Vec::new();
        src.run(&mut |item| {
            seen.push(match item {
                SourceItem::Secrets { kind, data } => format!("{} {:?}", kind.name(), data),
                SourceItem::Diagnostic { code, detail, .. } => format!("{code} {detail}"),
                // Where the blocks are is the file source's business (tested there).
                SourceItem::Header { .. } => return ControlFlow::Continue(()),
                SourceItem::Packet(p) => {
                    format!("{} {:?} {:?} {} {}", p.index, p.ts, p.data, p.orig_len, p.link.0)
                }
            });
            ControlFlow::Continue(())
        })
        .unwrap();
        assert_eq!(
            seen,
            [
                format!("tls-key-log {keys:?}"),
                format!("wireguard-key-log {odd:?}"),
                format!("1 {t1:?} [1, 2, 3, 4, 5] 60 1"),
                format!("2 {t2:?} [9, 9, 9, 9, 9, 9, 9, 9] 8 1"),
            ]
        );
    }
}
