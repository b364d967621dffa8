//! permessage-deflate (RFC 7692): negotiated parameters and per-direction inflation.
//!
//! One long-lived raw-deflate [`flate2::Decompress`] per direction, with the
//! default 15-bit window (it inflates any 8–15-bit stream). Each message gets
//! `00 00 FF FF` appended and is inflated with `FlushDecompress::Sync` into a
//! bounded buffer (decompression-bomb cap). With `*_no_context_takeover` the
//! inflater is reset after every message. Server→client uses the `server_*`
//! parameters, client→server the `client_*` ones.
//!
//! With the zlib-rs backend a back-reference into history that was never
//! seen fails cleanly ("invalid distance too far back") instead of producing
//! garbage, so after lost history (capture started mid-connection, a gap) we
//! keep trying: messages that do not reach back inflate correctly, the others
//! get an [`Inflated::error`] that says the history was not captured.

#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::arithmetic_side_effects
)]

use crate::event::{DeflateParams, Dir};
use flate2::{Decompress, FlushDecompress, Status};

/// The four bytes removed from the end of every compressed message (§7.2.1).
const TRAILER: [u8; 4] = [0x00, 0x00, 0xFF, 0xFF];

/// Parse the server's `Sec-WebSocket-Extensions` value: the permessage-deflate
/// parameters if it accepted that extension.
pub fn parse_permessage_deflate(header: &str) -> Option<DeflateParams> {
    for ext in header.split(',') {
        let mut parts = ext.split(';').map(str::trim);
        if !parts
            .next()
            .is_some_and(|n| n.eq_ignore_ascii_case("permessage-deflate"))
        {
            continue;
        }
        let mut p = DeflateParams::default();
        for param in parts {
            let (name, value) = match param.split_once('=') {
                Some((n, v)) => (n.trim(), Some(v.trim().trim_matches('"'))),
                None => (param, None),
            };
            let bits = value.and_then(|v| v.parse::<u8>().ok());
            match name.to_ascii_lowercase().as_str() {
                "server_no_context_takeover" => p.server_no_context_takeover = true,
                "client_no_context_takeover" => p.client_no_context_takeover = true,
                "server_max_window_bits" => p.server_max_window_bits = bits,
                "client_max_window_bits" => p.client_max_window_bits = bits.or(Some(15)),
                _ => {}
            }
        }
        return Some(p);
    }
    None
}

/// Whether the sender of `dir` resets its compressor after every message.
pub fn no_context_takeover(p: &DeflateParams, dir: Dir) -> bool {
    match dir {
        Dir::C2S => p.client_no_context_takeover,
        Dir::S2C => p.server_no_context_takeover,
    }
}

/// The negotiated window of the sender of `dir` (informational only).
pub fn max_window_bits(p: &DeflateParams, dir: Dir) -> Option<u8> {
    match dir {
        Dir::C2S => p.client_max_window_bits,
        Dir::S2C => p.server_max_window_bits,
    }
}

/// Result of inflating one message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Inflated {
    /// Inflated bytes (complete only when `error` is `None` and not `capped`).
    pub data: Vec<u8>,
    /// Why the message could not be (fully) inflated.
    pub error: Option<String>,
    /// Output stopped at the size cap.
    pub capped: bool,
}

/// The inflater of one direction.
pub struct Inflater {
    d: Decompress,
    no_context_takeover: bool,
    max_output: usize,
    /// Why the compression history is incomplete, if it is.
    history_missing: Option<&'static str>,
}

/// What one inflater holds: zlib-rs' inflate state and its 32 KiB window
/// (allocated with the stream, whatever window the peer negotiated).
pub const INFLATER_BYTES: usize = 44 << 10;

impl std::fmt::Debug for Inflater {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inflater")
            .field("no_context_takeover", &self.no_context_takeover)
            .field("history_missing", &self.history_missing)
            .finish()
    }
}

impl Inflater {
    /// `history_missing`: `Some(reason)` if earlier messages of this
    /// direction were not captured (e.g. the capture started mid-connection).
    pub fn new(no_context_takeover: bool, max_output: usize, history_missing: Option<&'static str>) -> Self {
        Inflater {
            d: Decompress::new(false),
            no_context_takeover,
            max_output,
            history_missing: if no_context_takeover {
                None
            } else {
                history_missing
            },
        }
    }

    /// Does the sender keep its compression context across messages?
    pub fn context_takeover(&self) -> bool {
        !self.no_context_takeover
    }

