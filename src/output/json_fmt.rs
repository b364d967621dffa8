//! The JSON Lines writer's hot loops: hex, integers, timestamps and string
//! escaping, appended straight to the output buffer.
//!
//! A capture's JSON Lines is mostly payload (hex of frames, text of
//! messages), so these decide how fast `dump --format jsonl` writes. Each
//! writes exactly what the obvious version wrote (`hex::encode`, `{}` of an
//! integer, [`Timestamp::to_decimal`], `serde_json`'s escaping): the output
//! is a contract, byte for byte; the tests below hold them to that.

use crate::event::Timestamp;

/// The two lowercase hex digits of every byte value.
static HEX_PAIRS: [[u8; 2]; 256] = {
    let digits = b"0123456789abcdef";
    let mut t = [[0u8; 2]; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = [digits[i >> 4], digits[i & 0x0f]];
        i += 1;
    }
    t
};

/// Appends `bytes` as lowercase hex (what `hex::encode` writes): both
/// digits of a byte at once from a table, into space made once (measured
/// at 2.5× the `hex` crate's digit-at-a-time encoder).
pub fn push_hex(out: &mut Vec<u8>, bytes: &[u8]) {
    let start = out.len();
    out.resize(start + bytes.len() * 2, 0);
    let dst = out.get_mut(start..).unwrap_or_default();
    for (pair, &b) in dst.chunks_exact_mut(2).zip(bytes) {
        pair.copy_from_slice(&HEX_PAIRS[usize::from(b)]);
    }
}

/// The two lowercase hex digits of `b` (for the dump formats too).
#[inline]
pub fn hex_pair(b: u8) -> [u8; 2] {
    HEX_PAIRS[usize::from(b)]
}

/// Appends `v` in lowercase hex, at least `width` digits, zero-padded (what
/// `{v:0width$x}` writes).
pub fn push_hex_padded(out: &mut Vec<u8>, v: u64, width: usize) {
    let digits = if v == 0 {
        1
    } else {
        (64 - v.leading_zeros() as usize).div_ceil(4)
    };
    out.resize(out.len() + width.saturating_sub(digits), b'0');
    for i in (0..digits).rev() {
        let nibble = (v >> (4 * i)) & 0xf;
        out.push(b"0123456789abcdef"[nibble as usize]);
    }
}

/// Appends `v` in decimal (what `{}` writes).
#[inline]
pub fn push_u64(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
}

/// Appends `t` as [`Timestamp::to_decimal`] writes it (`1700000000.123456789`),
/// without its `String`.
pub fn push_ts(out: &mut Vec<u8>, t: Timestamp) {
    if t.nanos >= 1_000_000_000 || (t.secs < 0 && t.nanos > 0) {
        // Out-of-range nanoseconds, or a negative time with a fraction
        // (-1.5 s is secs = -2, nanos = 5e8): rare; the reference does it.
        out.extend_from_slice(t.to_decimal().as_bytes());
        return;
    }
    out.extend_from_slice(itoa::Buffer::new().format(t.secs).as_bytes());
    let mut frac = *b".000000000";
    let mut n = t.nanos;
    for d in frac[1..].iter_mut().rev() {
        *d = b'0' + (n % 10) as u8;
        n /= 10;
    }
    out.extend_from_slice(&frac);
}

/// What a byte becomes inside a JSON string written by [`push_ascii_str`]:
/// `[first, second, length]`, length 1 (the byte itself), 2 (`\"`, `\\`,
/// `\n` and the other short escapes, as `serde_json` writes them) or 0 for
/// bytes it leaves to others (other C0 controls, DEL, non-ASCII).
static ESCAPE: [[u8; 3]; 256] = {
    let mut t = [[0u8; 3]; 256];
    let mut i = 0x20;
    while i < 0x7f {
        t[i] = [i as u8, 0, 1];
        i += 1;
    }
    t[b'"' as usize] = [b'\\', b'"', 2];
    t[b'\\' as usize] = [b'\\', b'\\', 2];
    t[0x08] = [b'\\', b'b', 2];
    t[0x09] = [b'\\', b't', 2];
    t[0x0a] = [b'\\', b'n', 2];
    t[0x0c] = [b'\\', b'f', 2];
    t[0x0d] = [b'\\', b'r', 2];
    t
};

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGH: u64 = 0x8080_8080_8080_8080;

