//! Which frames, messages and other timeline items a user means: one
//! selection shared by the `wsscope export` and `dump` flags, their
//! `--select` expression, and the TUI's filter (`f`), so all three always
//! agree.
//!
//! A [`Selection`] is a conjunction. The flag-shaped fields (`conns`, `dir`,
//! `opcodes`, `grep`) hold what the flags (or the first term of each key)
//! say — code that predates the expression language reads them directly —
//! and `terms` holds every further term ([`Term`]): `is:`, `len`, `rule:`,
//! and repeated keys. [`Selection::matches_row`] applies all of them to any
//! timeline item described as a [`Row`]. The expression parser is
//! [`expr`].

mod expr;

pub use expr::{KEYS, SelectExpr, parse_expr};

use crate::event::{ConnId, Dir, Event, FrameEvent, MessageEvent};
use regex::Regex;

/// Frames or messages.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Unit {
    /// Complete data messages, inflated (the default).
    #[default]
    Messages,
    /// Every frame, control frames included.
    Frames,
}

/// What a timeline item is, as far as the selection cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RowKind {
    Frame,
    Message,
    Violation,
    Gap,
    Handshake,
    /// Something wsscope says about the capture (its `rule` is the code).
    Diagnostic,
    /// A security finding (`wsscope audit`; its `rule` is the rule id).
    Finding,
    /// Connection open/close, TLS, summaries: context without fields of their own.
    Other,
}

/// Any timeline item, borrowed: what every term looks at. Fields a kind
/// does not have are `None` (or `false`), and a term over a missing field
/// does not match — `op:text` never matches a gap.
#[derive(Clone, Copy, Debug)]
pub struct Row<'a> {
    /// `None` for capture-wide diagnostics.
    pub conn: Option<ConnId>,
    /// The HTTP/2 stream of a WebSocket inside HTTP/2 (RFC 8441).
    pub stream: Option<u32>,
    /// `None` for items of both directions (handshake, connection records).
    pub dir: Option<Dir>,
    pub kind: RowKind,
    /// Frames and messages.
    pub opcode: Option<u8>,
    /// Payload length in bytes: a frame's declared length, a message's
    /// (inflated) data length.
    pub len: Option<u64>,
    /// A violation's rule id, a diagnostic's code.
    pub rule: Option<&'a str>,
    /// The payload bytes at hand (frames, messages).
    pub payload: Option<&'a [u8]>,
    /// permessage-deflate: a compressed message, or a frame with RSV1.
    pub compressed: bool,
    /// Fewer payload bytes kept than the item carried.
    pub truncated: bool,
    /// Messages: the application messages found inside ([`crate::app`]).
    pub decoded: Option<&'a crate::app::Decoded>,
}

