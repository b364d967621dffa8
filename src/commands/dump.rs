//! `wsscope dump`: every event as a text timeline or JSON Lines, written as
//! it arrives (flushed per event for live capture), or only the events a
//! selection names ([`crate::select::Row::of_event`] says what each event
//! offers to its terms), of the types `--types` names, keeping as much of
//! each payload as `--payload` says.

use super::many::{Dest, Part};
use super::progress::{Progress, Watched};
use super::{report_end, status_of};
use crate::analyzer::{Analyzer, AnalyzerConfig};
use crate::audit::AuditStage;
use crate::cli::{AnalysisArgs, DumpFormat, InputArgs, LeanArgs, RecordType, SelectArgs, Writer};
use crate::event::{ConnId, Event, EventSink};
use crate::output::jsonl::JsonlSink;
use crate::output::offload::Offload;
use crate::output::payload::PayloadLimit;
use crate::output::text::time::{Clock, Origin, TimeFormat};
use crate::output::text::{PREVIEW_CHARS, TextSink};
use crate::output::zeek::ZeekSink;
use crate::pipeline::{self, Control};
use crate::select::{Row, Selection, Unit};
use crate::source::{PacketSource, SourceEnd};
use anyhow::Context;
use std::collections::BTreeSet;
use std::io::Write;
use std::ops::ControlFlow;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

/// Every event (the timeline's fallback when stdout is not a terminal).
pub fn run(
    input: &InputArgs,
    format: DumpFormat,
    time: TimeFormat,
    analysis: &AnalysisArgs,
    stop: Arc<AtomicBool>,
) -> anyhow::Result<ExitCode> {
    let (select, lean) = (SelectArgs::default(), LeanArgs::default());
    run_selected(input, format, time, &select, &lean, analysis, stop)
}

/// `wsscope dump`: one capture (or live), or several in parallel
/// ([`super::many`]), into standard output, `-o FILE`, or for Parquet the
/// directory `-o DIR`.
#[allow(clippy::too_many_arguments)]
pub fn run_cli(
    input: &InputArgs,
    format: DumpFormat,
    output: Option<&Path>,
    time: TimeFormat,
    select: &SelectArgs,
    lean: &LeanArgs,
    analysis: &AnalysisArgs,
    stop: Arc<AtomicBool>,
) -> anyhow::Result<ExitCode> {
    check_output(input, format, output)?;
    let args = Args {
        format,
        time,
        select,
        lean,
    };
    if input.is_many() {
        let dataset = format == DumpFormat::Parquet;
        let status = super::many::run_each(input, analysis, output, dataset, |one, part, analysis, dest| {
            dump_one(one, &args, analysis, stop.clone(), dest, part)
        })?;
        return Ok(ExitCode::from(status));
    }
    let dest = match (format, output) {
        (DumpFormat::Parquet, Some(dir)) => Dest::Dir(dir.to_path_buf()),
        (_, Some(file)) => Dest::File(super::many::create_output(file)?),
        (_, None) => Dest::Stdout,
    };
    let status = dump_one(input, &args, analysis, stop, dest, &Part::default())?;
    Ok(ExitCode::from(status))
}

/// Flag combinations `dump` cannot honour, each with what to do.
fn check_output(input: &InputArgs, format: DumpFormat, output: Option<&Path>) -> anyhow::Result<()> {
    if format == DumpFormat::Parquet {
        if !cfg!(feature = "parquet") {
            anyhow::bail!(
                "this wsscope was built without Parquet output; rebuild with \
                 `cargo install --path . --features parquet` (or write --format jsonl)"
            );
        }
        let Some(dir) = output else {
            anyhow::bail!(
                "--format parquet writes a directory of tables (DIR/frames/capture=NAME/part-0.parquet, ...): \
                 name it with -o DIR"
            );
        };
        if dir.exists() && !dir.is_dir() {
            anyhow::bail!(
                "-o {}: --format parquet writes a directory, and this is a file",
                dir.display()
            );
        }
        return Ok(());
    }
    if let Some(out) = output {
        if out.is_dir() {
            anyhow::bail!(
                "-o {} is a directory: --format {} writes one file (a directory is for --format parquet)",
                out.display(),
                format.as_str()
            );
        }
        if input.captures.iter().any(|c| super::many::same_file(out, c)) {
            anyhow::bail!(
                "-o {} would overwrite a capture being read: choose another output path",
                out.display()
            );
        }
    }
    Ok(())
}

/// The flags of a dump that are the same for every capture.
struct Args<'a> {
    format: DumpFormat,
    time: TimeFormat,
    select: &'a SelectArgs,
    lean: &'a LeanArgs,
}

