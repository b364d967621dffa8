//! HTTP/1.1: the upgrade handshake (nom, streaming) and the accept key.
//!
//! [`handshake`] is the head grammar and sniffing; [`stream`] runs it over
//! one direction incrementally (a head may arrive in many chunks; several
//! requests may be pipelined before the upgrade) and skips ordinary bodies
//! (`Content-Length`, chunked, read until close); [`cap`] carries a head
//! past the size cap through to its end without keeping its bytes. [`accept`] computes `Sec-WebSocket-Accept` from the client's key.
//! [`upgrade`] is the connection layer built on them: HTTP/1.1 until a
//! `101`, then the WebSocket session it hands every later byte to.

pub mod accept;
pub mod cap;
pub mod handshake;
pub mod header_rules;
mod pending;
pub mod stream;
pub mod upgrade;

pub use accept::accept_for_key;
pub use handshake::{BodyFraming, HeadError, Headers, MAX_HEAD_BYTES, RequestHead, ResponseHead};
pub use stream::{HttpItem, HttpStream};
pub use upgrade::Http1Upgrade;
