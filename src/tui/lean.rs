//! The reader's half of the store's payload policy: when payloads can be
//! fetched again ([`super::fetch`]), a payload the store would cut to its
//! preview anyway is cut on the reader thread, before it crosses to the UI.
//! A 1 GiB capture then sends the UI thread a few dozen MB instead of
//! every payload twice (frames and messages), and each big buffer is freed
//! by the thread that allocated it (cheap, and reused by the next one).
//!
//! The reader mirrors the store's rule ([`super::store::Budget`]): whole
//! payloads up to `max_each` bytes while `max_total` lasts; the store still
//! has the last word (it may cut a payload the reader sent whole).

use super::store::Budget;
use crate::event::Event;

/// What is still allowed whole, as the reader counts it.
#[derive(Clone, Copy, Debug)]
pub struct Lean {
    max_each: usize,
    allowance: usize,
    preview: usize,
}

impl Lean {
    pub fn new(b: &Budget) -> Lean {
        Lean {
            max_each: b.max_each,
            allowance: b.max_total,
            preview: b.preview,
        }
    }

    /// Cuts `ev`'s payload to the preview unless it may go whole; returns
    /// the length it had when cut.
    pub fn cut(&mut self, ev: &mut Event) -> Option<u64> {
        let payload = match ev {
            Event::Frame(f) => &mut f.payload,
            Event::Message(m) => &mut m.data,
            _ => return None,
        };
        let n = payload.len();
        if n <= self.max_each && n <= self.allowance {
            self.allowance -= n;
            return None;
        }
        if n <= self.preview {
            return None;
        }
        *payload = payload.get(..self.preview).unwrap_or_default().to_vec();
        Some(n as u64)
    }
}

/// Events, some with their payload cut: `(index in events, length before)`.
#[derive(Debug, Default)]
pub struct LeanBatch {
    pub events: Vec<crate::event::Event>,
    pub cut: Vec<(u32, u64)>,
}

impl LeanBatch {
    pub fn with_capacity(n: usize) -> LeanBatch {
        LeanBatch {
            events: Vec::with_capacity(n),
            cut: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{ConnId, Dir, MessageEvent, SessionId, Timestamp};

    fn message(n: usize) -> Event {
        Event::Message(MessageEvent {
            decoded: None,
            conn: 0 as ConnId,
            session: SessionId::default(),
            seq: 0,
            first_frame_offset: 0,
            packets: None,
            ts: Timestamp::default(),
            dir: Dir::S2C,
            opcode: 2,
            frames: 1,
            compressed: false,
            data: vec![7; n],
            wire_len: n as u64,
            is_text: false,
            inflate_error: None,
            truncated: false,
        })
    }

    #[test]
    fn whole_while_allowed_then_previews() {
        let b = Budget {
            max_each: 100,
            max_total: 150,
            preview: 10,
            output: 1 << 20,
            max_memory: 1 << 30,
        };
        let mut lean = Lean::new(&b);
        let mut e = message(90);
        assert_eq!(lean.cut(&mut e), None); // 60 left
        let mut e = message(101);
        assert_eq!(lean.cut(&mut e), Some(101)); // over max_each
        let mut e = message(70);
        assert_eq!(lean.cut(&mut e), Some(70)); // over what is left
        let Event::Message(m) = &e else { unreachable!() };
        assert_eq!(m.data, vec![7; 10]);
        let mut e = message(60);
        assert_eq!(lean.cut(&mut e), None); // exactly what is left
        let mut e = message(8);
        assert_eq!(lean.cut(&mut e), None); // none left, but as small as a preview
        let mut e = message(11);
        assert_eq!(lean.cut(&mut e), Some(11));
    }
}
