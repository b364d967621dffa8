//! Rows that must come out in connection order, within a memory budget.
//!
//! Connections end in any order, but `conns` prints them by number. A row
//! whose every predecessor has already gone out is written at once (when
//! the output streams); the others wait in memory. When what waits passes
//! the output's share of `--max-memory`, it is written, sorted, to an
//! anonymous temporary file (a *run*) and memory is free again; at the end
//! the runs and what is still in memory are merged by connection number.
//! This is an external merge sort whose runs only ever hold rows that could
//! not go out yet: a capture whose connections end in order never spills.
//!
//! Rows that may not stream at all (a table whose column widths depend on
//! every row) use the same store with streaming off.

#![deny(clippy::indexing_slicing, clippy::unwrap_used)]

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Seek, SeekFrom, Write};

/// Bytes one waiting row costs besides its own: the map node's share and
/// the allocation's header.
const ROW_OVERHEAD: usize = 64;

/// The rows of one output, by id (connection number).
pub struct OrderedRows {
    /// The id of the next row to write.
    next: u64,
    /// Write rows as soon as their predecessors are out.
    stream: bool,
    waiting: BTreeMap<u64, Box<[u8]>>,
    held: usize,
    limit: usize,
    runs: Vec<File>,
    /// Rows written to runs, in all.
    spilled: u64,
}

impl OrderedRows {
    /// Rows starting at id 0; `limit` bytes may wait in memory.
    pub fn new(stream: bool, limit: usize) -> Self {
        OrderedRows {
            next: 0,
            stream,
            waiting: BTreeMap::new(),
            held: 0,
            limit,
            runs: Vec::new(),
            spilled: 0,
        }
    }

    /// Bytes of rows waiting in memory (overheads included).
    pub fn held(&self) -> usize {
        self.held
    }

    /// Rows that had to wait on disk.
    pub fn spilled(&self) -> u64 {
        self.spilled
    }

    /// Row `id`; `write` receives rows that can go out now, in order.
    pub fn push(
        &mut self,
        id: u64,
        row: Vec<u8>,
        write: &mut dyn FnMut(&[u8]) -> io::Result<()>,
    ) -> io::Result<()> {
        if self.stream && id == self.next {
            write(&row)?;
            self.next = id.saturating_add(1);
            while let Some(entry) = self.waiting.first_entry() {
                if *entry.key() != self.next {
                    break;
                }
                let row = entry.remove();
                self.held = self.held.saturating_sub(row.len().saturating_add(ROW_OVERHEAD));
                write(&row)?;
                self.next = self.next.saturating_add(1);
            }
            return Ok(());
        }
        self.held = self.held.saturating_add(row.len().saturating_add(ROW_OVERHEAD));
        self.waiting.insert(id, row.into_boxed_slice());
        if self.held > self.limit {
            self.spill()?;
        }
        Ok(())
    }

    /// Writes what waits in memory, in order, to a new run.
    fn spill(&mut self) -> io::Result<()> {
        let file = tempfile::tempfile().map_err(|e| {
            io::Error::new(
                e.kind(),
                format!(
                    "cannot create a temporary file for rows over the memory budget ({e}); set TMPDIR to a writable directory or raise --max-memory"
                ),
            )
        })?;
        let mut w = BufWriter::with_capacity(1 << 16, file);
        for (id, row) in std::mem::take(&mut self.waiting) {
            w.write_all(&id.to_le_bytes())?;
            w.write_all(&(row.len() as u64).to_le_bytes())?;
            w.write_all(&row)?;
            self.spilled = self.spilled.saturating_add(1);
        }
        let mut file = w.into_inner().map_err(|e| e.into_error())?;
        file.seek(SeekFrom::Start(0))?;
        self.runs.push(file);
        self.held = 0;
        Ok(())
    }