impl<'a> Row<'a> {
    /// An item with only a kind, connection and direction.
    pub fn bare(kind: RowKind, conn: Option<ConnId>, dir: Option<Dir>) -> Row<'a> {
        Row {
            conn,
            stream: None,
            dir,
            kind,
            opcode: None,
            len: None,
            rule: None,
            payload: None,
            compressed: false,
            truncated: false,
            decoded: None,
        }
    }

    pub fn frame(f: &'a FrameEvent) -> Row<'a> {
        Row {
            opcode: Some(f.opcode),
            len: Some(f.len),
            payload: Some(&f.payload),
            compressed: f.rsv & 4 != 0,
            truncated: f.truncated || (f.payload.len() as u64) < f.len,
            stream: f.session.stream,
            ..Row::bare(RowKind::Frame, Some(f.conn), Some(f.dir))
        }
    }

    pub fn message(m: &'a MessageEvent) -> Row<'a> {
        Row {
            opcode: Some(m.opcode),
            len: Some(m.data.len() as u64),
            payload: Some(&m.data),
            compressed: m.compressed,
            truncated: m.truncated,
            decoded: m.decoded.as_deref(),
            stream: m.session.stream,
            ..Row::bare(RowKind::Message, Some(m.conn), Some(m.dir))
        }
    }

    /// The row of any event (what `dump` filters).
    pub fn of_event(ev: &'a Event) -> Row<'a> {
        match ev {
            Event::Frame(f) => Row::frame(f),
            Event::Message(m) => Row::message(m),
            Event::Violation(v) => Row {
                rule: Some(v.rule),
                stream: v.session.stream,
                ..Row::bare(RowKind::Violation, Some(v.conn), v.dir)
            },
            Event::Gap(g) => Row::bare(RowKind::Gap, Some(g.conn), Some(g.dir)),
            Event::Handshake(h) => Row {
                stream: h.session.stream,
                ..Row::bare(RowKind::Handshake, Some(h.conn), None)
            },
            Event::Diagnostic(d) => Row {
                rule: Some(d.code),
                ..Row::bare(RowKind::Diagnostic, d.conn, d.dir)
            },
            Event::Close(c) => Row {
                stream: c.stream,
                ..Row::bare(RowKind::Other, Some(c.conn), None)
            },
            Event::Http2(h) => Row {
                stream: h.session.stream,
                ..Row::bare(RowKind::Other, Some(h.conn), None)
            },
            Event::Finding(f) => Row {
                rule: Some(f.rule),
                stream: f.session.stream,
                ..Row::bare(RowKind::Finding, Some(f.conn), None)
            },
            Event::Connection(_) | Event::Tls(_) => Row::bare(RowKind::Other, ev.conn(), None),
        }
    }

    fn is_payload_item(&self) -> bool {
        matches!(self.kind, RowKind::Frame | RowKind::Message)
    }
}

/// `is:` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Is {
    Violation,
    Gap,
    Handshake,
    Diagnostic,
    Finding,
    /// Frames/messages with a control opcode (close, ping, pong, 0xB-0xF).
    Control,
    /// Frames/messages with a data opcode (continuation, text, binary, 0x3-0x7).
    Data,
    Compressed,
    Truncated,
}

impl Is {
    /// Every value with its name, in the order error messages list them.
    pub const ALL: &[(Is, &str)] = &[
        (Is::Violation, "violation"),
        (Is::Gap, "gap"),
        (Is::Handshake, "handshake"),
        (Is::Diagnostic, "diagnostic"),
        (Is::Finding, "finding"),
        (Is::Control, "control"),
        (Is::Data, "data"),
        (Is::Compressed, "compressed"),
        (Is::Truncated, "truncated"),
    ];

    fn matches(self, row: &Row<'_>) -> bool {
        let control = row.opcode.is_some_and(|o| o & 0x8 != 0);
        match self {
            Is::Violation => row.kind == RowKind::Violation,
            Is::Gap => row.kind == RowKind::Gap,
            Is::Handshake => row.kind == RowKind::Handshake,
            Is::Diagnostic => row.kind == RowKind::Diagnostic,
            Is::Finding => row.kind == RowKind::Finding,
            Is::Control => row.is_payload_item() && control,
            Is::Data => row.is_payload_item() && row.opcode.is_some() && !control,
            Is::Compressed => row.is_payload_item() && row.compressed,
            Is::Truncated => row.is_payload_item() && row.truncated,
        }
    }
}

/// A `len` comparison.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cmp {
    Lt,
    Le,
    Eq,
    Ge,
    Gt,
}

impl Cmp {
    fn holds_f64(self, a: f64, b: f64) -> bool {
        match self {
            Cmp::Lt => a < b,
            Cmp::Le => a <= b,
            Cmp::Eq => a == b,
            Cmp::Ge => a >= b,
            Cmp::Gt => a > b,
        }
    }

    fn holds(self, a: u64, b: u64) -> bool {
        match self {
            Cmp::Lt => a < b,
            Cmp::Le => a <= b,
            Cmp::Eq => a == b,
            Cmp::Ge => a >= b,
            Cmp::Gt => a > b,
        }
    }
}

