//! Command-line interface: every clap type (derive), the checks of flag
//! combinations, and the opening of inputs. What the commands do is in
//! [`crate::commands`]; nothing here imports a command or a sink.

use crate::analyzer::AnalyzerConfig;
use crate::event::{ConnId, Dir};
use crate::output::payload::PayloadLimit;
use crate::output::text::time::TimeFormat;
use crate::select::{SelectExpr, Selection, Unit, parse_dir, parse_opcode};
use crate::source::PacketSource;
use crate::source::file::FileSource;
use anyhow::bail;
use clap::{Args, Parser, Subcommand, ValueEnum};
use regex::Regex;
use std::path::{Path, PathBuf};
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

    /// Time format of the text timeline printed when stdout is not a
    /// terminal, as tshark's -t (default u: UTC; a, ad: the zone of TZ).
    #[arg(short = 't', value_enum, value_name = "FORMAT", default_value_t = TimeFormat::Utc)]
    pub time: TimeFormat,

    #[command(flatten)]
    pub analysis: AnalysisArgs,
}

impl Cli {
    /// Settles the input flags of whichever command runs ([`InputArgs::resolve`]).
    pub fn resolve_inputs(&mut self) -> anyhow::Result<()> {
        match &mut self.command {
            Some(Command::Dump { input, .. }) => input.resolve(),
            Some(Command::Audit(args)) => args.input.resolve(),
            Some(Command::Conns { input, .. }) => input.resolve(),
            Some(Command::Export(args)) => {
                // `-o -` is standard output, as for tcpdump's `-w -`.
                if args.output.as_deref() == Some(std::path::Path::new("-")) {
                    args.output = None;
                }
                args.input.resolve()
            }
            None => {
                self.input.resolve()?;
                if self.input.is_many() {
                    bail!(
                        "the timeline opens one capture ({} given): open them one at a time, or use \
                         `wsscope dump`, `conns` or `export`, which read several",
                        self.input.captures.len()
                    );
                }
                Ok(())
            }
        }
    }
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Print every WebSocket event as a timeline (or JSON Lines).
    #[command(after_long_help = DUMP_SELECTION_HELP)]
    Dump {
        #[command(flatten)]
        input: InputArgs,
        #[arg(long, value_enum, default_value_t = DumpFormat::Text)]
        format: DumpFormat,
        /// Write to PATH instead of standard output; with --format parquet
        /// (required there) the dataset's directory.
        #[arg(short = 'o', long = "output", value_name = "PATH")]
        output: Option<PathBuf>,
        /// Time format of the text lines, as tshark's -t. The default, u, is
        /// UTC: the text has no header, so the zone is said here. a and ad
        /// use the local zone (TZ). JSON Lines keep their `ts` (epoch seconds).
        #[arg(short = 't', value_enum, value_name = "FORMAT", default_value_t = TimeFormat::Utc)]
        time: TimeFormat,
        #[command(flatten)]
        select: SelectArgs,
        #[command(flatten)]
        lean: LeanArgs,
        #[command(flatten)]
        analysis: AnalysisArgs,
    },
    /// Export selected payloads (hexdump, xxd, raw, jsonl) or whole connections (pcap).
    Export(ExportArgs),
    /// Security findings: Origin not checked, credentials in cleartext or
    /// URLs, weak JWTs, predictable masking, compression oracles,
    /// decompression bombs, tolerated violations, weak TLS (README, "Audit").
    Audit(AuditArgs),
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

/// How `dump` applies a selection to events other than frames and messages
/// (`wsscope dump --help`; README, "Selecting").
const DUMP_SELECTION_HELP: &str = "\
Selecting events (--conn --dir --opcode --grep --select: all must hold):
  frame, message        every term, as `export` selects them
  violation             conn: dir: is:violation rule: (its rule id)
  diagnostic            conn: dir: is:diagnostic rule: (its code)
  gap                   conn: dir: is:gap
  handshake             conn: is:handshake
  connection, tls,      conn:
  close
An event without a direction (handshake, connection, tls, close) passes dir:.
Any other term an event does not carry leaves it out: with only --conn/--dir
(conn: dir:) the connections' whole story stays; with an opcode, a regex, is:,
len or rule:, only the events named. --types TYPE,... keeps only the records
of those types, with the selection (all must hold).
Nothing selected: exit status 1.";

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum DumpFormat {
    /// One readable line per frame, handshake, gap and violation.
    Text,
    /// The JSON Lines event stream documented in README.md.
    Jsonl,
    /// A Parquet dataset in the directory -o names: one table per record
    /// kind, partitioned by capture (cargo feature `parquet`).
    Parquet,
    /// A Zeek websocket.log (TSV with Zeek's header): one row per WebSocket
    /// session, Zeek's columns first, then ours (counters, Community ID).
    Zeek,
}

impl DumpFormat {
    /// The name `--format` takes.
    pub fn as_str(self) -> &'static str {
        match self {
            DumpFormat::Text => "text",
            DumpFormat::Jsonl => "jsonl",
            DumpFormat::Parquet => "parquet",
            DumpFormat::Zeek => "zeek",
        }
    }
}

