//! Packets straight into `Analyzer::feed` (link → IP (defrag) → TCP →
//! flows/reassembly → HTTP/WebSocket), then `finish`.
//!
//! Input format:
//! ```text
//! link: u8                 bits 0-6: index into LINK_TYPES (mod 7): 0 1 101 113 228 229 276
//!                          bit 7: small limits (`wsscope_fuzz::small_config`)
//! per packet:
//!   len:   u16 LE          captured bytes that follow (capped by the input)
//!   flags: u8              bit0: snaplen cut — orig_len = len + next u16 LE
//!                          bits1..6: clock advance in 10 ms units (+1 µs)
//!                          bit7: clock jumps 200 s (beyond the TCP linger)
//!   [extra: u16 LE]        only with bit0
//!   data:  [u8; len]
//! ```
#![no_main]

use libfuzzer_sys::fuzz_target;
use wsscope::analyzer::Analyzer;
use wsscope::event::{Event, Timestamp};
use wsscope::source::{LinkType, Packet, SourceEnd};
use wsscope_fuzz::{Input, LINK_TYPES};

fuzz_target!(|data: &[u8]| {
    let mut inp = Input::new(data);
    let first = inp.u8().unwrap_or(0);
    let link = LinkType(LINK_TYPES[usize::from(first & 0x7f) % LINK_TYPES.len()]);
    let cfg = if first & 0x80 != 0 {
        wsscope_fuzz::small_config()
    } else {
        Default::default()
    };
    let mut an = Analyzer::new(cfg);
    let mut events: Vec<Event> = Vec::new();
    let (mut secs, mut nanos) = (1_700_000_000i64, 0u64);
    let mut index = 0u64;
    while !inp.is_empty() {
        let len = usize::from(inp.u16().unwrap_or(0));
        let flags = inp.u8().unwrap_or(0);
        let extra = if flags & 1 != 0 {
            u32::from(inp.u16().unwrap_or(0))
        } else {
            0
        };
        let bytes = inp.take(len);
        nanos += 1_000 + u64::from((flags >> 1) & 0x3f) * 10_000_000;
        if flags & 0x80 != 0 {
            secs += 200;
        }
        secs += (nanos / 1_000_000_000) as i64;
        nanos %= 1_000_000_000;
        index += 1;
        let pkt = Packet {
            index,
            ts: Timestamp::new(secs, nanos as u32),
            link,
            data: bytes,
            orig_len: bytes.len() as u32 + extra,
            at: 0,
        };
        an.feed(&pkt, &mut events);
        if events.len() > 4096 {
            events.clear();
        }
    }
    let end = SourceEnd {
        packets: index,
        ..Default::default()
    };
    an.finish(&end, &mut events);
});
