//! The WebSocket frame header codec (RFC 6455 §5.2) and unmasking.
//!
//! [`parse_header`] reads a header from the start of a byte slice without
//! copying or judging it: reserved opcodes and RSV bits, non-minimal lengths
//! and 64-bit lengths with the top bit set are all reported as they are, so
//! that [`super::rules`] can flag them. After `parse_header` succeeds no
//! accessor panics. [`unmask`] XORs eight bytes at a time and can continue
//! in the middle of a payload.

#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::arithmetic_side_effects
)]

pub use crate::model::Opcode;

/// A parsed frame header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameHeader {
    pub fin: bool,
    /// RSV1 = 4, RSV2 = 2, RSV3 = 1.
    pub rsv: u8,
    pub opcode: Opcode,
    pub masked: bool,
    pub mask_key: Option<[u8; 4]>,
    /// Declared payload length.
    pub payload_len: u64,
    /// Which length form was used: 7, 16 or 64 bits.
    pub len_bits: u8,
    /// Header length in bytes, 2..=14.
    pub header_len: usize,
}

impl FrameHeader {
    pub fn rsv1(&self) -> bool {
        self.rsv & 4 != 0
    }

    /// The length was not encoded in the shortest form (§5.2 "the minimal
    /// number of bytes MUST be used").
    pub fn non_minimal_length(&self) -> bool {
        match self.len_bits {
            16 => self.payload_len < 126,
            64 => self.payload_len <= 0xFFFF,
            _ => false,
        }
    }

    /// A 64-bit length with the most significant bit set (§5.2 forbids it).
    pub fn length_msb_set(&self) -> bool {
        self.len_bits == 64 && self.payload_len >> 63 != 0
    }
}

/// Not enough bytes for the header: at least `needed` bytes in total are required.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Incomplete(pub usize);

/// Parse a frame header from the start of `buf`.
pub fn parse_header(buf: &[u8]) -> Result<FrameHeader, Incomplete> {
    let (Some(&b0), Some(&b1)) = (buf.first(), buf.get(1)) else {
        return Err(Incomplete(2));
    };
    let masked = b1 & 0x80 != 0;
    let len7 = b1 & 0x7F;
    let (len_bytes, len_bits): (usize, u8) = match len7 {
        126 => (2, 16),
        127 => (8, 64),
        _ => (0, 7),
    };
    // At most 2 + 8 + 4 = 14: no overflow.
    let header_len = 2usize
        .saturating_add(len_bytes)
        .saturating_add(if masked { 4 } else { 0 });
    if buf.len() < header_len {
        return Err(Incomplete(header_len));
    }
    let ext = buf
        .get(2..2usize.saturating_add(len_bytes))
        .ok_or(Incomplete(header_len))?;
    // The extended length is read as an unsigned big-endian integer of at most
    // 8 bytes: `fold` over u64 with shifts by 8 cannot overflow.
    let payload_len = if len_bytes == 0 {
        u64::from(len7)
    } else {
        ext.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b))
    };
    let mask_key = if masked {
        let k = buf
            .get(header_len.saturating_sub(4)..header_len)
            .ok_or(Incomplete(header_len))?;
        let mut key = [0u8; 4];
        key.copy_from_slice(k);
        Some(key)
    } else {
        None
    };
    Ok(FrameHeader {
        fin: b0 & 0x80 != 0,
        rsv: (b0 >> 4) & 0x7,
        opcode: Opcode(b0 & 0x0F),
        masked,
        mask_key,
        payload_len,
        len_bits,
        header_len,
    })
}

/// The first bytes of a header the stream ended inside: what they show.
///
/// Byte 0 gives FIN, RSV and the opcode; byte 1 MASK and the 7-bit length;
/// the extended length and the masking key only when all their bytes are
/// there. Fields the bytes do not hold keep neutral values (`masked` false,
/// `mask_key` `None`, `payload_len` 0, `len_bits` 0): check `mask_known` and
/// `len_known` before judging them. `header_len` is the bytes captured.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeaderPrefix {
    pub header: FrameHeader,
    /// Byte 1 (MASK and the 7-bit length) was captured.
    pub mask_known: bool,
    /// The whole payload length (7-bit, or its extended bytes) was captured.
    pub len_known: bool,
    /// The header bytes captured.
    pub bytes: Box<[u8]>,
}

