//! Like `ws_session`, but the session first sees a valid upgrade request
//! (permessage-deflate offered) and its 101 answer, so every fuzz byte goes
//! to frame decoding, message assembly, UTF-8 checks and inflation.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    wsscope_fuzz::run_session(data, true);
});