/// `dump`'s lean output: how much payload each record keeps, and which
/// records are written at all (issue 13: the protocol's shape without
/// gigabytes of hex).
#[derive(Args, Debug, Clone, Default)]
pub struct LeanArgs {
    /// Payload kept per record: full, none, or N (bytes). JSON Lines: full
    /// by default; none leaves out payload_hex, text and data_hex; N keeps
    /// the first N bytes (text cut on a character boundary) and adds
    /// "payload_cut":true where it cut. Text: the preview width in
    /// characters (default 60); none prints no preview, full whole payloads
    /// (escaped as always).
    #[arg(long, value_name = "full|none|N")]
    pub payload: Option<PayloadLimit>,

    /// Only records of these types (comma-separated, repeatable): the JSON
    /// `type` values. Combined with the selection flags: all must hold. In
    /// text, naming `message` prints every message (by default only those
    /// a frame line does not already show).
    #[arg(long, value_enum, value_delimiter = ',', value_name = "TYPE,...")]
    pub types: Vec<RecordType>,

    /// Show the secrets `finding` records found whole (by default: their
    /// first characters and length).
    #[arg(long)]
    pub show_secrets: bool,

    /// No `finding` records: skip the audit's rules (they cost about a
    /// third more time on a one-thread JSON Lines dump of plaintext JSON
    /// traffic, whose every message is searched for secrets).
    #[arg(long, conflicts_with = "show_secrets")]
    pub no_audit: bool,
}

impl LeanArgs {
    /// Whether `--types` lets records of type `name` ([`crate::event::Event::type_name`]) through.
    pub fn takes_type(&self, name: &str) -> bool {
        self.types.is_empty() || self.types.iter().any(|t| t.as_str() == name)
    }

    /// `--types` as given, to echo back when nothing matched.
    pub fn describe(&self) -> Option<String> {
        if self.types.is_empty() {
            return None;
        }
        let names: Vec<&str> = self.types.iter().map(|t| t.as_str()).collect();
        Some(format!("--types {}", names.join(",")))
    }
}

/// A record type of `dump` (the `type` of a JSON Lines record).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum RecordType {
    Connection,
    Tls,
    Handshake,
    Frame,
    Message,
    Gap,
    Violation,
    Diagnostic,
    Close,
    Http2,
    Finding,
}

