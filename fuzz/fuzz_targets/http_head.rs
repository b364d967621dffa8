//! The HTTP/1.x head parser (`wsscope::http::handshake`).
//!
//! Stateless entry points (`head_end`, `parse_request_head`,
//! `parse_response_head`, `looks_like_request`, `looks_like_response`) get
//! the whole input; an `HttpStream` gets it split into chunks, with bodies
//! skipped as the session does (`skip_body(head.body_framing(..))`).
//!
//! Properties checked (panic = bug):
//! - `consumed() + buffered().len()` equals the bytes pushed;
//! - the heads parsed (up to the first error) do not depend on how the
//!   stream was chunked: the split run is compared with a run that pushes
//!   everything at once.
//!
//! Input format:
//! ```text
//! flags: u8    bit0: response side; bit1: responses answer a HEAD request
//! ops until the input ends, each a byte `op`:
//!   op % 4 == 0 or 1: push next u8-length chunk, then pull items
//!   op % 4 == 2:      push next u16-LE-length chunk, then pull items
//!   op % 4 == 3:      push a 1-byte chunk, do not pull
//! ```
#![no_main]

use libfuzzer_sys::fuzz_target;
use wsscope::http::handshake::{
    HeadError, head_end, looks_like_request, looks_like_response, parse_request_head, parse_response_head,
};
use wsscope::http::stream::{HttpItem, HttpStream, Side};
use wsscope_fuzz::Input;

#[derive(Debug, PartialEq)]
enum Seen {
    Request(wsscope::http::handshake::RequestHead),
    Response(wsscope::http::handshake::ResponseHead),
    Error,
}

struct Run {
    s: HttpStream,
    head_method: bool,
    pushed: u64,
    seen: Vec<Seen>,
    stopped: bool,
}

impl Run {
    fn new(side: Side, head_method: bool) -> Self {
        Run {
            s: HttpStream::new(side),
            head_method,
            pushed: 0,
            seen: Vec::new(),
            stopped: false,
        }
    }

    fn push(&mut self, b: &[u8]) {
        if self.stopped {
            return;
        }
        self.s.push(b);
        self.pushed += b.len() as u64;
        self.check();
    }

    fn check(&self) {
        assert_eq!(
            self.s.consumed() + self.s.buffered().len() as u64,
            self.pushed,
            "consumed + buffered != pushed"
        );
    }

    fn pull(&mut self) {
        while !self.stopped {
            let item = self.s.next_item();
            self.check();
            match item {
                HttpItem::NeedMore => return,
                // Past the head cap the stream scans on for the end of the head.
                HttpItem::HeadTooLong => {}
                HttpItem::Request(h) => {
                    let _ = (h.is_websocket_upgrade(), h.headers.joined("connection"));
                    let _ = h.headers.has_token("connection", "upgrade");
                    self.s.skip_body(h.body_framing());
                    self.seen.push(Seen::Request(h));
                }
                HttpItem::Response(h) => {
                    let _ = (h.is_interim(), h.headers.get_all("upgrade").count());
                    let m = if self.head_method {
                        Some("HEAD")
                    } else {
                        Some("GET")
                    };
                    self.s.skip_body(h.body_framing(m));
                    self.seen.push(Seen::Response(h));
                }
                HttpItem::Error(e) => {
                    let _ = e.to_string();
                    let _ = matches!(e, HeadError::TooLong);
                    let _ = self.s.take_buffered();
                    self.seen.push(Seen::Error);
                    self.stopped = true;
                }
            }
            let _ = self.s.in_body_until_close();
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let mut inp = Input::new(data);
    let flags = inp.u8().unwrap_or(0);
    let side = if flags & 1 != 0 {
        Side::Response
    } else {
        Side::Request
    };
    let head_method = flags & 2 != 0;

    // Stateless parsers on the rest of the input.
    let _ = head_end(data);
    let _ = parse_request_head(data);
    let _ = parse_response_head(data);
    let _ = looks_like_request(data);
    let _ = looks_like_response(data);

    // Split run.
    let mut split = Run::new(side, head_method);
    let mut all: Vec<u8> = Vec::new();
    while let Some(op) = inp.u8() {
        match op % 4 {
            0 | 1 => {
                let n = usize::from(inp.u8().unwrap_or(0));
                let b = inp.take(n);
                all.extend_from_slice(b);
                split.push(b);
                split.pull();
            }
            2 => {
                let n = usize::from(inp.u16().unwrap_or(0));
                let b = inp.take(n);
                all.extend_from_slice(b);
                split.push(b);
                split.pull();
            }
            _ => {
                let b = inp.take(1);
                all.extend_from_slice(b);
                split.push(b);
            }
        }
    }
    split.pull();

    // Whole run: same bytes, one push.
    let mut whole = Run::new(side, head_method);
    whole.push(&all);
    whole.pull();

    assert_eq!(split.seen, whole.seen, "heads depend on chunking");
});
