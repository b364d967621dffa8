//! `dump --format parquet -o DIR` (cargo feature `parquet`): the event
//! stream as a dataset, one Parquet table per record kind, partitioned by
//! capture the way Hive, Spark, DuckDB and Trino prune by:
//!
//! ```text
//! DIR/frames/capture=NAME/part-0.parquet
//! DIR/messages/capture=NAME/part-0.parquet   ... one directory per table
//! ```
//!
//! Every table is written for every capture, empty or not, so a query over
//! `DIR/violations/*/*.parquet` finds files even where no rule was broken.
//! Rows are buffered by column and written as a row group every
//! [`ROW_GROUP_ROWS`] rows or [`ROW_GROUP_BYTES`] bytes, whichever comes
//! first: memory is bounded by a few row groups whatever the capture's
//! size. Each file is written under a temporary name and renamed when
//! complete, so a reader never sees half a file. The columns are declared
//! in [`tables`]; the writer uses parquet-rs's column API directly (no
//! Arrow), which keeps the optional dependency small.

mod column;
pub mod tables;

use crate::event::{ConnId, Event, EventSink};
use crate::output::payload::PayloadLimit;
use column::{Col, ColBuf, Ctx, Kind};
use parquet::basic::Compression;
use parquet::file::metadata::KeyValue;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::types::{ColumnPath, Type};
use rustc_hash::FxHashMap;
use std::fs::File;
use std::io::{self, BufWriter};
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use column::Kind as ColumnKind;

/// A row group is written once a table holds this many rows...
pub const ROW_GROUP_ROWS: usize = 1 << 20;
/// ... or this many bytes of values (payloads mostly): 64 MiB row groups
/// are what scanners read well, and at most two tables (frames and
/// messages) fill that fast.
pub const ROW_GROUP_BYTES: usize = 64 << 20;

/// The names of the tables, in the order they are written.
pub const TABLES: [&str; 11] = [
    "connections",
    "handshakes",
    "frames",
    "messages",
    "decoded",
    "gaps",
    "violations",
    "diagnostics",
    "tls",
    "http2",
    "findings",
];

/// A column of a table, for readers of the schema (tests, `--help`).
#[derive(Debug, Clone, Copy)]
pub struct ColumnInfo {
    pub name: &'static str,
    pub kind: Kind,
    pub nullable: bool,
    /// The JSON Lines field it mirrors (`a.b` nested, `x@ip`/`x@port` a
    /// part of an address); empty for a column JSON Lines does not have.
    pub json: &'static str,
}

fn info<E>(cols: &[Col<E>]) -> Vec<ColumnInfo> {
    cols.iter()
        .map(|c| ColumnInfo {
            name: c.name,
            kind: c.kind,
            nullable: c.nullable,
            json: c.json,
        })
        .collect()
}

/// The columns of table `name` ([`TABLES`]).
pub fn columns(name: &str) -> Option<Vec<ColumnInfo>> {
    Some(match name {
        "connections" => info(tables::CONNECTIONS),
        "handshakes" => info(tables::HANDSHAKES),
        "frames" => info(tables::FRAMES),
        "messages" => info(tables::MESSAGES),
        "decoded" => info(tables::DECODED),
        "gaps" => info(tables::GAPS),
        "violations" => info(tables::VIOLATIONS),
        "diagnostics" => info(tables::DIAGNOSTICS),
        "tls" => info(tables::TLS),
        "http2" => info(tables::HTTP2),
        "findings" => info(tables::FINDINGS),
        _ => return None,
    })
}

/// A partition directory's name for a capture, `capture=NAME`, escaped as
/// Hive escapes partition values (`%XX` for the characters a path or a
/// partition spec gives a meaning to), which Spark and DuckDB undo.
pub fn partition_dir(capture: &str) -> String {
    let mut out = String::from("capture=");
    for ch in capture.chars() {
        let special = ch.is_control()
            || matches!(
                ch,
                '"' | '#' | '%' | '\'' | '*' | '/' | ':' | '=' | '?' | '\\' | '{' | '[' | ']' | '^'
            );
        if special {
            let mut buf = [0u8; 4];
            for b in ch.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%{b:02X}"));
            }
        } else {
            out.push(ch);
        }
    }
    out
}

/// One table of one capture being written.
struct Table<E: 'static> {
    cols: &'static [Col<E>],
    bufs: Vec<ColBuf>,
    rows: usize,
    writer: Option<SerializedFileWriter<BufWriter<File>>>,
    tmp: PathBuf,
    path: PathBuf,
}

fn err(e: parquet::errors::ParquetError) -> io::Error {
    io::Error::other(e)
}

