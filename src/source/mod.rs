//! Packet sources: capture files (pcap/pcapng, also on stdin) and, with the
//! `live` feature, interfaces. Every source hands out borrowed
//! [`SourceItem`]s — packets, and the decryption secrets a pcapng file may
//! carry — through a callback, so the hot path never copies or allocates per
//! packet.

pub mod captures;
mod checks;
pub mod file;
#[cfg(feature = "live")]
pub mod live;
pub mod pcap_writer;
mod pcapng_opts;

use crate::event::Timestamp;
use std::borrow::Cow;
use std::ops::ControlFlow;

/// A link-layer type (pcap `LINKTYPE_*` value).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct LinkType(pub u32);

impl LinkType {
    pub const NULL: LinkType = LinkType(0);
    pub const ETHERNET: LinkType = LinkType(1);
    pub const RAW: LinkType = LinkType(101);
    pub const LOOP: LinkType = LinkType(108);
    pub const LINUX_SLL: LinkType = LinkType(113);
    pub const IPV4: LinkType = LinkType(228);
    pub const IPV6: LinkType = LinkType(229);
    pub const LINUX_SLL2: LinkType = LinkType(276);
    /// OpenBSD's DLT_RAW value 14 and BSD/OS's 12 both mean raw IP in practice.
    pub const RAW_ALT12: LinkType = LinkType(12);
    pub const RAW_ALT14: LinkType = LinkType(14);

    pub fn name(self) -> String {
        match self.0 {
            0 => "null".into(),
            1 => "ethernet".into(),
            12 | 14 | 101 => "raw".into(),
            108 => "loop".into(),
            113 => "linux-sll".into(),
            228 => "ipv4".into(),
            229 => "ipv6".into(),
            276 => "linux-sll2".into(),
            n => format!("linktype-{n}"),
        }
    }
}

/// One captured packet, borrowed from the source's buffer.
#[derive(Clone, Copy, Debug)]
pub struct Packet<'a> {
    /// 1-based position in the capture (as Wireshark numbers frames).
    pub index: u64,
    pub ts: Timestamp,
    pub link: LinkType,
    /// The captured bytes (may be shorter than `orig_len`: snapshot length).
    pub data: &'a [u8],
    /// The packet's length on the wire.
    pub orig_len: u32,
    /// Where the packet's record starts in the input's bytes (file
    /// sources), so that it can be read again later (the TUI fetches
    /// payloads by re-reading packets); 0 for sources that are not a
    /// byte stream (live capture).
    pub at: u64,
}

/// The type of a pcapng Decryption Secrets Block (`secrets_type`): an open
/// set, so an unknown type is kept and named by its number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SecretsKind(pub u32);

impl SecretsKind {
    /// NSS key log lines for TLS ("TLSK").
    pub const TLS_KEY_LOG: SecretsKind = SecretsKind(0x544c_534b);
    /// WireGuard static and ephemeral keys ("WGKL").
    pub const WIREGUARD_KEY_LOG: SecretsKind = SecretsKind(0x5747_4b4c);
    /// ZigBee network keys ("ZNWK").
    pub const ZIGBEE_NWK_KEY: SecretsKind = SecretsKind(0x5a4e_574b);
    /// ZigBee application support keys ("ZAPS").
    pub const ZIGBEE_APS_KEY: SecretsKind = SecretsKind(0x5a41_5053);

    /// `tls-key-log`, …, or `secrets-0x…` for a type this build does not know.
    pub fn name(self) -> Cow<'static, str> {
        match self {
            SecretsKind::TLS_KEY_LOG => "tls-key-log".into(),
            SecretsKind::WIREGUARD_KEY_LOG => "wireguard-key-log".into(),
            SecretsKind::ZIGBEE_NWK_KEY => "zigbee-nwk-key".into(),
            SecretsKind::ZIGBEE_APS_KEY => "zigbee-aps-key".into(),
            SecretsKind(n) => format!("secrets-0x{n:08x}").into(),
        }
    }
}

/// What a source hands out, in capture order.
#[derive(Clone, Copy, Debug)]
pub enum SourceItem<'a> {
    /// A captured packet.
    Packet(Packet<'a>),
    /// Decryption secrets carried by the capture (a pcapng Decryption
    /// Secrets Block), to be handed to the analyzer before the packets after it.
    Secrets { kind: SecretsKind, data: &'a [u8] },
    /// A block that packets after it need to be read (the pcap file
    /// header, a pcapng section header, interface description or
    /// decryption secrets): where it is in the input. A reader resuming
    /// in the middle of the input replays these first
    /// ([`crate::source::file::FileSource::resume`]).
    Header { at: u64, len: u32, kind: HeaderKind },
    /// Something about the capture file itself (a timestamp that cannot be
    /// honoured, a record length that lies): a [`crate::diag`] code, what
    /// was wrong, and the packet it concerns (the next one handed out when
    /// the record itself was skipped). Reading goes on.
    Diagnostic {
        code: &'static str,
        detail: &'a str,
        packet: Option<u64>,
        ts: Timestamp,
    },
}

/// What a [`SourceItem::Header`] block is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeaderKind {
    /// The legacy pcap file header.
    Pcap,
    /// A pcapng Section Header Block: the interfaces before it no longer count.
    Section,
    /// A pcapng Interface Description Block.
    Interface,
    /// A pcapng Decryption Secrets Block.
    Secrets,
}

/// How a source ended.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SourceEnd {
    /// Packets handed out.
    pub packets: u64,
    /// Set when the input ended in the middle of a record: what was wrong.
    pub truncated: Option<String>,
    /// Live sources: packets dropped in total (kernel + pipeline).
    pub dropped: Option<u64>,
    /// Live sources: dropped by the kernel or interface (libpcap's counters).
    pub dropped_kernel: Option<u64>,
    /// Live sources: dropped because the analysis fell behind the capture.
    pub dropped_pipeline: Option<u64>,
}

/// A source of packets. `run` calls `f` for each item in order until the
/// input ends or `f` returns `Break`.
pub trait PacketSource {
    fn run(&mut self, f: &mut dyn FnMut(SourceItem<'_>) -> ControlFlow<()>) -> anyhow::Result<SourceEnd>;

    /// A short description for headers and summaries (file name or interface).
    fn describe(&self) -> String;
}