/// The events `select` takes, of the types `lean.types` names: all of them
/// when both are empty (then exit 0 whatever the capture held), else exit
/// 1 when none matched; exit 3 when the capture was truncated (unless
/// `--allow-truncated`). Text lines carry their time in `time` (`-t`);
/// payloads are kept as `lean.payload` says.
pub fn run_selected(
    input: &InputArgs,
    format: DumpFormat,
    time: TimeFormat,
    select: &SelectArgs,
    lean: &LeanArgs,
    analysis: &AnalysisArgs,
    stop: Arc<AtomicBool>,
) -> anyhow::Result<ExitCode> {
    let args = Args {
        format,
        time,
        select,
        lean,
    };
    let status = dump_one(input, &args, analysis, stop, Dest::Stdout, &Part::default())?;
    Ok(ExitCode::from(status))
}

/// One capture's dump into `dest`; its exit status.
fn dump_one(
    input: &InputArgs,
    args: &Args<'_>,
    analysis: &AnalysisArgs,
    stop: Arc<AtomicBool>,
    dest: Dest,
    part: &Part,
) -> anyhow::Result<u8> {
    let Args {
        format,
        time,
        select,
        lean,
    } = *args;
    let sel = Some(select.selection(Unit::Messages)).filter(|s| !s.is_empty());
    let filter = Filter {
        sel,
        types: lean.types.iter().map(|t| t.as_str()).collect(),
    };
    let mut src = input.open(stop)?;
    input.announce_live();
    let live = input.is_live();
    // Live output is written as it happens: no batching.
    let threads = if live { 1 } else { analysis.threads() };
    let mut cfg = super::analysis_config(analysis, crate::budget::OutputShare::Streaming)?;
    let audit = crate::audit::AuditConfig {
        enabled: !lean.no_audit,
        show_secrets: lean.show_secrets,
        ..Default::default()
    };
    // The text timeline prints a preview; JSON Lines and Parquet every
    // payload byte unless `--payload` cuts them.
    let writer = match (threads, format, lean.payload) {
        (0 | 1, ..) => Writer::None,
        (_, DumpFormat::Jsonl | DumpFormat::Parquet, None | Some(PayloadLimit::Full)) => Writer::Heavy,
        _ => Writer::Light,
    };
    cfg.shards = AnalysisArgs::workers(threads, writer);
    let count = input.count;
    let mut progress = Progress::for_input(input, true);
    // `-t r` counts from the first packet, known before its events are.
    let origin = Origin::default();
    let mut on_packet = |p: &crate::source::Packet<'_>| {
        origin.get_or_init(|| p.ts);
        Progress::watch(&mut progress, p);
    };
    let mut watched = Watched::new(src.as_mut(), &mut on_packet);
    let src: &mut dyn PacketSource = &mut watched;
    let capture = part.capture.clone();
    let (end, written, counts) = match format {
        DumpFormat::Jsonl => {
            let payload = lean.payload.unwrap_or_default();
            let out = dest.writer();
            let sink = move || {
                JsonlSink::with_flush_each(out(), live)
                    .payload(payload)
                    .capture(capture)
            };
            run_sink(
                sink,
                JsonlSink::failed,
                filter,
                src,
                cfg,
                (count, threads, None),
                audit,
            )?
        }
        DumpFormat::Zeek => {
            // The uids hash the capture's file name (stdin, a live capture: none).
            let name = input.file.as_deref().and_then(|p| p.file_name());
            let name = name.map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            // Several captures make one log: one header, one footer.
            let (header, footer) = match &part.capture {
                Some(_) => (part.first, part.last),
                None => (true, true),
            };
            let out = dest.writer();
            let sink = move || {
                ZeekSink::new(out())
                    .capture_name(&name)
                    .header(header)
                    .footer(footer)
            };
            run_sink(
                sink,
                ZeekSink::failed,
                filter,
                src,
                cfg,
                (count, threads, None),
                audit,
            )?
        }
        DumpFormat::Text => {
            // On a writer thread, the clock reads an origin of its own, set
            // in event order (see `output::offload`).
            let (clock_origin, follow) = if threads >= 2 {
                let own = Origin::default();
                (own.clone(), Some((origin.clone(), own)))
            } else {
                (origin.clone(), None)
            };
            let clock = Clock::new(time, clock_origin);
            let preview = PayloadLimit::preview_chars(lean.payload, PREVIEW_CHARS);
            let all = lean.types.contains(&RecordType::Message);
            let out = dest.writer();
            let sink = move || {
                let mut w = out();
                if let Some(name) = capture {
                    // Written before any event; a failure shows at the first event's write.
                    let _ = writeln!(w, "# capture: {}", crate::output::text::sanitize_str(&name));
                }
                TextSink::new(w)
                    .flush_each(live)
                    .clock(clock)
                    .preview(preview)
                    .all_messages(all)
            };
            run_sink(
                sink,
                TextSink::failed,
                filter,
                src,
                cfg,
                (count, threads, follow),
                audit,
            )?
        }
        DumpFormat::Parquet => parquet_sink(input, dest, lean, filter, src, cfg, (count, threads), audit)?,
    };
    drop(progress);
    written.context(match format {
        DumpFormat::Parquet => "writing the Parquet tables",
        _ => "writing output",
    })?;
    let truncated = report_end(input, &end);
    let (found, tls_hidden) = (counts.websocket_events, counts.tls_undecrypted);
    if tls_hidden > 0 {
        eprintln!(
            "wsscope: {tls_hidden} TLS connection(s) could not be decrypted. To see inside wss://, record the \
             TLS secrets while capturing: set SSLKEYLOGFILE=/path/keys.log for curl, Python, Node (--tls-keylog), \
             Firefox and Chrome (or start Chromium with --ssl-key-log-file=/path/keys.log), then run \
             wsscope --keylog /path/keys.log ..."
        );
    }
    if found == 0 && !live && tls_hidden == 0 {
        eprintln!(
            "wsscope: {}no WebSocket traffic found; if it runs on a known port without a captured handshake, try --ws-port PORT",
            part.capture
                .as_deref()
                .map(|c| format!("{}: ", crate::output::text::sanitize_str(c)))
                .unwrap_or_default()
        );
    }
    if counts.selecting && counts.selected == 0 {
        eprintln!("wsscope: {}", nothing_message(input, select, lean, &counts));
        return Ok(status_of(1, truncated));
    }
    Ok(status_of(0, truncated))
}

