//! The TLS wire parsers (`wsscope::tls::{record, hello}`): record headers,
//! the probe's sniffing, resynchronisation, handshake reassembly and the
//! message parsers.
//!
//! Properties checked (panic = bug):
//! - `looks_like_*` answers `Yes`/`No` for good: a prefix's answer other
//!   than `NeedMore` is the whole input's answer, and `HELLO_SNIFF_LEN`
//!   bytes always decide;
//! - `find_record_start(b, from)` returns an offset `>= from` where
//!   `parse_header` succeeds;
//! - walking the input as a record stream (resyncing on bad headers) always
//!   moves forward;
//! - the reassembler holds at most `max_message` body bytes (+ 4 header
//!   bytes), never returns a longer body, and returns the same messages
//!   however the stream is split into fragments.
//!
//! Input format:
//! ```text
//! flags: u8    bits 0-1: max_message (0: the default 256 KiB, 1: 0, 2: 64, 3: 1024)
//!              bit 2: parse NewSessionTicket with the TLS 1.3 grammar
//! split: u8    seed of the fragment sizes (1..=split+1, xorshift)
//! rest         the bytes: read both as a record stream and as a bare
//!              handshake message stream (seed with `00 00` + a capture's
//!              TLS payload)
//! ```
#![no_main]

use libfuzzer_sys::fuzz_target;
use wsscope::tls::hello::{
    DEFAULT_MAX_MESSAGE, HandshakeError, HandshakeMessage, HandshakeReassembler, HandshakeType, parse_alert,
    parse_client_hello, parse_encrypted_extensions, parse_key_update, parse_new_session_ticket,
    parse_server_hello,
};
use wsscope::tls::record::{
    ContentType, HELLO_SNIFF_LEN, Looks, RecordError, find_record_start, looks_like_client_hello,
    looks_like_server_hello, parse_header, parse_record,
};
use wsscope_fuzz::Input;

type Out = Vec<Result<HandshakeMessage, HandshakeError>>;

/// Every parser on one message body; results are only displayed.
fn parse_body(typ: HandshakeType, body: &[u8], tls13: bool) {
    let _ = typ.to_string();
    match typ {
        HandshakeType::CLIENT_HELLO => {
            let _ = parse_client_hello(body);
        }
        HandshakeType::SERVER_HELLO => {
            if let Ok(sh) = parse_server_hello(body) {
                let _ = sh.version();
            }
        }
        HandshakeType::ENCRYPTED_EXTENSIONS => {
            let _ = parse_encrypted_extensions(body);
        }
        HandshakeType::NEW_SESSION_TICKET => {
            let _ = parse_new_session_ticket(body, tls13);
        }
        HandshakeType::KEY_UPDATE => {
            let _ = parse_key_update(body);
        }
        _ => {}
    }
}

fn check_reassembler(r: &HandshakeReassembler, max: usize) {
    assert!(r.pending() <= max.saturating_add(4), "pending over the bound");
    assert!(r.heap_bytes() <= max, "heap over the bound");
}

fn drain(out: &mut Out, max: usize, tls13: bool) {
    for m in out.iter() {
        match m {
            Ok(m) => {
                assert!(m.body.len() <= max, "body over max_message");
                parse_body(m.typ, &m.body, tls13);
            }
            Err(e) => {
                let _ = e.to_string();
            }
        }
    }
}

fn looks_is_final(f: fn(&[u8]) -> Looks, b: &[u8]) {
    let whole = f(b);
    if b.len() >= HELLO_SNIFF_LEN {
        assert_ne!(whole, Looks::NeedMore, "enough bytes must decide");
    }
    for n in 0..=b.len().min(HELLO_SNIFF_LEN + 4) {
        let part = f(b.get(..n).unwrap_or(b));
        if part != Looks::NeedMore {
            assert_eq!(part, whole, "answer changed with more bytes");
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let mut inp = Input::new(data);
    let flags = inp.u8().unwrap_or(0);
    let split = inp.u8().unwrap_or(0);
    let rest = inp.take(usize::MAX);
    let max = match flags & 3 {
        0 => DEFAULT_MAX_MESSAGE,
        1 => 0,
        2 => 64,
        _ => 1024,
    };
    let tls13 = flags & 4 != 0;

    // Stateless entry points on the raw bytes.
    let _ = parse_header(rest).map_err(|e| e.to_string());
    let _ = parse_record(rest);
    let _ = parse_alert(rest).map(|a| a.to_string());
    for t in [1, 2, 4, 8, 24] {
        parse_body(HandshakeType(t), rest, tls13);
    }
    parse_body(HandshakeType::NEW_SESSION_TICKET, rest, !tls13);
    looks_is_final(looks_like_client_hello, rest);
    looks_is_final(looks_like_server_hello, rest);
    for from in [0, 1, usize::from(split), rest.len()] {
        if let Some(i) = find_record_start(rest, from) {
            assert!(i >= from, "find_record_start went backwards");
            let h = parse_header(rest.get(i..).unwrap_or(&[])).expect("start is a header");
            assert!(h.version >= 0x0301);
        }
    }

    // As a record stream: handshake payloads into a reassembler, resyncing
    // after a bad header.
    let mut reasm = HandshakeReassembler::new(max);
    let mut out: Out = Vec::new();
    let mut pos = 0usize;
    while let Some(b) = rest.get(pos..) {
        match parse_record(b) {
            Ok((rec, tail)) => {
                let _ = rec.header.content_type.to_string();
                if rec.header.content_type == ContentType::HANDSHAKE {
                    reasm.push(rec.payload, &mut out);
                    check_reassembler(&reasm, max);
                } else if rec.header.content_type == ContentType::ALERT {
                    let _ = parse_alert(rec.payload);
                }
                let next = rest.len() - tail.len();
                assert!(next > pos, "record walk stuck");
                pos = next;
            }
            Err(RecordError::Short) => break,
            Err(_) => {
                reasm.reset();
                match find_record_start(rest, pos + 1) {
                    Some(i) => {
                        assert!(i > pos, "resync stuck");
                        pos = i;
                    }
                    None => break,
                }
            }
        }
    }
    drain(&mut out, max, tls13);

    // As a bare handshake stream: split by the seed vs. all at once.
    let mut split_run = HandshakeReassembler::new(max);
    let mut split_out: Out = Vec::new();
    let mut x = u32::from(split) | 0x100;
    let mut b = rest;
    while !b.is_empty() {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        let n = (x as usize % (usize::from(split) + 1) + 1).min(b.len());
        let (chunk, tail) = b.split_at(n);
        split_run.push(chunk, &mut split_out);
        check_reassembler(&split_run, max);
        b = tail;
    }
    let mut whole = HandshakeReassembler::new(max);
    let mut whole_out: Out = Vec::new();
    whole.push(rest, &mut whole_out);
    check_reassembler(&whole, max);
    assert_eq!(split_out, whole_out, "messages depend on fragmentation");
    assert_eq!(split_run.pending(), whole.pending());
    drain(&mut whole_out, max, tls13);
    whole.reset();
    assert_eq!((whole.pending(), whole.heap_bytes()), (0, 0));
});
