//! `wsscope export`: the payloads of selected frames or messages, as
//! `hexdump -C`, `xxd`, raw bytes (one stream or one file each), JSON Lines,
//! or whole selected TCP connections as a pcap.
//!
//! Design: one analysis pass drives an [`ExportSink`], which numbers every
//! frame/message per connection, applies the shared [`Selection`] (the same
//! filter as the TUI's), and writes each selected payload as it arrives —
//! memory stays flat whatever the capture size. With `--wire --messages`
//! the sink keeps the data frames of each direction until their message
//! arrives, to re-mask and concatenate their wire payloads. `--format pcap`
//! needs to know the selected connections before writing their first packet,
//! so it reads the capture twice: the analysis pass finds them, a second pass
//! copies their packets ([`super::export_pcap`]).

use super::WriteLatch;
use super::export_jsonl::{EventWriter, jsonl_writer};
use super::hexdump::{annotate_frame, hexdump_c, xxd};
use crate::analyzer::Analyzer;
use crate::cli::AnalysisArgs;
use crate::event::{ConnId, Dir, Event, EventSink, FrameEvent, MessageEvent, Timestamp, opcode_name};
use crate::pipeline::{self, Control};
use crate::select::{Selection, Unit, parse_dir, parse_opcode};
use crate::source::file::FileSource;
use crate::source::{LinkType, PacketSource, SourceEnd};
use anyhow::{Context, bail};
use clap::{Args, ValueEnum};
use regex::Regex;
use rustc_hash::{FxHashMap, FxHashSet};
use std::collections::{BTreeSet, VecDeque};
use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, Write};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

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
}

impl ExportFormat {
    fn as_str(self) -> &'static str {
        match self {
            ExportFormat::Hexdump => "hexdump",
            ExportFormat::Xxd => "xxd",
            ExportFormat::Raw => "raw",
            ExportFormat::Jsonl => "jsonl",
            ExportFormat::Pcap => "pcap",
        }
    }

    /// File extension in `--out-dir`.
    fn extension(self) -> &'static str {
        match self {
            ExportFormat::Hexdump => "hexdump",
            ExportFormat::Xxd => "xxd",
            ExportFormat::Raw => "bin",
            ExportFormat::Jsonl => "jsonl",
            ExportFormat::Pcap => "pcap",
        }
    }

    /// Writes bytes a terminal must not receive raw.
    fn is_binary(self) -> bool {
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
    pub input: crate::cli::InputArgs,

    /// Only this connection (as numbered by `wsscope conns`, = tshark's tcp.stream). Repeatable.
    #[arg(long = "conn", value_name = "N")]
    pub conns: Vec<ConnId>,

    /// Only this direction: c2s (client to server) or s2c.
    #[arg(long, value_name = "DIR", value_parser = parse_dir)]
    pub dir: Option<Dir>,

    /// Only this opcode: text, binary, close, ping, pong, continuation or 0-15. Repeatable.
    #[arg(long = "opcode", value_name = "OPCODE", value_parser = parse_opcode)]
    pub opcodes: Vec<u8>,

    /// Only payloads whose text (lossy UTF-8; messages inflated) matches this regular expression.
    #[arg(long, value_name = "REGEX", value_parser = parse_regex)]
    pub grep: Option<Regex>,

    /// Export frames (control frames included) instead of messages.
    #[arg(long, conflicts_with = "messages")]
    pub frames: bool,

    /// Export complete messages, inflated (the default).
    #[arg(long)]
    pub messages: bool,

    /// The payload bytes as they crossed the wire: masked, and for messages
    /// the concatenated (still compressed) payloads of their frames.
    #[arg(long)]
    pub wire: bool,

    /// Output format.
    #[arg(long, value_enum, default_value_t = ExportFormat::Hexdump)]
    pub format: ExportFormat,

    /// Write to this file instead of standard output.
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

    #[command(flatten)]
    pub analysis: AnalysisArgs,
}