impl RecordType {
    /// The name `--types` takes, and the record's `type`.
    pub fn as_str(self) -> &'static str {
        match self {
            RecordType::Connection => "connection",
            RecordType::Tls => "tls",
            RecordType::Handshake => "handshake",
            RecordType::Frame => "frame",
            RecordType::Message => "message",
            RecordType::Gap => "gap",
            RecordType::Violation => "violation",
            RecordType::Diagnostic => "diagnostic",
            RecordType::Close => "close",
            RecordType::Http2 => "http2",
            RecordType::Finding => "finding",
        }
    }
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
    /// Capture files, pcap or pcapng (`-` reads standard input): paths,
    /// directories (the captures in them) or patterns (`'caps/*.pcap*'`).
    /// `dump`, `conns` and `export` read several in parallel.
    #[arg(value_name = "FILE", conflicts_with = "interface")]
    pub files: Vec<PathBuf>,

    /// The one capture this run reads (set by [`InputArgs::resolve`]; `None`
    /// with several, see `captures`, or live).
    #[arg(skip)]
    pub file: Option<PathBuf>,

    /// Every capture the FILE arguments name, expanded, in order.
    #[arg(skip)]
    pub captures: Vec<PathBuf>,

    /// The capture file, as tshark and tcpdump take it (`-r -` reads standard input).
    #[arg(short = 'r', value_name = "FILE", conflicts_with = "interface")]
    pub read: Option<PathBuf>,

    /// Capture live on this interface (`any` for all; needs the `live` feature).
    #[arg(short = 'i', long = "interface", value_name = "IFACE")]
    pub interface: Option<String>,

    /// Capture filter in BPF syntax, compiled by libpcap (live only; default `tcp`).
    #[arg(short = 'f', long = "filter", value_name = "BPF")]
    pub filter: Option<String>,

    /// Bytes kept of each packet (live only; default 262144).
    #[arg(long, value_name = "BYTES")]
    pub snaplen: Option<i32>,

    /// Stop after this many packets.
    #[arg(short = 'c', long = "count", value_name = "N")]
    pub count: Option<u64>,

    /// Stop capturing after this many seconds (live only).
    #[arg(long, value_name = "SECS")]
    pub duration: Option<f64>,

    /// Also save the raw packets to this pcap file (live only), to reopen later.
    #[arg(short = 'w', long = "write", value_name = "FILE.pcap")]
    pub write: Option<PathBuf>,

    /// No progress line on standard error (shown only when it is a terminal).
    #[arg(short = 'q', long)]
    pub quiet: bool,

    /// Exit 0 for a capture cut in the middle of a record (default: exit
    /// status 3 once everything before the cut is written).
    #[arg(long)]
    pub allow_truncated: bool,
}

/// The BPF filter of live capture when `-f` is not given.
pub const DEFAULT_FILTER: &str = "tcp";
/// The snapshot length of live capture when `--snaplen` is not given.
pub const DEFAULT_SNAPLEN: i32 = 262_144;

impl InputArgs {
    pub fn is_live(&self) -> bool {
        self.interface.is_some()
    }

    /// The one capture file: as [`InputArgs::resolve`] settled it, or the
    /// single FILE argument of flags not yet resolved (library callers).
    pub fn single_file(&self) -> Option<&PathBuf> {
        match (&self.file, self.captures.is_empty(), self.files.as_slice()) {
            (Some(f), ..) => Some(f),
            (None, true, [one]) => Some(one),
            _ => None,
        }
    }

    /// More than one capture: the command runs once per capture.
    pub fn is_many(&self) -> bool {
        self.captures.len() > 1
    }

    /// These flags for one of the captures (the others' run alike).
    pub fn for_capture(&self, capture: &Path) -> InputArgs {
        InputArgs {
            files: vec![capture.to_path_buf()],
            file: Some(capture.to_path_buf()),
            captures: vec![capture.to_path_buf()],
            ..self.clone()
        }
    }

    /// The BPF filter of live capture.
    pub fn bpf(&self) -> &str {
        self.filter.as_deref().unwrap_or(DEFAULT_FILTER)
    }