/// `--format parquet`: the capture's partition of every table under the
/// `-o` directory.
#[cfg(feature = "parquet")]
#[allow(clippy::too_many_arguments)]
fn parquet_sink(
    input: &InputArgs,
    dest: Dest,
    lean: &LeanArgs,
    filter: Filter,
    src: &mut dyn PacketSource,
    cfg: AnalyzerConfig,
    (count, threads): (Option<u64>, usize),
    audit: crate::audit::AuditConfig,
) -> anyhow::Result<(SourceEnd, std::io::Result<()>, Counts)> {
    use crate::output::parquet::ParquetSink;
    let Dest::Dir(dir) = dest else {
        anyhow::bail!("--format parquet writes a directory: name it with -o DIR");
    };
    let name = match (&input.interface, &input.file) {
        (Some(i), _) => format!("live-{i}"),
        (None, Some(f)) => crate::source::captures::name(f),
        (None, None) => "stdin".into(),
    };
    let payload = lean.payload.unwrap_or_default();
    let sink = ParquetSink::create(&dir, &name, payload)
        .with_context(|| format!("cannot write the Parquet dataset in {}", dir.display()))?;
    run_sink(
        move || sink,
        ParquetSink::failed,
        filter,
        src,
        cfg,
        (count, threads, None),
        audit,
    )
}

#[cfg(not(feature = "parquet"))]
#[allow(clippy::too_many_arguments)]
fn parquet_sink(
    _: &InputArgs,
    _: Dest,
    _: &LeanArgs,
    _: Filter,
    _: &mut dyn PacketSource,
    _: AnalyzerConfig,
    _: (Option<u64>, usize),
    _: crate::audit::AuditConfig,
) -> anyhow::Result<(SourceEnd, std::io::Result<()>, Counts)> {
    anyhow::bail!(
        "this wsscope was built without Parquet output; rebuild with `cargo install --path . --features parquet`"
    )
}

/// The stderr line when a selection (or `--types`) matched no event,
/// saying what the capture holds (as `export` does).
fn nothing_message(input: &InputArgs, select: &SelectArgs, lean: &LeanArgs, counts: &Counts) -> String {
    let name = match (&input.interface, &input.file) {
        (Some(i), _) => format!("{i} (live)"),
        (None, Some(f)) => f.display().to_string(),
        (None, None) => "-".into(),
    };
    let seen = &counts.conns_seen;
    let conns = match (seen.first(), seen.last()) {
        (Some(a), Some(b)) if a == b => format!("1 connection (conn {a})"),
        (Some(a), Some(b)) => format!("{} connections (conns {a}-{b})", seen.len()),
        _ => "no TCP connections".to_string(),
    };
    let mut flags = select.describe();
    flags.extend(lean.describe());
    format!(
        "no event matched {}: {name} holds {} event{} in {conns}",
        flags.join(" "),
        counts.events,
        if counts.events == 1 { "" } else { "s" }
    )
}