fn parse_regex(s: &str) -> Result<Regex, String> {
    Regex::new(s).map_err(|e| format!("not a valid regular expression: {e}"))
}

impl ExportArgs {
    /// The selection these flags describe (shared with the TUI filter).
    pub fn selection(&self) -> Selection {
        Selection {
            conns: self.conns.clone(),
            dir: self.dir,
            opcodes: self.opcodes.clone(),
            grep: self.grep.clone(),
            unit: if self.frames { Unit::Frames } else { Unit::Messages },
        }
    }

    fn unit_name(&self) -> &'static str {
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
        if self.input.file.is_none() && !self.input.is_live() {
            bail!("no input: give a capture FILE (or `-` for stdin), or -i IFACE for live capture");
        }
        let file = self.input.file.clone().unwrap_or_default();
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

/// What an export did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ExportSummary {
    /// Frames (with --frames) or messages in the whole capture.
    pub units_seen: u64,
    /// Of those, selected.
    pub selected: u64,
    /// Connections in the capture.
    pub conns_seen: BTreeSet<ConnId>,
    /// Connections with something selected (for pcap: the exported ones).
    pub matched_conns: BTreeSet<ConnId>,
    /// Files written into --out-dir.
    pub files: u64,
    /// Packets written by --format pcap.
    pub packets: u64,
    /// The capture ended in the middle of a record: why.
    pub truncated: Option<String>,
}

impl ExportSummary {
    /// Nothing was selected: like grep, that is exit status 1.
    pub fn matched_nothing(&self) -> bool {
        self.matched_conns.is_empty()
    }

    /// Exit status: 0 when something was exported, 1 when nothing matched.
    pub fn exit_code(&self) -> ExitCode {
        if self.matched_nothing() {
            ExitCode::from(1)
        } else {
            ExitCode::SUCCESS
        }
    }

    /// The stderr line for an empty result, saying what the capture holds.
    pub fn nothing_message(&self, args: &ExportArgs) -> String {
        let unit = args.unit_name();
        let mut filters = Vec::new();
        for c in &args.conns {
            filters.push(format!("--conn {c}"));
        }
        if let Some(d) = args.dir {
            filters.push(format!("--dir {d}"));
        }
        for o in &args.opcodes {
            // Echo what `--opcode` accepts: a name, or the number.
            let flag = opcode_name(*o).map_or_else(|| format!("0x{o:x}"), str::to_string);
            filters.push(format!("--opcode {flag}"));
        }
        if let Some(g) = &args.grep {
            filters.push(format!("--grep {:?}", g.as_str()));
        }
        let what = if filters.is_empty() {
            format!("no {unit}s to export")
        } else {
            format!("no {unit} matched {}", filters.join(" "))
        };
        let conns = match (self.conns_seen.first(), self.conns_seen.last()) {
            (Some(a), Some(b)) if a == b => format!("1 connection (conn {a})"),
            (Some(a), Some(b)) => format!("{} connections (conns {a}-{b})", self.conns_seen.len()),
            _ => "no TCP connections".to_string(),
        };
        let mut msg = format!(
            "{what}: {} holds {} {unit}{} in {conns}",
            args.input_name(),
            self.units_seen,
            if self.units_seen == 1 { "" } else { "s" }
        );
        if self.units_seen == 0 && !args.frames {
            msg.push_str("; try --frames, or `wsscope conns` to see what it holds");
        }
        msg
    }
}

/// Name of an opcode for headers: `text`, `ping`, or `reserved-0x3`.
fn opcode_label(opcode: u8) -> String {
    crate::ws::frame::Opcode(opcode).name().into_owned()
}