    /// Settles the flags before anything is opened: `-r FILE` becomes the
    /// capture file (given twice is an error), and options that only live
    /// capture can honour are refused without `-i`, each saying what does
    /// the job for a file. Usage errors: exit status 2.
    pub fn resolve(&mut self) -> anyhow::Result<()> {
        if let Some(r) = self.read.take() {
            if let Some(f) = self.files.first() {
                bail!(
                    "the capture is given twice (-r {} and {}): give it once, as -r FILE or as FILE",
                    r.display(),
                    f.display()
                );
            }
            self.files.push(r);
        }
        self.captures = crate::source::captures::expand(&self.files)?;
        crate::source::captures::check_names(&self.captures)?;
        self.file = match self.captures.as_slice() {
            [one] => Some(one.clone()),
            _ => None,
        };
        if self.is_live() {
            return Ok(());
        }
        if self.write.is_some() {
            bail!(
                "-w saves a live capture (-i IFACE); to write a file's packets use \
                 `wsscope export --format pcap -o OUT FILE` (with --conn or --select to pick connections)"
            );
        }
        if let Some(f) = &self.filter {
            bail!(
                "-f {f:?} is a BPF capture filter for live capture (-i IFACE); to pick from a file use \
                 --select or --conn (dump, export), or filter it first with `tcpdump -r FILE -w OUT '{f}'`"
            );
        }
        if self.duration.is_some() {
            bail!(
                "--duration stops a live capture (-i IFACE); a file is read to its end: use -c N to stop after N packets"
            );
        }
        if self.snaplen.is_some() {
            bail!(
                "--snaplen sets how much of each packet live capture (-i IFACE) keeps; a file's packets are \
                 read as they were captured: drop --snaplen"
            );
        }
        Ok(())
    }

    /// Says on stderr that live capture is running (stdout stays clean).
    pub fn announce_live(&self) {
        if let Some(iface) = &self.interface {
            eprintln!(
                "wsscope: capturing on {iface} (filter `{}`); Ctrl-C to stop",
                self.bpf()
            );
        }
    }

    /// Opens the input. `stop` is set by signal handlers (live capture ends
    /// cleanly on SIGINT/SIGTERM).
    pub fn open(&self, stop: Arc<AtomicBool>) -> anyhow::Result<Box<dyn PacketSource + Send>> {
        if let Some(iface) = &self.interface {
            return self.open_interface(iface, stop);
        }
        match self.single_file() {
            Some(f) => Ok(Box::new(FileSource::open(f)?)),
            None => bail!("no input: give a capture FILE (or `-` for stdin), or -i IFACE for live capture"),
        }
    }

    #[cfg(feature = "live")]
    fn open_interface(&self, _: &str, stop: Arc<AtomicBool>) -> anyhow::Result<Box<dyn PacketSource + Send>> {
        Ok(Box::new(self.open_live(stop)?))
    }

    #[cfg(not(feature = "live"))]
    fn open_interface(
        &self,
        iface: &str,
        _: Arc<AtomicBool>,
    ) -> anyhow::Result<Box<dyn PacketSource + Send>> {
        bail!(
            "cannot capture on {iface}: this wsscope was built without live capture; rebuild with \
             `apt-get install libpcap-dev && cargo install --path . --features live`"
        )
    }
}

#[cfg(feature = "live")]
impl InputArgs {
    /// Opens live capture on `-i`, keeping its concrete type (the TUI shows
    /// its drop counters as they change); SIGINT and SIGTERM set `stop`.
    pub fn open_live(&self, stop: Arc<AtomicBool>) -> anyhow::Result<crate::source::live::LiveSource> {
        use crate::source::live::{LiveOptions, LiveSource, stop_on_signals};
        if let Some(d) = self.duration
            && !(d.is_finite() && d > 0.0)
        {
            bail!("--duration must be a positive number of seconds");
        }
        stop_on_signals(stop.clone())?;
        let opts = LiveOptions {
            interface: self.interface.clone().unwrap_or_default(),
            filter: self.bpf().to_string(),
            snaplen: self.snaplen.unwrap_or(DEFAULT_SNAPLEN),
            count: self.count,
            duration: self.duration.map(std::time::Duration::from_secs_f64),
            write: self.write.clone(),
        };
        LiveSource::open(opts, stop)
    }
}

/// How `export` writes what it selected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    /// Exactly what `hexdump -C` prints, each payload after a `# conn ...` header line.
    Hexdump,
    /// Exactly what `xxd` prints, each payload after a `# conn ...` header line.
    Xxd,
    /// The payload bytes themselves (not to a terminal without --force).
    Raw,
    /// The `dump` JSON Lines records of the selection, with their connections' records.
    Jsonl,
    /// A pcap of the selected connections' packets, handshake included.
    Pcap,
    /// An HTTP Archive (HAR 1.2): one entry per WebSocket with its upgrade,
    /// and its selected messages in `_webSocketMessages` as Chrome DevTools writes them.
    Har,
}

