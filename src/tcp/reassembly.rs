//! One direction of a TCP connection → an ordered byte stream.
//!
//! Segments are placed on a 64-bit offset line (see [`super::seq`]). The
//! in-order case with nothing buffered is delivered straight from the packet
//! (zero-copy); anything else is copied into `pending`, a map of disjoint
//! chunks beyond `next`, and released in order.
//!
//! Rules, each chosen to match what the receiving host saw:
//! - **Overlaps keep the first copy** (what a receiver that already ACKed the
//!   bytes uses); differing bytes in a later copy are reported as a conflict,
//!   checked against a small history of recently delivered bytes.
//! - **A hole becomes a gap** only when it cannot be filled any more: the peer
//!   has acknowledged past it while later data is waiting, a buffering cap
//!   was hit, or the connection ended. Bytes cut by the snapshot length are
//!   gaps at once. Every offset is delivered exactly once as data or gap.

use super::seq;
use crate::event::GapReason;
use crate::model::PacketSpan;
use std::collections::BTreeMap;

/// What one direction produces, in stream order.
#[derive(Debug, PartialEq, Eq)]
pub enum HalfEvent<'a> {
    /// In-order bytes at `offset`, carried by the packets `packets` (one
    /// packet, unless adjacent out-of-order segments were merged to bound
    /// memory; a later packet may have released them).
    Data {
        offset: u64,
        bytes: &'a [u8],
        packets: PacketSpan,
        /// `bytes` begin where their segment's payload began: where a peer's
        /// write (and so usually a protocol header) starts.
        starts_write: bool,
    },
    Gap {
        offset: u64,
        len: u64,
        reason: GapReason,
    },
    /// A later copy of `len` bytes at `offset` differed from the first copy.
    Conflict { offset: u64, len: u64 },
    /// The FIN was reached in order.
    Fin,
}

#[derive(Debug)]
enum Chunk {
    /// Bytes held out of order, with the packet(s) that carried them and
    /// whether they begin a packet's payload.
    Data {
        bytes: Vec<u8>,
        packets: PacketSpan,
        starts_write: bool,
    },
    /// Bytes promised by the IP length but cut by the snapshot length.
    Missing(u64),
}

impl Chunk {
    fn len(&self) -> u64 {
        match self {
            Chunk::Data { bytes, .. } => bytes.len() as u64,
            Chunk::Missing(n) => *n,
        }
    }
}

/// Recently delivered bytes, to compare retransmissions against. Allocated
/// with the first delivered byte: a connection that never carries data (a
/// SYN flood) pays nothing for it.
#[derive(Debug, Default)]
struct History {
    /// A ring of at most the history's size: it grows by appending until
    /// full, then new bytes overwrite the oldest, from `head` on. (A
    /// `VecDeque` that drained its front for every delivered chunk cost a
    /// tenth of the reassembly.)
    ring: Vec<u8>,
    /// Index in `ring` of the oldest byte.
    head: usize,
    /// Stream offset one past the last byte recorded.
    end: u64,
}

/// Heap bytes one out-of-order chunk costs besides its payload: its share of
/// a B-tree node (key, value, edges) and the allocator's header and rounding
/// of its byte vector. Measured with 1-byte chunks (8 M of them took 760 MB
/// before merging: ~95 bytes each).
pub const CHUNK_OVERHEAD: usize = 96;

/// Chunks held in one direction beyond which a chunk that continues the one
/// before it is merged into it (its packet widening the span): a flood of
/// tiny segments behind a hole then costs its bytes, not ~100 bytes each.
/// Below it every chunk keeps its own packet and write boundary.
const MERGE_AFTER: usize = 64;

impl History {
    fn record(&mut self, cap: usize, offset: u64, bytes: &[u8]) {
        if cap == 0 {
            return;
        }
        if offset != self.end {
            // A gap intervened: older bytes are no longer contiguous with new ones.
            self.ring.clear();
            self.head = 0;
        }
        self.end = offset.saturating_add(bytes.len() as u64);
        let keep = bytes.len().min(cap);
        let tail = bytes.get(bytes.len().saturating_sub(keep)..).unwrap_or_default();
        // Fill up to the size first (the oldest byte stays at `head`)...
        let room = cap.saturating_sub(self.ring.len()).min(tail.len());
        let (fill, rest) = tail.split_at(room);
        self.ring.extend_from_slice(fill);
        // ... then overwrite the oldest, wrapping once at most.
        if !rest.is_empty() {
            let len = self.ring.len();
            let first = rest.len().min(len.saturating_sub(self.head));
            let (a, b) = rest.split_at(first);
            if let Some(dst) = self.ring.get_mut(self.head..self.head.saturating_add(a.len())) {
                dst.copy_from_slice(a);
            }
            if let Some(dst) = self.ring.get_mut(..b.len()) {
                dst.copy_from_slice(b);
            }
            self.head = (self.head.saturating_add(rest.len())) % len.max(1);
        }
    }