impl<E> Table<E> {
    /// Opens `dir/name/capture=NAME/part-0.parquet` (under a temporary name).
    fn create(dir: &Path, name: &str, cols: &'static [Col<E>], ctx: &Ctx) -> io::Result<Self> {
        let part = dir.join(name).join(partition_dir(&ctx.capture));
        std::fs::create_dir_all(&part)
            .map_err(|e| io::Error::new(e.kind(), format!("cannot create {}: {e}", part.display())))?;
        let path = part.join("part-0.parquet");
        let tmp = part.join(".part-0.parquet.tmp");
        let fields = cols
            .iter()
            .map(|c| c.parquet_type())
            .collect::<Result<Vec<_>, _>>();
        let schema = Type::group_type_builder(name)
            .with_fields(fields.map_err(err)?)
            .build()
            .map_err(err)?;
        let mut props = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .set_created_by(format!("wsscope {} (parquet-rs)", env!("CARGO_PKG_VERSION")))
            .set_statistics_truncate_length(Some(64))
            .set_column_index_truncate_length(Some(64))
            .set_dictionary_enabled(false)
            .set_key_value_metadata(Some(vec![
                KeyValue::new("wsscope.capture".into(), ctx.capture.clone()),
                KeyValue::new("wsscope.table".into(), name.to_string()),
                KeyValue::new("wsscope.payload".into(), ctx.payload.to_string()),
            ]));
        for c in cols {
            for leaf in c.leaf_paths() {
                let path = ColumnPath::new(leaf);
                match c.kind {
                    // The few values of an enum cost a byte or two each in a dictionary.
                    Kind::Enum | Kind::I32 => props = props.set_column_dictionary_enabled(path, true),
                    // Minimum and maximum of payloads say nothing and cost their size.
                    k if k.is_payload() => {
                        props = props.set_column_statistics_enabled(path, EnabledStatistics::None)
                    }
                    _ => {}
                }
            }
        }
        let file = File::create(&tmp)
            .map_err(|e| io::Error::new(e.kind(), format!("cannot create {}: {e}", tmp.display())))?;
        let writer = SerializedFileWriter::new(
            BufWriter::with_capacity(1 << 20, file),
            Arc::new(schema),
            Arc::new(props.build()),
        )
        .map_err(err)?;
        Ok(Table {
            cols,
            bufs: cols.iter().map(ColBuf::new).collect(),
            rows: 0,
            writer: Some(writer),
            tmp,
            path,
        })
    }

    fn push(&mut self, e: &E, ctx: &Ctx) -> io::Result<()> {
        let mut bytes = 0;
        for (c, b) in self.cols.iter().zip(&mut self.bufs) {
            b.push((c.get)(e, ctx));
            bytes += b.bytes;
        }
        self.rows += 1;
        if self.rows >= ROW_GROUP_ROWS || bytes >= ROW_GROUP_BYTES {
            self.flush()?;
        }
        Ok(())
    }

    /// Writes the buffered rows as one row group.
    fn flush(&mut self) -> io::Result<()> {
        let Some(w) = self.writer.as_mut() else {
            return Ok(());
        };
        if self.rows == 0 {
            return Ok(());
        }
        let mut rg = w.next_row_group().map_err(err)?;
        for b in &mut self.bufs {
            b.write(&mut rg).map_err(err)?;
        }
        rg.close().map_err(err)?;
        self.rows = 0;
        Ok(())
    }

    /// Writes what is left, the footer, and gives the file its name.
    fn close(&mut self) -> io::Result<()> {
        self.flush()?;
        if let Some(w) = self.writer.take() {
            let file = w.into_inner().map_err(err)?;
            file.into_inner().map_err(|e| e.into_error())?.sync_all().ok();
            std::fs::rename(&self.tmp, &self.path)?;
        }
        Ok(())
    }