/// Runs an export; `stdout` receives the output unless `-o`/`--out-dir`
/// say otherwise; `stdout_is_tty` guards terminals against raw bytes.
pub fn run(args: &ExportArgs, stdout: &mut dyn Write, stdout_is_tty: bool) -> anyhow::Result<ExportSummary> {
    args.check(stdout_is_tty)?;
    let cfg = args.analysis.config();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut src = args.input.open(stop)?;
    args.input.announce_live();
    let src = src.as_mut();
    if args.format == ExportFormat::Pcap {
        let mut sink = ExportSink::new(args, Output::Conns);
        let end = analyze_into(src, cfg.clone(), &mut sink, args.input.count)?;
        let links = std::mem::take(&mut sink.links);
        sink.finish().context("writing output")?;
        let mut summary = sink.into_summary();
        summary.truncated = end.truncated;
        if summary.matched_nothing() {
            return Ok(summary);
        }
        check_one_link(&summary.matched_conns, &links)?;
        let mut src = FileSource::open(&file_of(args))?;
        summary.packets = match &args.output {
            Some(path) => {
                let mut w = create(path)?;
                let n = super::export_pcap::write_connections(
                    &mut src,
                    cfg,
                    &summary.matched_conns,
                    args.input.count,
                    &mut w,
                )?;
                w.flush().with_context(|| format!("writing {}", path.display()))?;
                n
            }
            None => super::export_pcap::write_connections(
                &mut src,
                cfg,
                &summary.matched_conns,
                args.input.count,
                stdout,
            )?,
        };
        return Ok(summary);
    }
    let mut file;
    let w: &mut dyn Write = match &args.output {
        Some(path) => {
            file = create(path)?;
            &mut file
        }
        None => stdout,
    };
    let out = match (&args.out_dir, args.format) {
        (Some(dir), _) => {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create --out-dir {}", dir.display()))?;
            Output::Dir(dir.clone())
        }
        (None, ExportFormat::Jsonl) => Output::Events(jsonl_writer(w)),
        (None, _) => Output::Stream(w),
    };
    let mut sink = ExportSink::new(args, out);
    let end = analyze_into(src, cfg, &mut sink, args.input.count)?;
    sink.finish().context("writing output")?;
    let mut summary = sink.into_summary();
    summary.truncated = end.truncated;
    Ok(summary)
}

/// A pcap holds one link type: selected connections captured on interfaces
/// of different types cannot go into one file.
fn check_one_link(conns: &BTreeSet<ConnId>, links: &FxHashMap<ConnId, LinkType>) -> anyhow::Result<()> {
    let mut by_link: Vec<(LinkType, Vec<ConnId>)> = Vec::new();
    for c in conns {
        let Some(link) = links.get(c) else { continue };
        match by_link.iter_mut().find(|(l, _)| l == link) {
            Some((_, v)) => v.push(*c),
            None => by_link.push((*link, vec![*c])),
        }
    }
    if by_link.len() > 1 {
        let parts: Vec<String> = by_link
            .iter()
            .map(|(l, v)| {
                let ids: Vec<String> = v.iter().map(|c| c.to_string()).collect();
                format!("{} on {}", ids.join(","), l.name())
            })
            .collect();
        bail!(
            "the selected connections were captured on different link types ({}), and a pcap holds \
             one: export each group separately with --conn",
            parts.join("; ")
        );
    }
    Ok(())
}

fn create(path: &Path) -> anyhow::Result<BufWriter<File>> {
    let f = File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    Ok(BufWriter::new(f))
}

fn file_of(args: &ExportArgs) -> PathBuf {
    args.input.file.clone().unwrap_or_default()
}

impl ExportArgs {
    /// The input as users name it: the file, or `IFACE (live)`.
    pub fn input_name(&self) -> String {
        match (&self.input.interface, &self.input.file) {
            (Some(i), _) => format!("{i} (live)"),
            (None, Some(f)) => f.display().to_string(),
            (None, None) => "-".into(),
        }
    }
}