/// Read what the (incomplete) header bytes `buf` show; `None` when `buf` is
/// empty or already a whole header.
pub fn parse_header_prefix(buf: &[u8]) -> Option<HeaderPrefix> {
    let &b0 = buf.first()?;
    if parse_header(buf).is_ok() {
        return None;
    }
    let mut header = FrameHeader {
        fin: b0 & 0x80 != 0,
        rsv: (b0 >> 4) & 0x7,
        opcode: Opcode(b0 & 0x0F),
        masked: false,
        mask_key: None,
        payload_len: 0,
        len_bits: 0,
        header_len: buf.len(),
    };
    let mut len_known = false;
    if let Some(&b1) = buf.get(1) {
        header.masked = b1 & 0x80 != 0;
        let len7 = b1 & 0x7F;
        let len_bytes: usize = match len7 {
            126 => 2,
            127 => 8,
            _ => 0,
        };
        header.len_bits = match len_bytes {
            2 => 16,
            8 => 64,
            _ => 7,
        };
        // 2 + at most 8: no overflow.
        if let Some(ext) = buf.get(2..2usize.saturating_add(len_bytes)) {
            len_known = true;
            header.payload_len = if len_bytes == 0 {
                u64::from(len7)
            } else {
                ext.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b))
            };
        }
    }
    Some(HeaderPrefix {
        header,
        mask_known: buf.len() >= 2,
        len_known,
        bytes: buf.into(),
    })
}

/// Length form for [`encode_frame_with`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LenForm {
    /// The shortest form for the length.
    Minimal,
    Bits16,
    Bits64,
}

/// Encode a frame (tests, benches, fixtures): header + (masked) payload.
pub fn encode_frame(fin: bool, rsv: u8, opcode: u8, mask: Option<[u8; 4]>, payload: &[u8]) -> Vec<u8> {
    encode_frame_with(fin, rsv, opcode, mask, payload, LenForm::Minimal)
}

/// [`encode_frame`] with a chosen length form (to craft non-minimal lengths).
pub fn encode_frame_with(
    fin: bool,
    rsv: u8,
    opcode: u8,
    mask: Option<[u8; 4]>,
    payload: &[u8],
    form: LenForm,
) -> Vec<u8> {
    let mut out = encode_header(fin, rsv, opcode, mask, payload.len() as u64, form);
    let start = out.len();
    out.extend_from_slice(payload);
    if let Some(key) = mask {
        unmask(out.get_mut(start..).unwrap_or_default(), key, 0);
    }
    out
}

/// Encode just a header declaring `len` payload bytes (for liars and fuzzing).
pub fn encode_header(
    fin: bool,
    rsv: u8,
    opcode: u8,
    mask: Option<[u8; 4]>,
    len: u64,
    form: LenForm,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(14);
    out.push(u8::from(fin) << 7 | (rsv & 7) << 4 | (opcode & 0xF));
    let m = if mask.is_some() { 0x80 } else { 0 };
    let form = match form {
        LenForm::Minimal if len < 126 => None,
        LenForm::Minimal if len <= 0xFFFF => Some(LenForm::Bits16),
        LenForm::Minimal => Some(LenForm::Bits64),
        f => Some(f),
    };
    match form {
        None => out.push(m | len as u8),
        Some(LenForm::Bits16) => {
            out.push(m | 126);
            out.extend_from_slice(&(len as u16).to_be_bytes());
        }
        Some(_) => {
            out.push(m | 127);
            out.extend_from_slice(&len.to_be_bytes());
        }
    }
    if let Some(key) = mask {
        out.extend_from_slice(&key);
    }
    out
}