    /// Compares `bytes` claimed at `offset` with what was delivered there.
    /// Returns the number of differing bytes among those still remembered.
    fn differs(&self, offset: u64, bytes: &[u8]) -> u64 {
        let len = self.ring.len();
        let start = self.end.saturating_sub(len as u64);
        let mut diff = 0u64;
        for (i, b) in bytes.iter().enumerate() {
            let at = offset.saturating_add(i as u64);
            if at < start || at >= self.end {
                continue;
            }
            let idx = (self.head.saturating_add((at - start) as usize)) % len.max(1);
            if self.ring.get(idx) != Some(b) {
                diff = diff.saturating_add(1);
            }
        }
        diff
    }
}

/// Reassembly state of one direction.
#[derive(Debug, Default)]
pub struct HalfStream {
    started: bool,
    /// Sequence number of the byte at offset `next`.
    next_seq: u32,
    /// Offset of the next byte to deliver.
    next: u64,
    pending: BTreeMap<u64, Chunk>,
    pending_bytes: usize,
    /// Heap capacity of the pending chunks' byte vectors (merged chunks grow
    /// by doubling, so this can exceed `pending_bytes`).
    pending_alloc: usize,
    fin_at: Option<u64>,
    fin_delivered: bool,
    /// Highest offset the peer acknowledged (bytes below it were received).
    acked: u64,
    /// Bytes of history to keep (the `--history` of [`super::TcpConfig`]).
    history_cap: u32,
    history: Option<Box<History>>,
}

impl HalfStream {
    pub fn new(history: usize) -> Self {
        HalfStream {
            history_cap: u32::try_from(history).unwrap_or(u32::MAX),
            ..Default::default()
        }
    }

    /// Anchors the stream at a SYN: the first data byte has sequence `isn + 1`.
    pub fn syn(&mut self, isn: u32) {
        if !self.started {
            self.started = true;
            self.next_seq = isn.wrapping_add(1);
        }
    }

    pub fn started(&self) -> bool {
        self.started
    }

    /// Bytes held out of order.
    pub fn pending_bytes(&self) -> usize {
        self.pending_bytes
    }

    /// What the out-of-order chunks cost: their bytes as allocated plus
    /// each chunk's overhead. The buffering caps count this, not payload
    /// alone, so a flood of tiny chunks hits them at its real size.
    pub fn pending_cost(&self) -> usize {
        self.pending_alloc
            .saturating_add(self.pending.len().saturating_mul(CHUNK_OVERHEAD))
    }

    /// Heap bytes this direction holds: out-of-order chunks with their
    /// overhead, and the retransmission history.
    pub fn heap_bytes(&self) -> usize {
        let chunks = self.pending_cost();
        let history = self.history.as_ref().map_or(0, |h| {
            h.ring.capacity().saturating_add(std::mem::size_of::<History>())
        });
        chunks.saturating_add(history)
    }

    /// Offset of the next byte to deliver (= bytes accounted so far).
    pub fn next_offset(&self) -> u64 {
        self.next
    }

    pub fn fin_delivered(&self) -> bool {
        self.fin_delivered
    }

    /// Anchors a stream picked up mid-way at the first segment seen.
    fn anchor(&mut self, seq: u32) {
        if !self.started {
            self.started = true;
            self.next_seq = seq;
        }
    }

