//! `export --format pcap`, second pass: copies every packet of the selected
//! connections, in capture order and unchanged (timestamps, original
//! lengths), into a new pcap.
//!
//! Which connection a packet belongs to is what [`Analyzer::feed`] says, fed
//! the same packets with the same configuration as the analysis pass, so the
//! numbering cannot disagree. Packets outside any TCP connection (not TCP,
//! undecodable, IP fragments held until their datagram completes) are left out.

use crate::analyzer::{Analyzer, AnalyzerConfig};
use crate::event::{ConnId, Event};
use crate::pipeline::{self, Control};
use crate::source::pcap_writer::PcapWriter;
use crate::source::{LinkType, PacketSource};
use anyhow::{Context, bail};
use std::collections::BTreeSet;
use std::io::Write;
use std::ops::ControlFlow;

/// Snapshot length written in the file header (tcpdump's default).
const SNAPLEN: u32 = 262_144;

/// Reads `src` and writes the packets of `conns` to `w` as a pcap; returns
/// how many were written. All must share one link type (a pcap has one).
pub fn write_connections(
    src: &mut dyn PacketSource,
    cfg: AnalyzerConfig,
    conns: &BTreeSet<ConnId>,
    limit: Option<u64>,
    w: &mut dyn Write,
) -> anyhow::Result<u64> {
    let mut analyzer = Analyzer::new(cfg);
    let mut discard = |_: Event| {};
    let mut out: Option<(PcapWriter<&mut dyn Write>, LinkType)> = None;
    let mut w = Some(w);
    let mut written = 0u64;
    let mut failure: Option<anyhow::Error> = None;
    // `-c N`: the same packets as the first pass saw.
    pipeline::run(
        src,
        &mut analyzer,
        &mut discard,
        Control::limit(limit),
        |fed, _| {
            let pkt = fed.packet;
            let Some(conn) = fed.conn.filter(|c| conns.contains(c)) else {
                return ControlFlow::Continue(());
            };
            let mut write = || -> anyhow::Result<()> {
                if out.is_none()
                    && let Some(w) = w.take()
                {
                    out = Some((
                        PcapWriter::new(w, pkt.link, SNAPLEN).context("writing pcap")?,
                        pkt.link,
                    ));
                }
                let Some((pw, link)) = out.as_mut() else {
                    return Ok(());
                };
                if *link != pkt.link {
                    bail!(
                        "connection {conn} was captured on a {} interface, earlier selected packets on a {} one, \
                     and a pcap holds one link type: export them separately with --conn",
                        pkt.link.name(),
                        link.name()
                    );
                }
                pw.write(pkt).context("writing pcap")?;
                written = written.saturating_add(1);
                Ok(())
            };
            match write() {
                Ok(()) => ControlFlow::Continue(()),
                Err(e) => {
                    failure = Some(e);
                    ControlFlow::Break(())
                }
            }
        },
    )?;
    if let Some(e) = failure {
        return Err(e);
    }
    if let Some((mut pw, _)) = out {
        pw.flush().context("writing pcap")?;
    }
    Ok(written)
}
