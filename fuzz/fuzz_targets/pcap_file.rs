//! Arbitrary bytes as a capture file (pcap or pcapng) through the whole
//! pipeline: `FileSource::from_reader` → `pipeline::analyze`.
//!
//! Inputs of even length run with the default settings, odd ones with
//! [`wsscope_fuzz::small_config`] (tiny buffers, connection table and
//! WebSocket limits) so the caps are reachable with small files.
//!
//! Speed: `FileSource` allocates and zero-fills a 4 MiB read buffer per
//! capture; the [`Recycle`] allocator reuses that block between executions
//! instead of mapping it afresh each time (≈70 → thousands of exec/s).
#![no_main]

use libfuzzer_sys::fuzz_target;
use wsscope::event::Event;
use wsscope::source::file::FileSource;
use wsscope_fuzz::recycle::Recycle;

#[global_allocator]
static ALLOC: Recycle = Recycle::new();

fuzz_target!(|data: &[u8]| {
    let Ok(mut src) = FileSource::from_reader("fuzz".into(), Box::new(std::io::Cursor::new(data.to_vec())))
    else {
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
