//! pcap and pcapng files, through `pcap-parser`'s streaming readers (which
//! handle both byte orders; the slice helpers do not). The file is read in
//! large buffered chunks — never slurped into memory — so a 10 GB capture
//! costs a few MB; `-` reads standard input the same way.
//!
//! pcapng: interfaces are tracked per section, each with its own link type
//! and timestamp resolution (`if_tsresol`) and offset (`if_tsoffset`).
//! Decryption Secrets Blocks are handed on as [`SourceItem::Secrets`].

use super::checks::{self, Checks, Peek};
use super::pcapng_opts::{self, Clock};
use super::{HeaderKind, LinkType, Packet, PacketSource, SecretsKind, SourceEnd, SourceItem};
use crate::diag;
use crate::event::Timestamp;
use anyhow::{Context, bail};
use pcap_parser::pcapng::Block;
use pcap_parser::traits::PcapReaderIterator;
use pcap_parser::{PcapBlockOwned, PcapError};
use std::fs::File;
use std::io::Read;
use std::ops::ControlFlow;
use std::path::Path;

/// Initial read buffer; grown (up to [`MAX_BUFFER`]) for giant records.
const BUFFER: usize = 4 << 20;
/// A single record bigger than this is treated as corruption.
const MAX_BUFFER: usize = 256 << 20;

/// Per-interface facts of a pcapng section.
#[derive(Clone, Copy, Debug)]
struct Interface {
    link: LinkType,
    clock: Clock,
    /// The interface's snapshot length (0: none declared).
    snaplen: u32,
}

/// The file's format, as far as read: what the record peeks need.
#[derive(Clone, Copy, Debug)]
enum Format {
    /// Nothing read yet.
    Unknown,
    Legacy {
        big: bool,
        /// Record header length (24 in the "modified" Kuznetzov format).
        hdr_len: usize,
        nanos: bool,
        snaplen: u32,
        link: LinkType,
    },
    /// pcapng, in the byte order of the current section.
    Ng { big: bool },
}

/// A capture file (or stdin) being read.
pub struct FileSource {
    name: String,
    reader: Box<dyn PcapReaderIterator + Send>,
    /// The read buffer's size now: it starts at 4 MiB (or what
    /// [`FileSource::from_reader_with_buffer`] asked) and doubles for a
    /// record that does not fit, up to [`MAX_BUFFER`].
    capacity: usize,
    /// Position in the input of the next byte the reader hands out, and
    /// the packet number before the first packet read (both non-zero
    /// for a [`FileSource::resume`]d reader: positions and numbers are
    /// those of the original input).
    base: Base,
}

/// Where a reader starts in the original input (see [`FileSource::resume`]).
#[derive(Clone, Copy, Debug, Default)]
struct Base {
    /// Bytes of the input before the first byte read (after the replayed headers).
    offset: u64,
    /// Length of the replayed headers at the start of what is read.
    prefix: u64,
    /// Packets before the first one read.
    packets: u64,
}

impl FileSource {
    /// Opens `path` (`-` for standard input) and checks that it is a capture.
    pub fn open(path: &Path) -> anyhow::Result<FileSource> {
        let name = path.display().to_string();
        let input: Box<dyn Read + Send> = if path == Path::new("-") {
            Box::new(std::io::stdin())
        } else {
            let file = File::open(path).with_context(|| format!("cannot open {name}"))?;
            if file.metadata().map(|m| m.is_dir()).unwrap_or(false) {
                bail!("cannot read {name}: it is a directory; give a pcap or pcapng file");
            }
            Box::new(file)
        };
        Self::from_reader(name, input)
    }

    /// Reads a capture from any byte stream (used for stdin and in tests).
    pub fn from_reader(name: String, input: Box<dyn Read + Send>) -> anyhow::Result<FileSource> {
        Self::from_reader_with_buffer(name, input, BUFFER)
    }

