//! The `wsscope export` sink: the payloads of selected frames or messages,
//! as `hexdump -C`, `xxd`, raw bytes (one stream or one file each), or the
//! JSON Lines records of the selection; for `--format pcap`, the selected
//! connections.
//!
//! Design: one analysis pass drives an [`ExportSink`], which numbers every
//! frame/message per connection, applies the shared [`Selection`] (the same
//! filter as the TUI's), and writes each selected payload as it arrives —
//! memory stays flat whatever the capture size. With `--wire --messages`
//! the sink keeps the data frames of each direction until their message
//! arrives, to re-mask and concatenate their wire payloads
//! ([`super::wire`]). The passes, flags and reporting are
//! `crate::commands::export`'s; this module never sees the command line.

use super::WriteLatch;
use super::export_jsonl::EventWriter;
use super::hexdump::{annotate_frame, hexdump_c, xxd};
use super::wire::{PendingWire, wire_payload};
use crate::event::{ConnId, Dir, Event, EventSink, FrameEvent, MessageEvent, Timestamp};
use crate::select::{Selection, Unit};
use rustc_hash::{FxHashMap, FxHashSet};
use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::PathBuf;

/// How hexdump / xxd / raw outputs write each selected payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PayloadFormat {
    /// Exactly what `hexdump -C` prints, after a `# conn ...` header line.
    Hexdump,
    /// Exactly what `xxd` prints, after a `# conn ...` header line.
    Xxd,
    /// The payload bytes themselves.
    Raw,
}

impl PayloadFormat {
    /// File extension in `--out-dir`.
    fn extension(self) -> &'static str {
        match self {
            PayloadFormat::Hexdump => "hexdump",
            PayloadFormat::Xxd => "xxd",
            PayloadFormat::Raw => "bin",
        }
    }
}

/// What to export and how, whatever the output.
#[derive(Clone, Debug, Default)]
pub struct ExportOptions {
    /// Which frames or messages.
    pub selection: Selection,
    /// The payload bytes as they crossed the wire (masked; for messages,
    /// their frames' still compressed payloads).
    pub wire: bool,
    /// Frames in hexdump / xxd: each frame's header bytes, labelled, above its payload.
    pub annotate: bool,
    /// hexdump: print `*` for repeated lines (`hexdump -C`; off is `-Cv`).
    pub squeeze: bool,
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
    /// `--format pcap`: the connections of the selection whose TLS was
    /// decrypted, with their ClientHello random (`None` when the handshake
    /// was not captured and a key was found by trial).
    pub tls_decrypted: BTreeMap<ConnId, Option<[u8; 32]>>,
    /// TLS connections of the selection that could not be decrypted, with
    /// the reason (`no-key`, ...): why an export of them finds nothing inside.
    pub tls_not_decrypted: BTreeMap<ConnId, &'static str>,
    /// `--format pcap`: exported connections whose TLS key log lines went
    /// into the file (then a pcapng with a Decryption Secrets Block).
    pub tls_keys_written: BTreeSet<ConnId>,
    /// `--format pcap`: exported connections that were decrypted but whose
    /// keys cannot be written (no ClientHello random, or a TLS 1.2 session
    /// resumed with the master secret of an earlier connection).
    pub tls_keys_missing: BTreeSet<ConnId>,
    /// The capture ended in the middle of a record: why.
    pub truncated: Option<String>,
}

impl ExportSummary {
    /// Nothing was selected.
    pub fn matched_nothing(&self) -> bool {
        self.matched_conns.is_empty()
    }
}

/// Name of an opcode for headers: `text`, `ping`, or `reserved-0x3`.
fn opcode_label(opcode: u8) -> String {
    crate::ws::frame::Opcode(opcode).name().into_owned()
}

/// Where an [`ExportSink`] puts what it selected.
pub enum Output<'a> {
    /// hexdump / xxd / raw into one stream.
    Stream(&'a mut dyn Write, PayloadFormat),
    /// hexdump / xxd / raw, one file per payload in this directory.
    Dir(PathBuf, PayloadFormat),
    /// Selected frame/message events with their connection's records (jsonl).
    Events(Box<dyn EventWriter + 'a>),
    /// Only find the matching connections (pcap's first pass).
    Conns,
}

/// A selected payload, ready to be written.
struct Item<'e> {
    conn: ConnId,
    /// The HTTP/2 stream of a WebSocket inside HTTP/2 (RFC 8441).
    stream: Option<u32>,
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
    wire: bool,
    annotate: bool,
    squeeze: bool,
    out: Output<'a>,
    /// Whether the selection looks inside frames/messages (else: whole connections).
    unit_filter: bool,
    /// Messages mode, and the selection names control frames (`--opcode
    /// ping`): those frames are exported too, as the TUI's message view
    /// lists them.
    control_frames: bool,
    /// Frames/messages seen per connection (for numbering).
    numbers: FxHashMap<ConnId, u64>,
    /// With `control_frames`: frames seen per connection, so that a control
    /// frame is numbered as `--frames` numbers it.
    frame_numbers: FxHashMap<ConnId, u64>,
    /// `--wire --messages`: wire bytes of data frames waiting for their message.
    pending: PendingWire,
    /// jsonl: connection/handshake records held until the connection has a selected event.
    held: FxHashMap<ConnId, Vec<Event>>,
    /// jsonl: connections whose records were written.
    shown: FxHashSet<ConnId>,
    summary: ExportSummary,
    latch: WriteLatch,
}