/// Whether any of the 8 bytes in `x` is not copied as is into a JSON
/// string: below 0x20, `"`, `\`, DEL or non-ASCII (bit tricks on a word:
/// "has a zero byte" is `(v - 0x01..) & !v & 0x80..`).
fn any_special(x: u64) -> bool {
    let zero = |v: u64| v.wrapping_sub(ONES) & !v & HIGH;
    let below_space = x.wrapping_sub(ONES * 0x20) & !x & HIGH;
    (below_space
        | zero(x ^ (ONES * u64::from(b'"')))
        | zero(x ^ (ONES * u64::from(b'\\')))
        | zero(x ^ (ONES * 0x7f))
        | (x & HIGH))
        != 0
}

/// Appends `s` as a quoted JSON string exactly as `serde_json::to_writer`
/// writes it, when `s` is ASCII without DEL; `false` (and `out` as it was)
/// otherwise, for the caller's own escaping.
///
/// Eight bytes at a time: a word without a byte to escape is copied whole
/// (plain text goes at several GB/s); a word with one goes byte by byte
/// through [`ESCAPE`] without a branch per byte (JSON text, a quote every
/// few bytes, as fast as `serde_json`).
pub fn push_ascii_str(out: &mut Vec<u8>, s: &str) -> bool {
    let bytes = s.as_bytes();
    if bytes.len() <= 16 && bytes.iter().all(|&b| ESCAPE[usize::from(b)] == [b, 0, 1]) {
        // A short name (`c2s`, `text`, `lost`): nothing to escape.
        out.reserve(bytes.len() + 2);
        out.push(b'"');
        out.extend_from_slice(bytes);
        out.push(b'"');
        return true;
    }
    if fast_ascii_str(out, s) {
        return true;
    }
    if s.bytes().all(|b| b < 0x7f) {
        // Controls written as \u00XX: rare, serde_json's own.
        // Writing into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut *out, s);
        return true;
    }
    false
}

/// Writes `b` as [`ESCAPE`] says at `dst[*pos..]` (room for two bytes is
/// the caller's), moving `pos`; `false` for a byte it leaves to others.
#[inline(always)]
fn escape_into(dst: &mut [u8], pos: &mut usize, b: u8) -> bool {
    let [first, second, len] = ESCAPE[usize::from(b)];
    if len == 0 {
        return false;
    }
    dst[*pos] = first;
    dst[*pos + 1] = second;
    *pos += usize::from(len);
    true
}

