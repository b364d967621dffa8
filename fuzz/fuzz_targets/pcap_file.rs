//! Arbitrary bytes as a capture file (pcap or pcapng) through the whole
//! pipeline: `FileSource::from_reader` → `pipeline::analyze` with default settings.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wsscope::event::Event;
use wsscope::source::file::FileSource;

fuzz_target!(|data: &[u8]| {
    let Ok(mut src) = FileSource::from_reader("fuzz".into(), Box::new(std::io::Cursor::new(data.to_vec())))
    else {
        return;
    };
    let mut events: Vec<Event> = Vec::new();
    let _ = wsscope::pipeline::analyze(&mut src, Default::default(), &mut events);
});
