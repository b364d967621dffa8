//! Command-line interface (clap derive) and the opening of inputs.

use crate::analyzer::AnalyzerConfig;
use crate::source::PacketSource;
use crate::source::file::FileSource;
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

#[derive(Parser, Debug)]
#[command(
    name = "wsscope",
    version,
    about = "WebSocket protocol analyzer: reassembles TCP, verifies handshakes, decodes, unmasks and inflates every frame",
    long_about = "WebSocket protocol analyzer.\n\n\
        `wsscope FILE` opens the interactive timeline; `wsscope -i IFACE` does the same on live traffic \
        (build with --features live). Subcommands print scriptable output.",
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    #[command(flatten)]
    pub input: InputArgs,

    /// List the interfaces live capture can use, then exit.
    #[arg(short = 'D', long = "list-interfaces")]
    pub list_interfaces: bool,

    /// Measurement aid: load FILE into the timeline without a terminal
    /// (120×40 virtual screen), print the last screen and timings.
    #[arg(long, hide = true)]
    pub headless: bool,

    /// With --headless: stop after the first screen that shows content.
    #[arg(long, hide = true, requires = "headless")]
    pub headless_first: bool,

    #[command(flatten)]
    pub analysis: AnalysisArgs,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Print every WebSocket event as a timeline (or JSON Lines).
    Dump {
        #[command(flatten)]
        input: InputArgs,
        #[arg(long, value_enum, default_value_t = DumpFormat::Text)]
        format: DumpFormat,
        #[command(flatten)]
        analysis: AnalysisArgs,
    },
    /// Export selected payloads (hexdump, xxd, raw, jsonl) or whole connections (pcap).
    Export(crate::output::export::ExportArgs),
    /// List the TCP connections (like `tshark -z conv,tcp`), with WebSocket facts.
    Conns {
        #[command(flatten)]
        input: InputArgs,
        #[arg(long, value_enum, default_value_t = ConnsFormat::Table)]
        format: ConnsFormat,
        #[command(flatten)]
        analysis: AnalysisArgs,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum DumpFormat {
    /// One readable line per frame, handshake, gap and violation.
    Text,
    /// The JSON Lines event stream documented in README.md.
    Jsonl,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ConnsFormat {
    /// Aligned columns for people.
    Table,
    /// One JSON object per connection.
    Jsonl,
}

/// Where packets come from: a capture file, or an interface.
#[derive(Args, Debug, Clone, Default)]
pub struct InputArgs {
    /// Capture file, pcap or pcapng (`-` reads standard input).
    #[arg(value_name = "FILE", conflicts_with = "interface")]
    pub file: Option<PathBuf>,

    /// Capture live on this interface (`any` for all; needs the `live` feature).
    #[arg(short = 'i', long = "interface", value_name = "IFACE")]
    pub interface: Option<String>,

    /// Capture filter in BPF syntax, compiled by libpcap (live only).
    #[arg(
        short = 'f',
        long = "filter",
        value_name = "BPF",
        default_value = "tcp",
        requires = "interface"
    )]
    pub filter: String,

    /// Bytes kept of each packet (live only).
    #[arg(long, value_name = "BYTES", default_value_t = 262_144, requires = "interface")]
    pub snaplen: i32,

    /// Stop after this many packets.
    #[arg(short = 'c', long = "count", value_name = "N")]
    pub count: Option<u64>,

    /// Stop capturing after this many seconds (live only).
    #[arg(long, value_name = "SECS", requires = "interface")]
    pub duration: Option<f64>,

    /// Also save the raw packets to this pcap file (live only), to reopen later.
    #[arg(short = 'w', long = "write", value_name = "FILE.pcap", requires = "interface")]
    pub write: Option<PathBuf>,
}

impl InputArgs {
    pub fn is_live(&self) -> bool {
        self.interface.is_some()
    }