impl ExportFormat {
    /// The name `--format` takes.
    pub fn as_str(self) -> &'static str {
        match self {
            ExportFormat::Hexdump => "hexdump",
            ExportFormat::Xxd => "xxd",
            ExportFormat::Raw => "raw",
            ExportFormat::Jsonl => "jsonl",
            ExportFormat::Pcap => "pcap",
            ExportFormat::Har => "har",
        }
    }

    /// Writes bytes a terminal must not receive raw.
    pub fn is_binary(self) -> bool {
        matches!(self, ExportFormat::Raw | ExportFormat::Pcap)
    }
}

/// `wsscope export` flags. The selection flags are the TUI filter's
/// ([`Selection`]).
#[derive(Args, Debug, Clone)]
pub struct ExportArgs {
    /// The capture file (`-` for stdin, except with --format pcap), or a
    /// live interface (`-i`, feature `live`).
    #[command(flatten)]
    pub input: InputArgs,

    #[command(flatten)]
    pub select: SelectArgs,

    /// Export frames (control frames included) instead of messages.
    #[arg(long, conflicts_with = "messages")]
    pub frames: bool,

    /// Export complete messages, inflated (the default); control frames
    /// too when --opcode or --select names them (`--opcode ping`).
    #[arg(long)]
    pub messages: bool,

    /// The payload bytes as they crossed the wire: masked, and for messages
    /// the concatenated (still compressed) payloads of their frames.
    #[arg(long)]
    pub wire: bool,

    /// Output format.
    #[arg(long, value_enum, default_value_t = ExportFormat::Hexdump)]
    pub format: ExportFormat,

    /// Write to this file instead of standard output (`-` is standard output).
    #[arg(short = 'o', long = "output", value_name = "PATH", conflicts_with = "out_dir")]
    pub output: Option<PathBuf>,

    /// Write one file per payload into this directory (created if needed),
    /// named conn<N>-<NNNN>-<dir>.<bin|hexdump|xxd>, numbered per connection.
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<PathBuf>,

    /// hexdump: print repeated lines instead of `*` (like `hexdump -Cv`).
    #[arg(long)]
    pub no_squeeze: bool,

    /// With --frames: show each frame's header bytes, labelled, above its payload.
    #[arg(long)]
    pub annotate: bool,

    /// Write raw bytes or pcap to a terminal anyway.
    #[arg(long)]
    pub force: bool,

    /// With --format jsonl: payload kept per record, full (default), none
    /// or N bytes, as `dump --payload`.
    #[arg(long, value_name = "full|none|N")]
    pub payload: Option<PayloadLimit>,

    #[command(flatten)]
    pub analysis: AnalysisArgs,

    /// Several captures: the one this run is of (its JSON Lines records say so).
    #[arg(skip)]
    pub capture: Option<String>,
}

fn parse_regex(s: &str) -> Result<Regex, String> {
    Regex::new(s).map_err(|e| format!("not a valid regular expression: {e}"))
}

/// The selection flags `export` and `dump` share; flags and `--select` are
/// all required at once. The language is [`crate::select::expr`]'s, the
/// TUI filter's (`f`).
#[derive(Args, Debug, Clone, Default)]
pub struct SelectArgs {
    /// Only this connection (as numbered by `wsscope conns`, = tshark's tcp.stream). Repeatable.
    #[arg(long = "conn", value_name = "N")]
    pub conns: Vec<ConnId>,

    /// Only this HTTP/2 stream of the `--conn` connections (a WebSocket over HTTP/2, RFC 8441). Repeatable.
    #[arg(long = "stream", value_name = "ID", requires = "conns")]
    pub streams: Vec<u32>,

    /// Only this direction: c2s (client to server) or s2c.
    #[arg(long, value_name = "DIR", value_parser = parse_dir)]
    pub dir: Option<Dir>,

    /// Only this opcode: text, binary, close, ping, pong, continuation or 0-15. Repeatable.
    #[arg(long = "opcode", value_name = "OPCODE", value_parser = parse_opcode)]
    pub opcodes: Vec<u8>,

