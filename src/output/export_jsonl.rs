//! `export --format jsonl`: where the export meets the JSON Lines writer.
//!
//! The export decides *which* records to write (selected frames/messages,
//! their connection's `connection`/`handshake`/`close` records); how a
//! record looks is `output::jsonl`'s business, so that `export` and `dump`
//! can never disagree. [`EventWriter`] is the seam: tests collect events in
//! a `Vec<Event>`, the command writes JSON Lines.

use crate::event::Event;
use crate::output::jsonl::JsonlSink;
use crate::output::payload::PayloadLimit;
use std::io::{self, Write};

/// Writes one event record at a time.
pub trait EventWriter {
    fn write_event(&mut self, ev: &Event) -> io::Result<()>;
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<T: EventWriter + ?Sized> EventWriter for &mut T {
    fn write_event(&mut self, ev: &Event) -> io::Result<()> {
        (**self).write_event(ev)
    }
    fn flush(&mut self) -> io::Result<()> {
        (**self).flush()
    }
}

impl EventWriter for Vec<Event> {
    fn write_event(&mut self, ev: &Event) -> io::Result<()> {
        self.push(ev.clone());
        Ok(())
    }
}

impl<W: Write> EventWriter for JsonlSink<W> {
    fn write_event(&mut self, ev: &Event) -> io::Result<()> {
        JsonlSink::write_event(self, ev)
    }
    fn flush(&mut self) -> io::Result<()> {
        JsonlSink::flush(self)
    }
}

/// The JSON Lines writer for `--format jsonl`: the same records as `dump
/// --format jsonl`, keeping `payload` of each payload (`--payload`), each
/// record ending with `"capture":NAME` when `capture` is given (several
/// captures in one stream).
pub fn jsonl_writer<'a>(
    w: &'a mut dyn Write,
    payload: PayloadLimit,
    capture: Option<&str>,
) -> Box<dyn EventWriter + 'a> {
    Box::new(
        JsonlSink::new(w)
            .payload(payload)
            .capture(capture.map(str::to_string)),
    )
}