/// The analysis pass, stopping early when the output fails (closed pipe)
/// or after `limit` packets (`-c`).
fn analyze_into(
    src: &mut dyn PacketSource,
    cfg: crate::analyzer::AnalyzerConfig,
    sink: &mut ExportSink<'_>,
    limit: Option<u64>,
) -> anyhow::Result<SourceEnd> {
    let mut analyzer = Analyzer::new(cfg);
    pipeline::run(src, &mut analyzer, sink, Control::limit(limit), |fed, sink| {
        if let Some(conn) = fed.conn {
            sink.links.entry(conn).or_insert(fed.packet.link);
        }
        if sink.failed() {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    })
}

/// What `main.rs` calls for `wsscope export`: runs the export on standard
/// output, reports on standard error, and returns the exit status (0, or 1
/// when nothing matched; errors are the caller's exit 2).
pub fn run_cli(args: &ExportArgs) -> anyhow::Result<ExitCode> {
    let stdout = io::stdout();
    let tty = stdout.is_terminal();
    // Live: each payload appears as it is captured (flushed line by line).
    let mut w: Box<dyn Write> = if args.input.is_live() {
        Box::new(io::LineWriter::new(stdout.lock()))
    } else {
        Box::new(BufWriter::new(stdout.lock()))
    };
    let summary = run(args, &mut w, tty)?;
    w.flush().context("writing output")?;
    if let Some(why) = &summary.truncated {
        eprintln!("wsscope: warning: {}: {why}", args.input_name());
    }
    if summary.matched_nothing() {
        eprintln!("wsscope: {}", summary.nothing_message(args));
    } else if let Some(dir) = &args.out_dir {
        eprintln!(
            "wsscope: wrote {} file{} to {}",
            summary.files,
            if summary.files == 1 { "" } else { "s" },
            dir.display()
        );
    }
    Ok(summary.exit_code())
}

/// Where an [`ExportSink`] puts what it selected.
pub enum Output<'a> {
    /// hexdump / xxd / raw into one stream.
    Stream(&'a mut dyn Write),
    /// hexdump / xxd / raw, one file per payload in this directory.
    Dir(PathBuf),
    /// Selected frame/message events with their connection's records (jsonl).
    Events(Box<dyn EventWriter + 'a>),
    /// Only find the matching connections (pcap's first pass).
    Conns,
}

/// A selected payload, ready to be written.
struct Item<'e> {
    conn: ConnId,
    dir: Dir,
    ts: Timestamp,
    opcode: u8,
    /// Position among the connection's frames (or messages), from 1.
    number: u64,
    bytes: &'e [u8],
    /// Set for frames (for --annotate).
    frame: Option<&'e FrameEvent>,
    notes: Vec<String>,
}

/// The export's event sink: numbering, selection, wire reconstruction, output.
pub struct ExportSink<'a> {
    sel: Selection,
    format: ExportFormat,
    wire: bool,
    annotate: bool,
    squeeze: bool,
    out: Output<'a>,
    /// Whether the selection looks inside frames/messages (else: whole connections).
    unit_filter: bool,
    /// Frames/messages seen per connection (for numbering).
    numbers: FxHashMap<ConnId, u64>,
    /// `--wire --messages`: data frames waiting for their message, per direction.
    /// `--wire --messages`: wire bytes of data frames waiting for their
    /// message, per direction, with their total (capped at the message cap).
    pending: FxHashMap<(ConnId, Dir), PendingWire>,
    /// jsonl: connection/handshake records held until the connection has a selected event.
    held: FxHashMap<ConnId, Vec<Event>>,
    /// jsonl: connections whose records were written.
    shown: FxHashSet<ConnId>,
    /// Link type of each connection's first packet (a pcap holds one).
    links: FxHashMap<ConnId, LinkType>,
    summary: ExportSummary,
    latch: WriteLatch,
}