/// One term of a selection. Values inside a term are alternatives
/// (`conn:1,4` is connection 1 or 4); terms are all required.
#[derive(Clone, Debug)]
pub enum Term {
    Conns(Vec<ConnId>),
    /// Connections, or one HTTP/2 stream of one (`conn:3/1`: the WebSocket
    /// on stream 1 of connection 3; `conn:3/1,4`: that, or connection 4).
    Streams(Vec<(ConnId, Option<u32>)>),
    Dir(Dir),
    Opcodes(Vec<u8>),
    Is(Vec<Is>),
    Len(Cmp, u64),
    /// Violation rule ids or diagnostic codes (from their registries).
    Rules(Vec<&'static str>),
    /// A regex over the payload text (lossy UTF-8).
    Text(Regex),
    /// Messages with an application message of one of these protocols
    /// (`proto:socket.io,mqtt`).
    Protos(Vec<String>),
    /// … with one of these event names (`event:chat`).
    Events(Vec<String>),
    /// … with one of these methods or actions (`method:Page.navigate`).
    Methods(Vec<String>),
    /// … answering a request after this many seconds (`latency>100ms`).
    Latency(Cmp, f64),
}

impl Term {
    /// Whether `row` satisfies this term. A direction term lets through
    /// items that have no direction (a handshake belongs to both sides).
    pub fn matches(&self, row: &Row<'_>) -> bool {
        match self {
            Term::Conns(list) => row.conn.is_some_and(|c| list.contains(&c)),
            Term::Streams(list) => row.conn.is_some_and(|c| {
                list.iter()
                    .any(|(lc, ls)| *lc == c && ls.is_none_or(|s| row.stream == Some(s)))
            }),
            Term::Dir(d) => row.dir.is_none_or(|x| x == *d),
            Term::Opcodes(list) => row.opcode.is_some_and(|o| list.contains(&o)),
            Term::Is(list) => list.iter().any(|i| i.matches(row)),
            Term::Len(cmp, n) => row.len.is_some_and(|l| cmp.holds(l, *n)),
            Term::Rules(list) => row.rule.is_some_and(|r| list.contains(&r)),
            Term::Text(re) => row.payload.is_some_and(|p| payload_matches(re, p)),
            Term::Protos(list) => any_app(row, |m| list.iter().any(|p| p.eq_ignore_ascii_case(m.protocol))),
            Term::Events(list) => any_app(row, |m| m.event.as_ref().is_some_and(|e| list.contains(e))),
            Term::Methods(list) => any_app(row, |m| m.method.as_ref().is_some_and(|e| list.contains(e))),
            Term::Latency(cmp, s) => any_app(row, |m| m.latency.is_some_and(|l| cmp.holds_f64(l, *s))),
        }
    }
}

/// Whether any application message inside the row's message passes `f`.
fn any_app(row: &Row<'_>, f: impl Fn(&crate::app::AppMessage) -> bool) -> bool {
    row.decoded.is_some_and(|d| d.items.iter().any(f))
}

fn payload_matches(re: &Regex, payload: &[u8]) -> bool {
    re.is_match(&String::from_utf8_lossy(payload))
}

/// A filter over frames, messages and the other timeline items. Empty
/// fields match everything; everything given must match.
#[derive(Clone, Debug, Default)]
pub struct Selection {
    /// Only these connections (`--conn`, repeatable).
    pub conns: Vec<ConnId>,
    /// Only this direction (`--dir`).
    pub dir: Option<Dir>,
    /// Only these opcodes (`--opcode`, repeatable).
    pub opcodes: Vec<u8>,
    /// Only payloads whose text (lossy UTF-8) matches (`--grep`).
    pub grep: Option<Regex>,
    pub unit: Unit,
    /// Every further term (`is:`, `len`, `rule:`, repeated keys), all required.
    pub terms: Vec<Term>,
}

impl Selection {
    /// A selection of `terms` (all required): the first of each flag-shaped
    /// key goes into its field, the rest into `terms`.
    pub fn from_terms(terms: impl IntoIterator<Item = Term>, unit: Unit) -> Selection {
        let mut sel = Selection {
            unit,
            ..Selection::default()
        };
        for t in terms {
            match t {
                Term::Conns(v) if sel.conns.is_empty() && !v.is_empty() => sel.conns = v,
                Term::Dir(d) if sel.dir.is_none() => sel.dir = Some(d),
                Term::Opcodes(v) if sel.opcodes.is_empty() && !v.is_empty() => sel.opcodes = v,
                Term::Text(re) if sel.grep.is_none() => sel.grep = Some(re),
                t => sel.terms.push(t),
            }
        }
        sel
    }

