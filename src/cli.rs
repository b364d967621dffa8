//! Command-line interface (clap derive).

use crate::analyzer::AnalyzerConfig;
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "wsscope",
    version,
    about = "WebSocket protocol analyzer: reassembles TCP, verifies handshakes, decodes and inflates every frame",
    long_about = None,
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    /// Capture file to open in the interactive timeline (`-` for stdin).
    pub file: Option<PathBuf>,

    #[command(flatten)]
    pub analysis: AnalysisArgs,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// List the TCP connections of a capture (like `tshark -z conv,tcp`).
    Conns {
        /// Capture file (pcap or pcapng; `-` for stdin).
        file: PathBuf,
        #[arg(long, value_enum, default_value_t = ConnsFormat::Table)]
        format: ConnsFormat,
        #[command(flatten)]
        analysis: AnalysisArgs,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ConnsFormat {
    /// Aligned columns for people.
    Table,
    /// One JSON object per connection.
    Jsonl,
}

/// Options shared by every command that analyses traffic.
#[derive(Args, Debug, Clone)]
pub struct AnalysisArgs {
    /// Treat TCP connections on this port as WebSocket even without a
    /// handshake in the capture (like Wireshark's decode-as). Repeatable.
    #[arg(long = "ws-port", value_name = "PORT", global = true)]
    pub ws_ports: Vec<u16>,

    /// Out-of-order bytes buffered per connection before a hole is skipped as a gap.
    #[arg(long, value_name = "BYTES", default_value_t = 16 << 20, global = true)]
    pub max_buffer: usize,

    /// Out-of-order bytes buffered across all connections.
    #[arg(long, value_name = "BYTES", default_value_t = 512 << 20, global = true)]
    pub max_total_buffer: usize,

    /// Connections tracked at once; the least recently active are summarised early beyond it.
    #[arg(long, value_name = "N", default_value_t = 1_000_000, global = true)]
    pub max_conns: usize,
}

impl AnalysisArgs {
    pub fn config(&self) -> AnalyzerConfig {
        let mut cfg = AnalyzerConfig::default();
        cfg.tcp.max_conn_buffer = self.max_buffer;
        cfg.tcp.max_total_buffer = self.max_total_buffer.max(self.max_buffer);
        cfg.tcp.max_conns = self.max_conns.max(1);
        cfg.ws_ports = self.ws_ports.clone();
        cfg
    }
}