    /// Only payloads whose text (lossy UTF-8; messages inflated) matches this regular expression.
    #[arg(long, value_name = "REGEX", value_parser = parse_regex)]
    pub grep: Option<Regex>,

    /// Only what this expression selects: the TUI filter's language (README, "Selecting").
    ///
    /// Terms separated by spaces, all required: conn:1,4 dir:c2s|s2c
    /// op:text,ping,… (or opcode:) is:violation|gap|handshake|diagnostic|control|data|compressed|truncated
    /// len>N len<N len>=N len<=N len:N (N in bytes, k/M = ×1024) rule:NAME
    /// (a violation rule or diagnostic code). Every other word joins one
    /// regex over the payload text, case-insensitive unless it has a capital;
    /// write "a:b" or \a:b for text with a colon.
    #[arg(long = "select", value_name = "EXPR", value_parser = SelectExpr::parse)]
    pub expr: Option<SelectExpr>,
}

impl SelectArgs {
    /// The selection of the flags and the expression together.
    pub fn selection(&self, unit: Unit) -> Selection {
        let flags = Selection {
            conns: self.conns.clone(),
            dir: self.dir,
            opcodes: self.opcodes.clone(),
            grep: self.grep.clone(),
            unit,
            terms: Vec::new(),
        };
        let mut flags = flags;
        if !self.streams.is_empty() {
            let pairs = self
                .conns
                .iter()
                .flat_map(|c| self.streams.iter().map(move |s| (*c, Some(*s))))
                .collect();
            flags.terms.push(crate::select::Term::Streams(pairs));
        }
        match &self.expr {
            Some(e) => flags.and(e.selection.clone()),
            None => flags,
        }
    }

    /// The flags as given, to echo back when nothing matched:
    /// `--conn 1 --opcode ping --select "len>4k"`.
    pub fn describe(&self) -> Vec<String> {
        let mut filters = Vec::new();
        for c in &self.conns {
            filters.push(format!("--conn {c}"));
        }
        for s in &self.streams {
            filters.push(format!("--stream {s}"));
        }
        if let Some(d) = self.dir {
            filters.push(format!("--dir {d}"));
        }
        for o in &self.opcodes {
            // Echo what `--opcode` accepts: a name, or the number.
            let flag = crate::event::opcode_name(*o).map_or_else(|| format!("0x{o:x}"), str::to_string);
            filters.push(format!("--opcode {flag}"));
        }
        if let Some(g) = &self.grep {
            filters.push(format!("--grep {:?}", g.as_str()));
        }
        if let Some(e) = &self.expr {
            filters.push(format!("--select {:?}", e.text));
        }
        filters
    }
}

impl ExportArgs {
    /// The input as users name it: the file, or `IFACE (live)`.
    pub fn input_name(&self) -> String {
        match (&self.input.interface, self.input.single_file()) {
            (Some(i), _) => format!("{i} (live)"),
            (None, Some(f)) => f.display().to_string(),
            (None, None) => "-".into(),
        }
    }

    /// The selection these flags describe (shared with the TUI filter).
    pub fn selection(&self) -> Selection {
        let unit = if self.frames { Unit::Frames } else { Unit::Messages };
        self.select.selection(unit)
    }