    /// As [`FileSource::from_reader`], with a read buffer of `capacity`
    /// bytes (at least 4 KiB) to begin with (grown as records need, up to 256 MiB). Large
    /// buffers read big files in few calls; a small one suits many tiny
    /// inputs (the fuzz targets: no 4 MiB zero-filled per input, and the
    /// refill and grow paths are reached).
    pub fn from_reader_with_buffer(
        name: String,
        input: Box<dyn Read + Send>,
        capacity: usize,
    ) -> anyhow::Result<FileSource> {
        // A pcapng section header with options must fit the first read.
        let initial = capacity.clamp(4096, BUFFER);
        match pcap_parser::create_reader(initial, input) {
            Ok(reader) => Ok(FileSource {
                name,
                reader,
                capacity: initial,
                base: Base::default(),
            }),
            Err(PcapError::Eof) => bail!("{name}: the file is empty; expected a pcap or pcapng capture"),
            Err(PcapError::ReadError) => bail!("cannot read {name}: read error"),
            Err(PcapError::Incomplete(_)) => {
                bail!("{name}: too short to be a capture (pcap or pcapng header incomplete)")
            }
            Err(_) => bail!(
                "{name}: not a capture file: expected a pcap or pcapng header (magic a1b2c3d4, a1b23c4d or 0a0d0d0a)"
            ),
        }
    }
}

impl FileSource {
    /// Reads `path` again from the middle: `headers` (the bytes of the
    /// header blocks in force there: the pcap file header, or the pcapng
    /// section header, its interfaces and the secrets seen so far, in file
    /// order, as [`SourceItem::Header`] said where they are), then the file
    /// from byte `at` (a packet record), numbering packets from
    /// `packets + 1`. Packets and headers report the positions and numbers
    /// of the original file, so a resumed read is indistinguishable from
    /// the same stretch of a whole read.
    pub fn resume(path: &Path, headers: Vec<u8>, at: u64, packets: u64) -> anyhow::Result<FileSource> {
        use std::io::{Seek, SeekFrom};
        let name = path.display().to_string();
        let mut file = File::open(path).with_context(|| format!("cannot open {name}"))?;
        file.seek(SeekFrom::Start(at))
            .with_context(|| format!("cannot seek in {name}"))?;
        let prefix = headers.len() as u64;
        let input = std::io::Cursor::new(headers).chain(file);
        let mut src = Self::from_reader_with_buffer(name, Box::new(input), 1 << 20)?;
        src.base = Base {
            offset: at,
            prefix,
            packets,
        };
        Ok(src)
    }
}

impl Base {
    /// Where `consumed` bytes into what is read lie in the original input.
    fn position(&self, consumed: u64) -> u64 {
        if consumed < self.prefix {
            // Inside the replayed headers: not a position of the input.
            0
        } else {
            self.offset + (consumed - self.prefix)
        }
    }
}

impl PacketSource for FileSource {
    fn describe(&self) -> String {
        self.name.clone()
    }