impl<'a> ExportSink<'a> {
    pub fn new(args: &ExportArgs, out: Output<'a>) -> Self {
        let sel = args.selection();
        ExportSink {
            unit_filter: sel.dir.is_some() || !sel.opcodes.is_empty() || sel.grep.is_some(),
            sel,
            format: args.format,
            wire: args.wire,
            annotate: args.annotate,
            squeeze: !args.no_squeeze,
            out,
            numbers: FxHashMap::default(),
            pending: FxHashMap::default(),
            held: FxHashMap::default(),
            shown: FxHashSet::default(),
            links: FxHashMap::default(),
            summary: ExportSummary::default(),
            latch: WriteLatch::default(),
        }
    }

    /// What was exported (call [`EventSink::finish`] first: it flushes and
    /// returns the first output error).
    pub fn into_summary(self) -> ExportSummary {
        self.summary
    }

    /// Whether writing failed (nothing more is written).
    pub fn failed(&self) -> bool {
        self.latch.failed()
    }

    fn handle(&mut self, ev: Event) -> io::Result<()> {
        match ev {
            Event::Connection(c) => {
                self.summary.conns_seen.insert(c.conn);
                if self.sel.matches_conn(c.conn) {
                    if !self.unit_filter && matches!(self.out, Output::Conns) {
                        self.summary.matched_conns.insert(c.conn);
                    }
                    if matches!(self.out, Output::Events(_)) {
                        self.held.entry(c.conn).or_default().push(Event::Connection(c));
                    }
                }
            }
            Event::Handshake(h) => self.conn_record(h.conn, Event::Handshake(h))?,
            Event::Frame(f) => {
                if self.sel.unit == Unit::Frames {
                    self.frame(f)?;
                } else if self.wire
                    && f.opcode & 0x8 == 0
                    && self.sel.matches_conn(f.conn)
                    && self.sel.dir.is_none_or(|d| d == f.dir)
                {
                    let (q, held) = self.pending.entry((f.conn, f.dir)).or_default();
                    // A message that never ends must not pin memory: past the
                    // cap, its wire bytes are noted as incomplete instead.
                    if held.saturating_add(f.payload.len()) <= MAX_PENDING_WIRE {
                        *held = held.saturating_add(f.payload.len());
                        q.push_back(wire_payload(&f));
                    }
                }
            }
            Event::Message(m) => {
                if self.sel.unit == Unit::Messages {
                    self.message(m)?;
                }
            }
            Event::Close(c) => {
                let conn = c.conn;
                if self.shown.contains(&conn) {
                    self.conn_record(conn, Event::Close(c))?;
                }
                self.held.remove(&conn);
                self.shown.remove(&conn);
                self.numbers.remove(&conn);
                for d in Dir::BOTH {
                    self.pending.remove(&(conn, d));
                }
            }
            Event::Gap(_) | Event::Violation(_) | Event::Diagnostic(_) => {}
        }
        Ok(())
    }

    /// jsonl: a connection-level record, written now if the connection is
    /// already shown, else held until it has a selected event.
    fn conn_record(&mut self, conn: ConnId, ev: Event) -> io::Result<()> {
        let Output::Events(w) = &mut self.out else {
            return Ok(());
        };
        if self.shown.contains(&conn) {
            w.write_event(&ev)?;
        } else if self.sel.matches_conn(conn) {
            self.held.entry(conn).or_default().push(ev);
        }
        Ok(())
    }

    fn next_number(&mut self, conn: ConnId) -> u64 {
        self.summary.units_seen = self.summary.units_seen.saturating_add(1);
        let n = self.numbers.entry(conn).or_insert(0);
        *n = n.saturating_add(1);
        *n
    }

    fn selected(&mut self, conn: ConnId) {
        self.summary.selected = self.summary.selected.saturating_add(1);
        self.summary.matched_conns.insert(conn);
    }