    /// Is the compression history known to be incomplete?
    pub fn history_missing(&self) -> Option<&'static str> {
        self.history_missing
    }

    fn reset(&mut self, missing: Option<&'static str>) {
        self.d.reset(false);
        self.history_missing = if self.no_context_takeover { None } else { missing };
    }

    /// Bytes were lost in this direction: the history is gone.
    pub fn on_gap(&mut self) {
        self.reset(Some("bytes of this direction were lost in a capture gap"));
    }

    /// Inflate one message's payload (RSV1 set on its first frame).
    /// `truncated`: the message was not captured whole; its prefix is
    /// inflated as far as it goes and the history is then considered lost.
    pub fn inflate_message(&mut self, input: &[u8], truncated: bool) -> Inflated {
        let mut out = Vec::with_capacity(
            input
                .len()
                .saturating_mul(3)
                .min(self.max_output)
                .clamp(64, 1 << 20),
        );
        let mut r = self.run(input, &mut out);
        if !truncated && matches!(r, Ok(Step::More)) {
            r = self.run(&TRAILER, &mut out);
        }
        let capped = matches!(r, Ok(Step::Capped));
        if capped {
            out.truncate(self.max_output);
        }
        // The reason only: every consumer says "cannot inflate" (or "not
        // inflated") itself, so a prefix here would be printed twice.
        let error = match &r {
            Err(e) => Some(match self.history_missing {
                Some(why) => format!(
                    "the message refers to compression history (context takeover) \
                     that was not captured ({why}); zlib: {e}"
                ),
                _ => format!("corrupt deflate data: {e}"),
            }),
            Ok(_) => None,
        };
        match (&r, truncated) {
            (Err(_), _) => self.reset(Some("an earlier message could not be inflated")),
            (Ok(Step::Capped), _) => self.reset(Some("an earlier message exceeded the inflate size cap")),
            (Ok(Step::End), _) => self.reset(self.history_missing),
            (Ok(Step::More), true) => self.reset(Some("an earlier message was not captured whole")),
            (Ok(Step::More), false) => {
                if self.no_context_takeover {
                    self.reset(None);
                }
            }
        }
        Inflated {
            data: out,
            error,
            capped,
        }
    }

    /// Inflates `input` onto `out`, through a scratch buffer of the thread:
    /// `decompress_vec` zero-fills all the spare capacity it is given on
    /// every call (16 KiB and more per message), which cost more than
    /// copying out the bytes actually produced.
    fn run(&mut self, mut input: &[u8], out: &mut Vec<u8>) -> Result<Step, String> {
        SCRATCH.with_borrow_mut(|scratch| {
            if scratch.len() < SCRATCH_BYTES {
                scratch.resize(SCRATCH_BYTES, 0);
            }
            loop {
                // Never past the bomb cap.
                let room = self.max_output.saturating_sub(out.len()).min(scratch.len());
                if room == 0 {
                    return Ok(Step::Capped);
                }
                let buf = scratch.get_mut(..room).unwrap_or_default();
                let (in0, out0) = (self.d.total_in(), self.d.total_out());
                let status = self
                    .d
                    .decompress(input, buf, FlushDecompress::Sync)
                    .map_err(|e| e.to_string())?;
                // Both differences are bounded by the slices given.
                let consumed = usize::try_from(self.d.total_in().saturating_sub(in0)).unwrap_or(input.len());
                let produced = usize::try_from(self.d.total_out().saturating_sub(out0)).unwrap_or(room);
                out.extend_from_slice(buf.get(..produced).unwrap_or_default());
                input = input.get(consumed..).unwrap_or_default();
                if status == Status::StreamEnd {
                    return Ok(Step::End);
                }
                let full = produced >= room;
                if input.is_empty() && !full {
                    return Ok(Step::More);
                }
                if consumed == 0 && produced == 0 && !full {
                    return Ok(Step::More);
                }
            }
        })
    }
}

/// Bytes inflated per call.
const SCRATCH_BYTES: usize = 32 << 10;

thread_local! {
    /// The inflaters' output buffer, one per thread (inflaters are many: one
    /// per direction of every compressed connection).
    static SCRATCH: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Step {
    /// All input consumed; the stream goes on.
    More,
    /// A final block ended the deflate stream.
    End,
    /// Output reached the cap.
    Capped,
}

#[cfg(test)]
#[allow(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::arithmetic_side_effects
)]
mod tests {
    use super::*;

    const HELLO: &[u8] = &[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];
    const HELLO_AGAIN: &[u8] = &[0xf2, 0x00, 0x11, 0x00, 0x00];

    #[test]
    fn params() {
        let p = parse_permessage_deflate(
            "x-foo, permessage-deflate; server_no_context_takeover; client_max_window_bits=12; server_max_window_bits=\"10\"",
        )
        .unwrap();
        assert!(p.server_no_context_takeover);
        assert!(!p.client_no_context_takeover);
        assert_eq!(p.client_max_window_bits, Some(12));
        assert_eq!(p.server_max_window_bits, Some(10));
        assert!(no_context_takeover(&p, Dir::S2C));
        assert!(!no_context_takeover(&p, Dir::C2S));
        assert_eq!(max_window_bits(&p, Dir::S2C), Some(10));
        assert_eq!(max_window_bits(&p, Dir::C2S), Some(12));
        assert_eq!(parse_permessage_deflate("x-webkit-deflate-frame"), None);
        assert_eq!(
            parse_permessage_deflate("permessage-deflate"),
            Some(DeflateParams::default())
        );
    }