    /// Every term of this selection, the fields' included.
    pub fn into_terms(self) -> Vec<Term> {
        let mut v = Vec::with_capacity(self.terms.len() + 4);
        if !self.conns.is_empty() {
            v.push(Term::Conns(self.conns));
        }
        if let Some(d) = self.dir {
            v.push(Term::Dir(d));
        }
        if !self.opcodes.is_empty() {
            v.push(Term::Opcodes(self.opcodes));
        }
        if let Some(re) = self.grep {
            v.push(Term::Text(re));
        }
        v.extend(self.terms);
        v
    }

    /// Both selections at once (flags and `--select`); keeps `self.unit`.
    pub fn and(self, other: Selection) -> Selection {
        let unit = self.unit;
        let mut terms = self.into_terms();
        terms.extend(other.into_terms());
        Selection::from_terms(terms, unit)
    }

    /// Selects everything.
    pub fn is_empty(&self) -> bool {
        self.conns.is_empty()
            && self.dir.is_none()
            && self.opcodes.is_empty()
            && self.grep.is_none()
            && self.terms.is_empty()
    }

    /// Whether `row` is selected.
    pub fn matches_row(&self, row: &Row<'_>) -> bool {
        self.matches_row_meta(row)
            && (!self.needs_payload() || row.payload.is_some_and(|p| self.matches_payload(p)))
    }

    /// Whether `row` is selected by everything but the payload regex, for
    /// callers that hold payloads elsewhere: when [`Self::needs_payload`],
    /// they then check [`Self::matches_payload`]. Decided on metadata alone,
    /// so an item that never has a payload (a violation, a gap) is out as
    /// soon as there is a regex.
    pub fn matches_row_meta(&self, row: &Row<'_>) -> bool {
        if self.needs_payload() && !row.is_payload_item() {
            return false;
        }
        (self.conns.is_empty() || row.conn.is_some_and(|c| self.conns.contains(&c)))
            && self.dir.is_none_or(|d| row.dir.is_none_or(|x| x == d))
            && (self.opcodes.is_empty() || row.opcode.is_some_and(|o| self.opcodes.contains(&o)))
            && self
                .terms
                .iter()
                .all(|t| matches!(t, Term::Text(_)) || t.matches(row))
    }

    /// Whether a payload regex is part of the selection.
    pub fn needs_payload(&self) -> bool {
        self.grep.is_some() || self.terms.iter().any(|t| matches!(t, Term::Text(_)))
    }

    /// Whether `payload` satisfies every payload regex of the selection.
    pub fn matches_payload(&self, payload: &[u8]) -> bool {
        let text = String::from_utf8_lossy(payload);
        self.grep.as_ref().is_none_or(|re| re.is_match(&text))
            && self.terms.iter().all(|t| match t {
                Term::Text(re) => re.is_match(&text),
                _ => true,
            })
    }

    /// The one matching rule for a payload-bearing row given by its fields
    /// (the TUI's indexed rows); its length is the payload's.
    pub fn matches(&self, conn: ConnId, dir: Dir, opcode: u8, payload: &[u8]) -> bool {
        self.matches_row(&Row {
            opcode: Some(opcode),
            len: Some(payload.len() as u64),
            payload: Some(payload),
            ..Row::bare(RowKind::Frame, Some(conn), Some(dir))
        })
    }

