//! `export --format pcap`, second pass: copies every packet of the selected
//! connections, in capture order and unchanged (timestamps, original
//! lengths), into a new capture file.
//!
//! Which connection a packet belongs to is what [`Analyzer::feed`] says, fed
//! the same packets with the same configuration as the analysis pass, so the
//! numbering cannot disagree. Packets outside any TCP connection (not TCP,
//! undecodable, IP fragments held until their datagram completes) are left out.
//!
//! The file is a pcap, unless it must carry TLS keys: when exported
//! connections were decrypted, the caller passes their key log lines
//! ([`key_log_lines`]) and the file is a pcapng whose Decryption Secrets
//! Block holds them, before the first packet — what `editcap
//! --inject-secrets tls,KEYS` writes — so Wireshark and tshark decrypt it
//! with no key log setting, and so does wsscope (`decrypted_by: "dsb"`).

use crate::analyzer::{Analyzer, AnalyzerConfig};
use crate::event::{ConnId, Event};
use crate::keys::keylog::Secrets;
use crate::pipeline::{self, Control};
use crate::source::pcap_writer::{PcapWriter, PcapngWriter};
use crate::source::{LinkType, Packet, PacketSource, SecretsKind};
use anyhow::{Context, bail};
use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::io::{self, Write};
use std::ops::ControlFlow;

/// Snapshot length written in the file header (tcpdump's default).
const SNAPLEN: u32 = 262_144;

/// Appends the NSS key log lines (`SSLKEYLOGFILE` format) of one
/// connection's secrets: `CLIENT_RANDOM` (TLS 1.2 master secret) and the
/// TLS 1.3 secrets, in the order OpenSSL writes them. Later traffic secrets
/// (KeyUpdate) are derived by the reader, as wsscope does.
pub fn key_log_lines(client_random: &[u8; 32], secrets: &Secrets, out: &mut String) {
    // Every field, named: a new kind of secret must be written here too.
    let Secrets {
        master_secret,
        client_handshake,
        server_handshake,
        client_traffic_0,
        server_traffic_0,
        client_early,
        exporter,
        early_exporter,
    } = secrets;
    let random = hex::encode(client_random);
    for (label, secret) in [
        ("CLIENT_RANDOM", master_secret),
        ("CLIENT_EARLY_TRAFFIC_SECRET", client_early),
        ("EARLY_EXPORTER_SECRET", early_exporter),
        ("CLIENT_HANDSHAKE_TRAFFIC_SECRET", client_handshake),
        ("SERVER_HANDSHAKE_TRAFFIC_SECRET", server_handshake),
        ("CLIENT_TRAFFIC_SECRET_0", client_traffic_0),
        ("SERVER_TRAFFIC_SECRET_0", server_traffic_0),
        ("EXPORTER_SECRET", exporter),
    ] {
        if let Some(s) = secret {
            let _ = writeln!(out, "{label} {random} {}", hex::encode(s));
        }
    }
}

/// The file being written: pcap, or pcapng when it carries keys.
enum Writer<'w> {
    Pcap(PcapWriter<&'w mut dyn Write>),
    Pcapng(PcapngWriter<&'w mut dyn Write>),
}

impl Writer<'_> {
    fn write(&mut self, pkt: &Packet<'_>) -> io::Result<()> {
        match self {
            Writer::Pcap(w) => w.write(pkt),
            Writer::Pcapng(w) => w.write(pkt),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Writer::Pcap(w) => w.flush(),
            Writer::Pcapng(w) => w.flush(),
        }
    }
}

/// Reads `src` and writes the packets of `conns` to `w`; returns how many
/// were written. All must share one link type (the file has one
/// interface). With `tls_keys` (key log lines, see [`key_log_lines`]) the
/// file is a pcapng carrying them in a Decryption Secrets Block; without,
/// a pcap.
pub fn write_connections(
    src: &mut dyn PacketSource,
    cfg: AnalyzerConfig,
    conns: &BTreeSet<ConnId>,
    limit: Option<u64>,
    tls_keys: Option<&[u8]>,
    w: &mut dyn Write,
) -> anyhow::Result<u64> {
    let mut analyzer = Analyzer::new(cfg);
    let mut discard = |_: Event| {};
    let mut out: Option<(Writer<'_>, LinkType)> = None;
    let mut w = Some(w);
    let mut written = 0u64;
    let mut failure: Option<anyhow::Error> = None;
    let what = if tls_keys.is_some() {
        "writing pcapng"
    } else {
        "writing pcap"
    };
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
                    let writer = match tls_keys {
                        Some(keys) => Writer::Pcapng(
                            PcapngWriter::new(w, pkt.link, SNAPLEN, &[(SecretsKind::TLS_KEY_LOG, keys)])
                                .context(what)?,
                        ),
                        None => Writer::Pcap(PcapWriter::new(w, pkt.link, SNAPLEN).context(what)?),
                    };
                    out = Some((writer, pkt.link));
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
                pw.write(pkt).context(what)?;
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
        pw.flush().context(what)?;
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_log_lines_in_nss_format() {
        let random = [0xab; 32];
        let r = "ab".repeat(32);
        let mut out = String::new();
        key_log_lines(
            &random,
            &Secrets {
                master_secret: Some(vec![1; 48]),
                ..Default::default()
            },
            &mut out,
        );
        assert_eq!(out, format!("CLIENT_RANDOM {r} {}\n", "01".repeat(48)));
        let mut out = String::new();
        key_log_lines(
            &random,
            &Secrets {
                master_secret: None,
                client_handshake: Some(vec![1; 32]),
                server_handshake: Some(vec![2; 32]),
                client_traffic_0: Some(vec![3; 32]),
                server_traffic_0: Some(vec![4; 32]),
                client_early: Some(vec![5; 32]),
                exporter: Some(vec![6; 32]),
                early_exporter: Some(vec![7; 32]),
            },
            &mut out,
        );
        let labels: Vec<&str> = out.lines().map(|l| l.split(' ').next().unwrap()).collect();
        assert_eq!(
            labels,
            [
                "CLIENT_EARLY_TRAFFIC_SECRET",
                "EARLY_EXPORTER_SECRET",
                "CLIENT_HANDSHAKE_TRAFFIC_SECRET",
                "SERVER_HANDSHAKE_TRAFFIC_SECRET",
                "CLIENT_TRAFFIC_SECRET_0",
                "SERVER_TRAFFIC_SECRET_0",
                "EXPORTER_SECRET",
            ]
        );
        assert!(out.lines().all(|l| l.split(' ').nth(1) == Some(r.as_str())));
        // What we write, the key log reader reads back unchanged.
        let mut log = crate::keys::keylog::KeyLog::new();
        let mut report = Default::default();
        log.parse(out.as_bytes(), &mut report);
        assert_eq!(
            log.get(&random).map(|s| s.exporter.clone()),
            Some(Some(vec![6; 32]))
        );
        assert_eq!(report.used, 7);
    }
}