    #[test]
    fn rfc7692_hello_and_context_takeover() {
        let mut i = Inflater::new(false, 1 << 20, None);
        assert_eq!(i.inflate_message(HELLO, false).data, b"Hello");
        let r = i.inflate_message(HELLO_AGAIN, false);
        assert_eq!(r.error, None);
        assert_eq!(r.data, b"Hello");
    }

    #[test]
    fn rfc7692_stored_and_bfinal() {
        let mut i = Inflater::new(false, 1 << 20, None);
        let stored = [0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00];
        assert_eq!(i.inflate_message(&stored, false).data, b"Hello");
        let bfinal = [0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00];
        let r = i.inflate_message(&bfinal, false);
        assert_eq!((r.data.as_slice(), r.error), (&b"Hello"[..], None));
        // The inflater was reset after the final block: the next message works.
        assert_eq!(i.inflate_message(HELLO, false).data, b"Hello");
    }

    #[test]
    fn no_context_takeover_resets() {
        let mut i = Inflater::new(true, 1 << 20, None);
        for _ in 0..3 {
            let r = i.inflate_message(HELLO, false);
            assert_eq!((r.data.as_slice(), r.error), (&b"Hello"[..], None));
        }
    }

    #[test]
    fn mid_stream_history_missing() {
        let mut i = Inflater::new(false, 1 << 20, Some("capture started mid-connection"));
        let r = i.inflate_message(HELLO_AGAIN, false);
        let e = r.error.unwrap();
        assert!(e.contains("history"), "{e}");
        // The reason only: the outputs add their own "cannot inflate".
        assert!(!e.contains("inflate"), "{e}");
        assert!(e.contains("capture started mid-connection"), "{e}");
        // A self-contained message still inflates afterwards.
        assert_eq!(i.inflate_message(HELLO, false).data, b"Hello");
        assert_eq!(i.inflate_message(HELLO_AGAIN, false).data, b"Hello");
    }

    #[test]
    fn gap_poisons_history() {
        let mut i = Inflater::new(false, 1 << 20, None);
        assert_eq!(i.inflate_message(HELLO, false).data, b"Hello");
        i.on_gap();
        assert!(i.history_missing().is_some());
        let r = i.inflate_message(HELLO_AGAIN, false);
        assert!(r.error.unwrap().contains("gap"));
    }

    #[test]
    fn bomb_is_capped() {
        use flate2::{Compress, Compression, FlushCompress};
        let big = vec![b'a'; 1 << 20];
        let mut c = Compress::new(Compression::best(), false);
        let mut z = Vec::with_capacity(1 << 16);
        c.compress_vec(&big, &mut z, FlushCompress::Sync).unwrap();
        assert_eq!(&z[z.len() - 4..], TRAILER);
        z.truncate(z.len() - 4);
        let mut i = Inflater::new(false, 1000, None);
        let r = i.inflate_message(&z, false);
        assert!(r.capped);
        assert_eq!(r.data.len(), 1000);
        let mut i = Inflater::new(false, 2 << 20, None);
        let r = i.inflate_message(&z, false);
        assert_eq!(r.data, big);
    }

    #[test]
    fn after_a_capped_bomb_the_error_is_said_once() {
        use flate2::{Compress, Compression, FlushCompress};
        let mut c = Compress::new(Compression::best(), false);
        let mut z = Vec::with_capacity(1 << 16);
        c.compress_vec(&vec![b'a'; 1 << 20], &mut z, FlushCompress::Sync)
            .unwrap();
        let mut next = Vec::with_capacity(1 << 10);
        c.compress_vec(&[b'a'; 100], &mut next, FlushCompress::Sync)
            .unwrap();
        let mut i = Inflater::new(false, 1000, None);
        assert!(i.inflate_message(&z[..z.len() - 4], false).capped);
        // The next message needs the history the cap threw away.
        let e = i.inflate_message(&next[..next.len() - 4], false).error.unwrap();
        assert!(e.starts_with("the message refers to compression history"), "{e}");
        assert!(e.contains("inflate size cap"), "{e}");
        assert_eq!(e.matches("cannot inflate").count(), 0, "{e}");
        // Corrupt data (no history involved) says so, once.
        let mut fresh = Inflater::new(true, 1000, None);
        let e = fresh
            .inflate_message(&[0xff, 0xff, 0xff, 0xff], false)
            .error
            .unwrap();
        assert!(e.starts_with("corrupt deflate data: "), "{e}");
    }
}
