//! Payload bytes of the timeline's rows, appended to large chunks (one
//! allocation per 16 MiB instead of one per payload).

/// Where a row's payload bytes live in the arena: one `u64` (a row is
/// held per frame and message, so its size counts): the position in the
/// arena (chunk × [`CHUNK`] + offset) in the high 40 bits (1 TiB), the
/// length in the low 24 (16 MiB: more than any payload the store keeps
/// whole, see [`super::Budget::max_each`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DataRef(u64);

const LEN_BITS: u32 = 24;
const MAX_LEN: usize = (1 << LEN_BITS) - 1;

impl DataRef {
    fn new(chunk: usize, off: usize, len: usize) -> Option<DataRef> {
        let pos = (chunk as u64)
            .checked_mul(CHUNK as u64)?
            .checked_add(off as u64)?;
        (len <= MAX_LEN && pos < 1 << (64 - LEN_BITS)).then_some(DataRef(pos << LEN_BITS | len as u64))
    }

    fn chunk(self) -> usize {
        ((self.0 >> LEN_BITS) / CHUNK as u64) as usize
    }

    fn off(self) -> usize {
        ((self.0 >> LEN_BITS) % CHUNK as u64) as usize
    }

    fn len(self) -> usize {
        (self.0 & MAX_LEN as u64) as usize
    }
}

const CHUNK: usize = 16 << 20;

#[derive(Debug, Default)]
pub struct Arena {
    chunks: Vec<Vec<u8>>,
    /// Bytes written to the chunks (previews included). A chunk's unused
    /// tail is reserved address space, not memory: pages are only touched
    /// as they are written, so this is what the arena costs.
    used: usize,
}

impl Arena {
    /// The bytes behind a ref (empty for the default ref).
    pub fn get(&self, d: DataRef) -> &[u8] {
        self.chunks
            .get(d.chunk())
            .and_then(|c| c.get(d.off()..d.off() + d.len()))
            .unwrap_or(&[])
    }

    /// Appends `bytes`.
    pub fn put(&mut self, bytes: &[u8]) -> DataRef {
        let n = bytes.len();
        // Nothing bigger than a chunk: a payload never spans two, and a
        // position is chunk × CHUNK + offset.
        if n == 0 || n > CHUNK.min(MAX_LEN) {
            return DataRef::default();
        }
        let need_new = self.chunks.last().is_none_or(|c| c.len() + n > c.capacity());
        if need_new {
            self.chunks.push(Vec::with_capacity(CHUNK));
        }
        let chunk = self.chunks.len() - 1;
        let Some(c) = self.chunks.last_mut() else {
            return DataRef::default();
        };
        let off = c.len();
        let Some(d) = DataRef::new(chunk, off, n) else {
            return DataRef::default();
        };
        c.extend_from_slice(bytes);
        self.used += n;
        d
    }

    /// What the arena holds, in bytes.
    pub fn held(&self) -> usize {
        self.used + self.chunks.capacity() * std::mem::size_of::<Vec<u8>>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refs_find_their_bytes_across_chunks() {
        let mut a = Arena::default();
        let big = vec![7u8; CHUNK - 10];
        let r1 = a.put(&big);
        let r2 = a.put(b"0123456789abcdef"); // does not fit: a new chunk
        let r3 = a.put(b"xyz");
        assert_eq!(a.get(r1), &big[..]);
        assert_eq!(a.get(r2), b"0123456789abcdef");
        assert_eq!(a.get(r3), b"xyz");
        assert_eq!((r2.chunk(), r2.off(), r2.len()), (1, 0, 16));
        assert_eq!(a.get(DataRef::default()), b"");
        assert_eq!(a.put(&vec![0; CHUNK + 1]), DataRef::default());
    }
}