    /// Every row not yet written, in id order: the runs merged with what
    /// waits in memory.
    pub fn finish(mut self, write: &mut dyn FnMut(&[u8]) -> io::Result<()>) -> io::Result<()> {
        let mut runs: Vec<Run> = self
            .runs
            .drain(..)
            .map(|f| Run {
                r: BufReader::with_capacity(1 << 16, f),
            })
            .collect();
        // The heap holds the next row of each run: (id, run), smallest first.
        let mut heads: BinaryHeap<Reverse<(u64, usize)>> = BinaryHeap::new();
        let mut rows: Vec<Vec<u8>> = Vec::with_capacity(runs.len());
        for (i, run) in runs.iter_mut().enumerate() {
            let (id, row) = run.next()?.unwrap_or((u64::MAX, Vec::new()));
            if id != u64::MAX {
                heads.push(Reverse((id, i)));
            }
            rows.push(row);
        }
        let mut memory = std::mem::take(&mut self.waiting).into_iter().peekable();
        loop {
            let from_run = heads.peek().map(|Reverse((id, _))| *id);
            let from_memory = memory.peek().map(|(id, _)| *id);
            match (from_run, from_memory) {
                (None, None) => break,
                (Some(r), m) if m.is_none_or(|m| r < m) => {
                    let Some(Reverse((_, i))) = heads.pop() else {
                        break;
                    };
                    if let Some(row) = rows.get(i) {
                        write(row)?;
                    }
                    if let (Some(run), Some(slot)) = (runs.get_mut(i), rows.get_mut(i))
                        && let Some((id, row)) = run.next()?
                    {
                        *slot = row;
                        heads.push(Reverse((id, i)));
                    }
                }
                _ => {
                    if let Some((_, row)) = memory.next() {
                        write(&row)?;
                    }
                }
            }
        }
        Ok(())
    }
}

/// A spilled run being read back.
struct Run {
    r: BufReader<File>,
}

impl Run {
    fn next(&mut self) -> io::Result<Option<(u64, Vec<u8>)>> {
        let mut head = [0u8; 16];
        match self.r.read_exact(&mut head) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
            Err(e) => return Err(e),
        }
        let (id, len) = head.split_at(8);
        let id = u64::from_le_bytes(id.try_into().unwrap_or_default());
        let len = u64::from_le_bytes(len.try_into().unwrap_or_default());
        let mut row = vec![0u8; usize::try_from(len).unwrap_or(0)];
        self.r.read_exact(&mut row)?;
        Ok(Some((id, row)))
    }
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::unwrap_used)]
mod tests {
    use super::*;

    fn run(stream: bool, limit: usize, ids: &[u64]) -> (Vec<u64>, Vec<u64>, u64) {
        let mut rows = OrderedRows::new(stream, limit);
        let mut early = Vec::new();
        for &id in ids {
            rows.push(id, format!("row {id}").into_bytes(), &mut |r| {
                early.push(parse(r));
                Ok(())
            })
            .unwrap();
        }
        let spilled = rows.spilled();
        let mut late = Vec::new();
        rows.finish(&mut |r| {
            late.push(parse(r));
            Ok(())
        })
        .unwrap();
        (early, late, spilled)
    }

    fn parse(r: &[u8]) -> u64 {
        std::str::from_utf8(r).unwrap()[4..].parse().unwrap()
    }

    #[test]
    fn rows_in_order_stream_at_once() {
        let (early, late, spilled) = run(true, 1 << 20, &[0, 1, 2, 3]);
        assert_eq!((early, late, spilled), (vec![0, 1, 2, 3], vec![], 0));
    }

    #[test]
    fn a_late_row_releases_those_waiting_for_it() {
        let (early, late, _) = run(true, 1 << 20, &[1, 2, 0, 4, 3, 6]);
        assert_eq!(early, vec![0, 1, 2, 3, 4]);
        assert_eq!(late, vec![6]);
    }

    #[test]
    fn rows_over_the_limit_spill_and_merge_back_in_order() {
        // Connection 0 stays open to the end: everything else waits for it.
        let mut ids: Vec<u64> = (1..5000).rev().collect();
        ids.push(0);
        let (early, late, spilled) = run(true, 4096, &ids);
        assert!(spilled > 4000, "{spilled}");
        let all: Vec<u64> = early.into_iter().chain(late).collect();
        assert_eq!(all, (0..5000).collect::<Vec<_>>());
    }

    #[test]
    fn a_held_table_spills_and_merges_in_order() {
        let ids: Vec<u64> = (0..3000).map(|i| (i * 7919) % 3000).collect();
        let (early, late, spilled) = run(false, 2048, &ids);
        assert!(early.is_empty());
        assert!(spilled > 2500);
        assert_eq!(late, (0..3000).collect::<Vec<_>>());
    }
}