    fn run(&mut self, f: &mut dyn FnMut(SourceItem<'_>) -> ControlFlow<()>) -> anyhow::Result<SourceEnd> {
        let mut end = SourceEnd::default();
        let mut format = Format::Unknown;
        // pcapng state: interfaces of the current section, sections seen.
        let mut interfaces: Vec<Interface> = Vec::new();
        let mut section = 0u32;
        let mut checks = Checks::default();
        // A stand-in time for Simple Packet Blocks before any timed packet.
        let mut spb_guess: Option<Option<Timestamp>> = None;
        let base = self.base;
        let mut index: u64 = base.packets;
        // Bytes handed out by the reader so far: the next block's position.
        let mut consumed: u64 = 0;
        let mut stopped = false;
        // The input ended inside a record.
        let mut cut = false;
        loop {
            // Records that lie about their length, before the parser sees them.
            let peek = match format {
                Format::Legacy { big, hdr_len, .. } => {
                    checks::peek_legacy(self.reader.data(), big && hdr_len == 16, index)
                }
                Format::Ng { big } => {
                    let data = self.reader.data();
                    if spb_guess.is_none() && checks.prev_ts().is_none() && checks::is_spb(data, big) {
                        let clocks: Vec<Clock> = interfaces.iter().map(|i| i.clock).collect();
                        spb_guess = Some(checks::next_epb_time(data, big, &clocks));
                    }
                    checks::peek_ng(data, big, index)
                }
                Format::Unknown => Peek::Read,
            };
            let ts_now = checks.prev_ts().unwrap_or_default();
            match peek {
                Peek::Read => {}
                Peek::Skip(len, detail) => {
                    self.reader.consume_noshift(len);
                    consumed += len as u64;
                    if say(f, diag::PCAP_CAPLEN_IMPOSSIBLE, &detail, Some(index + 1), ts_now) {
                        stopped = true;
                        break;
                    }
                    continue;
                }
                Peek::Stop(detail) => {
                    stopped = say(f, diag::PCAP_CAPLEN_IMPOSSIBLE, &detail, None, ts_now);
                    break;
                }
            }
            match self.reader.next() {
                Ok((offset, block)) => {
                    let mut stop = false;
                    let at = base.position(consumed);
                    let header = |kind| SourceItem::Header {
                        at,
                        len: u32::try_from(offset).unwrap_or(u32::MAX),
                        kind,
                    };
                    match block {
                        PcapBlockOwned::LegacyHeader(h) => {
                            let modified = h.is_modified_format();
                            format = Format::Legacy {
                                big: h.is_bigendian(),
                                hdr_len: if modified { 24 } else { 16 },
                                nanos: h.is_nanosecond_precision(),
                                snaplen: h.snaplen,
                                link: LinkType(h.network.0 as u32),
                            };
                            stop = f(header(HeaderKind::Pcap)).is_break();
                        }
                        PcapBlockOwned::Legacy(b) => {
                            let Format::Legacy {
                                nanos, snaplen, link, ..
                            } = format
                            else {
                                bail!("{}: a pcap record before the pcap header", self.name);
                            };
                            index += 1;
                            let (frac_ns, limit) = if nanos {
                                (u64::from(b.ts_usec), 1_000_000_000)
                            } else {
                                (u64::from(b.ts_usec) * 1000, 1_000_000)
                            };
                            // Some writers put fractions >= 1 s: carried into
                            // the seconds (as most readers do), and said.
                            let ts = Timestamp::new(
                                i64::from(b.ts_sec) + (frac_ns / 1_000_000_000) as i64,
                                (frac_ns % 1_000_000_000) as u32,
                            );
                            if b.ts_usec >= limit {
                                checks.invalid_fraction(index, b.ts_usec, limit, ts);
                            }
                            checks.lengths(index, b.caplen, b.origlen, snaplen, ts);
                            checks.packet(index, ts);
                            stop = flush(f, &mut checks);
                            let pkt = Packet {
                                index,
                                ts,
                                link,
                                data: b.data,
                                orig_len: b.origlen.max(b.caplen),
                                at,
                            };
                            stop = stop || f(SourceItem::Packet(pkt)).is_break();
                        }
                        PcapBlockOwned::NG(Block::SectionHeader(shb)) => {
                            interfaces.clear();
                            section += 1;
                            format = Format::Ng {
                                big: shb.big_endian(),
                            };
                            stop = f(header(HeaderKind::Section)).is_break();
                        }
                        PcapBlockOwned::NG(Block::InterfaceDescription(idb)) => {
                            let big = matches!(format, Format::Ng { big: true });
                            let (clock, notes) = pcapng_opts::interface_clock(&idb.options, big);
                            for note in notes {
                                let detail =
                                    format!("interface {} of section {section}: {note}", interfaces.len());
                                stop = stop || say(f, diag::PCAP_TIMESTAMP_RESOLUTION, &detail, None, ts_now);
                            }
                            interfaces.push(Interface {
                                link: LinkType(idb.linktype.0 as u32),
                                clock,
                                snaplen: idb.snaplen,
                            });
                            stop = stop || f(header(HeaderKind::Interface)).is_break();
                        }
                        PcapBlockOwned::NG(Block::EnhancedPacket(epb)) => {
                            index += 1;
                            let iface = match interfaces.get(epb.if_id as usize) {
                                Some(i) => *i,
                                None => {
                                    // Nothing says how to read it: the most
                                    // common link and pcapng's default clock,
                                    // said each time (rate-limited).
                                    let detail = format!(
                                        "packet {}: interface {} is not described in its section ({} interface{} \
                                         are); read as Ethernet with microsecond timestamps",
                                        index,
                                        epb.if_id,
                                        interfaces.len(),
                                        if interfaces.len() == 1 { "" } else { "s" }
                                    );
                                    let ts_now = checks.prev_ts().unwrap_or_default();
                                    stop = say(f, diag::PCAP_UNKNOWN_INTERFACE, &detail, Some(index), ts_now);
                                    Interface {
                                        link: LinkType::ETHERNET,
                                        clock: Clock::default(),
                                        snaplen: 0,
                                    }
                                }
                            };
                            let raw = (u64::from(epb.ts_high) << 32) | u64::from(epb.ts_low);
                            let ts = pcapng_opts::timestamp(raw, iface.clock);
                            checks.lengths(index, epb.caplen, epb.origlen, iface.snaplen, ts);
                            checks.packet(index, ts);
                            stop = stop || flush(f, &mut checks);
                            let pkt = Packet {
                                index,
                                ts,
                                link: iface.link,
                                // caplen may be smaller than the padded data slice.
                                data: epb.data.get(..epb.caplen as usize).unwrap_or(epb.data),
                                orig_len: epb.origlen.max(epb.caplen),
                                at,
                            };
                            stop = stop || f(SourceItem::Packet(pkt)).is_break();
                        }
                        PcapBlockOwned::NG(Block::SimplePacket(spb)) => {
                            index += 1;
                            // Simple packets belong to interface 0 and carry
                            // no timestamp: none is invented; the previous
                            // packet's (or the next timed one's) is borrowed.
                            let link = interfaces.first().map(|i| i.link).unwrap_or(LinkType::ETHERNET);
                            let (ts, basis) = match (checks.prev_ts(), spb_guess.flatten()) {
                                (Some(prev), _) => (prev, format!("the time of packet {}", index - 1)),
                                (None, Some(next)) => {
                                    (next, "the time of the first timed packet after it".to_string())
                                }
                                (None, None) => (
                                    Timestamp::default(),
                                    "time 0 (1970-01-01): no timed packet precedes it or follows it closely"
                                        .to_string(),
                                ),
                            };
                            checks.untimed(index, ts, &basis);
                            checks.packet(index, ts);
                            stop = flush(f, &mut checks);
                            let pkt = Packet {
                                index,
                                ts,
                                link,
                                // The block is padded to 32 bits; origlen bounds the real data.
                                data: spb.data.get(..spb.origlen as usize).unwrap_or(spb.data),
                                orig_len: spb.origlen,
                                at,
                            };
                            stop = stop || f(SourceItem::Packet(pkt)).is_break();
                        }
                        PcapBlockOwned::NG(Block::DecryptionSecrets(dsb)) => {
                            // The data is padded to 32 bits; secrets_len bounds the secrets.
                            let data = dsb.data.get(..dsb.secrets_len as usize).unwrap_or(dsb.data);
                            let kind = SecretsKind(dsb.secrets_type.0);
                            stop = f(header(HeaderKind::Secrets)).is_break()
                                || f(SourceItem::Secrets { kind, data }).is_break();
                        }
                        PcapBlockOwned::NG(_) => {}
                    }
                    // Without shifting what is left to the front of the
                    // buffer (`consume` moves up to half the buffer every
                    // time it is half read: the whole file once more);
                    // `refill` moves only the partial record left at the end.
                    self.reader.consume_noshift(offset);
                    consumed += offset as u64;
                    if stop {
                        stopped = true;
                        break;
                    }
                }
                Err(PcapError::Eof) => break,
                Err(PcapError::Incomplete(_)) => {
                    if self.reader.reader_exhausted() {
                        cut = true;
                        break;
                    }
                    self.reader
                        .refill()
                        .map_err(|e| anyhow::anyhow!("cannot read {}: {e:?}", self.name))?;
                }
                Err(PcapError::UnexpectedEof) => {
                    cut = true;
                    break;
                }
                Err(PcapError::BufferTooSmall) => {
                    // Doubled from what it is (not from what it holds: after
                    // a consume that can be less than it is, and growing to
                    // that would fail).
                    let size = self.capacity.saturating_mul(2);
                    if size > MAX_BUFFER {
                        end.truncated = Some(format!(
                            "after packet {index}: a record larger than {} MiB; the file is probably corrupt, stopped reading",
                            MAX_BUFFER >> 20
                        ));
                        break;
                    }
                    if !self.reader.grow(size) {
                        end.truncated = Some(format!(
                            "after packet {index}: cannot grow the read buffer to {} KiB for the next record; stopped reading",
                            size >> 10
                        ));
                        break;
                    }
                    self.capacity = size;
                    self.reader
                        .refill()
                        .map_err(|e| anyhow::anyhow!("cannot read {}: {e:?}", self.name))?;
                }
                Err(PcapError::ReadError) => bail!("cannot read {}: read error", self.name),
                Err(e) => {
                    // A corrupt record: we cannot find the next record boundary
                    // reliably, so stop here and say where.
                    end.truncated = Some(format!(
                        "after packet {index}: corrupt record ({}); the rest of the file was not read",
                        describe_error(&e)
                    ));
                    break;
                }
            }
        }
        if cut {
            // The input ends inside a record: a cut file, unless a legacy
            // record's length is what lies.
            let data = self.reader.data();
            let lie = match format {
                Format::Legacy {
                    big,
                    hdr_len,
                    snaplen,
                    ..
                } => checks::legacy_cut_lies(data, big && hdr_len == 16, hdr_len, snaplen, index),
                _ => None,
            };
            match lie {
                Some(detail) => {
                    let ts = checks.prev_ts().unwrap_or_default();
                    stopped = say(f, diag::PCAP_CAPLEN_IMPOSSIBLE, &detail, None, ts);
                }
                None => end.truncated = Some(truncation_note(index, data.len())),
            }
        }
        // The totals of what was said once — unless the consumer asked to stop.
        if !stopped {
            for n in checks.summary() {
                if say(f, n.code, &n.detail, n.packet, n.ts) {
                    break;
                }
            }
        }
        end.packets = index;
        Ok(end)
    }
}

/// Hands out one diagnostic; true if the consumer asked to stop.
fn say(
    f: &mut dyn FnMut(SourceItem<'_>) -> ControlFlow<()>,
    code: &'static str,
    detail: &str,
    packet: Option<u64>,
    ts: Timestamp,
) -> bool {
    f(SourceItem::Diagnostic {
        code,
        detail,
        packet,
        ts,
    })
    .is_break()
}

/// Hands out the findings about the packet about to be handed out.
fn flush(f: &mut dyn FnMut(SourceItem<'_>) -> ControlFlow<()>, checks: &mut Checks) -> bool {
    let mut stop = false;
    for n in checks.notes.drain(..) {
        stop = stop || say(f, n.code, &n.detail, n.packet, n.ts);
    }
    stop
}

fn truncation_note(index: u64, leftover: usize) -> String {
    format!(
        "the file ends in the middle of a record after packet {index} ({leftover} bytes left over); read up to the truncation"
    )
}

fn describe_error(e: &PcapError<&[u8]>) -> String {
    match e {
        PcapError::NomError(_, kind) | PcapError::OwnedNomError(_, kind) => format!("{kind:?}"),
        PcapError::HeaderNotRecognized => "unknown block".into(),
        other => format!("{other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Seen = (u64, Timestamp, LinkType, Vec<u8>, u32);

    fn collect(bytes: Vec<u8>) -> (Vec<Seen>, SourceEnd) {
        collect_with(bytes, BUFFER)
    }

    fn collect_with(bytes: Vec<u8>, buffer: usize) -> (Vec<Seen>, SourceEnd) {
        let input = Box::new(std::io::Cursor::new(bytes));
        let mut src = FileSource::from_reader_with_buffer("t".into(), input, buffer).unwrap();
        let mut out = Vec::new();
        let end = src
            .run(&mut |item| {
                if let SourceItem::Packet(p) = item {
                    out.push((p.index, p.ts, p.link, p.data.to_vec(), p.orig_len));
                }
                ControlFlow::Continue(())
            })
            .unwrap();
        (out, end)
    }

    /// A buffer smaller than the records (sizes.pcap has 30 KB ones) grows
    /// to fit them, from what it is, not what it holds: the same
    /// packets as with the default buffer (pcap and pcapng).
    #[test]
    fn a_small_read_buffer_grows_for_large_records() {
        for f in ["../../fixtures/sizes.pcap", "../../fixtures/pcapng_multi.pcapng"] {
            let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("src/source")
                .join(f);
            let bytes = std::fs::read(&path).unwrap();
            let (big, end_big) = collect(bytes.clone());
            let (small, end_small) = collect_with(bytes, 4096);
            assert!(!big.is_empty());
            assert_eq!(end_big, end_small, "{f}");
            assert_eq!(big.len(), small.len(), "{f}");
            assert!(big == small, "{f}: packets differ");
        }
    }

    fn pcap_header(magic: u32, big: bool, link: u32) -> Vec<u8> {
        let mut v = Vec::new();
        let w32 = |v: &mut Vec<u8>, x: u32| v.extend(if big { x.to_be_bytes() } else { x.to_le_bytes() });
        let w16 = |v: &mut Vec<u8>, x: u16| v.extend(if big { x.to_be_bytes() } else { x.to_le_bytes() });
        w32(&mut v, magic);
        w16(&mut v, 2);
        w16(&mut v, 4);
        w32(&mut v, 0);
        w32(&mut v, 0);
        w32(&mut v, 65535);
        w32(&mut v, link);
        v
    }

    fn pcap_record(v: &mut Vec<u8>, big: bool, sec: u32, frac: u32, data: &[u8], orig: u32) {
        for x in [sec, frac, data.len() as u32, orig] {
            v.extend(if big { x.to_be_bytes() } else { x.to_le_bytes() });
        }
        v.extend_from_slice(data);
    }

    #[test]
    fn reads_pcap_in_both_byte_orders_and_precisions() {
        for big in [false, true] {
            for (magic, nanos) in [(0xa1b2_c3d4u32, false), (0xa1b2_3c4d, true)] {
                let mut f = pcap_header(magic, big, 1);
                pcap_record(&mut f, big, 1_700_000_000, 123_456, b"abcd", 60);
                pcap_record(&mut f, big, 1_700_000_001, 7, b"ef", 2);
                let (pkts, end) = collect(f);
                assert_eq!(end.truncated, None);
                assert_eq!(pkts.len(), 2, "big={big} nanos={nanos}");
                let want_nanos = if nanos { 123_456 } else { 123_456_000 };
                assert_eq!(pkts[0].1, Timestamp::new(1_700_000_000, want_nanos));
                assert_eq!(pkts[0].3, b"abcd");
                assert_eq!(pkts[0].4, 60);
                assert_eq!(pkts[1].0, 2);
                assert_eq!(pkts[1].2, LinkType::ETHERNET);
            }
        }
    }

    #[test]
    fn truncated_pcap_is_read_up_to_the_cut() {
        let mut f = pcap_header(0xa1b2_c3d4, false, 1);
        pcap_record(&mut f, false, 1, 0, &[1; 100], 100);
        pcap_record(&mut f, false, 2, 0, &[2; 100], 100);
        f.truncate(f.len() - 30);
        let (pkts, end) = collect(f);
        assert_eq!(pkts.len(), 1);
        let note = end.truncated.expect("truncation reported");
        assert!(note.contains("after packet 1"), "{note}");
    }

    #[test]
    fn not_a_capture_is_a_clear_error() {
        let err = FileSource::from_reader(
            "notes.txt".into(),
            Box::new(std::io::Cursor::new(b"hello world, this is text".to_vec())),
        )
        .err()
        .unwrap()
        .to_string();
        assert!(
            err.contains("notes.txt") && err.contains("not a capture"),
            "{err}"
        );
        let err = FileSource::from_reader("e".into(), Box::new(std::io::Cursor::new(Vec::new())))
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("empty"), "{err}");
    }

    /// A pcapng with two interfaces (ethernet µs, raw-IP ns) and an SPB.
    #[test]
    fn pcapng_interfaces_resolution_and_simple_packets() {
        fn block(v: &mut Vec<u8>, ty: u32, body: &[u8]) {
            let len = 12 + body.len().div_ceil(4) * 4;
            v.extend((ty).to_le_bytes());
            v.extend((len as u32).to_le_bytes());
            v.extend_from_slice(body);
            v.resize(v.len() + (len - 12 - body.len()), 0);
            v.extend((len as u32).to_le_bytes());
        }
        let mut f = Vec::new();
        let mut shb = Vec::new();
        shb.extend(0x1A2B_3C4Du32.to_le_bytes());
        shb.extend(1u16.to_le_bytes());
        shb.extend(0u16.to_le_bytes());
        shb.extend((-1i64).to_le_bytes());
        block(&mut f, 0x0A0D_0D0A, &shb);
        // IDB 0: ethernet, default µs.
        let mut idb = Vec::new();
        idb.extend(1u16.to_le_bytes());
        idb.extend(0u16.to_le_bytes());
        idb.extend(0u32.to_le_bytes());
        block(&mut f, 1, &idb);
        // IDB 1: raw IPv4 (228), if_tsresol = 9 (ns).
        let mut idb = Vec::new();
        idb.extend(228u16.to_le_bytes());
        idb.extend(0u16.to_le_bytes());
        idb.extend(0u32.to_le_bytes());
        idb.extend(9u16.to_le_bytes());
        idb.extend(1u16.to_le_bytes());
        idb.extend([9, 0, 0, 0]);
        idb.extend([0, 0, 0, 0]);
        block(&mut f, 1, &idb);
        let epb = |if_id: u32, ts: u64, data: &[u8]| {
            let mut b = Vec::new();
            b.extend(if_id.to_le_bytes());
            b.extend(((ts >> 32) as u32).to_le_bytes());
            b.extend((ts as u32).to_le_bytes());
            b.extend((data.len() as u32).to_le_bytes());
            b.extend((data.len() as u32).to_le_bytes());
            b.extend_from_slice(data);
            b.resize(20 + data.len().div_ceil(4) * 4, 0);
            b
        };
        block(&mut f, 6, &epb(0, 1_700_000_000_123_456, b"eth"));
        block(&mut f, 6, &epb(1, 1_700_000_000_123_456_789, b"ipv4!"));
        let mut spb = Vec::new();
        spb.extend(3u32.to_le_bytes());
        spb.extend(b"xyz\0");
        block(&mut f, 3, &spb);
        let (pkts, end) = collect(f);
        assert_eq!(end.truncated, None);
        assert_eq!(pkts.len(), 3);
        assert_eq!(pkts[0].1, Timestamp::new(1_700_000_000, 123_456_000));
        assert_eq!(pkts[0].2, LinkType::ETHERNET);
        assert_eq!(pkts[0].3, b"eth");
        assert_eq!(pkts[1].1, Timestamp::new(1_700_000_000, 123_456_789));
        assert_eq!(pkts[1].2, LinkType::IPV4);
        assert_eq!(pkts[1].3, b"ipv4!");
        assert_eq!(pkts[2].3, b"xyz");
        assert_eq!(pkts[2].0, 3);
    }
}