    /// Leaves no temporary file behind after a failure.
    fn abandon(&mut self) {
        if self.writer.take().is_some() {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// Writes every event of one capture into its partition of the dataset.
pub struct ParquetSink {
    ctx: Ctx,
    connections: Table<crate::event::ConnectionEndEvent>,
    handshakes: Table<crate::event::HandshakeEvent>,
    frames: Table<crate::event::FrameEvent>,
    messages: Table<crate::event::MessageEvent>,
    decoded: Table<crate::event::MessageEvent>,
    gaps: Table<crate::event::GapEvent>,
    violations: Table<crate::event::ViolationEvent>,
    diagnostics: Table<crate::event::DiagnosticEvent>,
    tls: Table<crate::event::TlsEvent>,
    http2: Table<crate::event::Http2RequestEvent>,
    findings: Table<crate::event::FindingEvent>,
    /// What each open connection's `connection` record said, until its
    /// `close` record (the `connections` table has one row per close).
    open: FxHashMap<ConnId, (bool, &'static str)>,
    error: Option<io::Error>,
    closed: bool,
}

impl ParquetSink {
    /// Creates the capture's partition of every table under `dir`.
    /// `capture` names the input (the `capture` column and partition).
    pub fn create(dir: &Path, capture: &str, payload: PayloadLimit) -> io::Result<Self> {
        let ctx = Ctx {
            capture: capture.to_string(),
            payload,
            ..Ctx::default()
        };
        Ok(ParquetSink {
            connections: Table::create(dir, "connections", tables::CONNECTIONS, &ctx)?,
            handshakes: Table::create(dir, "handshakes", tables::HANDSHAKES, &ctx)?,
            frames: Table::create(dir, "frames", tables::FRAMES, &ctx)?,
            messages: Table::create(dir, "messages", tables::MESSAGES, &ctx)?,
            decoded: Table::create(dir, "decoded", tables::DECODED, &ctx)?,
            gaps: Table::create(dir, "gaps", tables::GAPS, &ctx)?,
            violations: Table::create(dir, "violations", tables::VIOLATIONS, &ctx)?,
            diagnostics: Table::create(dir, "diagnostics", tables::DIAGNOSTICS, &ctx)?,
            tls: Table::create(dir, "tls", tables::TLS, &ctx)?,
            http2: Table::create(dir, "http2", tables::HTTP2, &ctx)?,
            findings: Table::create(dir, "findings", tables::FINDINGS, &ctx)?,
            ctx,
            open: FxHashMap::default(),
            error: None,
            closed: false,
        })
    }

    /// Whether a write failed (nothing more is written; `finish` says why).
    pub fn failed(&self) -> bool {
        self.error.is_some()
    }

    fn write(&mut self, ev: &Event) -> io::Result<()> {
        let ctx = &mut self.ctx;
        match ev {
            Event::Connection(e) => {
                self.open.insert(e.conn, (e.syn_seen, e.role_basis.as_str()));
                Ok(())
            }
            Event::Close(e) => {
                // A stream's record comes before its connection's, which
                // is the last of the connection.
                ctx.open = if e.stream.is_some() {
                    self.open.get(&e.conn).copied()
                } else {
                    self.open.remove(&e.conn)
                };
                ctx.community_id = crate::output::community_id::community_id(e.client, e.server);
                self.connections.push(e, ctx)
            }
            Event::Handshake(e) => self.handshakes.push(e, ctx),
            Event::Frame(e) => self.frames.push(e, ctx),
            Event::Message(e) => {
                self.messages.push(e, ctx)?;
                for i in 0..e.decoded.as_ref().map_or(0, |d| d.items.len()) {
                    ctx.item = i;
                    self.decoded.push(e, ctx)?;
                }
                Ok(())
            }
            Event::Gap(e) => self.gaps.push(e, ctx),
            Event::Violation(e) => self.violations.push(e, ctx),
            Event::Diagnostic(e) => self.diagnostics.push(e, ctx),
            Event::Tls(e) => self.tls.push(e, ctx),
            Event::Http2(e) => self.http2.push(e, ctx),
            Event::Finding(e) => self.findings.push(e, ctx),
        }
    }

    fn close_all(&mut self) -> io::Result<()> {
        self.connections.close()?;
        self.handshakes.close()?;
        self.frames.close()?;
        self.messages.close()?;
        self.decoded.close()?;
        self.gaps.close()?;
        self.violations.close()?;
        self.diagnostics.close()?;
        self.tls.close()?;
        self.http2.close()?;
        self.findings.close()
    }

    fn abandon_all(&mut self) {
        self.connections.abandon();
        self.handshakes.abandon();
        self.frames.abandon();
        self.messages.abandon();
        self.decoded.abandon();
        self.gaps.abandon();
        self.violations.abandon();
        self.diagnostics.abandon();
        self.tls.abandon();
        self.http2.abandon();
        self.findings.abandon();
    }
}

impl EventSink for ParquetSink {
    fn event(&mut self, ev: Event) {
        self.event_ref(&ev);
    }

    fn event_ref(&mut self, ev: &Event) {
        if self.error.is_some() || self.closed {
            return;
        }
        if let Err(e) = self.write(ev) {
            self.error = Some(e);
        }
    }

    fn reads_only(&self) -> bool {
        true
    }

    /// Closes every table; after an error, removes the partial files.
    fn finish(&mut self) -> io::Result<()> {
        if self.closed {
            return Ok(());
        }
        self.closed = true;
        if let Some(e) = self.error.take() {
            self.abandon_all();
            return Err(e);
        }
        let res = self.close_all();
        if res.is_err() {
            self.abandon_all();
        }
        res
    }
}

impl Drop for ParquetSink {
    /// A sink dropped without `finish` (an interrupted run) leaves no
    /// temporary files.
    fn drop(&mut self) {
        if !self.closed {
            self.abandon_all();
        }
    }
}