    /// Says on stderr that live capture is running (stdout stays clean).
    pub fn announce_live(&self) {
        if let Some(iface) = &self.interface {
            eprintln!(
                "wsscope: capturing on {iface} (filter `{}`); Ctrl-C to stop",
                self.filter
            );
        }
    }

    /// Opens the input. `stop` is set by signal handlers (live capture ends
    /// cleanly on SIGINT/SIGTERM).
    pub fn open(&self, stop: Arc<AtomicBool>) -> anyhow::Result<Box<dyn PacketSource + Send>> {
        if let Some(iface) = &self.interface {
            return open_live(self, iface, stop);
        }
        match &self.file {
            Some(f) => Ok(Box::new(FileSource::open(f)?)),
            None => anyhow::bail!(
                "no input: give a capture FILE (or `-` for stdin), or -i IFACE for live capture"
            ),
        }
    }
}

#[cfg(feature = "live")]
impl InputArgs {
    /// Opens live capture keeping its concrete type (the TUI shows its drop
    /// counters as they change).
    pub fn open_live_source(&self, stop: Arc<AtomicBool>) -> anyhow::Result<crate::source::live::LiveSource> {
        use crate::source::live::{LiveOptions, LiveSource, stop_on_signals};
        let iface = self.interface.clone().unwrap_or_default();
        if let Some(d) = self.duration
            && !(d.is_finite() && d > 0.0)
        {
            anyhow::bail!("--duration must be a positive number of seconds");
        }
        stop_on_signals(stop.clone())?;
        let opts = LiveOptions {
            interface: iface,
            filter: self.filter.clone(),
            snaplen: self.snaplen,
            count: self.count,
            duration: self.duration.map(std::time::Duration::from_secs_f64),
            write: self.write.clone(),
        };
        LiveSource::open(opts, stop)
    }
}

#[cfg(feature = "live")]
fn open_live(
    args: &InputArgs,
    iface: &str,
    stop: Arc<AtomicBool>,
) -> anyhow::Result<Box<dyn PacketSource + Send>> {
    use crate::source::live::{LiveOptions, LiveSource, stop_on_signals};
    if let Some(d) = args.duration
        && !(d.is_finite() && d > 0.0)
    {
        anyhow::bail!("--duration must be a positive number of seconds");
    }
    stop_on_signals(stop.clone())?;
    let opts = LiveOptions {
        interface: iface.to_string(),
        filter: args.filter.clone(),
        snaplen: args.snaplen,
        count: args.count,
        duration: args.duration.map(std::time::Duration::from_secs_f64),
        write: args.write.clone(),
    };
    Ok(Box::new(LiveSource::open(opts, stop)?))
}

#[cfg(not(feature = "live"))]
fn open_live(_: &InputArgs, iface: &str, _: Arc<AtomicBool>) -> anyhow::Result<Box<dyn PacketSource + Send>> {
    anyhow::bail!(
        "cannot capture on {iface}: this wsscope was built without live capture; rebuild with \
         `apt-get install libpcap-dev && cargo install --path . --features live`"
    )
}

/// Options shared by every command that analyses traffic.
#[derive(Args, Debug, Clone)]
pub struct AnalysisArgs {
    /// Treat TCP connections on this port as WebSocket even without a
    /// handshake in the capture (like Wireshark's decode-as). Repeatable.
    #[arg(long = "ws-port", value_name = "PORT")]
    pub ws_ports: Vec<u16>,

    /// Out-of-order bytes buffered per connection before a hole is skipped as a gap.
    #[arg(long, value_name = "BYTES", default_value_t = 16 << 20)]
    pub max_buffer: usize,

    /// Out-of-order bytes buffered across all connections.
    #[arg(long, value_name = "BYTES", default_value_t = 512 << 20)]
    pub max_total_buffer: usize,

    /// Connections tracked at once; the least recently active are summarised early beyond it.
    #[arg(long, value_name = "N", default_value_t = 1_000_000)]
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