/// XOR `buf` with the masking key, where `buf` starts `offset` bytes into the
/// payload (so a payload can be unmasked in several pieces). Eight bytes at a
/// time; masking and unmasking are the same operation.
pub fn unmask(buf: &mut [u8], key: [u8; 4], offset: usize) {
    let mut k = key;
    k.rotate_left(offset % 4);
    let word = u64::from_ne_bytes([k[0], k[1], k[2], k[3], k[0], k[1], k[2], k[3]]);
    let mut chunks = buf.chunks_exact_mut(8);
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        let v = u64::from_ne_bytes(w) ^ word;
        c.copy_from_slice(&v.to_ne_bytes());
    }
    // Each chunk is 8 bytes, a multiple of 4: the phase is unchanged here.
    for (b, m) in chunks.into_remainder().iter_mut().zip(k.iter().cycle()) {
        *b ^= m;
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
    use proptest::prelude::*;

    #[test]
    fn header_prefix_shows_what_its_bytes_hold() {
        assert_eq!(parse_header_prefix(&[]), None);
        // A whole header is not a prefix.
        assert_eq!(parse_header_prefix(&[0x81, 0x05]), None);
        // Autobahn 4.1.5: FIN + reserved opcode 7, nothing more.
        let p = parse_header_prefix(&[0x87]).unwrap();
        assert!(p.header.fin);
        assert_eq!(p.header.opcode.0, 7);
        assert_eq!((p.header.rsv, p.header.header_len, p.header.len_bits), (0, 1, 0));
        assert!(!p.mask_known && !p.len_known);
        // MASK and a 7-bit length, the key cut.
        let p = parse_header_prefix(&[0x72, 0x85, 1, 2]).unwrap();
        assert!(!p.header.fin);
        assert_eq!(p.header.rsv, 7);
        assert!(p.header.masked && p.mask_known && p.len_known);
        assert_eq!(
            (p.header.payload_len, p.header.len_bits, p.header.mask_key),
            (5, 7, None)
        );
        // 16-bit length cut after one of its bytes: the length is unknown.
        let p = parse_header_prefix(&[0x82, 0x7E, 0x01]).unwrap();
        assert!(!p.len_known);
        assert_eq!((p.header.payload_len, p.header.len_bits), (0, 16));
        // 64-bit length whole, the key cut.
        let mut b = vec![0x82, 0xFF];
        b.extend(70_000u64.to_be_bytes());
        b.extend([9, 9]);
        let p = parse_header_prefix(&b).unwrap();
        assert!(p.len_known);
        assert_eq!(
            (p.header.payload_len, p.header.len_bits, p.header.header_len),
            (70_000, 64, 12)
        );
    }

    #[test]
    fn rfc_unmasked_hello() {
        let b = [0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f];
        let h = parse_header(&b).unwrap();
        assert!(h.fin);
        assert_eq!(h.opcode, Opcode::TEXT);
        assert!(!h.masked);
        assert_eq!(h.payload_len, 5);
        assert_eq!(h.header_len, 2);
        assert_eq!(h.len_bits, 7);
        assert_eq!(&b[h.header_len..], b"Hello");
    }

    #[test]
    fn rfc_masked_hello() {
        let b = [0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58];
        let h = parse_header(&b).unwrap();
        assert!(h.masked);
        assert_eq!(h.mask_key, Some([0x37, 0xfa, 0x21, 0x3d]));
        assert_eq!(h.header_len, 6);
        let mut p = b[6..].to_vec();
        unmask(&mut p, h.mask_key.unwrap(), 0);
        assert_eq!(p, b"Hello");
        // In pieces: the mask phase continues.
        let mut p = b[6..].to_vec();
        let (a, rest) = p.split_at_mut(3);
        unmask(a, [0x37, 0xfa, 0x21, 0x3d], 0);
        unmask(rest, [0x37, 0xfa, 0x21, 0x3d], 3);
        assert_eq!(p, b"Hello");
        assert_eq!(
            encode_frame(true, 0, 1, Some([0x37, 0xfa, 0x21, 0x3d]), b"Hello"),
            b
        );
    }

    #[test]
    fn rfc_fragmented_and_ping() {
        // "Hel" + "lo" unmasked fragments, RFC 6455 §5.7.
        let a = parse_header(&[0x01, 0x03, 0x48, 0x65, 0x6c]).unwrap();
        assert!(!a.fin);
        assert_eq!(a.opcode, Opcode::TEXT);
        let b = parse_header(&[0x80, 0x02, 0x6c, 0x6f]).unwrap();
        assert!(b.fin);
        assert_eq!(b.opcode, Opcode::CONTINUATION);
        let p = parse_header(&[0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]).unwrap();
        assert_eq!(p.opcode, Opcode::PING);
        assert!(p.opcode.is_control());
    }

    #[test]
    fn length_forms() {
        // 256 bytes: 16-bit form (RFC 6455 §5.7).
        let h = parse_header(&[0x82, 0x7E, 0x01, 0x00]).unwrap();
        assert_eq!((h.payload_len, h.len_bits, h.header_len), (256, 16, 4));
        assert!(!h.non_minimal_length());
        // 64 KiB: 64-bit form.
        let h = parse_header(&[0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0]).unwrap();
        assert_eq!((h.payload_len, h.len_bits, h.header_len), (65536, 64, 10));
        assert!(!h.non_minimal_length());
        // Non-minimal: 5 in 16 bits, 300 in 64 bits.
        assert!(parse_header(&[0x82, 0x7E, 0, 5]).unwrap().non_minimal_length());
        assert!(
            parse_header(&[0x82, 0x7F, 0, 0, 0, 0, 0, 0, 1, 44])
                .unwrap()
                .non_minimal_length()
        );
        // Masked 64-bit header is 14 bytes.
        let h = parse_header(&encode_header(
            true,
            0,
            2,
            Some([1, 2, 3, 4]),
            1 << 20,
            LenForm::Minimal,
        ))
        .unwrap();
        assert_eq!(
            (h.header_len, h.payload_len, h.mask_key),
            (14, 1 << 20, Some([1, 2, 3, 4]))
        );
    }

    #[test]
    fn impossible_length() {
        let h = parse_header(&[0x82, 0x7F, 0x80, 0, 0, 0, 0, 0, 0, 0]).unwrap();
        assert_eq!(h.payload_len, 1 << 63);
        assert!(h.length_msb_set());
        let h = parse_header(&[0x82, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]).unwrap();
        assert_eq!(h.payload_len, u64::MAX);
    }

    #[test]
    fn truncated_headers() {
        assert_eq!(parse_header(&[]), Err(Incomplete(2)));
        assert_eq!(parse_header(&[0x81]), Err(Incomplete(2)));
        assert_eq!(parse_header(&[0x81, 0x85, 1, 2, 3]), Err(Incomplete(6)));
        assert_eq!(parse_header(&[0x82, 0x7E, 1]), Err(Incomplete(4)));
        assert_eq!(
            parse_header(&[0x82, 0xFF, 0, 0, 0, 0, 0, 0, 0, 5, 1]),
            Err(Incomplete(14))
        );
    }

    #[test]
    fn reserved_values_kept() {
        let h = parse_header(&[0x73, 0x00]).unwrap();
        assert_eq!(h.rsv, 0b111);
        assert_eq!(h.opcode, Opcode(3));
        assert!(!h.opcode.is_defined());
        assert_eq!(h.opcode.name(), "reserved-0x3");
        assert_eq!(Opcode(0xB).name(), "reserved-0xb");
    }

    proptest! {
        #[test]
        fn unmask_in_pieces_matches_bytewise(data in proptest::collection::vec(any::<u8>(), 0..100),
                                            key in any::<[u8;4]>(), cut in 0usize..100) {
            let cut = cut.min(data.len());
            let expect: Vec<u8> = data.iter().enumerate().map(|(i, b)| b ^ key[i % 4]).collect();
            let mut got = data.clone();
            let (a, b) = got.split_at_mut(cut);
            unmask(a, key, 0);
            unmask(b, key, cut);
            prop_assert_eq!(got, expect);
        }

        #[test]
        fn header_roundtrip(fin in any::<bool>(), rsv in 0u8..8, op in 0u8..16,
                            mask in proptest::option::of(any::<[u8;4]>()), len in any::<u64>(),
                            form in 0u8..3) {
            let form = [LenForm::Minimal, LenForm::Bits16, LenForm::Bits64][form as usize];
            let len = if form == LenForm::Bits16 { len & 0xFFFF } else { len };
            let b = encode_header(fin, rsv, op, mask, len, form);
            let h = parse_header(&b).unwrap();
            prop_assert_eq!((h.fin, h.rsv, h.opcode.0, h.mask_key, h.payload_len, h.header_len),
                            (fin, rsv, op, mask, len, b.len()));
            for cut in 0..b.len() {
                prop_assert!(parse_header(&b[..cut]).is_err());
            }
        }
    }
}