impl<'a> ExportSink<'a> {
    pub fn new(opts: ExportOptions, out: Output<'a>) -> Self {
        let sel = opts.selection;
        ExportSink {
            unit_filter: sel.looks_inside(),
            control_frames: sel.unit == Unit::Messages && sel.names_control_frames(),
            sel,
            wire: opts.wire,
            annotate: opts.annotate,
            squeeze: opts.squeeze,
            out,
            numbers: FxHashMap::default(),
            frame_numbers: FxHashMap::default(),
            pending: PendingWire::default(),
            held: FxHashMap::default(),
            shown: FxHashSet::default(),
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

    fn handle(&mut self, ev: &Event) -> io::Result<()> {
        match ev {
            Event::Connection(c) => {
                self.summary.conns_seen.insert(c.conn);
                if self.sel.matches_conn(c.conn) {
                    if !self.unit_filter && matches!(self.out, Output::Conns) {
                        self.summary.matched_conns.insert(c.conn);
                    }
                    if matches!(self.out, Output::Events(_)) {
                        self.held.entry(c.conn).or_default().push(ev.clone());
                    }
                }
            }
            // A stream's handshake only with that stream (`conn:3/1`).
            Event::Handshake(h) if !self.sel.matches_session(h.conn, h.session.stream) => {}
            Event::Handshake(h) => self.conn_record(h.conn, ev)?,
            Event::Frame(f) => {
                if self.sel.unit == Unit::Frames {
                    let number = self.next_number(f.conn);
                    self.frame(ev, f, number)?;
                } else if self.control_frames {
                    let n = self.frame_numbers.entry(f.conn).or_insert(0);
                    *n = n.saturating_add(1);
                    let number = *n;
                    if f.opcode & 0x8 != 0 {
                        self.frame(ev, f, number)?;
                    } else {
                        self.pend_wire(f);
                    }
                } else {
                    self.pend_wire(f);
                }
            }
            Event::Message(m) => {
                if self.sel.unit == Unit::Messages {
                    self.message(ev, m)?;
                }
            }
            // An HTTP/2 stream's record: context of that stream, and its
            // connection goes on.
            Event::Close(c) if c.stream.is_some() => {
                if self.sel.matches_session(c.conn, c.stream) {
                    self.conn_record(c.conn, ev)?;
                }
            }
            Event::Close(c) => {
                let conn = c.conn;
                if self.shown.contains(&conn) {
                    self.conn_record(conn, ev)?;
                }
                self.held.remove(&conn);
                self.shown.remove(&conn);
                self.numbers.remove(&conn);
                self.frame_numbers.remove(&conn);
                self.pending.forget(conn);
            }
            Event::Tls(t) => {
                if !t.decrypted && self.sel.matches_conn(t.conn) {
                    self.summary
                        .tls_not_decrypted
                        .insert(t.conn, t.reason.unwrap_or("unknown"));
                }
                if t.decrypted && matches!(self.out, Output::Conns) && self.sel.matches_conn(t.conn) {
                    let mut random = [0u8; 32];
                    let known = t
                        .client_random
                        .as_deref()
                        .is_some_and(|h| hex::decode_to_slice(h, &mut random).is_ok());
                    self.summary.tls_decrypted.insert(t.conn, known.then_some(random));
                }
                self.conn_record(t.conn, ev)?
            }
            Event::Gap(_)
            | Event::Violation(_)
            | Event::Diagnostic(_)
            | Event::Http2(_)
            | Event::Finding(_) => {}
        }
        Ok(())
    }

    /// Messages with `--wire`: keeps a selected connection's data frame
    /// until its message arrives.
    fn pend_wire(&mut self, f: &FrameEvent) {
        if self.wire
            && f.opcode & 0x8 == 0
            && self.sel.matches_conn(f.conn)
            && self.sel.dir.is_none_or(|d| d == f.dir)
        {
            self.pending.push(f);
        }
    }

    /// jsonl: a connection-level record, written now if the connection is
    /// already shown, else held until it has a selected event.
    fn conn_record(&mut self, conn: ConnId, ev: &Event) -> io::Result<()> {
        let Output::Events(w) = &mut self.out else {
            return Ok(());
        };
        if self.shown.contains(&conn) {
            w.write_event(ev)?;
        } else if self.sel.matches_conn(conn) {
            self.held.entry(conn).or_default().push(ev.clone());
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

    /// A frame, numbered `number` among its connection's frames.
    /// `ev` is `f`'s event.
    fn frame(&mut self, ev: &Event, f: &FrameEvent, number: u64) -> io::Result<()> {
        if !self.sel.matches_frame(f) {
            return Ok(());
        }
        self.selected(f.conn);
        match &mut self.out {
            Output::Conns => return Ok(()),
            Output::Events(w) => {
                let conn = f.conn;
                return show(w.as_mut(), &mut self.held, &mut self.shown, conn, ev);
            }
            Output::Stream(..) | Output::Dir(..) => {}
        }
        let wire_bytes;
        let bytes: &[u8] = if self.wire {
            wire_bytes = wire_payload(f);
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
            stream: f.session.stream,
            dir: f.dir,
            ts: f.ts,
            opcode: f.opcode,
            number,
            bytes,
            frame: Some(f),
            notes,
        };
        self.write_item(&item)
    }

    /// `ev` is `m`'s event.
    fn message(&mut self, ev: &Event, m: &MessageEvent) -> io::Result<()> {
        let number = self.next_number(m.conn);
        let frames: Vec<Vec<u8>> = if self.wire {
            self.pending
                .take(m.session, m.dir, m.first_frame_offset, m.frames)
        } else {
            Vec::new()
        };
        if !self.sel.matches_message(m) {
            return Ok(());
        }
        self.selected(m.conn);
        match &mut self.out {
            Output::Conns => return Ok(()),
            Output::Events(w) => {
                let conn = m.conn;
                return show(w.as_mut(), &mut self.held, &mut self.shown, conn, ev);
            }
            Output::Stream(..) | Output::Dir(..) => {}
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
            stream: m.session.stream,
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
            Output::Stream(w, format) => render(item, *format, self.annotate, self.squeeze, &mut **w),
            Output::Dir(dir, format) => {
                let format = *format;
                // A control frame among messages is numbered among frames:
                // its own name, or it would overwrite the message of that number.
                let kind = if self.control_frames && item.frame.is_some() {
                    "frame"
                } else {
                    ""
                };
                let name = format!(
                    "conn{}-{kind}{:04}-{}.{}",
                    item.conn,
                    item.number,
                    item.dir,
                    format.extension()
                );
                let path = dir.join(name);
                let file = File::create(&path).map_err(|e| {
                    io::Error::new(e.kind(), format!("cannot create {}: {e}", path.display()))
                })?;
                let mut w = BufWriter::new(file);
                render(item, format, self.annotate, self.squeeze, &mut w)?;
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
        self.event_ref(&ev);
    }

    fn event_ref(&mut self, ev: &Event) {
        if self.latch.failed() {
            return;
        }
        let res = self.handle(ev);
        self.latch.keep(res);
    }

    /// It clones the few connection records it holds back, nothing else.
    fn reads_only(&self) -> bool {
        true
    }

    fn finish(&mut self) -> io::Result<()> {
        self.latch.finish(|| match &mut self.out {
            Output::Stream(w, _) => w.flush(),
            Output::Events(w) => w.flush(),
            Output::Dir(..) | Output::Conns => Ok(()),
        })
    }
}

/// The one-line `#` header before a dumped payload.
fn header_line(item: &Item<'_>) -> String {
    // `0/3`: stream 3 of connection 0 (a WebSocket inside HTTP/2).
    let conn = match item.stream {
        Some(s) => format!("{}/{s}", item.conn),
        None => item.conn.to_string(),
    };
    let mut s = format!(
        "# conn {} {} {} {} {} bytes",
        conn,
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
    format: PayloadFormat,
    annotate: bool,
    squeeze: bool,
    w: &mut dyn Write,
) -> io::Result<()> {
    match format {
        PayloadFormat::Raw => w.write_all(item.bytes),
        PayloadFormat::Hexdump | PayloadFormat::Xxd => {
            writeln!(w, "{}", header_line(item))?;
            if annotate && let Some(f) = item.frame {
                annotate_frame(f, w)?;
            }
            if format == PayloadFormat::Hexdump {
                hexdump_c(item.bytes, squeeze, w)
            } else {
                xxd(item.bytes, w)
            }
        }
    }
}
