//! `wsscope::ws::Session` fed directly: HTTP parsing, upgrade handling,
//! mid-stream WebSocket detection, frame decoding, gaps, FIN/RST, finish.
//! Input format: see `wsscope_fuzz::run_session`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    wsscope_fuzz::run_session(data, false);
});
