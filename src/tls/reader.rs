//! A checked reader over TLS wire bytes, after rustls' `msgs/codec.rs`.
//!
//! Every read returns `Option`: `None` means the bytes ran out, and the
//! reader is then left where it was, so a caller can report what was
//! truncated. Length-prefixed vectors (`opaque x<0..2^16-1>` and friends)
//! are read with [`Reader::sub`], which hands back a reader bounded to the
//! vector, so that nothing inside a vector can read past its end. No method
//! indexes, unwraps or overflows: a wire length can only ever select bytes
//! that are present.

#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::arithmetic_side_effects
)]

/// A cursor over a byte slice; reads never panic.
#[derive(Clone, Debug)]
pub struct Reader<'a> {
    /// The bytes not read yet.
    rest: &'a [u8],
    /// Bytes read so far (for [`Reader::used`]).
    used: usize,
}

impl<'a> Reader<'a> {
    /// A reader at the start of `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { rest: buf, used: 0 }
    }

    /// The next `n` bytes, or `None` (and nothing consumed) when fewer are left.
    pub fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (head, tail) = self.rest.split_at_checked(n)?;
        self.rest = tail;
        // `n <= buf.len()` bytes in total are ever consumed, so this cannot
        // overflow; saturate anyway rather than carry an arithmetic proof.
        self.used = self.used.saturating_add(n);
        Some(head)
    }

    /// The next `N` bytes as an array.
    pub fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        let b = self.rest.first_chunk::<N>()?;
        let out = *b;
        self.take(N)?;
        Some(out)
    }

    /// A `uint8`.
    pub fn u8(&mut self) -> Option<u8> {
        self.array::<1>().map(|[b]| b)
    }

    /// A big-endian `uint16`.
    pub fn u16(&mut self) -> Option<u16> {
        self.array::<2>().map(u16::from_be_bytes)
    }

    /// A big-endian `uint24` (handshake message lengths, certificate lists).
    pub fn u24(&mut self) -> Option<u32> {
        self.array::<3>()
            .map(|[a, b, c]| u32::from_be_bytes([0, a, b, c]))
    }

    /// A big-endian `uint32`.
    pub fn u32(&mut self) -> Option<u32> {
        self.array::<4>().map(u32::from_be_bytes)
    }

    /// A vector prefixed by a big-endian length of `len_bytes` bytes (1, 2, 3
    /// or 4), as a reader bounded to the vector's contents. `None` (and
    /// nothing consumed) when the length or the contents are cut short, or
    /// when `len_bytes` is not 1..=4.
    pub fn sub(&mut self, len_bytes: usize) -> Option<Reader<'a>> {
        let mut probe = self.clone();
        let len = match len_bytes {
            1 => usize::from(probe.u8()?),
            2 => usize::from(probe.u16()?),
            3 => usize::try_from(probe.u24()?).ok()?,
            4 => usize::try_from(probe.u32()?).ok()?,
            _ => return None,
        };
        // `take` checks `len` against the bytes present: a length claiming
        // more than is left fails here instead of reading past the end.
        let body = probe.take(len)?;
        *self = probe;
        Some(Reader::new(body))
    }

    /// All the bytes left; the reader is empty afterwards.
    pub fn rest(&mut self) -> &'a [u8] {
        let r = self.rest;
        self.used = self.used.saturating_add(r.len());
        self.rest = &[];
        r
    }

    /// The bytes left, without consuming them.
    pub fn peek_rest(&self) -> &'a [u8] {
        self.rest
    }

    /// Whether any bytes are left.
    pub fn any_left(&self) -> bool {
        !self.rest.is_empty()
    }

    /// How many bytes are left.
    pub fn left(&self) -> usize {
        self.rest.len()
    }

    /// How many bytes were consumed.
    pub fn used(&self) -> usize {
        self.used
    }
}

#[cfg(test)]
#[allow(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::arithmetic_side_effects
)]
mod tests {
    use super::*;

    #[test]
    fn integers() {
        let mut r = Reader::new(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
        assert_eq!(r.u8(), Some(1));
        assert_eq!(r.u16(), Some(0x0203));
        assert_eq!(r.u24(), Some(0x040506));
        assert_eq!(r.used(), 6);
        assert_eq!(r.u32(), Some(0x0708090a));
        assert!(!r.any_left());
        assert_eq!(r.u8(), None);
    }

    #[test]
    fn short_reads_consume_nothing() {
        let mut r = Reader::new(&[1, 2]);
        assert_eq!(r.u24(), None);
        assert_eq!(r.u32(), None);
        assert_eq!(r.take(3), None);
        assert_eq!(r.left(), 2);
        assert_eq!(r.u16(), Some(0x0102));
        assert_eq!(r.take(0), Some(&[][..]));
    }

    #[test]
    fn sub_vectors() {
        // u16 length 3, then 3 bytes, then a trailing byte.
        let mut r = Reader::new(&[0, 3, 0xa, 0xb, 0xc, 0xd]);
        let mut v = r.sub(2).unwrap();
        assert_eq!(v.rest(), &[0xa, 0xb, 0xc]);
        assert_eq!(r.rest(), &[0xd]);

        // Claimed length past the end: nothing consumed.
        let mut r = Reader::new(&[5, 1, 2]);
        assert!(r.sub(1).is_none());
        assert_eq!(r.left(), 3);
        // Length field itself cut short.
        let mut r = Reader::new(&[0, 0]);
        assert!(r.sub(3).is_none());
        assert_eq!(r.left(), 2);
        // Unsupported widths.
        assert!(Reader::new(&[0; 8]).sub(0).is_none());
        assert!(Reader::new(&[0; 8]).sub(5).is_none());
        // u24 and u32 prefixes, empty bodies.
        let mut r = Reader::new(&[0, 0, 0, 0, 0, 0, 0]);
        assert!(!r.sub(3).unwrap().any_left());
        assert!(!r.sub(4).unwrap().any_left());
        assert!(!r.any_left());
    }

    #[test]
    fn sub_cannot_read_past_its_end() {
        let mut r = Reader::new(&[1, 0xaa, 0xbb]);
        let mut v = r.sub(1).unwrap();
        assert_eq!(v.u16(), None);
        assert_eq!(v.u8(), Some(0xaa));
        assert_eq!(r.u8(), Some(0xbb));
    }
}
