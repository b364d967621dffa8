//! The bytes of HAR entries whose connection has not ended, within the
//! output share of `--max-memory`.
//!
//! Each open entry is an append-only byte string (its rendered head, then
//! its messages). While the total stays under the limit it is all in
//! memory; past it, every entry's in-memory bytes are appended to one
//! anonymous temporary file as an extent of that entry, and memory is free
//! again. Writing an entry out copies its extents back from the file, in
//! order, then what is still in memory. When no entry has bytes left in
//! the file, the file is emptied, so a capture whose connections end now
//! and then never keeps more on disk than its open entries hold.

use rustc_hash::FxHashMap;
use std::fs::File;
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};

use crate::event::SessionId;

/// What one waiting entry costs besides its bytes: the map slot, the
/// vectors' headers.
const ENTRY_OVERHEAD: usize = 128;

#[derive(Default)]
struct Entry {
    memory: Vec<u8>,
    /// (offset, length) of earlier bytes in the spill file, in order.
    extents: Vec<(u64, u64)>,
}

/// Entries' bytes by session.
pub struct HeldBytes {
    entries: FxHashMap<SessionId, Entry>,
    /// Bytes in memory (with overheads).
    held: usize,
    limit: usize,
    spill: Option<File>,
    /// Where the next extent goes (the file's length).
    spill_end: u64,
    /// Extents not yet written out.
    live_extents: usize,
    spilled: u64,
}

impl HeldBytes {
    /// `limit` bytes may wait in memory.
    pub fn new(limit: usize) -> Self {
        HeldBytes {
            entries: FxHashMap::default(),
            held: 0,
            limit,
            spill: None,
            spill_end: 0,
            live_extents: 0,
            spilled: 0,
        }
    }

    /// Bytes written to the spill file in all.
    pub fn spilled_bytes(&self) -> u64 {
        self.spilled
    }

    /// Appends `bytes` to `session`'s entry; when memory (plus `other`,
    /// what the caller holds beside) passes the limit, spills.
    pub fn append(&mut self, session: SessionId, bytes: &[u8], other: usize) -> io::Result<()> {
        let e = self.entries.entry(session).or_insert_with(|| {
            self.held = self.held.saturating_add(ENTRY_OVERHEAD);
            Entry::default()
        });
        e.memory.extend_from_slice(bytes);
        self.held = self.held.saturating_add(bytes.len());
        if self.held.saturating_add(other) > self.limit {
            self.spill_all()?;
        }
        Ok(())
    }

    /// Moves every entry's bytes in memory to the spill file.
    fn spill_all(&mut self) -> io::Result<()> {
        let file = match &mut self.spill {
            Some(f) => f,
            None => self.spill.insert(tempfile::tempfile().map_err(|e| {
                io::Error::new(
                    e.kind(),
                    format!(
                        "cannot create a temporary file for HAR entries over the memory budget ({e}); set TMPDIR to a writable directory or raise --max-memory"
                    ),
                )
            })?),
        };
        file.seek(SeekFrom::Start(self.spill_end))?;
        let mut w = BufWriter::with_capacity(1 << 16, file);
        for e in self.entries.values_mut() {
            if e.memory.is_empty() {
                continue;
            }
            w.write_all(&e.memory)?;
            let len = e.memory.len() as u64;
            e.extents.push((self.spill_end, len));
            self.spill_end = self.spill_end.saturating_add(len);
            self.spilled = self.spilled.saturating_add(len);
            self.live_extents = self.live_extents.saturating_add(1);
            e.memory = Vec::new();
        }
        w.flush()?;
        self.held = self.entries.len().saturating_mul(ENTRY_OVERHEAD);
        Ok(())
    }

    /// Writes `session`'s bytes to `out` and forgets them.
    pub fn write_out(&mut self, session: SessionId, out: &mut dyn Write) -> io::Result<()> {
        let Some(e) = self.entries.remove(&session) else {
            return Ok(());
        };
        self.held = self
            .held
            .saturating_sub(e.memory.len().saturating_add(ENTRY_OVERHEAD));
        if !e.extents.is_empty()
            && let Some(file) = &mut self.spill
        {
            for (offset, len) in &e.extents {
                file.seek(SeekFrom::Start(*offset))?;
                let copied = io::copy(&mut Read::by_ref(file).take(*len), out)?;
                if copied != *len {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the temporary file of HAR entries was cut short",
                    ));
                }
            }
            self.live_extents = self.live_extents.saturating_sub(e.extents.len());
            if self.live_extents == 0 {
                file.set_len(0)?;
                self.spill_end = 0;
            }
        }
        out.write_all(&e.memory)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn s(n: u64) -> SessionId {
        SessionId::conn(n)
    }

    #[test]
    fn interleaved_entries_come_back_whole_with_and_without_spilling() {
        for limit in [1 << 20, 300, 0] {
            let mut h = HeldBytes::new(limit);
            for i in 0..50u8 {
                for c in 0..3 {
                    h.append(s(c), &[b'a' + c as u8, i], 0).unwrap();
                }
            }
            for c in [2, 0, 1] {
                let mut out = Vec::new();
                h.write_out(s(c), &mut out).unwrap();
                let want: Vec<u8> = (0..50u8).flat_map(|i| [b'a' + c as u8, i]).collect();
                assert_eq!(out, want, "limit {limit} conn {c}");
            }
            assert_eq!(h.spilled_bytes() > 0, limit < 300 + 1, "limit {limit}");
            // Everything written out: the file is emptied.
            assert_eq!((h.live_extents, h.spill_end), (0, 0));
        }
    }

    #[test]
    fn memory_stays_under_the_limit() {
        let mut h = HeldBytes::new(4096);
        for i in 0..10_000u64 {
            h.append(s(i % 7), &[0u8; 100], 0).unwrap();
            assert!(h.held <= 4096 + 100 + 7 * ENTRY_OVERHEAD, "{}", h.held);
        }
        let mut out = Vec::new();
        for c in 0..7 {
            h.write_out(s(c), &mut out).unwrap();
        }
        assert_eq!(out.len(), 1_000_000);
    }
}