    /// `frame` or `message`: what the selection counts.
    pub fn unit_name(&self) -> &'static str {
        if self.frames { "frame" } else { "message" }
    }

    /// Flag combinations that cannot work, each with what to do instead.
    pub fn check(&self, stdout_is_tty: bool) -> anyhow::Result<()> {
        let f = self.format;
        if self.out_dir.is_some() && matches!(f, ExportFormat::Pcap | ExportFormat::Jsonl) {
            bail!(
                "--out-dir writes one file per payload (--format hexdump, xxd or raw); --format {} writes \
                 a single {}: use -o FILE instead",
                f.as_str(),
                if f == ExportFormat::Pcap {
                    "capture"
                } else {
                    "stream"
                }
            );
        }
        if self.wire && matches!(f, ExportFormat::Pcap | ExportFormat::Jsonl) {
            bail!(
                "--wire chooses which payload bytes hexdump, xxd and raw show; --format {} {}: drop --wire",
                f.as_str(),
                if f == ExportFormat::Pcap {
                    "copies whole packets, already as on the wire"
                } else {
                    "writes the analysed records"
                }
            );
        }
        if let Some(p) = self.payload
            && f != ExportFormat::Jsonl
        {
            bail!(
                "--payload {p} trims the payload fields of JSON Lines records: use it with --format jsonl \
                 (--format {} writes whole payloads)",
                f.as_str()
            );
        }
        if self.annotate && !matches!(f, ExportFormat::Hexdump | ExportFormat::Xxd) {
            bail!("--annotate labels frame headers in a dump: use it with --format hexdump or xxd");
        }
        if self.annotate && !self.frames {
            bail!("--annotate shows frame headers, and messages have none: add --frames");
        }
        if self.no_squeeze && f != ExportFormat::Hexdump {
            bail!(
                "--no-squeeze only concerns --format hexdump (xxd never squeezes; {} has no dump lines)",
                f.as_str()
            );
        }
        if f == ExportFormat::Pcap && self.input.is_live() {
            bail!(
                "--format pcap picks whole connections after reading the capture twice, which live capture \
                 cannot do: save the traffic with `wsscope dump -i IFACE -f 'BPF FILTER' -w FILE.pcap`, then \
                 export from the file"
            );
        }
        if self.input.single_file().is_none() && !self.input.is_live() {
            bail!("no input: give a capture FILE (or `-` for stdin), or -i IFACE for live capture");
        }
        let file = self.input.single_file().cloned().unwrap_or_default();
        if f == ExportFormat::Pcap && file == Path::new("-") {
            bail!(
                "--format pcap reads the capture twice and standard input cannot be re-read: save it to a \
                 file first and export from that"
            );
        }
        if let Some(out) = &self.output
            && !self.input.is_live()
            && file != Path::new("-")
            && same_file(out, &file)
        {
            bail!(
                "-o {} would overwrite the capture being read: choose another output path",
                out.display()
            );
        }
        if f.is_binary() && stdout_is_tty && self.output.is_none() && self.out_dir.is_none() && !self.force {
            bail!(
                "refusing to write {} bytes to a terminal: redirect to a file, use -o FILE{}, or --force",
                if f == ExportFormat::Pcap {
                    "pcap"
                } else {
                    "raw payload"
                },
                if f == ExportFormat::Raw {
                    ", --out-dir DIR, --format hexdump"
                } else {
                    ""
                }
            );
        }
        Ok(())
    }
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
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

    /// Memory budget of the whole run (e.g. 256M, 4G). When the analysis
    /// reaches its share, the least recently active connections are
    /// summarised early (end "evicted", with a memory-budget diagnostic).
    #[arg(long, value_name = "SIZE", default_value = "1G", value_parser = crate::budget::parse_size)]
    pub max_memory: usize,

    /// Most memory one connection may hold (out-of-order bytes, frame and
    /// message payload kept); default a quarter of --max-memory.
    #[arg(long, value_name = "SIZE", value_parser = crate::budget::parse_size)]
    pub max_conn_memory: Option<usize>,

    /// TLS key log (NSS format, as written by SSLKEYLOGFILE) to decrypt wss://
    /// and other TLS connections. Repeatable. Without it, $SSLKEYLOGFILE is used
    /// when set; keys inside a pcapng (Decryption Secrets Block) always are.
    #[arg(long = "keylog", value_name = "FILE")]
    pub keylog: Vec<std::path::PathBuf>,

    /// Decode the application protocol inside WebSocket messages as NAME
    /// for every connection, or PORT=NAME for those of a port (repeatable):
    /// socket.io, stomp, sockjs, graphql-transport-ws, graphql-ws, json-rpc,
    /// cdp, ocpp, mqtt, wamp (wamp-msgpack, wamp-cbor), signalr, phoenix,
    /// actioncable, kubernetes, generic. `none` turns decoding off; by
    /// default it is chosen by evidence (the agreed subprotocol, the URL, the
    /// first messages' shape).
    #[arg(long = "decode", value_name = "NAME|PORT=NAME|none", value_parser = crate::app::parse_decode_spec)]
    pub decode: Vec<crate::app::DecodeSpec>,

    /// Threads to use (default: the available cores). With 2 or more, `dump`
    /// and `export` write their output on one thread while the analysis runs
    /// on another; threads beyond the reader and the writer analyse the
    /// connections, shared among them. The output is the same bytes
    /// whatever the number. 1 does everything on one.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub threads: Option<u16>,
}

