//! Payload bytes of the timeline's rows, appended to large chunks (one
//! allocation per 16 MiB instead of one per payload).

/// Where a row's payload bytes live in the arena.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DataRef {
    chunk: u32,
    off: u32,
    len: u32,
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
            .get(d.chunk as usize)
            .and_then(|c| c.get(d.off as usize..d.off as usize + d.len as usize))
            .unwrap_or(&[])
    }

    /// Appends `bytes`.
    pub fn put(&mut self, bytes: &[u8]) -> DataRef {
        let n = bytes.len();
        if n == 0 {
            return DataRef::default();
        }
        let need_new = self.chunks.last().is_none_or(|c| c.len() + n > c.capacity());
        if need_new {
            self.chunks.push(Vec::with_capacity(CHUNK.max(n)));
        }
        let chunk = self.chunks.len() - 1;
        let Some(c) = self.chunks.last_mut() else {
            return DataRef::default();
        };
        let off = c.len();
        c.extend_from_slice(bytes);
        self.used += n;
        DataRef {
            chunk: chunk as u32,
            off: off as u32,
            len: n as u32,
        }
    }

    /// What the arena holds, in bytes.
    pub fn held(&self) -> usize {
        self.used + self.chunks.capacity() * std::mem::size_of::<Vec<u8>>()
    }
}
