//! Byte dumps laid out exactly like the classic tools, so that a user can
//! diff our output against theirs: [`hexdump_c`] is `hexdump -C` (with
//! `squeeze = false`: `hexdump -Cv`), [`xxd`] is `xxd`'s default layout.
//! The hex digits come from the `hex` crate; the layout is ours.
//!
//! Also here: [`frame_header`], which rebuilds a WebSocket frame's header
//! bytes from a [`FrameEvent`], and [`annotate_frame`], which labels them.
//!
//! ```
//! let mut out = Vec::new();
//! wsscope::output::hexdump::hexdump_c(b"Hello, WebSocket!\n", true, &mut out).unwrap();
//! assert_eq!(
//!     String::from_utf8(out).unwrap(),
//!     "00000000  48 65 6c 6c 6f 2c 20 57  65 62 53 6f 63 6b 65 74  |Hello, WebSocket|\n\
//!      00000010  21 0a                                             |!.|\n\
//!      00000012\n"
//! );
//! let mut out = Vec::new();
//! wsscope::output::hexdump::xxd(b"Hello\n", &mut out).unwrap();
//! assert_eq!(
//!     String::from_utf8(out).unwrap(),
//!     "00000000: 4865 6c6c 6f0a                           Hello.\n"
//! );
//! ```

#![deny(clippy::indexing_slicing, clippy::unwrap_used)]

use super::json_fmt;
use crate::event::FrameEvent;
use crate::ws::frame::{LenForm, encode_header};
use std::io::{self, Write};

/// Bytes per dump line (both tools).
const LINE: usize = 16;

/// Lines are assembled into a buffer written out once it holds this much.
const FLUSH_AT: usize = 64 << 10;

/// Appends the printable-ASCII gutter of `chunk` (both tools print `.` for
/// everything outside 0x20..=0x7e).
fn push_gutter(buf: &mut Vec<u8>, chunk: &[u8]) {
    buf.extend(
        chunk
            .iter()
            .map(|&b| if (0x20..=0x7e).contains(&b) { b } else { b'.' }),
    );
}

/// Writes `data` exactly as `hexdump -C` prints it: an 8-digit (or wider)
/// hex offset, two groups of eight bytes, the `|ascii|` gutter, `*` in place
/// of lines repeating the one before (unless `squeeze` is false, like
/// `hexdump -Cv`), and a final line with the total length. Nothing at all
/// for empty data.
///
/// Lines are built from byte tables into one buffer, written every
/// [`FLUSH_AT`] bytes: a dump is four times its data, so this is what
/// `export` spends its time on.
pub fn hexdump_c(data: &[u8], squeeze: bool, out: &mut dyn Write) -> io::Result<()> {
    if data.is_empty() {
        return Ok(());
    }
    let mut buf: Vec<u8> = Vec::with_capacity(FLUSH_AT + 128);
    let mut prev: Option<&[u8]> = None;
    let mut starred = false;
    for (i, chunk) in data.chunks(LINE).enumerate() {
        // Only whole lines repeat: a short last line never equals a full one.
        if squeeze && prev == Some(chunk) {
            if !starred {
                buf.extend_from_slice(b"*\n");
                starred = true;
            }
            continue;
        }
        prev = Some(chunk);
        starred = false;
        json_fmt::push_hex_padded(&mut buf, i.saturating_mul(LINE) as u64, 8);
        buf.extend_from_slice(b"  ");
        for k in 0..LINE {
            if k == 8 {
                buf.push(b' ');
            }
            match chunk.get(k) {
                Some(&b) => {
                    buf.extend_from_slice(&json_fmt::hex_pair(b));
                    buf.push(b' ');
                }
                None => buf.extend_from_slice(b"   "),
            }
        }
        buf.extend_from_slice(b" |");
        push_gutter(&mut buf, chunk);
        buf.extend_from_slice(b"|\n");
        if buf.len() >= FLUSH_AT {
            out.write_all(&buf)?;
            buf.clear();
        }
    }
    json_fmt::push_hex_padded(&mut buf, data.len() as u64, 8);
    buf.push(b'\n');
    out.write_all(&buf)
}