    fn frame(&mut self, f: FrameEvent) -> io::Result<()> {
        let number = self.next_number(f.conn);
        if !self.sel.matches_frame(&f) {
            return Ok(());
        }
        self.selected(f.conn);
        match &mut self.out {
            Output::Conns => return Ok(()),
            Output::Events(w) => {
                let conn = f.conn;
                return show(
                    w.as_mut(),
                    &mut self.held,
                    &mut self.shown,
                    conn,
                    &Event::Frame(f),
                );
            }
            Output::Stream(_) | Output::Dir(_) => {}
        }
        let wire_bytes;
        let bytes: &[u8] = if self.wire {
            wire_bytes = wire_payload(&f);
            &wire_bytes
        } else {
            &f.payload
        };
        let mut notes = vec![format!("frame {number}")];
        if !f.fin {
            notes.push("not final".into());
        }
        for (bit, name) in [(4, "RSV1"), (2, "RSV2"), (1, "RSV3")] {
            if f.rsv & bit != 0 {
                notes.push(name.into());
            }
        }
        if f.truncated || (f.payload.len() as u64) < f.len {
            notes.push(format!(
                "truncated: {} of {} bytes captured",
                f.payload.len(),
                f.len
            ));
        }
        if let Some(code) = f.close_code {
            notes.push(format!("close code {code}"));
        }
        if let Some(reason) = &f.close_reason {
            notes.push(format!("reason {reason:?}"));
        }
        if let Some(rtt) = f.rtt {
            notes.push(format!("rtt {:.3}ms", rtt * 1000.0));
        }
        if self.wire {
            notes.push(match f.mask_key {
                Some(k) if f.masked => format!("wire bytes, masked with {}", hex::encode(k)),
                _ => "wire bytes, unmasked on the wire".into(),
            });
        }
        let item = Item {
            conn: f.conn,
            dir: f.dir,
            ts: f.ts,
            opcode: f.opcode,
            number,
            bytes,
            frame: Some(&f),
            notes,
        };
        self.write_item(&item)
    }

    fn message(&mut self, m: MessageEvent) -> io::Result<()> {
        let number = self.next_number(m.conn);
        // The message's frames are the oldest pending ones of its direction.
        let frames: Vec<Vec<u8>> = match self.pending.get_mut(&(m.conn, m.dir)) {
            Some((q, held)) if self.wire => {
                let n = usize::try_from(m.frames).unwrap_or(usize::MAX).min(q.len());
                let taken: Vec<Vec<u8>> = q.drain(..n).collect();
                *held = held.saturating_sub(taken.iter().map(Vec::len).sum());
                taken
            }
            _ => Vec::new(),
        };
        if !self.sel.matches_message(&m) {
            return Ok(());
        }
        self.selected(m.conn);
        match &mut self.out {
            Output::Conns => return Ok(()),
            Output::Events(w) => {
                let conn = m.conn;
                return show(
                    w.as_mut(),
                    &mut self.held,
                    &mut self.shown,
                    conn,
                    &Event::Message(m),
                );
            }
            Output::Stream(_) | Output::Dir(_) => {}
        }
        let wire_bytes: Vec<u8>;
        let bytes: &[u8] = if self.wire {
            wire_bytes = frames.concat();
            &wire_bytes
        } else {
            &m.data
        };
        let mut notes = vec![format!("message {number}")];
        if m.frames != 1 {
            notes.push(format!("{} frames", m.frames));
        }
        if m.compressed {
            notes.push(format!("compressed, {} bytes on the wire", m.wire_len));
        }
        if let Some(e) = &m.inflate_error {
            notes.push(format!("not inflated: {e:?}"));
        }
        if m.truncated {
            notes.push("truncated".into());
        }
        if self.wire {
            let found = u32::try_from(frames.len()).unwrap_or(u32::MAX);
            if found < m.frames {
                notes.push(format!("wire bytes of only {found} of its {} frames", m.frames));
            } else {
                notes.push("wire bytes".into());
            }
        }
        let item = Item {
            conn: m.conn,
            dir: m.dir,
            ts: m.ts,
            opcode: m.opcode,
            number,
            bytes,
            frame: None,
            notes,
        };
        self.write_item(&item)
    }

