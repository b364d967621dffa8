//! `wsscope::tcp::reassembly::HalfStream` (one TCP direction), with the
//! property that every delivered offset is accounted exactly once: each
//! `Data`/`Gap` event starts where the previous one ended (from 0), and
//! `next_offset()` always equals that running total.
//!
//! Input format:
//! ```text
//! flags: u8        bit0: call syn(isn) first, isn = next u32 LE
//! ops until the input ends, each a byte `op`:
//!   op % 4 == 0|1  segment: seq = absolute u32 LE (op bit2 clear) or
//!                  previous segment end + i16 LE delta (bit2 set);
//!                  payload len u8 then payload; missing = u8 (bit3) else 0;
//!                  fin = bit4
//!   op % 4 == 2    ack: absolute u32 LE (bit2 clear) or previous segment end + i16 delta
//!   op % 4 == 3    skip_hole
//! finally flush
//! ```
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::cell::Cell;
use wsscope::tcp::reassembly::{HalfEvent, HalfStream};
use wsscope_fuzz::Input;

fuzz_target!(|data: &[u8]| {
    let mut inp = Input::new(data);
    let flags = inp.u8().unwrap_or(0);
    let mut hs = HalfStream::new(4096);
    let expected = Cell::new(0u64);
    let mut out = |ev: HalfEvent<'_>| match ev {
        HalfEvent::Data { offset, bytes, .. } => {
            assert_eq!(offset, expected.get(), "Data offset not contiguous");
            expected.set(expected.get() + bytes.len() as u64);
        }
        HalfEvent::Gap { offset, len, .. } => {
            assert_eq!(offset, expected.get(), "Gap offset not contiguous");
            expected.set(expected.get() + len);
        }
        HalfEvent::Conflict { .. } | HalfEvent::Fin => {}
    };
    let mut last_end: u32 = 0;
    if flags & 1 != 0 {
        let isn = inp.u32().unwrap_or(0);
        hs.syn(isn);
        last_end = isn.wrapping_add(1);
    }
    while let Some(op) = inp.u8() {
        match op % 4 {
            0 | 1 => {
                let seq = if op & 4 == 0 {
                    inp.u32().unwrap_or(0)
                } else {
                    last_end.wrapping_add(inp.u16().unwrap_or(0) as i16 as i32 as u32)
                };
                let n = usize::from(inp.u8().unwrap_or(0));
                let payload = inp.take(n);
                let missing = if op & 8 != 0 {
                    u32::from(inp.u8().unwrap_or(0))
                } else {
                    0
                };
                let fin = op & 16 != 0;
                hs.segment(seq, payload, missing, fin, 0, &mut out);
                last_end = seq.wrapping_add(payload.len() as u32).wrapping_add(missing);
            }
            2 => {
                let ack = if op & 4 == 0 {
                    inp.u32().unwrap_or(0)
                } else {
                    last_end.wrapping_add(inp.u16().unwrap_or(0) as i16 as i32 as u32)
                };
                hs.ack(ack, &mut out);
            }
            _ => hs.skip_hole(&mut out),
        }
        let _ = (hs.pending_bytes(), hs.started(), hs.fin_delivered());
        assert_eq!(
            hs.next_offset(),
            expected.get(),
            "next_offset() != bytes accounted"
        );
    }
    hs.flush(&mut out);
    assert_eq!(
        hs.next_offset(),
        expected.get(),
        "next_offset() != bytes accounted"
    );
});