/// Writes `data` exactly as `xxd` (no options) prints it: `offset: ` then
/// eight groups of two bytes, padded, two spaces, and the ASCII column.
/// Nothing for empty data.
pub fn xxd(data: &[u8], out: &mut dyn Write) -> io::Result<()> {
    let mut buf: Vec<u8> = Vec::with_capacity(FLUSH_AT + 128);
    for (i, chunk) in data.chunks(LINE).enumerate() {
        json_fmt::push_hex_padded(&mut buf, i.saturating_mul(LINE) as u64, 8);
        buf.extend_from_slice(b": ");
        for k in 0..LINE {
            if k > 0 && k % 2 == 0 {
                buf.push(b' ');
            }
            match chunk.get(k) {
                Some(&b) => buf.extend_from_slice(&json_fmt::hex_pair(b)),
                None => buf.extend_from_slice(b"  "),
            }
        }
        buf.extend_from_slice(b"  ");
        push_gutter(&mut buf, chunk);
        buf.push(b'\n');
        if buf.len() >= FLUSH_AT {
            out.write_all(&buf)?;
            buf.clear();
        }
    }
    out.write_all(&buf)
}

/// One labelled part of a frame header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeaderPart {
    pub bytes: Vec<u8>,
    pub label: String,
}

/// Rebuilds a frame's header bytes from its event (RFC 6455 §5.2), in the
/// length form the frame used (`len_bits`), split into labelled parts:
/// FIN/RSV/opcode byte, MASK/length byte, extended length, masking key.
pub fn frame_header(f: &FrameEvent) -> Vec<HeaderPart> {
    // The one header encoder, in the form the frame used on the wire.
    let form = match f.len_bits {
        16 => LenForm::Bits16,
        64 => LenForm::Bits64,
        _ => LenForm::Minimal,
    };
    let key = if f.masked { f.mask_key } else { None };
    let enc = encode_header(f.fin, f.rsv, f.opcode, key, f.len, form);
    let ext_len = match f.len_bits {
        16 => 2,
        64 => 8,
        _ => 0,
    };
    let byte0 = enc.first().copied().unwrap_or(0);
    let byte1 = enc.get(1).copied().unwrap_or(0);
    let len7 = byte1 & 0x7F;
    let ext: Vec<u8> = enc.get(2..2 + ext_len).unwrap_or_default().to_vec();
    let op = crate::ws::frame::Opcode(f.opcode).name();
    let rsv = |bit: u8| u8::from(f.rsv & bit != 0);
    let mut parts = vec![
        HeaderPart {
            bytes: vec![byte0],
            label: format!(
                "FIN={} RSV1={} RSV2={} RSV3={} opcode=0x{:x} ({op})",
                u8::from(f.fin),
                rsv(4),
                rsv(2),
                rsv(1),
                f.opcode & 0xF
            ),
        },
        HeaderPart {
            bytes: vec![byte1],
            label: match len7 {
                126 => format!("MASK={} length=126: 16-bit length follows", u8::from(f.masked)),
                127 => format!("MASK={} length=127: 64-bit length follows", u8::from(f.masked)),
                n => format!("MASK={} length={n}", u8::from(f.masked)),
            },
        },
    ];
    if !ext.is_empty() {
        parts.push(HeaderPart {
            bytes: ext,
            label: format!("extended payload length = {}", f.len),
        });
    }
    if let Some(key) = key {
        parts.push(HeaderPart {
            bytes: key.to_vec(),
            label: "masking key".to_string(),
        });
    }
    match &f.header_bytes {
        Some(raw) => cut_parts(raw),
        None => parts,
    }
}