/// [`push_ascii_str`] for strings whose bytes [`ESCAPE`] all handles;
/// `false` and `out` unchanged for any other.
fn fast_ascii_str(out: &mut Vec<u8>, s: &str) -> bool {
    let bytes = s.as_bytes();
    let start = out.len();
    // Every byte takes at most 2: `pos` stays below `1 + 2 * (bytes read)`,
    // so no index below goes past the end.
    out.resize(start + 2 + bytes.len() * 2, 0);
    let Some(dst) = out.get_mut(start..) else {
        return false;
    };
    dst[0] = b'"';
    let mut pos = 1;
    let mut words = bytes.chunks_exact(8);
    for w in &mut words {
        let Ok(w) = <[u8; 8]>::try_from(w) else { continue };
        if !any_special(u64::from_le_bytes(w)) {
            dst[pos..pos + 8].copy_from_slice(&w);
            pos += 8;
            continue;
        }
        for b in w {
            if !escape_into(dst, &mut pos, b) {
                out.truncate(start);
                return false;
            }
        }
    }
    for &b in words.remainder() {
        if !escape_into(dst, &mut pos, b) {
            out.truncate(start);
            return false;
        }
    }
    dst[pos] = b'"';
    out.truncate(start + pos + 1);
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small deterministic generator (xorshift), enough for test inputs.
    fn rng(mut s: u64) -> impl FnMut() -> u64 {
        move || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s
        }
    }

    #[test]
    fn hex_is_the_hex_crates() {
        let all: Vec<u8> = (0..=255).collect();
        let mut out = b"x".to_vec();
        push_hex(&mut out, &all);
        assert_eq!(out, [b"x".to_vec(), hex::encode(&all).into_bytes()].concat());
        let mut next = rng(0x9e37_79b9_7f4a_7c15);
        for _ in 0..500 {
            let len = (next() % 200) as usize;
            let v: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            let mut out = Vec::new();
            push_hex(&mut out, &v);
            assert_eq!(out, hex::encode(&v).into_bytes(), "{v:?}");
        }
        let mut out = Vec::new();
        push_hex(&mut out, &[]);
        assert!(out.is_empty());
    }

    #[test]
    fn integers_as_display() {
        let mut next = rng(7);
        let mut cases = vec![0, 1, 9, 10, 99, 100, u64::MAX, u64::MAX - 1, 1 << 32];
        cases.extend((0..1000).map(|_| next() >> (next() % 64)));
        for v in cases {
            let mut out = Vec::new();
            push_u64(&mut out, v);
            assert_eq!(out, v.to_string().into_bytes());
        }
    }

    #[test]
    fn timestamps_as_to_decimal() {
        let mut cases = vec![
            Timestamp::new(1_700_000_000, 123_456_789),
            Timestamp::new(0, 0),
            Timestamp::new(0, 1),
            Timestamp::new(-2, 500_000_000),
            Timestamp::new(-5, 0),
            Timestamp::new(i64::MAX, 999_999_999),
            Timestamp::new(i64::MIN, 0),
            Timestamp::new(i64::MIN, 1),
            Timestamp::new(3, 1_500_000_000),
            Timestamp::new(3, u32::MAX),
        ];
        let mut next = rng(99);
        cases.extend(
            (0..1000)
                .map(|_| Timestamp::new(next() as i64 >> (next() % 64), (next() % 1_000_000_000) as u32)),
        );
        for t in cases {
            let mut out = Vec::new();
            push_ts(&mut out, t);
            assert_eq!(String::from_utf8(out).unwrap(), t.to_decimal(), "{t:?}");
        }
    }

    #[test]
    fn ascii_strings_as_serde_json() {
        let mut all: String = (0u8..0x7f).map(char::from).collect();
        all.push_str("\"\\ plain");
        let mut next = rng(3);
        let mut cases = vec![String::new(), all, "a\"b\\c\n\t\r\x08\x0c\x00\x1f".into()];
        // Mostly what the fast path takes (printable, quotes, short
        // escapes), now and then a control it leaves to serde_json.
        let pool: Vec<char> = (0x20u8..0x7f)
            .map(char::from)
            .chain("\"\"\\\n\t\r\x08\x0c".chars())
            .collect();
        cases.extend((0..2000).map(|i| {
            let len = (next() % 100) as usize;
            let mut s: String = (0..len)
                .map(|_| pool[(next() % pool.len() as u64) as usize])
                .collect();
            if i % 10 == 0 {
                s.push('\x01');
            }
            s
        }));
        for s in cases {
            let mut out = b"[".to_vec();
            assert!(push_ascii_str(&mut out, &s));
            let mut want = b"[".to_vec();
            serde_json::to_writer(&mut want, &s).unwrap();
            assert_eq!(String::from_utf8(out).unwrap(), String::from_utf8(want).unwrap());
        }
        for s in ["a\u{7f}", "é", "ok\u{202e}"] {
            let mut out = b"[".to_vec();
            assert!(!push_ascii_str(&mut out, s));
            assert_eq!(out, b"[");
        }
    }

    #[test]
    fn hex_padded_is_format_x() {
        for v in [
            0u64,
            1,
            0xf,
            0x10,
            0xffff_ffff,
            0x1_0000_0000,
            0x1234_5678_9abc,
            u64::MAX,
        ] {
            for width in [0, 1, 8, 12] {
                let mut out = Vec::new();
                push_hex_padded(&mut out, v, width);
                assert_eq!(
                    String::from_utf8(out).unwrap(),
                    format!("{v:0width$x}"),
                    "{v} {width}"
                );
            }
        }
        for b in 0..=255u8 {
            assert_eq!(hex_pair(b), *format!("{b:02x}").as_bytes());
        }
    }
}