    /// A segment of this direction, carried by packet `packet`: `payload`
    /// captured, then `missing` bytes cut by the snapshot length; `fin` if
    /// the FIN flag was set.
    pub fn segment(
        &mut self,
        seq: u32,
        payload: &[u8],
        missing: u32,
        fin: bool,
        packet: u64,
        out: &mut dyn FnMut(HalfEvent<'_>),
    ) {
        self.anchor(seq);
        let Some(start) = seq::offset_of(seq, self.next_seq, self.next) else {
            // Before the first byte we anchored on (data from before the
            // capture started): nothing to deliver.
            return;
        };
        let total = (payload.len() as u64).saturating_add(u64::from(missing));
        let end = start.saturating_add(total);
        if fin && self.fin_at.is_none() {
            self.fin_at = Some(end);
        }
        if total > 0 {
            if start == self.next && self.pending.is_empty() {
                // Fast path: in order, nothing buffered — straight from the packet.
                self.deliver(payload, PacketSpan::one(packet), true, out);
                if missing > 0 {
                    self.gap(u64::from(missing), GapReason::Snaplen, out);
                }
            } else {
                self.insert(start, payload, missing, packet, out);
            }
            self.drain(out);
            self.release_acked(out);
        }
        self.check_fin(out);
    }

    /// The peer acknowledged up to `ack` (this direction's sequence space).
    pub fn ack(&mut self, ack: u32, out: &mut dyn FnMut(HalfEvent<'_>)) {
        if !self.started {
            return;
        }
        if let Some(off) = seq::offset_of(ack, self.next_seq, self.next)
            && off > self.acked
        {
            self.acked = off;
            self.release_acked(out);
        }
    }

    /// Forces progress when a buffering cap is hit: skips the first hole.
    pub fn skip_hole(&mut self, out: &mut dyn FnMut(HalfEvent<'_>)) {
        if let Some((&first, _)) = self.pending.first_key_value()
            && first > self.next
        {
            self.gap(first - self.next, GapReason::BufferCap, out);
        }
        self.drain(out);
        self.check_fin(out);
    }

    /// End of the connection or input: everything held is released with the
    /// holes between as gaps; acknowledged-but-unseen tail bytes too.
    pub fn flush(&mut self, out: &mut dyn FnMut(HalfEvent<'_>)) {
        while let Some((&first, _)) = self.pending.first_key_value() {
            if first > self.next {
                self.gap(first - self.next, GapReason::Unfilled, out);
            }
            self.drain(out);
        }
        let tail_end = match self.fin_at {
            Some(fin) => fin,
            // The peer acknowledged bytes we never saw. One extra acked
            // sequence number is a FIN we did not capture, not data.
            None if self.acked > self.next.saturating_add(1) => self.acked - 1,
            None => self.next,
        };
        if tail_end > self.next {
            self.gap(tail_end - self.next, GapReason::Lost, out);
        }
        self.check_fin(out);
    }

    fn deliver(
        &mut self,
        bytes: &[u8],
        packets: PacketSpan,
        starts_write: bool,
        out: &mut dyn FnMut(HalfEvent<'_>),
    ) {
        if bytes.is_empty() {
            return;
        }
        let cap = self.history_cap as usize;
        if cap > 0 {
            self.history
                .get_or_insert_with(Default::default)
                .record(cap, self.next, bytes);
        }
        out(HalfEvent::Data {
            offset: self.next,
            bytes,
            packets,
            starts_write,
        });
        self.advance(bytes.len() as u64);
    }

    fn gap(&mut self, len: u64, reason: GapReason, out: &mut dyn FnMut(HalfEvent<'_>)) {
        if len == 0 {
            return;
        }
        out(HalfEvent::Gap {
            offset: self.next,
            len,
            reason,
        });
        self.advance(len);
    }

    fn advance(&mut self, len: u64) {
        self.next = self.next.saturating_add(len);
        // Sequence numbers are modulo 2^32: truncation is the point.
        self.next_seq = self.next_seq.wrapping_add(len as u32);
    }

    /// Places `[start, start + payload + missing)` into `pending`, keeping
    /// whatever arrived first on every overlap.
    fn insert(
        &mut self,
        start: u64,
        payload: &[u8],
        missing: u32,
        packet: u64,
        out: &mut dyn FnMut(HalfEvent<'_>),
    ) {
        let data_end = start.saturating_add(payload.len() as u64);
        let end = data_end.saturating_add(u64::from(missing));
        // Part already delivered: compare with history (keep-alive probes —
        // one byte just below `next` — are garbage by design: skip those).
        if start < self.next {
            let upto = data_end.min(self.next);
            let old = payload
                .get(..(upto.saturating_sub(start)) as usize)
                .unwrap_or_default();
            let keepalive = payload.len() <= 1 && start.saturating_add(1) == self.next;
            if !keepalive && !old.is_empty() {
                let d = self.history.as_ref().map_or(0, |h| h.differs(start, old));
                if d > 0 {
                    out(HalfEvent::Conflict {
                        offset: start,
                        len: old.len() as u64,
                    });
                }
            }
        }
        if end <= self.next {
            return;
        }
        // Walk the new range, skipping parts covered by pending chunks.
        let mut at = start.max(self.next);
        let mut new_chunks: Vec<(u64, Chunk)> = Vec::new();
        let mut conflicts: Vec<(u64, u64)> = Vec::new();
        // Chunks that start before `at` may still cover it.
        let lookback = self
            .pending
            .range(..at)
            .next_back()
            .map(|(&k, c)| (k, k.saturating_add(c.len())));
        if let Some((_, cend)) = lookback
            && cend > at
        {
            self.compare_with(at, cend.min(end), start, payload, &mut conflicts);
            at = cend.min(end).max(at);
        }
        let overlapping: Vec<(u64, u64)> = self
            .pending
            .range(at..end)
            .map(|(&k, c)| (k, k.saturating_add(c.len())))
            .collect();
        for (cstart, cend) in overlapping {
            if cstart > at {
                new_chunks.extend(Self::piece(at, cstart, start, payload, data_end, packet));
            }
            let ov_end = cend.min(end);
            self.compare_with(cstart.max(at), ov_end, start, payload, &mut conflicts);
            at = at.max(ov_end);
        }
        if at < end {
            new_chunks.extend(Self::piece(at, end, start, payload, data_end, packet));
        }
        for (off, len) in conflicts {
            out(HalfEvent::Conflict { offset: off, len });
        }
        for (off, chunk) in new_chunks {
            if let Chunk::Data { bytes, .. } = &chunk {
                self.pending_bytes = self.pending_bytes.saturating_add(bytes.len());
            }
            let Some(chunk) = self.merge(off, chunk) else {
                continue;
            };
            if let Chunk::Data { bytes, .. } = &chunk {
                self.pending_alloc = self.pending_alloc.saturating_add(bytes.capacity());
            }
            self.pending.insert(off, chunk);
        }
    }

    /// Appends `chunk` to the data chunk that ends exactly at `off`, once
    /// this direction holds more than [`MERGE_AFTER`] chunks; gives the chunk
    /// back when it stays separate.
    fn merge(&mut self, off: u64, chunk: Chunk) -> Option<Chunk> {
        if self.pending.len() <= MERGE_AFTER {
            return Some(chunk);
        }
        let Chunk::Data { bytes, packets, .. } = &chunk else {
            return Some(chunk);
        };
        let Some((
            &k,
            Chunk::Data {
                bytes: prev,
                packets: prev_packets,
                ..
            },
        )) = self.pending.range_mut(..off).next_back()
        else {
            return Some(chunk);
        };
        if k.saturating_add(prev.len() as u64) != off {
            return Some(chunk);
        }
        let before = prev.capacity();
        prev.extend_from_slice(bytes);
        self.pending_alloc = self
            .pending_alloc
            .saturating_sub(before)
            .saturating_add(prev.capacity());
        *prev_packets = prev_packets.union(*packets);
        None
    }

    /// Chunks for `[from, to)` of a segment whose data spans `[start, data_end)`
    /// and whose remainder (up to the segment end) is missing.
    fn piece(
        from: u64,
        to: u64,
        start: u64,
        payload: &[u8],
        data_end: u64,
        packet: u64,
    ) -> Vec<(u64, Chunk)> {
        let mut v = Vec::with_capacity(2);
        if from < data_end.min(to) {
            let a = (from - start) as usize;
            let b = (data_end.min(to) - start) as usize;
            v.push((
                from,
                Chunk::Data {
                    bytes: payload.get(a..b).unwrap_or_default().to_vec(),
                    packets: PacketSpan::one(packet),
                    starts_write: from == start,
                },
            ));
        }
        let miss_from = from.max(data_end);
        if miss_from < to {
            v.push((miss_from, Chunk::Missing(to - miss_from)));
        }
        v
    }

    /// Records a conflict if the new bytes over `[from, to)` differ from the
    /// pending chunk data there.
    fn compare_with(&self, from: u64, to: u64, start: u64, payload: &[u8], conflicts: &mut Vec<(u64, u64)>) {
        if from >= to {
            return;
        }
        let mut differs = false;
        for (&k, chunk) in self.pending.range(..to).rev() {
            let cend = k.saturating_add(chunk.len());
            if cend <= from {
                break;
            }
            let Chunk::Data { bytes: d, .. } = chunk else {
                continue;
            };
            let lo = from.max(k);
            let hi = to.min(cend);
            for off in lo..hi {
                let new = payload.get((off - start) as usize);
                let old = d.get((off - k) as usize);
                if let (Some(n), Some(o)) = (new, old)
                    && n != o
                {
                    differs = true;
                    break;
                }
            }
        }
        if differs {
            conflicts.push((from, to - from));
        }
    }

    /// Releases pending chunks that start at or before `next`.
    fn drain(&mut self, out: &mut dyn FnMut(HalfEvent<'_>)) {
        while let Some(entry) = self.pending.first_entry() {
            let k = *entry.key();
            if k > self.next {
                break;
            }
            let chunk = entry.remove();
            if let Chunk::Data { bytes, .. } = &chunk {
                self.pending_bytes = self.pending_bytes.saturating_sub(bytes.len());
                self.pending_alloc = self.pending_alloc.saturating_sub(bytes.capacity());
            }
            let cend = k.saturating_add(chunk.len());
            if cend <= self.next {
                continue;
            }
            let skip = (self.next - k) as usize;
            match chunk {
                Chunk::Data {
                    bytes,
                    packets,
                    starts_write,
                } => {
                    let rest = bytes.get(skip..).unwrap_or_default();
                    self.deliver(rest, packets, starts_write && skip == 0, out);
                }
                Chunk::Missing(n) => self.gap(n - skip as u64, GapReason::Snaplen, out),
            }
        }
    }

    /// Holes below the peer's acknowledgement can never be filled: the
    /// receiver had those bytes, so nobody will retransmit them.
    fn release_acked(&mut self, out: &mut dyn FnMut(HalfEvent<'_>)) {
        while let Some((&first, _)) = self.pending.first_key_value() {
            if first <= self.next || self.acked <= self.next {
                break;
            }
            let hole_end = first.min(self.acked);
            self.gap(hole_end - self.next, GapReason::Lost, out);
            self.drain(out);
        }
        self.check_fin(out);
    }

    fn check_fin(&mut self, out: &mut dyn FnMut(HalfEvent<'_>)) {
        if !self.fin_delivered && self.fin_at.is_some_and(|f| f <= self.next) {
            self.fin_delivered = true;
            out(HalfEvent::Fin);
        }
    }
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The history ring remembers exactly the last `cap` bytes of a
        /// contiguous run (what a plain queue of them would), whatever the
        /// chunk sizes; a jump in offset forgets everything before it.
        #[test]
        fn history_keeps_the_last_cap_bytes(
            cap in 1usize..40,
            chunks in proptest::collection::vec((0usize..60, any::<bool>()), 1..30),
        ) {
            let mut h = History::default();
            let mut model: std::collections::VecDeque<u8> = Default::default();
            let mut offset = 0u64;
            let mut byte = 0u8;
            for (len, jump) in chunks {
                if jump {
                    offset += 7;
                    model.clear();
                }
                let bytes: Vec<u8> = (0..len).map(|_| { byte = byte.wrapping_add(1); byte }).collect();
                h.record(cap, offset, &bytes);
                model.extend(&bytes);
                while model.len() > cap {
                    model.pop_front();
                }
                offset += len as u64;
                let start = offset - model.len() as u64;
                let want: Vec<u8> = model.iter().copied().collect();
                // Same bytes: nothing differs; every byte changed: all do.
                prop_assert_eq!(h.differs(start, &want), 0);
                let flipped: Vec<u8> = want.iter().map(|b| !b).collect();
                prop_assert_eq!(h.differs(start, &flipped), want.len() as u64);
                // Bytes before what is remembered are not compared.
                prop_assert_eq!(h.differs(start.saturating_sub(5), &[0; 5][..start.min(5) as usize]), 0);
            }
        }
    }

    /// Runs segments through a half stream and returns the reconstructed
    /// stream (gaps as `None` bytes), the number of conflicts and FIN.
    fn run(
        isn: u32,
        segs: &[(u32, Vec<u8>, u32, bool)],
        acks: &[(usize, u32)],
    ) -> (Vec<Option<u8>>, usize, bool) {
        let mut h = HalfStream::new(64 << 10);
        h.syn(isn);
        let mut stream: Vec<Option<u8>> = Vec::new();
        let mut conflicts = 0;
        let mut fin = false;
        let mut sink = |e: HalfEvent<'_>| match e {
            HalfEvent::Data { offset, bytes, .. } => {
                assert_eq!(offset, stream.len() as u64, "data out of order");
                stream.extend(bytes.iter().map(|b| Some(*b)));
            }
            HalfEvent::Gap { offset, len, .. } => {
                assert_eq!(offset, stream.len() as u64, "gap out of order");
                stream.extend(std::iter::repeat_n(None, len as usize));
            }
            HalfEvent::Conflict { .. } => conflicts += 1,
            HalfEvent::Fin => fin = true,
        };
        for (i, (seq, data, missing, f)) in segs.iter().enumerate() {
            h.segment(*seq, data, *missing, *f, i as u64 + 1, &mut sink);
            for (at, ack) in acks {
                if *at == i {
                    h.ack(*ack, &mut sink);
                }
            }
        }
        h.flush(&mut sink);
        (stream, conflicts, fin)
    }

    #[test]
    fn in_order_out_of_order_and_duplicates() {
        let isn = 1000;
        let s = |off: u32, d: &[u8]| (isn + 1 + off, d.to_vec(), 0, false);
        let (st, c, _) = run(
            isn,
            &[
                s(0, b"abc"),
                s(6, b"ghi"),
                s(3, b"def"),
                s(3, b"def"),
                s(1, b"bc"),
            ],
            &[],
        );
        assert_eq!(st, b"abcdefghi".iter().map(|b| Some(*b)).collect::<Vec<_>>());
        assert_eq!(c, 0);
    }

    #[test]
    fn conflicting_overlap_keeps_first_and_reports() {
        let isn = 7;
        let s = |off: u32, d: &[u8]| (isn + 1 + off, d.to_vec(), 0, false);
        // Delivered, then retransmitted with different bytes.
        let (st, c, _) = run(isn, &[s(0, b"hello"), s(0, b"HELLO")], &[]);
        assert_eq!(st.iter().map(|b| b.unwrap()).collect::<Vec<_>>(), b"hello");
        assert_eq!(c, 1);
        // Pending (out of order), then overlapped with different bytes.
        let (st, c, _) = run(isn, &[s(4, b"wxyz"), s(2, b"CDWXy"), s(0, b"ab")], &[]);
        assert_eq!(st.iter().map(|b| b.unwrap()).collect::<Vec<_>>(), b"abCDwxyz");
        assert_eq!(c, 1);
    }

    #[test]
    fn sequence_wraparound() {
        let isn = u32::MAX - 2;
        let segs = [
            (isn.wrapping_add(1), b"ab".to_vec(), 0, false),
            (isn.wrapping_add(5), b"ef".to_vec(), 0, false),
            (isn.wrapping_add(3), b"cd".to_vec(), 0, true),
        ];
        let (st, _, _) = run(isn, &segs, &[]);
        assert_eq!(st.iter().map(|b| b.unwrap()).collect::<Vec<_>>(), b"abcdef");
    }

    #[test]
    fn snaplen_missing_is_a_gap_and_fin_after_it() {
        let isn = 0;
        let (st, _, fin) = run(
            isn,
            &[(1, b"ab".to_vec(), 3, false), (6, b"z".to_vec(), 0, true)],
            &[],
        );
        assert_eq!(st, vec![Some(b'a'), Some(b'b'), None, None, None, Some(b'z')]);
        assert!(fin);
    }

    #[test]
    fn acked_hole_becomes_gap_immediately() {
        let mut h = HalfStream::new(0);
        h.syn(0);
        let mut ev = Vec::new();
        h.segment(1, b"ab", 0, false, 1, &mut |e| ev.push(format!("{e:?}")));
        h.segment(6, b"fg", 0, false, 2, &mut |e| ev.push(format!("{e:?}")));
        assert_eq!(ev.len(), 1, "hole not yet confirmed: {ev:?}");
        h.ack(8, &mut |e| ev.push(format!("{e:?}")));
        assert_eq!(ev.len(), 3, "{ev:?}");
        assert!(
            ev[1].contains("Gap { offset: 2, len: 3, reason: Lost }"),
            "{ev:?}"
        );
    }

    /// Segments of a stream, for the property tests.
    fn cut(data: &[u8], cuts: &[usize]) -> Vec<(usize, usize)> {
        let mut points: Vec<usize> = cuts.iter().map(|c| c % (data.len() + 1)).collect();
        points.push(0);
        points.push(data.len());
        points.sort_unstable();
        points.dedup();
        points.windows(2).map(|w| (w[0], w[1])).collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]

        /// Random stream, random segmentation, shuffled, duplicated and
        /// overlapped (same bytes): reassembles to exactly the original.
        #[test]
        fn reorder_duplicate_overlap_is_exact(
            data in proptest::collection::vec(any::<u8>(), 1..3000),
            cuts in proptest::collection::vec(any::<usize>(), 0..40),
            isn in any::<u32>(),
            shuffle in proptest::collection::vec(any::<u32>(), 0..80),
            overlaps in proptest::collection::vec((any::<usize>(), 1usize..200), 0..10),
        ) {
            let mut segs: Vec<(u32, Vec<u8>, u32, bool)> = cut(&data, &cuts)
                .into_iter()
                .map(|(a, b)| (isn.wrapping_add(1).wrapping_add(a as u32), data[a..b].to_vec(), 0, false))
                .collect();
            for (at, len) in overlaps {
                let a = at % data.len();
                let b = (a + len).min(data.len());
                segs.push((isn.wrapping_add(1).wrapping_add(a as u32), data[a..b].to_vec(), 0, false));
            }
            let n = segs.len();
            for (i, r) in shuffle.iter().enumerate() {
                segs.swap(i % n, *r as usize % n);
            }
            // Duplicates.
            let dups: Vec<_> = segs.iter().step_by(3).cloned().collect();
            segs.extend(dups);
            let (st, conflicts, _) = run(isn, &segs, &[]);
            prop_assert_eq!(conflicts, 0);
            prop_assert_eq!(st, data.iter().map(|b| Some(*b)).collect::<Vec<_>>());
        }

        /// With segments dropped, the output is the original with gaps of
        /// exactly the dropped sizes, wherever the drop is.
        #[test]
        fn dropped_segments_become_exact_gaps(
            data in proptest::collection::vec(any::<u8>(), 1..3000),
            cuts in proptest::collection::vec(any::<usize>(), 1..40),
            isn in any::<u32>(),
            drop_mask in any::<u64>(),
            shuffle in proptest::collection::vec(any::<u32>(), 0..40),
            with_acks in any::<bool>(),
        ) {
            let pieces = cut(&data, &cuts);
            let mut expected: Vec<Option<u8>> = Vec::new();
            let mut segs = Vec::new();
            let mut dropped_pieces = Vec::new();
            for (i, &(a, b)) in pieces.iter().enumerate() {
                // Never drop the last piece, so the stream's end is known.
                let dropped = i + 1 < pieces.len() && drop_mask & (1 << (i % 64)) != 0;
                dropped_pieces.push(dropped);
                if dropped {
                    expected.extend(std::iter::repeat_n(None, b - a));
                } else {
                    expected.extend(data[a..b].iter().map(|x| Some(*x)));
                    segs.push((isn.wrapping_add(1).wrapping_add(a as u32), data[a..b].to_vec(), 0, false));
                }
            }
            let n = segs.len();
            for (i, r) in shuffle.iter().enumerate() {
                segs.swap(i % n, *r as usize % n);
            }
            // Optionally the receiver acknowledges midway what it can: the
            // longest prefix of pieces it received, i.e. that were fed so far
            // or lost only at the capture point (dropped here).
            let acks = if with_acks {
                let mid = n / 2;
                let fed: Vec<u32> = segs[..=mid].iter().map(|s| s.0).collect();
                let mut upto = 0usize;
                for (i, &(a, b)) in pieces.iter().enumerate() {
                    let seq = isn.wrapping_add(1).wrapping_add(a as u32);
                    if dropped_pieces[i] || fed.contains(&seq) { upto = b; } else { break; }
                }
                vec![(mid, isn.wrapping_add(1).wrapping_add(upto as u32))]
            } else { vec![] };
            let (st, _, _) = run(isn, &segs, &acks);
            prop_assert_eq!(st, expected);
        }
    }
}
