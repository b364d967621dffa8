//! Arbitrary bytes as a capture file (pcap or pcapng) through the whole
//! pipeline: `FileSource::from_reader` → `pipeline::analyze`.
//!
//! Inputs of even length run with the default settings, odd ones with
//! [`wsscope_fuzz::small_config`] (tiny buffers, connection table and
//! WebSocket limits) so the caps are reachable with small files.
//!
//! Speed: files get a 4 MiB read buffer; here it starts at 4 KiB (inputs
//! are at most a few KiB), so no input pays for zero-filling megabytes and
//! the buffer's refill and grow paths are exercised.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wsscope::event::Event;
use wsscope::source::file::FileSource;

fuzz_target!(|data: &[u8]| {
    let input = Box::new(std::io::Cursor::new(data.to_vec()));
    let Ok(mut src) = FileSource::from_reader_with_buffer("fuzz".into(), input, 4096) else {
        return;
    };
    let cfg = if data.len() % 2 == 1 {
        wsscope_fuzz::small_config()
    } else {
        Default::default()
    };
    let mut events: Vec<Event> = Vec::new();
    let _ = wsscope::pipeline::analyze(&mut src, cfg, &mut events);
});