/// What went by a dump.
#[derive(Debug, Default)]
struct Counts {
    /// Handshakes, frames and messages (selected or not).
    websocket_events: u64,
    tls_undecrypted: u64,
    /// Every event, and the connections opened.
    events: u64,
    conns_seen: BTreeSet<ConnId>,
    /// A selection or `--types` was given; how many events they took.
    selecting: bool,
    selected: u64,
}

/// What a dump writes: the events of `types` (every type when empty) that
/// `sel` takes (every one without a selection).
struct Filter {
    sel: Option<Selection>,
    types: Vec<&'static str>,
}

impl Filter {
    fn is_empty(&self) -> bool {
        self.sel.is_none() && self.types.is_empty()
    }

    fn takes(&self, ev: &Event) -> bool {
        (self.types.is_empty() || self.types.contains(&ev.type_name()))
            && self
                .sel
                .as_ref()
                .is_none_or(|sel| sel.matches_row(&Row::of_event(ev)))
    }
}

/// Counts the events that go by, then hands on each one the filter takes.
struct Counting<S> {
    inner: S,
    filter: Filter,
    counts: Counts,
}

impl<S: EventSink> Counting<S> {
    /// Counts `ev`; whether the filter takes it.
    fn count(&mut self, ev: &Event) -> bool {
        let c = &mut self.counts;
        match ev {
            Event::Handshake(_) | Event::Frame(_) | Event::Message(_) => c.websocket_events += 1,
            Event::Tls(t) if !t.decrypted => c.tls_undecrypted += 1,
            Event::Connection(e) => {
                c.conns_seen.insert(e.conn);
            }
            _ => {}
        }
        c.events = c.events.saturating_add(1);
        if !self.filter.is_empty() {
            if !self.filter.takes(ev) {
                return false;
            }
            c.selected = c.selected.saturating_add(1);
        }
        true
    }
}

impl<S: EventSink> EventSink for Counting<S> {
    fn event(&mut self, ev: Event) {
        if self.count(&ev) {
            self.inner.event(ev);
        }
    }

    fn event_ref(&mut self, ev: &Event) {
        if self.count(ev) {
            self.inner.event_ref(ev);
        }
    }

    fn reads_only(&self) -> bool {
        self.inner.reads_only()
    }

    fn finish(&mut self) -> std::io::Result<()> {
        self.inner.finish()
    }
}

/// Runs the analysis into the sink `make` builds, through `filter`
/// (stopping once its output has `failed`), then finishes it: how the input
/// ended, the first write error, and what went by. With two threads or
/// more the sink is built and written on a thread of its own
/// ([`Offload`]); the bytes written are the same.
fn run_sink<S, M>(
    make: M,
    failed: fn(&S) -> bool,
    filter: Filter,
    src: &mut dyn PacketSource,
    cfg: AnalyzerConfig,
    (count, threads, follow): (Option<u64>, usize, Option<(Origin, Origin)>),
    audit: crate::audit::AuditConfig,
) -> anyhow::Result<(SourceEnd, std::io::Result<()>, Counts)>
where
    S: EventSink + 'static,
    M: FnOnce() -> S + Send + 'static,
{
    let counts = Counts {
        selecting: !filter.is_empty(),
        ..Counts::default()
    };
    // The audit's findings go out among the events (and through the filter).
    if threads >= 2 {
        let counting = move || {
            AuditStage::new(
                Counting {
                    inner: make(),
                    counts,
                    filter,
                },
                audit,
            )
        };
        let done = |mut a: AuditStage<Counting<S>>| (a.finish(), a.into_inner().counts);
        let failed = move |a: &AuditStage<Counting<S>>| failed(&a.inner().inner);
        let off = Offload::spawn_following(counting, failed, done, follow);
        let mut off = off.context("cannot start the output thread (try --threads 1)")?;
        let mut analyzer = Analyzer::new(cfg);
        let end = pipeline::run(src, &mut analyzer, &mut off, Control::limit(count), |_, s| {
            if s.failed() {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        });
        // Written up to where the analysis got, even when reading failed.
        let (written, counts) = off.finish();
        return Ok((end?, written, counts));
    }
    let mut stage = AuditStage::new(
        Counting {
            inner: make(),
            counts,
            filter,
        },
        audit,
    );
    let mut analyzer = Analyzer::new(cfg);
    let end = pipeline::run(src, &mut analyzer, &mut stage, Control::limit(count), |_, s| {
        if failed(&s.inner().inner) {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    })?;
    let written = stage.finish();
    Ok((end, written, stage.into_inner().counts))
}