/// How much of the work a command's writer thread does (see
/// [`AnalysisArgs::workers`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Writer {
    /// No writer thread: the analysis' own thread writes.
    None,
    /// Formats a little of each event.
    Light,
    /// Writes every payload byte.
    Heavy,
}

impl AnalysisArgs {
    /// `--threads`, or the cores available.
    pub fn threads(&self) -> usize {
        self.threads
            .map(usize::from)
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
    }

    /// Worker threads for the connections' stacks, with `threads` asked for
    /// and a writer thread that has `Light` or `Heavy` work.
    ///
    /// A light writer (a text timeline, JSON Lines without whole payloads)
    /// leaves the reader as the bottleneck: then as many workers as threads
    /// take the stacks off it, beside the reader and the writer, which
    /// mostly wait. A heavy writer (every payload byte as JSON, hex or
    /// files) is the bottleneck itself: workers beside it would only take
    /// its core, so they get what the reader and the writer leave.
    /// Measured on two cores, 1 GB captures: text `dump` of a plain capture
    /// 0.98 s → 0.72 s with two workers, of a permessage-deflate one 9.0 s
    /// → 5.6 s; but whole-payload JSON Lines of the plain one 0.95 s →
    /// 1.43 s (`benches/cores.sh`).
    pub fn workers(threads: usize, writer: Writer) -> usize {
        match writer {
            Writer::None => threads.saturating_sub(1),
            Writer::Light if threads >= 2 => threads,
            Writer::Light => 0,
            Writer::Heavy => threads.saturating_sub(2),
        }
    }

    /// The analysis settings, for a command whose output keeps `output`.
    pub fn config(&self, output: crate::budget::OutputShare) -> AnalyzerConfig {
        let mut cfg = AnalyzerConfig {
            budget: crate::budget::Budget::new(self.max_memory, self.max_conn_memory, output),
            ..AnalyzerConfig::default()
        };
        cfg.tcp.max_conn_buffer = self.max_buffer;
        cfg.tcp.max_total_buffer = self.max_total_buffer.max(self.max_buffer);
        cfg.tcp.max_conns = self.max_conns.max(1);
        cfg.ws_ports = self.ws_ports.clone();
        cfg.decode = crate::app::DecodeArgs::new(&self.decode);
        cfg
    }
}

/// How `audit` writes its findings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum AuditFormat {
    /// A report grouped by rule, for people.
    Text,
    /// One `finding` record per instance (the records `dump --format jsonl` writes among the others).
    Jsonl,
    /// SARIF 2.1.0, for code-scanning systems.
    Sarif,
}

/// `wsscope audit` flags.
#[derive(Args, Debug, Clone)]
pub struct AuditArgs {
    #[command(flatten)]
    pub input: InputArgs,

    #[arg(long, value_enum, default_value_t = AuditFormat::Text)]
    pub format: AuditFormat,

    /// Exit status 4 when a finding of this severity or above was made:
    /// info, low, medium or high.
    #[arg(long, value_name = "SEVERITY", default_value = "high", value_parser = parse_severity)]
    pub fail_on: crate::event::Severity,

    /// Show the secrets found whole (by default: their first characters and length).
    #[arg(long)]
    pub show_secrets: bool,

    /// Write to this file instead of standard output.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,

    #[command(flatten)]
    pub analysis: AnalysisArgs,
}

fn parse_severity(s: &str) -> Result<crate::event::Severity, String> {
    crate::event::Severity::parse(s).ok_or_else(|| format!("expected info, low, medium or high, not {s:?}"))
}