    fn write_item(&mut self, item: &Item<'_>) -> io::Result<()> {
        match &mut self.out {
            Output::Stream(w) => render(item, self.format, self.annotate, self.squeeze, &mut **w),
            Output::Dir(dir) => {
                let name = format!(
                    "conn{}-{:04}-{}.{}",
                    item.conn,
                    item.number,
                    item.dir,
                    self.format.extension()
                );
                let path = dir.join(name);
                let file = File::create(&path).map_err(|e| {
                    io::Error::new(e.kind(), format!("cannot create {}: {e}", path.display()))
                })?;
                let mut w = BufWriter::new(file);
                render(item, self.format, self.annotate, self.squeeze, &mut w)?;
                w.flush()?;
                self.summary.files = self.summary.files.saturating_add(1);
                Ok(())
            }
            Output::Events(_) | Output::Conns => Ok(()),
        }
    }
}

/// jsonl: writes a connection's held records (once), then `ev`.
fn show(
    w: &mut dyn EventWriter,
    held: &mut FxHashMap<ConnId, Vec<Event>>,
    shown: &mut FxHashSet<ConnId>,
    conn: ConnId,
    ev: &Event,
) -> io::Result<()> {
    if shown.insert(conn) {
        for h in held.remove(&conn).unwrap_or_default() {
            w.write_event(&h)?;
        }
    }
    w.write_event(ev)
}

impl EventSink for ExportSink<'_> {
    fn event(&mut self, ev: Event) {
        if self.latch.failed() {
            return;
        }
        let res = self.handle(ev);
        self.latch.keep(res);
    }

    fn finish(&mut self) -> io::Result<()> {
        self.latch.finish(|| match &mut self.out {
            Output::Stream(w) => w.flush(),
            Output::Events(w) => w.flush(),
            Output::Dir(_) | Output::Conns => Ok(()),
        })
    }
}

/// A frame's payload as it crossed the wire: re-masked with its key.
pub fn wire_payload(f: &FrameEvent) -> Vec<u8> {
    let mut v = f.payload.clone();
    if let Some(key) = f.mask_key.filter(|_| f.masked) {
        // Masking is its own inverse.
        crate::ws::frame::unmask(&mut v, key, 0);
    }
    v
}

/// Wire payloads of data frames awaiting their message, and their total.
type PendingWire = (VecDeque<Vec<u8>>, usize);

/// Wire bytes held per direction for `--wire --messages` (the message cap).
const MAX_PENDING_WIRE: usize = 64 << 20;

/// The one-line `#` header before a dumped payload.
fn header_line(item: &Item<'_>) -> String {
    let mut s = format!(
        "# conn {} {} {} {} {} bytes",
        item.conn,
        item.dir,
        item.ts,
        opcode_label(item.opcode),
        item.bytes.len()
    );
    if !item.notes.is_empty() {
        s.push_str(" (");
        s.push_str(&item.notes.join(", "));
        s.push(')');
    }
    s
}

fn render(
    item: &Item<'_>,
    format: ExportFormat,
    annotate: bool,
    squeeze: bool,
    w: &mut dyn Write,
) -> io::Result<()> {
    match format {
        ExportFormat::Raw => w.write_all(item.bytes),
        ExportFormat::Hexdump | ExportFormat::Xxd => {
            writeln!(w, "{}", header_line(item))?;
            if annotate && let Some(f) = item.frame {
                annotate_frame(f, w)?;
            }
            if format == ExportFormat::Hexdump {
                hexdump_c(item.bytes, squeeze, w)
            } else {
                xxd(item.bytes, w)
            }
        }
        ExportFormat::Jsonl | ExportFormat::Pcap => Ok(()),
    }
}