/// The parts of a header the stream ended inside, from its captured bytes:
/// the fields cannot say what a piece of an extended length or of a
/// masking key held, the bytes can.
fn cut_parts(raw: &[u8]) -> Vec<HeaderPart> {
    let mut parts = Vec::new();
    let Some(&b0) = raw.first() else { return parts };
    let op = crate::ws::frame::Opcode(b0 & 0x0F).name();
    parts.push(HeaderPart {
        bytes: vec![b0],
        label: format!(
            "FIN={} RSV1={} RSV2={} RSV3={} opcode=0x{:x} ({op})",
            b0 >> 7,
            (b0 >> 6) & 1,
            (b0 >> 5) & 1,
            (b0 >> 4) & 1,
            b0 & 0x0F
        ),
    });
    let Some(&b1) = raw.get(1) else { return parts };
    let masked = b1 >> 7;
    let (ext_len, what) = match b1 & 0x7F {
        126 => (2, format!("MASK={masked} length=126: 16-bit length follows")),
        127 => (8, format!("MASK={masked} length=127: 64-bit length follows")),
        n => (0, format!("MASK={masked} length={n}")),
    };
    parts.push(HeaderPart {
        bytes: vec![b1],
        label: what,
    });
    let rest = raw.get(2..).unwrap_or_default();
    let (ext, key) = rest.split_at(ext_len.min(rest.len()));
    if ext_len > 0 && !ext.is_empty() {
        parts.push(HeaderPart {
            bytes: ext.to_vec(),
            label: if ext.len() < ext_len {
                format!("extended payload length (cut: {} of {ext_len} bytes)", ext.len())
            } else {
                let v = ext.iter().fold(0u64, |a, &b| a << 8 | u64::from(b));
                format!("extended payload length = {v}")
            },
        });
    }
    if masked == 1 && !key.is_empty() {
        parts.push(HeaderPart {
            bytes: key.to_vec(),
            label: format!("masking key (cut: {} of 4 bytes)", key.len()),
        });
    }
    parts
}