    pub fn matches_frame(&self, f: &FrameEvent) -> bool {
        self.matches_row(&Row::frame(f))
    }

    pub fn matches_message(&self, m: &MessageEvent) -> bool {
        self.matches_row(&Row::message(m))
    }

    /// Whether a connection is selected at all (for pcap export).
    pub fn matches_conn(&self, conn: ConnId) -> bool {
        (self.conns.is_empty() || self.conns.contains(&conn))
            && self.terms.iter().all(|t| match t {
                Term::Conns(list) => list.contains(&conn),
                // A pcap export keeps the whole TCP connection of a stream.
                Term::Streams(list) => list.iter().any(|(c, _)| *c == conn),
                _ => true,
            })
    }

    /// Whether a session's records (an HTTP/2 stream's handshake) belong
    /// to the selection: its connection is selected, and so is its stream
    /// where the selection names streams (`conn:3/1`).
    pub fn matches_session(&self, conn: ConnId, stream: Option<u32>) -> bool {
        self.matches_conn(conn)
            && self.terms.iter().all(|t| match t {
                Term::Streams(list) => list
                    .iter()
                    .any(|(c, s)| *c == conn && (s.is_none() || *s == stream)),
                _ => true,
            })
    }

    /// Whether the selection looks inside connections (anything beyond
    /// `conn:`): pcap export then takes only connections with a selected
    /// frame or message, not every connection named.
    pub fn looks_inside(&self) -> bool {
        self.dir.is_some()
            || !self.opcodes.is_empty()
            || self.grep.is_some()
            || self.terms.iter().any(|t| !matches!(t, Term::Conns(_)))
    }

    /// Whether the selection names control frames explicitly (a control
    /// opcode, or `is:control`): messages are data only, so an export of
    /// messages then also takes these frames, as the TUI's message view
    /// shows them.
    pub fn names_control_frames(&self) -> bool {
        let control = |ops: &[u8]| ops.iter().any(|o| o & 0x8 != 0);
        control(&self.opcodes)
            || self.terms.iter().any(|t| match t {
                Term::Opcodes(v) => control(v),
                Term::Is(v) => v.contains(&Is::Control),
                _ => false,
            })
    }
}

/// A regex that ignores case unless the pattern has a capital letter.
pub fn smart_case_regex(pat: &str) -> Result<Regex, regex::Error> {
    regex::RegexBuilder::new(pat)
        .case_insensitive(!pat.chars().any(char::is_uppercase))
        .size_limit(1 << 20)
        .build()
}

/// Parses an opcode given by name (`text`, `binary`, `close`, `ping`, `pong`,
/// `continuation`) or number (`1`, `0x3`).
pub fn parse_opcode(s: &str) -> Result<u8, String> {
    let v = match s.to_ascii_lowercase().as_str() {
        "continuation" | "cont" => 0,
        "text" => 1,
        "binary" | "bin" => 2,
        "close" => 8,
        "ping" => 9,
        "pong" => 10,
        other => {
            let n = match other.strip_prefix("0x") {
                Some(h) => u8::from_str_radix(h, 16),
                None => other.parse::<u8>(),
            };
            match n {
                Ok(n) if n <= 0xF => n,
                _ => {
                    return Err(format!(
                        "unknown opcode `{s}`: use text, binary, close, ping, pong, continuation or a number 0-15"
                    ));
                }
            }
        }
    };
    Ok(v)
}

/// Parses `c2s` / `s2c` (also `client` / `server` for the sender).
pub fn parse_dir(s: &str) -> Result<Dir, String> {
    match s.to_ascii_lowercase().as_str() {
        "c2s" | "client" | ">" => Ok(Dir::C2S),
        "s2c" | "server" | "<" => Ok(Dir::S2C),
        _ => Err(format!("unknown direction `{s}`: use c2s or s2c")),
    }
}

#[cfg(test)]
mod tests;