/// Writes the header of `f` as `#` comment lines: first all its bytes, then
/// one line per part with its bytes and label. Comment lines keep the dump
/// that follows byte-identical to `hexdump -C` once they are stripped.
pub fn annotate_frame(f: &FrameEvent, out: &mut dyn Write) -> io::Result<()> {
    let parts = frame_header(f);
    let spaced = |b: &[u8]| {
        let h = hex::encode(b);
        let mut s = String::with_capacity(h.len() * 3 / 2);
        for (i, c) in h.chars().enumerate() {
            if i > 0 && i % 2 == 0 {
                s.push(' ');
            }
            s.push(c);
        }
        s
    };
    let all: Vec<u8> = parts.iter().flat_map(|p| p.bytes.iter().copied()).collect();
    let mut first = format!("# header {}", spaced(&all));
    if usize::from(f.header_len) != all.len() {
        first.push_str(&format!(" (the frame declared a {}-byte header)", f.header_len));
    }
    writeln!(out, "{first}")?;
    let cells: Vec<String> = parts.iter().map(|p| spaced(&p.bytes)).collect();
    let width = cells.iter().map(|c| c.len()).max().unwrap_or(0);
    for (cell, p) in cells.iter().zip(&parts) {
        writeln!(out, "#   {cell:<width$}  {}", p.label)?;
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::event::{Dir, Timestamp};

    fn hd(data: &[u8], squeeze: bool) -> String {
        let mut v = Vec::new();
        hexdump_c(data, squeeze, &mut v).unwrap();
        String::from_utf8(v).unwrap()
    }

    fn x(data: &[u8]) -> String {
        let mut v = Vec::new();
        xxd(data, &mut v).unwrap();
        String::from_utf8(v).unwrap()
    }

    #[test]
    fn hexdump_short_full_and_long_lines() {
        assert_eq!(hd(b"", true), "");
        assert_eq!(
            hd(&[0xa4], true),
            "00000000  a4                                                |.|\n00000001\n"
        );
        assert_eq!(
            hd(b"\x7f\x80\xff ~\x1f", true),
            "00000000  7f 80 ff 20 7e 1f                                 |... ~.|\n00000006\n"
        );
        let nine: Vec<u8> = (0..9).collect();
        assert_eq!(
            hd(&nine, true),
            "00000000  00 01 02 03 04 05 06 07  08                       |.........|\n00000009\n"
        );
    }

    #[test]
    fn hexdump_squeezes_repeats_unless_told_not_to() {
        let mut d = vec![b'A'; 48];
        d.push(b'B');
        let line = "41 41 41 41 41 41 41 41  41 41 41 41 41 41 41 41  |AAAAAAAAAAAAAAAA|\n";
        assert_eq!(
            hd(&d, true),
            format!(
                "00000000  {line}*\n00000030  42                                                |B|\n00000031\n"
            )
        );
        assert_eq!(hd(&d[..48], true), format!("00000000  {line}*\n00000030\n"));
        assert_eq!(
            hd(&d[..32], false),
            format!("00000000  {line}00000010  {line}00000020\n")
        );
        // A repeat after a different line is printed again, then starred.
        let mut e = vec![0u8; 16];
        e.extend([1u8; 16]);
        e.extend([0u8; 16]);
        e.extend([0u8; 16]);
        let out = hd(&e, true);
        assert_eq!(out.matches('*').count(), 1, "{out}");
        assert!(out.contains("00000020  00 00"), "{out}");
    }

    #[test]
    fn xxd_layout() {
        assert_eq!(x(b""), "");
        assert_eq!(
            x(b"Hello\n"),
            "00000000: 4865 6c6c 6f0a                           Hello.\n"
        );
        let d: Vec<u8> = (0x41..0x52).collect();
        assert_eq!(
            x(&d),
            "00000000: 4142 4344 4546 4748 494a 4b4c 4d4e 4f50  ABCDEFGHIJKLMNOP\n\
             00000010: 51                                       Q\n"
        );
    }

    fn frame(len: u64, len_bits: u8, masked: bool) -> FrameEvent {
        FrameEvent {
            conn: 0,
            session: crate::model::SessionId::conn(0),
            packets: crate::model::PacketSpan::one(1),
            ts: Timestamp::default(),
            dir: Dir::C2S,
            fin: true,
            rsv: 4,
            opcode: 1,
            masked,
            mask_key: masked.then_some([0x37, 0xfa, 0x21, 0x3d]),
            len,
            len_bits,
            header_len: 2
                + if masked { 4 } else { 0 }
                + if len_bits == 16 {
                    2
                } else if len_bits == 64 {
                    8
                } else {
                    0
                },
            offset: 0,
            payload: Vec::new(),
            truncated: false,
            close_code: None,
            close_reason: None,
            rtt: None,
            header_captured: None,
            header_bytes: None,
        }
    }

    #[test]
    fn header_bytes_in_every_length_form() {
        let bytes =
            |f: &FrameEvent| -> Vec<u8> { frame_header(f).into_iter().flat_map(|p| p.bytes).collect() };
        // RFC 6455 §5.7: a masked "Hello" from the client.
        assert_eq!(bytes(&frame(5, 7, true)), [0xc1, 0x85, 0x37, 0xfa, 0x21, 0x3d]);
        assert_eq!(bytes(&frame(256, 16, false)), [0xc1, 0x7e, 0x01, 0x00]);
        assert_eq!(
            bytes(&frame(65536, 64, false)),
            [0xc1, 0x7f, 0, 0, 0, 0, 0, 1, 0, 0]
        );
        // A non-minimal length form is reproduced as sent.
        assert_eq!(bytes(&frame(5, 16, false)), [0xc1, 0x7e, 0x00, 0x05]);
        let mut v = Vec::new();
        annotate_frame(&frame(256, 16, true), &mut v).unwrap();
        let s = String::from_utf8(v).unwrap();
        assert_eq!(
            s,
            "# header c1 fe 01 00 37 fa 21 3d\n\
             #   c1           FIN=1 RSV1=1 RSV2=0 RSV3=0 opcode=0x1 (text)\n\
             #   fe           MASK=1 length=126: 16-bit length follows\n\
             #   01 00        extended payload length = 256\n\
             #   37 fa 21 3d  masking key\n"
        );
    }
}
